"""`export_library` / `import_library`: a whole library folder as one checked `.tar.gz`.

The archive's first member is a manifest (`mmrag-export.json`: format, the folder it came from, and
each file's size and sha256). Export holds the write lock, copies SQLite with its backup API (a
consistent snapshot, WAL included) and leaves out the lock and temporary files. Import streams the
archive once into a temporary folder next to the destination, accepts only regular files the manifest
names (no absolute names, no `..`, no links or devices), bounds each file by its manifest size, checks
every sha256 and the free disk first, and renames the folder into place only when everything matched;
opening it then moves the sources stored inside the library to the new folder (`relocate`).
Sources outside the exported folder are not carried; the export names how many.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Iterator

from ..errors import ArchiveError
from .relocate import ROOT_KEY, folder_of

log = logging.getLogger(__name__)
MANIFEST = "mmrag-export.json"
FORMAT = 1
MAX_MANIFEST = 64 << 20  # bytes: a manifest larger than this is refused unread
CHUNK = 1 << 20
STORE = "store.sqlite"
SKIPPED_NAMES = {".lock", "store.sqlite-wal", "store.sqlite-shm", "store.sqlite-journal"}
SKIPPED_SUFFIXES = (".tmp", ".partial")
SKIPPED_DIRS = {"lexical"}  # derived from the store: rebuilt when the imported library is first searched


@dataclass
class ArchiveReport:
    """What an export wrote or an import restored."""

    archive: str
    library: str
    files: int = 0
    bytes: int = 0
    outside: int = 0  # sources outside the library folder (export: not carried)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _members(root: Path) -> Iterator[tuple[str, Path]]:
    """(archive name, file) for every file of the library that an export carries."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() or not path.is_file() or rel == STORE:
            continue
        parts = path.relative_to(root).parts
        if (path.name in SKIPPED_NAMES or parts[0] in SKIPPED_DIRS
                or any(part.endswith(SKIPPED_SUFFIXES) for part in parts)):
            continue
        yield rel, path


def _outside(c: Any) -> int:
    inside = folder_of(c.root).rstrip(os.sep) + os.sep
    return sum(1 for s in c.store.sources() if not str(s["path"]).startswith(inside))


def export_library(c: Any, archive: str | Path) -> ArchiveReport:
    """Write the library `c` (a `Collection`) to `archive` (.tar.gz), atomically (a partial file never
    takes the archive's name)."""
    t0, archive = time.monotonic(), Path(archive)
    if archive.resolve().is_relative_to(folder_of(c.root)):
        raise ArchiveError(f"{archive}: the archive cannot be written inside the library {c.root}; pick another path")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with c.writing(), tempfile.TemporaryDirectory(prefix="mmrag-export-") as tmp:
        c.store.set_meta(ROOT_KEY, folder_of(c.root))
        snapshot = Path(tmp) / STORE
        c.store.snapshot(snapshot)
        files = [(STORE, snapshot), *_members(c.root)]
        entries = {name: {"size": p.stat().st_size, "sha256": _sha256(p)} for name, p in files}
        manifest = {"format": FORMAT, "root": folder_of(c.root), "created": time.time(), "files": entries}
        report = ArchiveReport(str(archive), str(c.root), len(files), sum(e["size"] for e in entries.values()),
                               _outside(c))
        _write_tar(archive, manifest, files)
    if report.outside:
        report.notes.append(f"{report.outside} source(s) outside {c.root} are not in the archive; "
                            "their records are, and they are re-read only where their paths exist")
        log.info(report.notes[-1])
    report.seconds = round(time.monotonic() - t0, 2)
    return report


def _write_tar(archive: Path, manifest: dict, files: list[tuple[str, Path]]) -> None:
    part = archive.with_name(archive.name + ".partial")
    try:
        with tarfile.open(part, "w:gz") as tar:
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
            for name, path in files:
                tar.add(path, arcname=name, recursive=False)
        os.replace(part, archive)
    finally:
        part.unlink(missing_ok=True)


