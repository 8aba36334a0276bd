"""What the app may serve and where uploads go: everything stays inside the library folder.

The web server may send only what the app shows: thumbnails (`thumbs/`) and the copies of picture and
video sources the page plays (`media/`, hard links made by mmrag, only for image and video files).
Nothing else in the library (uploads included) and nothing outside it is servable; and whatever is sent
goes out as an attachment with `nosniff` (`ui.guard`), so even a file that slipped through is never run.
Uploaded files are renamed to a safe base name, so `../../x.jpg` lands in `<library>/uploads/x.jpg`.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
import unicodedata
from pathlib import Path

UPLOADS = "uploads"  # uploaded files, ingested from here
MEDIA = "media"  # copies of video sources that live outside the library, so the player can serve them
# Library internals the web server must never serve (files and folders directly under the root).
INTERNAL = ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "store.sqlite-journal", "tables.duckdb",
            "tables.duckdb.wal", "tables.duckdb.tmp", "library.json", "indexes", ".lock", UPLOADS)
SERVABLE = ("thumbs", MEDIA)  # the only folders the web server may send files from
# Source files that may be copied into media/ to be shown (pictures and videos; never documents or data).
MEDIA_EXTS = frozenset(".jpg .jpeg .png .webp .gif .bmp .tif .tiff .mp4 .m4v .mov .webm .mkv .avi .mpg .mpeg"
                       .split())
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
MAX_NAME = 120


def safe_name(name: str) -> str:
    """A plain file name from a client-supplied one: no folders, no dot-files, no odd characters."""
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").split("/")[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem.strip(" .")[: MAX_NAME - len(ext) - 1] or "upload"
    return f"{stem}.{ext}" if ext else stem


def inside(path: str | Path, root: str | Path) -> bool:
    """True when `path` (symlinks resolved) is `root` or lies below it."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except ValueError:
        return False


def upload_target(library: Path, name: str) -> Path:
    """A new path in `<library>/uploads` for an uploaded file called `name` (never overwrites)."""
    folder = (library / UPLOADS).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    base = safe_name(name)
    target = folder / base
    stem, suffix = Path(base).stem, Path(base).suffix
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{stem}-{n}{suffix}"
    if not inside(target, folder):  # cannot happen after safe_name; kept as the last line of defence
        raise ValueError(f"upload name {name!r} escapes the uploads folder")
    return target


def store_upload(library: Path, tmp_path: str | Path, name: str | None) -> Path:
    """Copy an uploaded temp file into the library under a safe version of its original name."""
    target = upload_target(library, name or Path(tmp_path).name)
    shutil.copyfile(tmp_path, target)
    return target


def servable(library: Path, path: str | Path) -> bool:
    """True when the app may serve `path`: a file under the library's thumbs/ or media/ (symlinks resolved)."""
    root = library.resolve()
    if not inside(path, root):
        return False
    rel = Path(path).resolve().relative_to(root)
    return len(rel.parts) > 1 and rel.parts[0] in SERVABLE


def blocked_paths(library: Path) -> list[str]:
    """The library internals, for the web server's blocklist."""
    root = library.resolve()
    return [str(root / name) for name in INTERNAL]


def _path_key(src: Path) -> str:
    return hashlib.sha256(str(src.resolve()).encode()).hexdigest()[:16]


def media_copy(library: Path, source: str | Path) -> Path | None:
    """A servable path for a picture or video source: itself when inside the library, else a copy in media/.

    Only image and video files are ever copied. The copy is a hard link when possible (same file
    system), else a file copy, named by the source path and its size and mtime, so an edited source
    gets a fresh copy (older ones are dropped). None when the file is gone or is not media.
    """
    src = Path(source)
    if not src.is_file() or src.suffix.lower() not in MEDIA_EXTS:
        return None
    if servable(library, src):
        return src.resolve()
    st = src.stat()
    version = hashlib.sha256(f"{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:8]
    target = library.resolve() / MEDIA / f"{_path_key(src)}-{version}{src.suffix.lower()}"
    if not target.exists():
        drop_media_copy(library, src)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + f".{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, target)
    return target


def subtitle_path(library: Path, source: str | Path, digest: str) -> Path:
    """Where the WebVTT subtitles of a video source go: media/<its key>-vtt-<digest>.vtt, so that
    `drop_media_copy` drops them with the video's copies."""
    return library.resolve() / MEDIA / f"{_path_key(Path(source))}-vtt-{digest}.vtt"


def drop_media_copy(library: Path, source: str | Path) -> int:
    """Delete the media/ copies of `source` (when it is removed or changed); returns how many."""
    folder = library.resolve() / MEDIA
    n = 0
    for old in folder.glob(f"{_path_key(Path(source))}-*") if folder.is_dir() else []:
        old.unlink(missing_ok=True)
        n += 1
    return n
