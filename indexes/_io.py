"""Crash-safe file helpers shared by the index implementations.

Protocol: data files are written under generation-stamped names
(``index-<gen>.faiss``), each via temp file + flush + fsync + ``os.replace``;
``manifest.json`` is replaced last and names the files it belongs to; superseded
files are deleted only after that. A crash at any point therefore leaves the old
or the new manifest, each pointing at complete files. One writer per directory.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"


def fsync_dir(directory: Path) -> None:
    """fsync a directory so renames inside it are durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write `path` via a same-directory temp file, fsync, then os.replace."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX, suffix=f"-{path.name}")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Atomically replace `directory/manifest.json`."""
    data = json.dumps(manifest, indent=2, sort_keys=True).encode()
    atomic_write(directory / MANIFEST, lambda f: f.write(data))


def read_manifest(directory: Path) -> dict[str, Any]:
    """Parse `directory/manifest.json`; FileNotFoundError / ValueError on trouble."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise FileNotFoundError(f"no saved index: directory {directory} does not exist")
    if not path.is_file():
        raise FileNotFoundError(f"no saved index in {directory}: {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"corrupt index manifest {path}: {exc}") from exc
    if not isinstance(manifest, dict) or "generation" not in manifest:
        raise ValueError(f"corrupt index manifest {path}: not an index manifest")
    return manifest


def next_generation(directory: Path) -> int:
    """Generation number for the next save into `directory`."""
    try:
        return int(read_manifest(directory)["generation"]) + 1
    except (FileNotFoundError, ValueError, TypeError):
        return 1


def remove_stale(directory: Path, keep: set[str], prefixes: tuple[str, ...]) -> None:
    """Delete files/dirs starting with `prefixes` (or temp files) not named in `keep`."""
    for entry in directory.iterdir():
        name = entry.name
        if name in keep or not name.startswith(prefixes + (TMP_PREFIX,)):
            continue
        try:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as exc:  # a leftover is harmless; the manifest decides
            logger.warning("could not remove stale %s: %s", entry, exc)
