"""From hits to numbered evidence blocks, one per hit, rendered by modality.

* text passage: its text, located by file, page and character span;
* table result (an executed query): the SQL, the result rows and the answer values;
* table record (rows, summary, column values): its serialised rows;
* image: for a vision model the pixels; for a text model its OCR text, caption and metadata;
* video moment: the time span, its transcript lines, and keyframes as pixels for a vision model.

Hits are deduplicated (the same record; an image and its own OCR record; identical text) and kept
in fused-score order.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..core import Collection
from ..errors import IngestError
from ..images import open_image
from ..kinds import Modality
from ..records import Evidence, Hit
from .injection import neutralise

if TYPE_CHECKING:
    from PIL import Image


log = logging.getLogger(__name__)
MAX_IMAGE_SIDE = 768
MAX_RESULT_ROWS = 50


@dataclass
class Block:
    """One evidence block as the generator sees it: a header line, a body, and pixels for a VLM."""

    ev: Evidence
    header: str
    body: str
    images: list["Image.Image"] = field(default_factory=list)
    answer: str | None = None  # a computed answer (table query result)
    shortened: bool = False

    @property
    def n(self) -> int:
        return self.ev.n

    def text(self) -> str:
        return f"{self.header}\n{self.body}".rstrip()


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def dedupe_hits(hits: Sequence[Hit]) -> list[Hit]:
    """Hits without repeats: one per record id, an image's OCR record folded into the image, identical texts once."""
    image_sources = {h.record.source for h in hits if h.record.modality == Modality.IMAGE}
    seen_ids: set[int] = set()
    seen_text: set[str] = set()
    out: list[Hit] = []
    for h in hits:
        r = h.record
        if r.id is not None and r.id in seen_ids:
            continue
        if r.modality == Modality.TEXT and r.meta.get("view_of") == Modality.IMAGE and r.source in image_sources:
            continue  # the image block carries its OCR text
        key = _norm(r.text)
        if r.modality in (Modality.TEXT, Modality.TABLE) and key and key in seen_text:
            continue
        if r.id is not None:
            seen_ids.add(r.id)
        if r.modality in (Modality.TEXT, Modality.TABLE) and key:
            seen_text.add(key)
        out.append(h)
    return out


def relevant_hits(hits: Sequence[Hit], ratio: float, keep: int = 1) -> list[Hit]:
    """Hits scoring at least `ratio` x the best score (the first `keep` always): with adaptive fusion a hit's score
    is its cosine plus its weighted share of the query's BM25 evidence, so a far weaker hit is noise that only
    lengthens the prompt. ratio <= 0, or a best score <= 0, keeps them all."""
    best = max((h.score for h in hits), default=0.0)
    if ratio <= 0 or best <= 0:
        return list(hits)
    return [h for i, h in enumerate(hits) if i < keep or h.score >= ratio * best]


def number_evidence(hits: Sequence[Hit], start: int = 1) -> list[Evidence]:
    """Evidence numbered from `start`, in the hits' (fused-score) order."""
    return [Evidence(n=start + i, hit=h) for i, h in enumerate(hits)]


def _name(source: str) -> str:
    return neutralise(Path(source).name or source)


def _span(loc: dict[str, Any]) -> str:
    parts = []
    if "page" in loc:
        parts.append(f"page {loc['page']}")
    if "t_start" in loc:
        parts.append(f"{float(loc['t_start']):.1f}-{float(loc.get('t_end', loc['t_start'])):.1f} s")
    elif "t" in loc:
        parts.append(f"at {float(loc['t']):.1f} s")
    if isinstance(loc.get("rows"), list) and loc["rows"]:
        parts.append(f"rows {loc['rows'][0] + 1}-{loc['rows'][-1] + 1}")
    return ", ".join(parts)


def format_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], max_rows: int = MAX_RESULT_ROWS) -> str:
    """Result rows as a small markdown grid (at most `max_rows`, then a count of the rest)."""
    def cell(v: Any) -> str:
        return "" if v is None else " ".join(str(v).split()).replace("|", "/")[:80]
    lines = ["| " + " | ".join(columns) + " |"] if columns else []
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows[:max_rows]]
    if len(rows) > max_rows:
        lines.append(f"... {len(rows) - max_rows} more rows")
    return "\n".join(lines)


def ocr_text_of(lib: "Collection | None", source: str) -> str:
    """The OCR text record(s) stored for an image source."""
    if lib is None:
        return ""
    return "\n".join(lib.store.view_texts(source, Modality.IMAGE))


