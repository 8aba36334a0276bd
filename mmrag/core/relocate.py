"""A library folder that moved: sources stored inside it follow it.

The store records the folder it was last opened at (`ROOT_KEY`). Sources are stored as absolute paths;
those under the library folder (the app's uploads, files copied in, an imported archive's files) are
rewritten to the new folder the first time the moved library is opened by a writer, with the tables
package's DuckDB sources (the `relocated` hook). Sources outside the folder keep their paths.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..errors import LibraryBusyError
from . import hooks

log = logging.getLogger(__name__)
ROOT_KEY = "library_root"  # store meta: the absolute library folder sources were stored under


def folder_of(root: Path) -> str:
    """The absolute, resolved library folder, as stored."""
    return str(Path(root).resolve())


def relocate(c: Any) -> int:
    """Rewrite sources under the folder the library was last opened at to its current folder; returns
    how many sources moved. A library another process is writing is left as it is (retried next open)."""
    here, was = folder_of(c.root), c.store.get_meta(ROOT_KEY)
    if was == here:
        return 0
    try:
        with c.writing():
            was = c.store.get_meta(ROOT_KEY)
            old, new = _prefix(was or here), _prefix(here)
            if old != new and not _run_hooks(c, old, new):
                return 0
            with c.transaction():
                moved = c.store.move_sources(old, new) if old != new else 0
                c.store.set_meta(ROOT_KEY, here)
    except LibraryBusyError:
        log.info("library %s moved from %s; sources are relocated when no writer holds it", here, was)
        return 0
    if moved:
        log.warning("library moved from %s to %s: %d source(s) inside it now point to the new folder",
                    was, here, moved)
    return moved


def _prefix(folder: str) -> str:
    return folder.rstrip(os.sep) + os.sep


def _run_hooks(c: Any, old: str, new: str) -> bool:
    """The packages' relocation hooks first: if one fails, the store keeps naming the old folder, so the
    whole move is tried again on the next open."""
    try:
        hooks.relocated(c, old, new)
        return True
    except Exception:  # noqa: BLE001 - a library that cannot relocate must still open
        log.exception("library %s moved from %s, but relocating its sources failed; retried on the next open",
                      new, old)
        return False
