"""File readers by extension: each returns text sections with locators, or raises IngestError."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ..records import Record

log = logging.getLogger(__name__)


class IngestError(Exception):
    """A file that cannot be ingested; the message says why and what to do."""


@dataclass
class Section:
    """A span of readable text and where it came from (page, ...)."""

    text: str
    locator: dict[str, Any] = field(default_factory=dict)


@dataclass
class Document:
    """What a reader made of a file: text sections to chunk, or ready records (images, ...)."""

    kind: str
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # non-fatal remarks, e.g. a fallback encoding
    records: list["Record"] = field(default_factory=list)


@dataclass
class ReadContext:
    """What readers may need beyond the bytes: the library folder, its config, shared tools."""

    root: Path
    sha256: str
    config: Any  # LibraryConfig
    tools: dict[str, Any] = field(default_factory=dict)  # lazily created helpers, e.g. an OCR engine


Reader = Callable[[Path, bytes, ReadContext], Document]
READERS: dict[str, tuple[str, Reader]] = {}
# Kinds whose readers open the file themselves (large media): the pipeline hashes the file in blocks
# and passes empty `data` instead of reading it into memory; and each kind's size-limit config field.
STREAMED: set[str] = set()
SIZE_LIMITS: dict[str, str] = {}


def register_reader(exts: tuple[str, ...], kind: str, streamed: bool = False,
                    max_mb_field: str = "max_file_mb") -> Callable[[Reader], Reader]:
    """Register `fn` for the extensions; `streamed` readers get b"" and read `path` themselves."""
    def deco(fn: Reader) -> Reader:
        for ext in exts:
            READERS[ext] = (kind, fn)
        if streamed:
            STREAMED.add(kind)
        SIZE_LIMITS[kind] = max_mb_field
        return fn
    return deco


def reader_for(path: Path) -> tuple[str, Reader] | None:
    return READERS.get(path.suffix.lower())


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """Decode bytes as UTF-8; fall back to cp1252 with a note; refuse binary data."""
    if not data.strip():
        raise IngestError("empty file (no text)")
    sample = data[:8192]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) * 0.05:
        raise IngestError("binary content in a text file; check the file type or extension")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        note = f"invalid UTF-8 at byte {exc.start}; decoded as cp1252"
        try:
            return data.decode("cp1252"), [note]
        except UnicodeDecodeError:
            raise IngestError(f"invalid UTF-8 at byte {exc.start} and not cp1252 either;"
                              " convert the file to UTF-8") from exc


@register_reader((".txt", ".text", ".md", ".markdown", ".rst"), "text")
def read_plain(path: Path, data: bytes, ctx: ReadContext) -> Document:
    text, notes = decode_text(data)
    return Document("text", [Section(text)], notes)


class _HTMLText(HTMLParser):
    SKIP = {"script", "style", "noscript", "template", "svg"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
             "table", "ul", "ol", "pre", "blockquote", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in self.SKIP
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in self.SKIP and self._skip > 0
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


@register_reader((".html", ".htm", ".xhtml"), "text")
def read_html(path: Path, data: bytes, ctx: ReadContext) -> Document:
    raw, notes = decode_text(data)
    parser = _HTMLText()
    parser.feed(raw)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    if not text.strip():
        raise IngestError("HTML page has no visible text")
    return Document("text", [Section(text.strip())], notes)


@register_reader((".pdf",), "text")
def read_pdf(path: Path, data: bytes, ctx: ReadContext) -> Document:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:  # pragma: no cover
        raise IngestError("PDF support needs pypdf: pip install pypdf") from exc
    import io
    try:
        pages = PdfReader(io.BytesIO(data)).pages
        sections = [Section(p.extract_text() or "", {"page": i + 1}) for i, p in enumerate(pages)]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise IngestError(f"unreadable PDF ({exc}); re-save or repair the file") from exc
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise IngestError("PDF has no extractable text (scanned? OCR arrives with image support)")
    return Document("text", sections)
