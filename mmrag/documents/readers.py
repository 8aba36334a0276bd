"""Document readers: text in any encoding (`decode_text`), plain text and Markdown, HTML pages."""
from __future__ import annotations

import codecs
import logging
from pathlib import Path

from ..core.readers import Document, IngestError, ReadContext, Section, register_reader
from .html import html_text

log = logging.getLogger(__name__)


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when every other byte of mostly-ASCII text is NUL, else None."""
    if len(sample) < 16:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.7 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.7 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _looks_binary(sample: bytes) -> bool:
    return b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) * 0.05


_WESTERN = {"ascii", "latin_1", "iso8859_1", "iso8859_15", "cp1252", "cp1250", "mac_roman"}


def _guess(data: bytes) -> str | None:
    """charset-normalizer's best guess for non-UTF-8 text (None when it has none)."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a dependency
        return None
    best = from_bytes(data[:1 << 20]).best()
    if best is None or best.encoding in _WESTERN:  # Western European text: cp1252, as most such files are
        return None
    return best.encoding


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """Text in any encoding: a BOM (UTF-8/16/32), UTF-16 without one, UTF-8, else charset-normalizer's
    guess (cp1252 when it has none), with a note; binary data is refused."""
    if not data.strip():
        raise IngestError("empty file (no text)")
    sample = data[:8192]
    enc = next((e for bom, e in _BOMS if data.startswith(bom)), None) or _utf16_without_bom(sample)
    if enc:
        text = data.decode(enc, errors="replace")
        if not text.strip():
            raise IngestError("empty file (no text)")
        return text, ([] if enc in ("utf-8-sig",) else [f"decoded as {enc}"])
    if _looks_binary(sample):
        raise IngestError("binary content in a text file; check the file type or extension")
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        guess = _guess(data) or "cp1252"
        try:
            return data.decode(guess), [f"invalid UTF-8 at byte {exc.start}; decoded as {guess}"]
        except (UnicodeDecodeError, LookupError):
            raise IngestError(f"invalid UTF-8 at byte {exc.start} and not {guess} either;"
                              " convert the file to UTF-8") from exc


@register_reader((".txt", ".text", ".md", ".markdown", ".rst"), "text")
def read_plain(path: Path, data: bytes, ctx: ReadContext) -> Document:
    text, notes = decode_text(data)
    return Document("text", [Section(text)], notes)


@register_reader((".html", ".htm", ".xhtml"), "text")
def read_html(path: Path, data: bytes, ctx: ReadContext) -> Document:
    """The page's main content (trafilatura), else all its visible text; one section."""
    raw, notes = decode_text(data)
    text, _ = html_text(raw)
    if not text:
        raise IngestError("HTML page has no visible text")
    return Document("text", [Section(text)], notes)
