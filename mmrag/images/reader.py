"""Image files: one `image` record (pixels to the CLIP space) and, when OCR finds words, one linked
`text` record (same source, locator = line boxes) that the text space and FTS5 index, so a photo of a
slide or a receipt is found by its words.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from PIL import Image

from ..core import hooks
from ..core.readers import Document, ReadContext, register_reader
from ..kinds import Meta, Modality, RecordKind
from ..records import Record
from .decode import IMAGE_EXTS, exif_meta, open_image
from .thumbs import save_thumbnail

log = logging.getLogger(__name__)


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


@hooks.register_record_input(Modality.IMAGE)
def _image_input(collection: Any, record: Record) -> Image.Image:
    """`mmrag reindex`: an image record's pixels, read again from its file."""
    return open_image(Path(record.source).read_bytes(), collection.config.max_image_pixels)
