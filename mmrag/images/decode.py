"""Safe image decoding: upright RGB from bytes, refusing non-images, truncated files and decompression bombs."""
from __future__ import annotations

import io
import warnings
from typing import Any

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ..errors import IngestError

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
