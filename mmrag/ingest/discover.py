"""Which files an ingest visits, and which it refuses before opening them.

Folders are walked recursively (hidden entries skipped, sorted). Nothing is opened here: each entry is
classified with `stat` only, so a named pipe, a socket or a device is skipped without being read (a
FIFO with no writer would block forever; /dev/zero would never end). Symlinks are followed only when
their target stays inside the roots being ingested (`follow_outside=True` allows any target), and a
symlink loop is reported, not fatal. Symlinked folders are not walked into (their files are reached
through the real folder, when it is inside a root).
"""
from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

log = logging.getLogger(__name__)


@dataclass
class Entry:
    """One path met while walking: a regular file to read (`reason` empty), or a refusal and why."""

    path: Path  # as found (inside the ingested roots)
    target: Path  # the resolved path (symlinks followed); the source key of a file that is read
    reason: str = ""  # why it is skipped ("" for files that are read)
    missing: bool = False  # a path given on the command line that does not exist


@dataclass
class Found:
    files: list[Entry] = field(default_factory=list)
    refused: list[Entry] = field(default_factory=list)


def _kind(mode: int) -> str | None:
    """Why a file of this mode is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, what in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return f"not a regular file: {what}; not opened"
    return "not a regular file; not opened"


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def classify(path: Path, roots: Sequence[Path], follow_outside: bool = False) -> Entry:
    """Resolve one file path and decide whether it may be read (see the module docstring)."""
    try:
        target = path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 raises RuntimeError for a loop
        return Entry(path, path.absolute(), "symlink loop; not followed")
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            return Entry(path, path.absolute(), "symlink loop; not followed")
        return Entry(path, path.absolute(), f"broken symlink or unreadable path ({exc.strerror or exc})")
    if path.is_symlink() and target.is_dir():
        return Entry(path, target, f"symlink to the folder {target}; not walked (ingest that folder itself)")
    if path.is_symlink() and not follow_outside and not _inside(target, roots):
        return Entry(path, target, f"symlink to {target}, outside the folders being ingested; not followed"
                                   " (allow with --follow-links)")
    try:
        why = _kind(target.stat().st_mode)
    except OSError as exc:
        return Entry(path, target, f"cannot stat file ({exc.strerror or exc})")
    return Entry(path, target, why or "")


def _walk(folder: Path) -> Iterable[Path]:
    """Files under `folder` (hidden ones skipped), and symlinked folders (reported, not walked)."""
    for root, dirs, names in os.walk(folder):  # followlinks=False: symlinked folders are not walked
        links = sorted(d for d in dirs if not d.startswith(".") and os.path.islink(os.path.join(root, d)))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in links)
        yield from (Path(root) / n for n in sorted(names + links) if not n.startswith("."))


def discover(paths: Iterable[str | Path], skip: Sequence[Path] = (), follow_outside: bool = False) -> Found:
    """Files under `paths` to read, and everything refused (with the reason); see the module docstring.
    Files under `skip` (the library's folder) are left out when met while walking a folder."""
    given = [Path(p) for p in paths]
    roots = [p.resolve() for p in given if p.exists()]
    skip_resolved = [p.resolve() for p in skip]
    found = Found()
    for p in given:
        if p.is_dir():  # a folder named on the command line is walked even when it is a symlink
            candidates: Iterable[Path] = _walk(p)
        elif p.exists() or p.is_symlink():
            candidates = [p]
        else:
            found.refused.append(Entry(p, p.absolute(), "path does not exist", missing=True))
            continue
        walked = p.is_dir()
        for c in candidates:
            entry = classify(c, roots, follow_outside)
            if walked and _inside(entry.target, skip_resolved):  # the library's own folder, met while walking
                continue
            (found.refused if entry.reason else found.files).append(entry)
    for e in found.refused:
        log.info("%s: skipped: %s", e.path, e.reason)
    return found
