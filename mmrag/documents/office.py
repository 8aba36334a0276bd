"""Office documents: Word (.docx) as one text in reading order, PowerPoint (.pptx) one section per slide.

Word: paragraphs and tables in the order they appear in the body, headings as their own lines, one
blank line between blocks (where the chunker prefers to break); a table is one row per line, cells
joined by " | " (merged cells once). PowerPoint: each slide's text boxes and tables, top to bottom,
then its speaker notes, as a section with locator {"slide": n}; slides without text are skipped.
"""
from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterator

from ..core.readers import Document, IngestError, ReadContext, Section, register_reader
from ..errors import DependencyMissingError
from .zipped import open_zip

log = logging.getLogger(__name__)
_CELL_SEP = " | "
_BROKEN = (KeyError, ValueError, SyntaxError, zipfile.BadZipFile, OSError)  # lxml XMLSyntaxError is a SyntaxError


def _clean(text: str) -> str:
    """Spaces collapsed inside each line; empty lines dropped (a vertical tab is a line break)."""
    lines = (" ".join(line.split()) for line in text.replace("\v", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def _row_text(cells: list[Any], text_of: Callable[[Any], str]) -> str:
    """A table row: its cells' texts joined, a merged cell (the same cell repeated) once."""
    out, seen = [], []
    for cell in cells:
        key = getattr(cell, "_tc", cell)
        if any(key is k for k in seen):
            continue
        seen.append(key)
        if text := " ".join(text_of(cell).split()):
            out.append(text)
    return _CELL_SEP.join(out)


def _docx_cell(cell: Any) -> str:
    """A Word table cell's text on one line (a table inside it: rows joined by '; ')."""
    parts = []
    for item in cell.iter_inner_content():
        parts.append(_docx_table(item).replace("\n", "; ") if hasattr(item, "rows") else item.text)
    return " ".join(parts)


def _docx_table(table: Any) -> str:
    """A Word table: one line per row, cells joined by ' | '."""
    rows = (_row_text(list(row.cells), _docx_cell) for row in table.rows)
    return "\n".join(r for r in rows if r)


def _docx_blocks(doc: Any) -> Iterator[str]:
    """The body's paragraphs and tables as text blocks, in reading order."""
    for item in doc.iter_inner_content():
        if hasattr(item, "rows"):  # a table
            text = _docx_table(item)
        else:
            text = _clean(item.text)
        if text:
            yield text


@register_reader((".docx",), "text")
def read_docx(path: Path, data: bytes, ctx: ReadContext) -> Document:
    """A Word document as one text section: paragraphs, headings and tables in reading order."""
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as exc:  # pragma: no cover - a dependency
        raise DependencyMissingError("reading .docx needs python-docx: pip install python-docx") from exc
    open_zip(data, ctx, ".docx").close()
    try:
        doc = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, *_BROKEN) as exc:
        raise IngestError(f"not a Word document ({exc}); re-save it as .docx") from exc
    text = "\n\n".join(_docx_blocks(doc))
    if not text.strip():
        raise IngestError("Word document has no text")
    return Document("text", [Section(text)])


def _shape_texts(shapes: Any) -> Iterator[str]:
    """Text of slide shapes (groups opened), top to bottom then left to right; footers and numbers skipped."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER
    skip = {PP_PLACEHOLDER.SLIDE_NUMBER, PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.FOOTER}
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if shape.is_placeholder and shape.placeholder_format.type in skip:
            continue
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shape_texts(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = (_row_text(list(row.cells), lambda c: c.text) for row in shape.table.rows)
            yield "\n".join(r for r in rows if r)
        elif shape.has_text_frame and (text := _clean(shape.text_frame.text)):
            yield text


def _slide_text(slide: Any) -> str:
    """A slide's shapes' text, then its speaker notes."""
    parts = [t for t in _shape_texts(slide.shapes) if t]
    if slide.has_notes_slide and (frame := slide.notes_slide.notes_text_frame) is not None:
        if notes := _clean(frame.text):
            parts.append("Notes: " + notes)
    return "\n\n".join(parts)


@register_reader((".pptx",), "text")
def read_pptx(path: Path, data: bytes, ctx: ReadContext) -> Document:
    """A presentation: one section per slide with text (locator {"slide": n}), notes included."""
    try:
        from pptx import Presentation
        from pptx.exc import PackageNotFoundError
    except ImportError as exc:  # pragma: no cover - a dependency
        raise DependencyMissingError("reading .pptx needs python-pptx: pip install python-pptx") from exc
    open_zip(data, ctx, ".pptx").close()
    try:
        prs = Presentation(io.BytesIO(data))
    except (PackageNotFoundError, *_BROKEN) as exc:
        raise IngestError(f"not a PowerPoint presentation ({exc}); re-save it as .pptx") from exc
    sections = [Section(text, {"slide": n}) for n, slide in enumerate(prs.slides, 1) if (text := _slide_text(slide))]
    if not sections:
        raise IngestError(f"presentation has no text on its {len(prs.slides)} slides")
    return Document("text", sections)
