"""Thumbnails under <library>/thumbs/ (images and video keyframes), and their removal with their source."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PIL import Image

from ..core import hooks

log = logging.getLogger(__name__)
THUMBS = "thumbs"


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


@hooks.on_source_removed
def _drop_thumbnails(collection: Any, source: str, sha256: str | None) -> None:
    """A removed source's thumbnails go, unless another ingested source has the same content."""
    if sha256 and not collection.store.find_by_sha(sha256, exclude=source):
        remove_thumbnails(collection.root, sha256)


@hooks.register_sweeper("thumbnails")
def sweep_thumbnails(collection: Any, dry_run: bool) -> list[str]:
    """Thumbnails no committed record names (a crash between saving them and the commit), and temp files."""
    folder = Path(collection.root) / THUMBS
    if not folder.is_dir():
        return []
    keep = collection.store.meta_values("thumbnail")
    gone = []
    for f in sorted(folder.rglob("*")):
        rel = str(f.relative_to(collection.root))
        if f.is_file() and (f.suffix == ".tmp" or rel not in keep):
            gone.append(rel)
            if not dry_run:
                f.unlink(missing_ok=True)
    return gone


@hooks.register_missing("thumbnails")
def missing_thumbnails(collection: Any) -> dict[str, str]:
    """Sources whose records name a thumbnail that is not on disk."""
    return {src: f"its thumbnail {rel} is missing" for rel, src in collection.store.thumbnails().items()
            if not (Path(collection.root) / rel).is_file()}