def _check_dest(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ArchiveError(f"{dest}: import needs a new or empty folder; this one is not empty "
                           "(pick another --library or remove it)")


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile():
        raise ArchiveError(f"{archive}: not an mmrag export (its first member is not {MANIFEST})")
    if first.size > MAX_MANIFEST:
        raise ArchiveError(f"{archive}: manifest of {first.size} bytes is over the {MAX_MANIFEST} byte limit")
    try:
        manifest = json.loads(tar.extractfile(first).read())  # type: ignore[union-attr]
        files = manifest["files"]
        sizes = [int(e["size"]) for e in files.values()]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ArchiveError(f"{archive}: its manifest {MANIFEST} is unreadable ({e})") from e
    if manifest.get("format") != FORMAT:
        raise ArchiveError(f"{archive}: export format {manifest.get('format')!r}; this mmrag reads format {FORMAT}")
    if STORE not in files or min(sizes, default=0) < 0:
        raise ArchiveError(f"{archive}: the manifest does not list {STORE}; not a complete library export")
    return manifest


def _safe_name(name: str, archive: Path) -> PurePosixPath:
    p = PurePosixPath(name)
    if p.is_absolute() or not p.parts or ".." in p.parts or "\\" in name or name.startswith("/"):
        raise ArchiveError(f"{archive}: member {name!r} has an unsafe name (absolute or with '..'); refused")
    return p


def _extract_one(tar: tarfile.TarFile, m: tarfile.TarInfo, entry: dict, target: Path, archive: Path) -> None:
    """Copy one member to `target`, at most its manifest size, and check its sha256."""
    if m.size != int(entry["size"]):
        raise ArchiveError(f"{archive}: {m.name} is {m.size} bytes; the manifest says {entry['size']}")
    src: IO[bytes] = tar.extractfile(m)  # type: ignore[assignment]
    h, left = hashlib.sha256(), m.size
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        while left > 0:
            block = src.read(min(CHUNK, left))
            if not block:
                raise ArchiveError(f"{archive}: {m.name} ends early; the archive is truncated")
            h.update(block)
            out.write(block)
            left -= len(block)
    if h.hexdigest() != entry["sha256"]:
        raise ArchiveError(f"{archive}: {m.name} does not match its sha256 in the manifest; "
                           "the archive was changed or damaged")


def _extract_all(tar: tarfile.TarFile, manifest: dict, into: Path, archive: Path) -> int:
    files, seen = manifest["files"], set()
    while (m := tar.next()) is not None:  # iterating the TarFile would start again at the manifest
        p = _safe_name(m.name, archive)
        if m.isdir():
            continue
        if not m.isfile():
            raise ArchiveError(f"{archive}: member {m.name!r} is a link or device, not a file; refused")
        if m.name not in files or m.name in seen:
            raise ArchiveError(f"{archive}: member {m.name!r} is not in the manifest (or repeated); refused")
        seen.add(m.name)
        _extract_one(tar, m, files[m.name], into.joinpath(*p.parts), archive)
    missing = sorted(set(files) - seen)
    if missing:
        raise ArchiveError(f"{archive}: {len(missing)} file(s) of the manifest are missing, e.g. {missing[0]}")
    return len(seen)


def _check_space(dest: Path, manifest: dict, archive: Path) -> int:
    need = sum(int(e["size"]) for e in manifest["files"].values())
    free = shutil.disk_usage(dest.parent).free
    if need > free * 0.9:
        raise ArchiveError(f"{archive}: restoring needs {need} bytes; {dest.parent} has {free} free")
    return need


def import_library(archive: str | Path, dest: str | Path) -> ArchiveReport:
    """Restore an export into `dest` (new or empty). Nothing is left at `dest` unless all files matched."""
    t0, archive, dest = time.monotonic(), Path(archive), Path(dest).absolute()
    _check_dest(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.import-", dir=dest.parent))
    try:
        try:
            with tarfile.open(archive, "r|gz") as tar:
                manifest = _read_manifest(tar, archive)
                size = _check_space(dest, manifest, archive)
                n = _extract_all(tar, manifest, tmp, archive)
        except (tarfile.TarError, EOFError, OSError) as e:
            raise ArchiveError(f"{archive}: cannot read the archive ({e})") from e
        _check_dest(dest)
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report = ArchiveReport(str(archive), str(dest), n, size, seconds=round(time.monotonic() - t0, 2))
    report.notes.append(f"exported from {manifest.get('root')}")
    return report
