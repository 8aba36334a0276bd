"""Keep a library current while the files under some paths are added, changed and deleted (`mmrag watch`).

Changes come as events from watchdog (inotify, FSEvents, ReadDirectoryChangesW) when it is installed and
its observer starts; otherwise, or with `poll=True`, from polling (a walk that compares size and mtime
every `poll_s`). A changed path waits until it has been quiet for `debounce_s` (a file being written is
read once, when it is done; at most `max_wait_s` after its first change); then every due path goes into
one batch: files and folders that exist are ingested with the target's `ingest` (the same per-file
isolation as `mmrag ingest`: a broken file fails alone, with its reason logged, and the watcher goes on),
and paths that are gone are removed with `remove` (a deleted folder removes every source under it). When
another process holds the library's write lock the batch is retried later. Hidden files and folders, the
library's own folder and types no reader takes are ignored, as `ingest` ignores them. On start, one
`ingest(paths, prune=True)` catches up with what changed while nothing was watching.

A reader in another process (a running `mmrag serve`) sees each batch once it is committed: its vector
indexes follow the store's generation counter (`mmrag.core.indexing`).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

from .core.readers import supported_extensions
from .errors import LibraryBusyError, MmragError
from .ingest import IngestReport

log = logging.getLogger(__name__)
BUSY_RETRY_S = 2.0  # wait before retrying a batch that found the library locked by another writer


class Target(Protocol):
    """What the watcher updates: `mmrag.Library` is one."""

    @property
    def root(self) -> Path: ...

    def ingest(self, paths: Sequence[str | Path], prune: bool = False, progress: bool | None = False
               ) -> IngestReport: ...

    def remove(self, paths: Sequence[str | Path]) -> dict[str, int]: ...

    def sources(self, status: str | None = None) -> list[dict]: ...


@dataclass
class Batch:
    """What one batch did: the paths it took, the ingest report and the removed sources (or its error)."""

    paths: list[str]
    report: dict[str, Any] | None = None
    removed: dict[str, int] = field(default_factory=dict)
    error: str = ""

    def summary(self) -> str:
        c = (self.report or {}).get("counts", {})
        parts = [f"{c[s]} {s}" for s in ("ok", "unchanged", "duplicate", "removed", "failed", "skipped") if c.get(s)]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        return ", ".join(parts) or self.error or "nothing to do"


class Watcher:
    """Watches `paths` and applies their changes to `target` (see the module doc); `start`/`stop`, or `run`."""

    def __init__(self, target: Target, paths: Sequence[str | Path], debounce_s: float = 1.0, poll: bool = False,
                 poll_s: float = 2.0, max_wait_s: float = 30.0, catch_up: bool = True,
                 on_batch: Callable[[Batch], None] | None = None) -> None:
        self.target, self.debounce_s, self.poll_s, self.max_wait_s = target, debounce_s, poll_s, max_wait_s
        self.roots = [Path(p).resolve() for p in paths]
        if missing := [str(p) for p in self.roots if not p.exists()]:
            raise MmragError(f"cannot watch {', '.join(missing)}: no such file or folder")
        self.library = Path(target.root).resolve()
        self.exts = frozenset(supported_extensions())
        self.mode = "poll" if poll else "events"
        self.catch_up, self.on_batch = catch_up, on_batch
        self.batches: list[Batch] = []
        self._pending: dict[str, tuple[float, float]] = {}  # path -> (first change, last change)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._observer: Any = None

    # -- which paths matter -----------------------------------------------------------------------
    def wanted(self, path: str | Path, gone: bool = False, folder: bool = False) -> bool:
        """False for the library's own files, hidden paths and (unless gone or a folder) unsupported types."""
        p = Path(path)
        if p == self.library or self.library in p.parents:
            return False
        root = next((r for r in self.roots if p == r or r in p.parents), None)
        if root is None or any(part.startswith(".") for part in p.relative_to(root).parts):
            return False
        return gone or folder or p.suffix.lower() in self.exts

    def notice(self, path: str | Path, gone: bool = False, folder: bool = False) -> None:
        """A change at `path` (called by the event or polling thread)."""
        if not self.wanted(path, gone, folder):
            return
        now = time.monotonic()
        with self._cond:
            first = self._pending.get(str(path), (now, now))[0]
            self._pending[str(path)] = (first, now)
            self._cond.notify_all()

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> Watcher:
        """Start watching (events, else polling) and the worker that applies the changes."""
        if self.mode == "events" and not self._start_observer():
            self.mode = "poll"
        if self.mode == "poll":
            self._spawn(self._poll_loop, "mmrag-watch-poll")
        self._spawn(self._work_loop, "mmrag-watch")
        log.info("watching %s (%s) for library %s", ", ".join(map(str, self.roots)), self.mode, self.library)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        for t in self._threads:
            t.join(timeout)

    def run(self) -> None:
        """Watch until interrupted (Ctrl+C) or `stop`."""
        self.start()
        self.wait()

    def wait(self) -> None:
        """Block until `stop` or Ctrl+C (then stop).

        It sleeps and polls a flag rather than waiting inside `Event.wait`, so a KeyboardInterrupt never lands
        while that event's lock is held (the `stop` that follows would wait on it)."""
        try:
            while not self._stop.is_set():
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _spawn(self, fn: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=fn, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _start_observer(self) -> bool:
        try:
            from watchdog.observers import Observer
        except ImportError:
            log.warning("watchdog is not installed (pip install watchdog); polling every %g s", self.poll_s)
            return False
        observer = Observer()
        try:
            for root in self.roots:
                observer.schedule(_Events(self), str(root if root.is_dir() else root.parent), recursive=root.is_dir())
            observer.start()
        except (OSError, RuntimeError) as exc:  # e.g. the inotify watch limit
            log.warning("file events are unavailable (%s); polling every %g s instead", exc, self.poll_s)
            return False
        self._observer = observer
        return True

    # -- polling ----------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of every wanted file under the roots."""
        out: dict[str, tuple[int, int]] = {}
        for path in self._files():
            try:
                st = os.stat(path)
            except OSError:
                continue
            out[str(path)] = (st.st_size, st.st_mtime_ns)
        return out

    def _files(self) -> Iterator[Path]:
        for root in self.roots:
            if root.is_file():
                yield root
                continue
            for folder, dirs, names in os.walk(root):
                dirs[:] = [d for d in dirs if self.wanted(Path(folder, d), folder=True)]
                yield from (Path(folder, n) for n in names if self.wanted(Path(folder, n)))

    def _poll_loop(self) -> None:
        before = self.snapshot()
        while not self._stop.wait(self.poll_s):
            now = self.snapshot()
            for path in now.keys() - before.keys() | {p for p in now.keys() & before.keys() if now[p] != before[p]}:
                self.notice(path)
            for path in before.keys() - now.keys():
                self.notice(path, gone=True)
            before = now

    # -- applying changes -------------------------------------------------------------------------
    def _due(self) -> tuple[list[str], float]:
        """Paths due now (under the condition's lock), and how long until the next one is."""
        now, due, wait = time.monotonic(), [], 3600.0
        for path, (first, last) in list(self._pending.items()):
            left = min(last + self.debounce_s, first + self.max_wait_s) - now
            if left <= 0:
                due.append(path)
                del self._pending[path]
            else:
                wait = min(wait, left)
        return due, wait

    def _work_loop(self) -> None:
        if self.catch_up:
            self._apply([str(r) for r in self.roots], prune=True)
        while not self._stop.is_set():
            with self._cond:
                due, wait = self._due()
                if not due:
                    self._cond.wait(wait)
                    continue
            self._apply(sorted(due))

    def _apply(self, paths: list[str], prune: bool = False) -> None:
        batch = Batch(paths)
        try:
            present = [p for p in paths if os.path.exists(p)]
            folders = [Path(p) for p in present if os.path.isdir(p)]
            present = [p for p in present if not any(f in Path(p).parents for f in folders)]  # walked anyway
            if present:
                batch.report = self.target.ingest(present, prune=prune, progress=False).to_dict()
            gone = [p for p in paths if not os.path.exists(p)]
            batch.removed = self._remove(gone) if gone else {}
        except LibraryBusyError:
            log.info("the library is being written by another process; retrying %d paths in %g s", len(paths),
                     BUSY_RETRY_S)
            self._retry(paths)
            return
        except Exception as exc:  # noqa: BLE001 - the watcher outlives any one batch (a full disk, a damaged store)
            batch.error = f"{type(exc).__name__}: {exc}"
            log.error("watch: a batch of %d paths failed: %s", len(paths), batch.error)
        log.info("watch: %s", batch.summary())
        with self._cond:
            self.batches.append(batch)
            self._cond.notify_all()
        if self.on_batch is not None:
            self.on_batch(batch)

    def _retry(self, paths: list[str]) -> None:
        later = time.monotonic() + BUSY_RETRY_S - self.debounce_s
        with self._cond:
            for p in paths:
                self._pending.setdefault(p, (later, later))

    def _remove(self, gone: list[str]) -> dict[str, int]:
        """Remove the sources at `gone` paths or under them (deleted folders)."""
        root = Path(self.target.root)
        victims = []
        for s in self.target.sources():
            path = str(s["path"]) if os.path.isabs(s["path"]) else str(root / s["path"])
            if any(path == g or path.startswith(g.rstrip(os.sep) + os.sep) for g in gone):
                victims.append(s["path"])
        return self.target.remove(victims) if victims else {}

    def wait_for_batches(self, n: int, timeout: float) -> bool:
        """Block until at least `n` batches are done (True), or `timeout` seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.batches) >= n, timeout)


class _Events:
    """watchdog's handler: created, modified, closed and moved files and created folders are changes; deleted
    and moved-away paths are gone. (Duck-typed, so this module imports watchdog only when it runs.)"""

    def __init__(self, watcher: Watcher) -> None:
        self.w = watcher

    def dispatch(self, event: Any) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write") or (event.is_directory and kind in ("modified", "closed")):
            return
        if kind in ("deleted", "moved"):
            self.w.notice(os.fsdecode(event.src_path), gone=True)
        if kind == "moved":
            self.w.notice(os.fsdecode(event.dest_path), folder=event.is_directory)
        elif kind != "deleted":
            self.w.notice(os.fsdecode(event.src_path), folder=event.is_directory)