def load_pixels(lib: "Collection | None", source: str, meta: dict[str, Any]) -> "Image.Image | None":
    """The image (original file, else its thumbnail in the library), RGB, longest side <= MAX_IMAGE_SIDE."""
    paths = [Path(source)]
    if lib is not None and meta.get("thumbnail"):
        paths.append(Path(lib.root) / meta["thumbnail"])
    for path in paths:
        try:
            img = open_image(path.read_bytes(), 100_000_000)
        except (OSError, IngestError) as exc:
            log.debug("cannot read pixels of %s: %s", path, exc)
            continue
        img.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
        return img
    log.warning("no pixels for %s (file and thumbnail unreadable); the VLM gets its text only", source)
    return None


def _image_block(ev: Evidence, lib: "Collection | None", vision: bool) -> Block:
    r = ev.hit.record
    info = [f"{r.meta['width']}x{r.meta['height']}"] if "width" in r.meta else []
    info += [str(r.meta[k]) for k in ("exif_date", "camera") if r.meta.get(k)]
    body = [r.text] if r.text else []
    if ocr := ocr_text_of(lib, r.source):
        body.append("Text in the image (OCR): " + " ".join(ocr.split()))
    images = [img] if vision and (img := load_pixels(lib, r.source, r.meta)) is not None else []
    return Block(ev, f"[{ev.n}] image {_name(r.source)} ({', '.join(info)})", "\n".join(body), images)


def _keyframes(meta: dict[str, Any]) -> list[tuple[float | None, str]]:
    """(time, thumbnail path relative to the library) of a moment's keyframes, best first."""
    frames = [(e.get("t"), e["thumbnail"]) for e in meta.get("evidence", [])
              if e.get("kind") == "keyframe" and e.get("thumbnail")]
    return frames or ([(None, meta["thumbnail"])] if meta.get("thumbnail") else [])


def _said_when(loc: dict[str, Any]) -> str:
    """The time of a transcript beside its words: small models answer "when" from the body, not the header."""
    if "t_start" not in loc:
        return "Transcript: "
    t0 = float(loc["t_start"])
    return f"From {t0:.1f} to {float(loc.get('t_end', t0)):.1f} s of the video: "


def _video_block(ev: Evidence, lib: "Collection | None", vision: bool, max_frames: int = 2) -> Block:
    """A moment (or segment, or keyframe): time span, transcript, keyframes (pixels for a VLM)."""
    r = ev.hit.record
    frames = _keyframes(r.meta)[:max_frames]
    images = []
    if vision and lib is not None:
        for _, rel in frames:
            if (img := load_pixels(None, str(Path(lib.root) / rel), {})) is not None:
                images.append(img)
    body = [(_said_when(r.locator) + r.text) if r.text else "(no speech in this part)"]
    times = [f"{t:.1f} s" for t, _ in frames if t is not None]
    if times and images:  # a text model reads nothing from frame times it cannot see: tokens saved
        body.append("Keyframes at " + ", ".join(times))
    span = "" if r.text and "t_start" in r.locator else f" ({_span(r.locator)})"  # else the body says when
    return Block(ev, f"[{ev.n}] video {_name(r.source)}{span}", "\n".join(body), images)


def _table_block(ev: Evidence) -> Block:
    r = ev.hit.record
    if ev.sql is None and not ev.rows:
        span = _span(r.locator)
        return Block(ev, f"[{ev.n}] table {_name(r.source)}" + (f" ({span})" if span else ""), r.text)
    answer = r.meta.get("answer")
    body = []
    if ev.sql:
        body.append(f"SQL: {ev.sql}")
    body.append("Result:\n" + format_rows(ev.columns, ev.rows))
    if answer:
        body.append(f"Answer from the query: {answer}")
    return Block(ev, f"[{ev.n}] table query result on {_name(r.source)}", "\n".join(body), answer=answer)


def _text_block(ev: Evidence) -> Block:
    r = ev.hit.record
    what = "text read from image" if r.meta.get("view_of") == Modality.IMAGE else "text"
    span = _span(r.locator)
    return Block(ev, f"[{ev.n}] {what} {_name(r.source)}" + (f" ({span})" if span else ""), r.text)


def render_block(ev: Evidence, lib: "Collection | None" = None, vision: bool = False) -> Block:
    """The block for one piece of evidence, by modality; document text in it is neutralised (see
    `mmrag.answer.injection`): it cannot forge a citation or another block."""
    modality = ev.hit.record.modality
    if modality == Modality.IMAGE:
        block = _image_block(ev, lib, vision)
    elif modality == Modality.VIDEO:
        block = _video_block(ev, lib, vision)
    elif modality == Modality.TABLE:
        block = _table_block(ev)
    else:
        block = _text_block(ev)
    block.body = neutralise(block.body)
    block.answer = neutralise(block.answer) if block.answer else block.answer
    return block
