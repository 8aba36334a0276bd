"""Zip-based documents (.docx, .pptx, .epub): refuse files that are not zips or expand past the limit."""
from __future__ import annotations

import io
import zipfile

from ..core.readers import ReadContext
from ..errors import IngestError


def open_zip(data: bytes, ctx: ReadContext | None, what: str) -> zipfile.ZipFile:
    """The file as a zip; IngestError when it is none, or (a zip bomb?) its entries expand past
    `max_unzipped_mb`."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IngestError(f"not a valid {what} file (not a zip archive: {exc}); re-save it") from exc
    limit = ctx.config.max_unzipped_mb if ctx is not None else 2000.0
    if total > limit * 1e6:
        zf.close()
        raise IngestError(f"{what} file expands to {total / 1e6:.0f} MB uncompressed, over max_unzipped_mb="
                          f"{limit:g} (a zip bomb?); raise it in library.json if the file is real")
    return zf
