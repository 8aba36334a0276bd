"""Document readers: plain text and Markdown, HTML, PDF (one locator per page)."""
from __future__ import annotations

import io
import logging
from html.parser import HTMLParser
from pathlib import Path

from ..core.readers import Document, IngestError, ReadContext, Section, register_reader

log = logging.getLogger(__name__)


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
    try:
        pages = PdfReader(io.BytesIO(data)).pages
        sections = [Section(p.extract_text() or "", {"page": i + 1}) for i, p in enumerate(pages)]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise IngestError(f"unreadable PDF ({exc}); re-save or repair the file") from exc
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise IngestError("PDF has no extractable text (scanned? OCR arrives with image support)")
    return Document("text", sections)
