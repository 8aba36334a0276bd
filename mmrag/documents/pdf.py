"""PDF files: the text of each page (pypdf), OCR for pages without a text layer (scans), and every
page as an image for visual document retrieval (as ColPali/byaldi do, here in the CLIP space).

* text: one section per page with text, locator {"page": n} (chunked by the ingest pipeline);
* scanned pages (no extractable text) are rendered with pypdfium2 and read with OCR (rapidocr, the
  OCR engine shared with the image reader through `ctx.tools`) into text sections {"page": n}; OCR
  stops before the reader's time limit (`read_timeout_s`) and says which pages it read;
* page images: the first `max_pdf_page_images` pages (0: none) rendered with the long side 1024 px
  become `image` records {"page": n} with a thumbnail, when a space embeds images; `mmrag reindex`
  renders them again through the image input hook (`mmrag.images.reader`).
"""
from __future__ import annotations

import io
import logging
import time
from pathlib import Path
from typing import Any

from ..core.readers import Document, IngestError, ReadContext, Section, register_reader
from ..errors import MmragError
from ..images.reader import PAGE_PX, pdf_pages
from ..images.thumbs import save_thumbnail
from ..kinds import Meta, Modality, RecordKind, SpaceInput
from ..records import Record

log = logging.getLogger(__name__)
OCR_PX = 1600  # long side of a page rendered for OCR (OcrEngine reads at most 1600 px)
OCR_TIME_SHARE = 0.7  # OCR stops after this share of read_timeout_s (the file keeps what was read)


def page_texts(data: bytes) -> list[str]:
    """The extractable text of every page ('' for a page without a text layer, or one pypdf cannot read)."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:  # pragma: no cover - a dependency
        raise IngestError("PDF support needs pypdf: pip install pypdf") from exc
    try:
        pages = PdfReader(io.BytesIO(data)).pages
        n = len(pages)
    except (PdfReadError, ValueError, KeyError, OSError, TypeError) as exc:
        raise IngestError(f"unreadable PDF ({exc}); re-save or repair the file") from exc
    texts = []
    for i in range(n):
        try:
            texts.append(pages[i].extract_text() or "")
        except (PdfReadError, ValueError, KeyError, OSError, TypeError, AttributeError) as exc:
            log.warning("PDF page %d: no text extracted (%s)", i + 1, exc)
            texts.append("")
    return texts


def _ocr_engine(ctx: ReadContext) -> Any:
    """The reader process's OCR engine (one, shared with the image reader)."""
    engine = ctx.tools.get("ocr")
    if engine is None:
        from encoders.ocr import OcrEngine
        engine = ctx.tools["ocr"] = OcrEngine()
    return engine


def ocr_sections(data: bytes, pages: list[int], ctx: ReadContext, notes: list[str]) -> list[Section]:
    """OCR text of the scanned `pages`, one section each {"page": n}; stops before the time limit."""
    deadline = time.monotonic() + OCR_TIME_SHARE * ctx.config.read_timeout_s
    sections, done = [], []
    try:
        engine = _ocr_engine(ctx)
        for n, img in pdf_pages(data, pages, OCR_PX):
            if time.monotonic() > deadline:
                notes.append(f"OCR read {len(done)} of the {len(pages)} pages without a text layer before the"
                             f" time limit (read_timeout_s={ctx.config.read_timeout_s:g}); raise it to read them all")
                break
            done.append(n)
            if text := "\n".join(line.text for line in engine.read(img)).strip():
                sections.append(Section(text, {"page": n}))
    except (MmragError, RuntimeError, ValueError, OSError, ImportError) as exc:
        notes.append(f"OCR of the pages without a text layer failed ({exc})")
        return sections
    if sections:
        read = ", ".join(str(s.locator["page"]) for s in sections)
        notes.append(f"read with OCR (no text layer): page{'s' if len(sections) > 1 else ''} {read}")
    return sections


def wants_page_images(ctx: ReadContext | None) -> bool:
    """True when page images are on (`max_pdf_page_images` > 0) and a space embeds image pixels."""
    return ctx is not None and ctx.config.max_pdf_page_images > 0 and any(
        Modality.IMAGE in s.modalities and s.input == SpaceInput.IMAGE for s in ctx.config.spaces.values())


def page_images(path: Path, data: bytes, n_pages: int, ctx: ReadContext, notes: list[str]) -> list[Record]:
    """The first `max_pdf_page_images` pages as image records {"page": n}, with thumbnails."""
    cap = ctx.config.max_pdf_page_images
    capped = ""
    if n_pages > cap:
        capped = f"page images for the first {cap} of {n_pages} pages (max_pdf_page_images={cap})"
        notes.append(capped + "; raise it in library.json for more")
    label = " ".join(path.stem.replace("_", " ").replace("-", " ").split())
    records = []
    try:
        for n, img in pdf_pages(data, range(1, min(n_pages, cap) + 1), PAGE_PX):
            meta: Meta = {"kind": RecordKind.IMAGE, "page": n, "n_pages": n_pages, "width": img.width,
                          "height": img.height}
            meta["thumbnail"] = save_thumbnail(img, ctx.root, f"{ctx.sha256}-p{n}", ctx.config.thumbnail_px)
            if capped:
                meta["capped"] = capped
            records.append(Record(Modality.IMAGE, "", {"page": n}, f"PDF page {n}: {label}", meta=meta, payload=img))
    except (MmragError, RuntimeError, ValueError, OSError) as exc:
        notes.append(f"PDF pages not rendered as images ({exc}); the text is indexed")
        return []
    return records


def _nothing_read(n_pages: int, blank: list[int], ctx: ReadContext | None) -> IngestError:
    """Why a PDF gave neither text nor page images."""
    if not n_pages:
        return IngestError("PDF has no pages (no extractable text)")
    if ctx is None or not ctx.config.ocr:
        return IngestError(f"PDF has no extractable text on its {n_pages} pages (scanned?) and OCR is off"
                           " (ocr=false in library.json)")
    return IngestError(f"PDF has no extractable text and OCR found no words on its {len(blank)} pages")


@register_reader((".pdf",), "text")
def read_pdf(path: Path, data: bytes, ctx: ReadContext) -> Document:
    """Text sections per page (OCR for scanned pages) and, when a space embeds images, page images."""
    texts = page_texts(data)
    sections = [Section(t, {"page": n}) for n, t in enumerate(texts, 1) if t.strip()]
    blank = [n for n, t in enumerate(texts, 1) if not t.strip()]
    notes: list[str] = []
    if blank and ctx is not None and ctx.config.ocr:
        sections = sorted(sections + ocr_sections(data, blank, ctx, notes), key=lambda s: s.locator["page"])
    records = page_images(path, data, len(texts), ctx, notes) if wants_page_images(ctx) else []
    if not sections and not records:
        why = _nothing_read(len(texts), blank, ctx)
        raise IngestError("; ".join([str(why), *notes])) if notes else why
    if not sections:
        notes.append("no text found in the PDF (its pages are indexed as images only)")
    return Document("text", sections, notes, records)
