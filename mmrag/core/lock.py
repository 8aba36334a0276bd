"""The library's write lock: one writer process at a time, on Linux, macOS and Windows (filelock)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from ..errors import LibraryBusyError

LOCK_FILE = ".lock"


@contextmanager
def write_lock(root: Path) -> Iterator[None]:
    """Hold `<root>/.lock` exclusively, or raise LibraryBusyError at once if another writer holds it."""
    lock = FileLock(str(root / LOCK_FILE), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout as exc:
        raise LibraryBusyError(f"library {root} is being written by another process; "
                               "try again when it has finished") from exc
    try:
        yield
    finally:
        lock.release()
