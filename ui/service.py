"""The app's one door to mmrag: a library opened once, shared by every request.

Reads (search, ask, moments, status) run concurrently; writes (ingest, remove) take the library
exclusively, so a search never sees an index half-updated. Only mmrag's public API is used. The limits
of what one request may ask for are enforced here, whatever the page's widgets allow (API clients
bypass them), and paths inside the library folder reach clients only as `library/...` (`ui.publish`).
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from PIL import Image, ImageOps

from mmrag import (Answer, AnswerEvent, BadQueryError, Evidence, Hit, IngestReport, Library, LibraryBusyError,
                   MmragError, Moment, RecordKind, RWLock, supported_extensions)

from . import paths
from .publish import Publisher

log = logging.getLogger(__name__)
MAX_QUERY_PIXELS = 40_000_000
MAX_K = 50  # evidence pieces or hits one request may ask for
MAX_QUESTION_CHARS = 2000
MAX_UPLOADS = 20  # files per upload request


class UserError(BadQueryError):
    """A problem with what the user asked for; shown to them as is."""


@dataclass
class Settings:
    """What `mmrag serve` was told."""

    library: Path
    generator: str | None = None  # None: mmrag's default (best installed LLM, else extractive)
    k: int = 8
    folder_roots: list[Path] = field(default_factory=list)  # server folders the app may ingest (none: off)
    max_upload_mb: float = 100.0
    concurrency: int = 4  # requests (ask, search) handled at once; more wait in Gradio's queue
    warm_up: bool = True  # load the encoders, the generator and its prompt states in the background at start
    allowed_hosts: list[str] = field(default_factory=list)  # Host/Origin names accepted beyond the bound host
    mcp: bool = False  # also serve the typed tools over MCP (/gradio_api/mcp/)
    table_llm: str | None = None  # the LLM that writes SQL for table queries (None: the generator, else installed)


def load_query_image(path: str | None) -> Image.Image | None:
    """An uploaded query image as upright RGB, refusing non-images and decompression bombs."""
    if not path:
        return None
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_QUERY_PIXELS:
                raise UserError(f"image {Path(path).name} is {img.width}x{img.height}; the limit is "
                                f"{MAX_QUERY_PIXELS // 1_000_000} MP")
            img.load()
            out = ImageOps.exif_transpose(img) or img
            return out.convert("RGB")
    except UserError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UserError(f"{Path(path).name} is not a readable image") from exc


def check_text(text: str, what: str) -> str:
    if len(text) > MAX_QUESTION_CHARS:
        raise UserError(f"the {what} is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return text


def clamp_k(k: float | int | None, default: int) -> int:
    return max(1, min(int(k or default), MAX_K))


class LibraryService:
    """A library shared by all requests, with the read/write discipline described above."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.library).resolve()
        self.lib = Library(self.root)
        self.lock = RWLock()
        self.pub = Publisher(self.root)
        self.last_model: dict[str, str] = {}
        if settings.warm_up:
            threading.Thread(target=self.warm_up, name="mmrag-warm-up", daemon=True).start()

    def warm_up(self) -> None:
        """Load the encoders whose weights are present, then the generator with its shared prompt prefixes
        read (`Library.warm`), so the first question does not wait for them."""
        spaces = self.lib.status()["spaces"]
        with self.lock.write():
            for name, st in spaces.items():
                if st.get("available"):
                    self.lib.available(name)
        try:  # no library lock: the model has its own, and a question asked meanwhile waits for it
            self.lib.warm(self.settings.generator, self.settings.table_llm)
        except MmragError as exc:
            log.warning("could not warm the generator: %s", exc)

    def close(self) -> None:
        with self.lock.write():
            self.lib.close()

    # -- reading --------------------------------------------------------------------------------
    def search(self, query: str, image: Image.Image | None = None, k: int = 10,
               modality: Sequence[str] | None = None, source: str | None = None,
               diversity: bool = False) -> list[Hit]:
        if not query.strip() and image is None:
            raise UserError("type a query or attach an image")
        check_text(query, "query")
        with self.lock.read():
            hits = self.lib.search(query, k=clamp_k(k, 10), modality=list(modality) if modality else None,
                                   source=self.pub.private(source) if source else None, diversity=diversity,
                                   image=image)
        return [self.pub.hit(h) for h in hits]

    def feedback(self, query: str, record_id: int, useful: bool) -> None:
        """Remember a hit as useful (or wrong) for `query`; `mmrag tune` learns from it."""
        with self.lock.read():
            self.lib.feedback(check_text(query, "query"), int(record_id), bool(useful))

    def ask_stream(self, question: str, image: Image.Image | None = None, k: int | None = None
                   ) -> Iterator[AnswerEvent]:
        """`Library.ask_stream` events; the read lock is held while the library computes each one."""
        if not question.strip() and image is None:
            raise UserError("type a question or attach an image")
        options: dict = {"image": image, "k": clamp_k(k, self.settings.k)}
        if self.settings.generator:
            options["generator"] = self.settings.generator
        events = self.lib.ask_stream(check_text(question, "question"), **options)
        while True:  # the lock is held while the library works, never while the page consumes an event
            with self.lock.read():
                event = next(events, None)
            if event is None:
                return
            if event.kind == "answer" and event.answer is not None:
                meta = getattr(event.answer, "meta", {}) or {}
                self.last_model = {"model": event.answer.model, "choice": str(meta.get("generator_choice", ""))}
            yield self.pub.event(event)

    def answer(self, question: str, image: Image.Image | None = None, k: int | None = None) -> Answer:
        """The final answer of `ask_stream` (for API clients, which do not stream)."""
        for event in self.ask_stream(question, image=image, k=k):
            if event.kind == "answer" and event.answer is not None:
                return event.answer
        raise UserError("no answer was produced")

    def moments(self, video: str, query: str, k: int = 5) -> list[Moment]:
        if not video or not query.strip():
            raise UserError("pick a video and type what to look for")
        with self.lock.read():
            found = self.lib.moments(self.pub.private(video), check_text(query, "query"), k=clamp_k(k, 5))
        return [self.pub.moment(m) for m in found]

    def table_answer(self, question: str, k: int | None = None) -> Answer:
        """`Library.ask` over the tables only, with table QA on and extractive wording: the executed query is
        evidence [1]."""
        if not question.strip():
            raise UserError("type a question about the library's tables")
        llm = self.table_llm()
        if llm is None:
            raise UserError("table queries need an LLM to write SQL and none is installed (`mmrag models`); "
                            "install one with `make models` or start the app with --table-llm NAME")
        with self.lock.read():
            answer = self.lib.ask(check_text(question, "question"), k=clamp_k(k, self.settings.k),
                                  generator="extractive", table_qa=True, table_llm=llm,
                                  search_options={"modality": ["table"]})
        return self.pub.answer(answer)

    def table_llm(self) -> str | None:
        """--table-llm, else --generator when it is not extractive, else the first installed LLM."""
        gen = self.settings.generator
        if self.settings.table_llm or (gen and gen != "extractive"):
            return self.settings.table_llm or gen
        return next((name.removeprefix("llm:") for name, row in self.models().items()
                     if name.startswith("llm:") and row.get("available")), None)

    def transcript(self, video: str) -> list[dict]:
        """The transcript lines of one video source: [{"t_start", "t_end", "text"}] in time order."""
        real = self.pub.private(video)
        with self.lock.read():
            store = self.lib.store
            records = store.get_records(store.record_ids_of(real)).values()
        lines = [{"t_start": float(r.locator["t_start"]), "t_end": float(r.locator.get("t_end", r.locator["t_start"])),
                  "text": r.text} for r in records
                 if r.meta.get("kind") == RecordKind.TRANSCRIPT and "t_start" in r.locator]
        return sorted(lines, key=lambda ln: ln["t_start"])

    def source_texts(self, source: str, n: int = 64) -> list[tuple[str, str]]:
        """(record kind, text) of a source's first `n` records that have text, in reading order."""
        with self.lock.read():
            store = self.lib.store
            records = store.get_records(store.record_ids_of(self.pub.private(source))[:n])
        return [(str(records[i].meta.get("kind", "")), records[i].text) for i in sorted(records) if records[i].text]

    def status(self) -> dict:
        with self.lock.read():
            st = self.lib.status()
        return {**st, "library": self.root.name, "failed": [self.pub.source_row(f) for f in st["failed"]]}

    def models(self) -> dict[str, dict]:
        """Each model (space encoders, speech, OCR, LLMs) with its availability."""
        with self.lock.read():
            return self.lib.models()

    def sources(self) -> list[dict]:
        """Every source with its status, kind, record count and error (library paths as `library/...`)."""
        with self.lock.read():
            return [self.pub.source_row(s) for s in self.lib.sources()]

    # -- writing --------------------------------------------------------------------------------
    def ingest(self, paths_: Sequence[str | Path], progress: bool = False) -> IngestReport:
        try:
            with self.lock.write():
                return self.lib.ingest([str(p) for p in paths_], progress=progress, follow_links=False)
        except LibraryBusyError as exc:
            raise UserError("the library is being written by another process; try again when it has finished"
                            ) from exc

    def add_uploads(self, uploads: Sequence[str], progress: bool = False) -> tuple[list[Path], IngestReport]:
        """Copy uploaded temp files into <library>/uploads (safe names) and ingest them; types mmrag does not
        ingest, too many files and files over the size limit are refused before anything is stored."""
        files = [p for p in uploads if p]
        if not files:
            raise UserError("choose one or more files to upload first")
        if len(files) > MAX_UPLOADS:
            raise UserError(f"{len(files)} files at once; the limit is {MAX_UPLOADS}")
        exts = supported_extensions()
        for p in files:
            ext = Path(p).suffix.lower()
            if ext not in exts:
                raise UserError(f"{paths.safe_name(Path(p).name)}: mmrag does not ingest {ext or 'files without an'}"
                                f" extension; accepted: {', '.join(exts)}")
            if os.path.getsize(p) > self.settings.max_upload_mb * 1e6:
                raise UserError(f"{paths.safe_name(Path(p).name)} is over the {self.settings.max_upload_mb:g} MB limit")
        stored = [paths.store_upload(self.root, p, Path(p).name) for p in files]
        return stored, self.ingest(stored, progress)

    def add_folder(self, folder: str, progress: bool = False) -> IngestReport:
        """Ingest a folder on the server, if it (symlinks resolved) lies under one of the allowed folder roots.
        A path outside them gets the same answer whether or not it exists."""
        roots = self.settings.folder_roots
        if not roots:
            raise UserError("adding server folders is off: start the app with --folder-root DIR to allow it")
        if not folder or not folder.strip():
            raise UserError("type the path of a folder on the server")
        path = Path(os.path.expanduser(folder.strip())).resolve()
        if not any(paths.inside(path, r) for r in roots):
            raise UserError(f"{folder} is not inside the folders this app may read")
        if not path.is_dir():
            raise UserError(f"{folder}: no such folder inside the folders this app may read")
        return self.ingest([path], progress)

    def remove(self, source: str) -> int:
        """Remove one source (its records, vectors and entry); uploaded copies are deleted too."""
        real = self.pub.private(source or "")
        with self.lock.read():
            known = {s["path"] for s in self.lib.sources()}
        if real not in known:
            raise UserError(f"{source} is not in the library")
        try:
            with self.lock.write():
                n = sum(self.lib.remove(real).values())
        except LibraryBusyError as exc:
            raise UserError("the library is being written by another process; try again later") from exc
        if paths.inside(real, self.root / paths.UPLOADS) and Path(real).is_file():
            Path(real).unlink()
        paths.drop_media_copy(self.root, real)
        return n

    # -- media ------------------------------------------------------------------------------------
    def media_path(self, source_or_rel: str) -> str | None:
        """A path the web server may send: a thumbnail, or a servable copy of a picture or video source."""
        p = Path(self.pub.private(source_or_rel))
        p = p if p.is_absolute() else self.root / p
        if paths.servable(self.root, p) and p.is_file():
            return str(p.resolve())
        try:
            copy = paths.media_copy(self.root, p)
        except OSError as exc:
            log.warning("cannot make %s servable: %s", p, exc)
            return None
        return str(copy) if copy else None

    def evidence_image(self, ev: Evidence) -> str | None:
        """The picture to show for an image (or keyframe, or OCR view) piece of evidence."""
        meta = ev.hit.record.meta
        if ev.modality == "image" or meta.get("view_of") == "image":
            return self.media_path(ev.source) or (self.media_path(meta["thumbnail"]) if "thumbnail" in meta else None)
        if "thumbnail" in meta:
            return self.media_path(meta["thumbnail"])
        return None
