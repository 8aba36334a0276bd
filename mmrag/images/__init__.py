"""Images: safe decoding, thumbnails, OCR text views, and the image file reader."""
from .decode import IMAGE_EXTS, exif_meta, open_image, to_rgb
from .reader import ocr_record, read_image
from .thumbs import remove_thumbnails, save_thumbnail

__all__ = ["IMAGE_EXTS", "exif_meta", "ocr_record", "open_image", "read_image", "remove_thumbnails",
           "save_thumbnail", "to_rgb"]
