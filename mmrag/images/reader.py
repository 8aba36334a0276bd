"""Image files: one `image` record (pixels to the CLIP space) and, when OCR finds words, one linked
`text` record (same source, locator = line boxes) that the text space and FTS5 index, so a photo of a
slide or a receipt is found by its words. `render_pdf_page` draws a PDF page as an image (the documents
package indexes PDF pages that way; `mmrag reindex` renders them again through the image input hook).
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any, Iterable, Iterator

from PIL import Image

from ..core import hooks
from ..core.readers import Document, ReadContext, register_reader
from ..errors import DependencyMissingError, IngestError
from ..kinds import Meta, Modality, RecordKind
from ..records import Record
from .decode import IMAGE_EXTS, exif_meta, open_image
from .thumbs import save_thumbnail

log = logging.getLogger(__name__)
PAGE_PX = 1024  # long side of a PDF page rendered as an image (the CLIP space embeds it)


def ocr_record(img: Image.Image, ctx: ReadContext) -> Record | None:
    """The image's words as a linked text record, or None."""
    engine = ctx.tools.get("ocr")
    if engine is None:
        from encoders.ocr import OcrEngine
        engine = ctx.tools["ocr"] = OcrEngine()
    lines = engine.read(img)
    if not lines:
        return None
    text = "\n".join(line.text for line in lines)
    boxes = [[round(min(p[0] for p in ln.box)), round(min(p[1] for p in ln.box)),
              round(max(p[0] for p in ln.box)), round(max(p[1] for p in ln.box))] for ln in lines]
    return Record(Modality.TEXT, "", {"boxes": boxes}, text, meta={"kind": RecordKind.OCR, "view_of": Modality.IMAGE})


@register_reader(IMAGE_EXTS, Modality.IMAGE)
def read_image(path: Path, data: bytes, ctx: ReadContext) -> Document:
    img = open_image(data, ctx.config.max_image_pixels)
    meta: Meta = {"kind": RecordKind.IMAGE, "width": img.width, "height": img.height,
                            "format": Image.open(io.BytesIO(data)).format, **exif_meta(data)}
    meta["thumbnail"] = save_thumbnail(img, ctx.root, ctx.sha256, ctx.config.thumbnail_px)
    label = " ".join(path.stem.replace("_", " ").replace("-", " ").split())
    records = [Record(Modality.IMAGE, "", {"width": img.width, "height": img.height}, f"image: {label}", meta=meta,
                      payload=img)]
    notes: list[str] = []
    if ctx.config.ocr:
        try:
            if (rec := ocr_record(img, ctx)) is not None:
                records.append(rec)
        except (RuntimeError, ValueError, OSError, ImportError) as exc:
            notes.append(f"OCR failed ({exc}); the image is indexed without its text")
    return Document(Modality.IMAGE, records=records, notes=notes)


def pdf_pages(data: bytes, pages: Iterable[int], long_side: int = PAGE_PX) -> Iterator[tuple[int, Image.Image]]:
    """(page, image) for each of `pages` (1-based; those past the end skipped) rendered with pypdfium2,
    RGB, long side `long_side` px."""
    try:
        import pypdfium2 as pdfium
    except ImportError as exc:
        raise DependencyMissingError("rendering PDF pages needs pypdfium2: pip install 'mmrag[images]'") from exc
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise IngestError(f"unreadable PDF ({exc}); re-save or repair the file") from exc
    try:
        for n in pages:
            if not 1 <= n <= len(pdf):
                continue
            page = pdf[n - 1]
            bitmap = page.render(scale=long_side / max(*page.get_size(), 1.0))
            img = bitmap.to_pil().convert("RGB")
            bitmap.close()
            page.close()
            yield n, img
    finally:
        pdf.close()


def render_pdf_page(data: bytes, page: int, long_side: int = PAGE_PX) -> Image.Image:
    """Page `page` (1-based) of a PDF as an RGB image (what the CLIP space embedded for it)."""
    for _, img in pdf_pages(data, [page], long_side):
        return img
    raise IngestError(f"the PDF has no page {page} (it changed since it was ingested? ingest it again)")


@hooks.register_record_input(Modality.IMAGE)
def _image_input(collection: Any, record: Record) -> Image.Image:
    """`mmrag reindex`: an image record's pixels, read again from its file (a PDF page: rendered again)."""
    data = Path(record.source).read_bytes()
    if "page" in record.locator:
        return render_pdf_page(data, int(record.locator["page"]))
    return open_image(data, collection.config.max_image_pixels)
