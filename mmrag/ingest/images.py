"""Image files: safe decoding, EXIF orientation and metadata, thumbnails, and the OCR text view.

An image becomes one `image` record (its pixels go to the CLIP space as a transient payload) and,
when OCR finds words, one linked `text` record (same source, locator = line boxes) that the text
space and FTS5 index, so a photo of a slide or a receipt is found by its words.
"""
from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ..records import Record
from .readers import Document, IngestError, ReadContext, register_reader

log = logging.getLogger(__name__)
# mmrag applies its own, configurable limit (max_image_pixels) from the header, before decoding,
# so it can name the image's size; PIL's global guard would refuse first with a vaguer message.
Image.MAX_IMAGE_PIXELS = None
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
_EXIF_IFD = 0x8769


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Decode to an upright RGB image; refuse non-images, truncated files and decompression bombs."""
    if not data:
        raise IngestError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > max_pixels:
                raise IngestError(f"image is {w}x{h} = {w * h / 1e6:.0f} MP, over max_image_pixels="
                                  f"{max_pixels / 1e6:.0f} MP (decompression-bomb guard); raise it in library.json")
            img.seek(0)  # GIF/TIFF: first frame
            img.load()
    except IngestError:
        raise
    except UnidentifiedImageError as exc:
        raise IngestError("not an image (unknown format); check the file or its extension") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise IngestError(f"corrupt or truncated image ({exc})") from exc
    return to_rgb(ImageOps.exif_transpose(img) or img)


def to_rgb(img: Image.Image) -> Image.Image:
    """Palette, CMYK, greyscale and alpha images to RGB (alpha composited on white)."""
    if img.mode == "RGB":
        return img
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB")


def exif_meta(data: bytes) -> dict[str, Any]:
    """Capture date and camera from EXIF, when present."""
    try:
        exif = Image.open(io.BytesIO(data)).getexif()
    except (OSError, ValueError, SyntaxError):
        return {}
    tags = {**dict(exif), **dict(exif.get_ifd(_EXIF_IFD))}
    names = {ExifTags.Base.DateTimeOriginal: "exif_date", ExifTags.Base.DateTime: "exif_date",
             ExifTags.Base.Make: "camera_make", ExifTags.Base.Model: "camera_model"}
    out: dict[str, Any] = {}
    for tag, name in names.items():
        value = tags.get(tag)
        if isinstance(value, str) and value.strip("\x00 ") and name not in out:
            out[name] = value.strip("\x00 ")
    if "camera_make" in out or "camera_model" in out:
        out["camera"] = " ".join(dict.fromkeys([out.pop("camera_make", ""), out.pop("camera_model", "")])).strip()
    return out


def save_thumbnail(img: Image.Image, root: Path, sha256: str, px: int) -> str:
    """Write a JPEG thumbnail under <library>/thumbs/; return its path relative to the library."""
    rel = Path("thumbs") / sha256[:2] / f"{sha256}.jpg"
    dest = root / rel
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        thumb = img.copy()
        thumb.thumbnail((px, px))
        tmp = dest.with_suffix(".tmp")
        thumb.save(tmp, "JPEG", quality=85)
        tmp.replace(dest)
    return str(rel)


def remove_thumbnails(root: Path, sha256: str) -> None:
    """Delete the thumbnails of the content `sha256` (an image's, or a video's keyframes')."""
    for f in (root / "thumbs" / sha256[:2]).glob(f"{sha256}*.jpg"):
        f.unlink(missing_ok=True)


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
    return Record("text", "", {"boxes": boxes}, text, meta={"kind": "ocr", "view_of": "image"})


@register_reader(IMAGE_EXTS, "image")
def read_image(path: Path, data: bytes, ctx: ReadContext) -> Document:
    img = open_image(data, ctx.config.max_image_pixels)
    meta: dict[str, Any] = {"kind": "image", "width": img.width, "height": img.height,
                            "format": Image.open(io.BytesIO(data)).format, **exif_meta(data)}
    meta["thumbnail"] = save_thumbnail(img, ctx.root, ctx.sha256, ctx.config.thumbnail_px)
    label = " ".join(path.stem.replace("_", " ").replace("-", " ").split())
    records = [Record("image", "", {"width": img.width, "height": img.height}, f"image: {label}", meta=meta,
                      payload=img)]
    notes: list[str] = []
    if ctx.config.ocr:
        try:
            if (rec := ocr_record(img, ctx)) is not None:
                records.append(rec)
        except (RuntimeError, ValueError, OSError, ImportError) as exc:
            notes.append(f"OCR failed ({exc}); the image is indexed without its text")
    return Document("image", records=records, notes=notes)
