"""HTML to text: the page's main content with trafilatura (navigation, footers, cookie banners and
sidebars dropped), else every visible text with the standard library's parser.

Both keep block structure: paragraphs, headings, list items and table rows are separated by blank
lines (table cells by " | "), so the chunker can break at them.
"""
from __future__ import annotations

import logging
from html.parser import HTMLParser
from typing import Any

log = logging.getLogger(__name__)


class _HTMLText(HTMLParser):
    SKIP = {"script", "style", "noscript", "template", "svg"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
             "table", "ul", "ol", "pre", "blockquote", "title"}

    def __init__(self, skip: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._skip_tags = self.SKIP | skip

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in self._skip_tags
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in self._skip_tags and self._skip > 0
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _tidy(text: str) -> str:
    """Spaces collapsed inside lines, at most one blank line in a row, no blank ends."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def visible_text(raw: str, skip: frozenset[str] = frozenset()) -> str:
    """Every visible text of the page (scripts, styles and the tags in `skip` left out), stdlib only."""
    parser = _HTMLText(skip)
    parser.feed(raw)
    parser.close()
    return _tidy("".join(parser.parts))


def _inline(el: Any) -> str:
    """An element's text on one line; <lb/> (a <br>) becomes a line break."""
    parts = [el.text or ""]
    for child in el:
        parts.append("\n" if child.tag == "lb" else _inline(child))
        parts.append(child.tail or "")
    return "\n".join(" ".join(line.split()) for line in "".join(parts).split("\n")).strip()


def _block(el: Any) -> str:
    """One block of trafilatura's XML tree as text."""
    if el.tag == "table":
        rows = [" | ".join(c for c in (_inline(cell) for cell in row.findall("cell")) if c)
                for row in el.findall("row")]
        return "\n".join(r for r in rows if r)
    if el.tag == "list":
        return "\n".join(t for item in el.findall("item") if (t := _inline(item)))
    return _inline(el)


def main_text(raw: str) -> str:
    """The main content found by trafilatura ('' when it finds none or is not installed)."""
    try:
        import trafilatura
    except ImportError:  # pragma: no cover - a dependency
        log.debug("trafilatura is not installed; HTML pages are read whole")
        return ""
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # its parse errors: the fallback covers them
    try:
        doc = trafilatura.bare_extraction(raw, include_tables=True, include_comments=False, favor_recall=True,
                                          include_images=False, with_metadata=True)
    except Exception as exc:  # noqa: BLE001 - a page trafilatura cannot parse is read whole instead
        log.debug("trafilatura failed (%s); reading the page whole", exc)
        return ""
    body = getattr(doc, "body", None)
    if body is None:
        return ""
    blocks = [t for el in body if (t := _block(el))]
    title = " ".join((getattr(doc, "title", None) or "").split())
    if blocks and title and title.lower() not in blocks[0].lower():
        blocks.insert(0, title)
    return _tidy("\n\n".join(blocks))


def html_text(raw: str) -> tuple[str, bool]:
    """(text of the page, whether it is the main content only): trafilatura's main content, else
    every visible text."""
    text = main_text(raw)
    if text:
        return text, True
    return visible_text(raw), False
