"""Reading files where a stuck or runaway reader can be stopped: a separate reader process.

Every file is read (decoded, parsed, its tables written to DuckDB, its thumbnails saved) in one worker
process. The parent waits with a wall-time limit and watches the worker's memory; a reader that runs
past `timeout` seconds or grows past `max_rss_mb` is killed, the file is failed with that reason, and
a fresh worker takes the next file. A reader that crashes the process (a decoder's segfault) fails
only its file. The worker exits on its own when its parent dies (kill -9), so it never outlives a run.

The worker is kept between runs in one process (the models it loaded, OCR and speech, stay warm).
`LibraryConfig.isolate_readers = false` reads in the calling process instead (no limits but the
readers' own).
"""
from __future__ import annotations

import atexit
import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..core.config import LibraryConfig
from ..core.readers import READERS, STREAMED, Document, ReadContext
from ..errors import IngestError

log = logging.getLogger(__name__)
POLL_S = 0.05
_SHARED: dict[str, Any] = {"worker": None, "lock": threading.Lock()}


@dataclass
class ReadTask:
    """One file for the worker: what to read and the library it goes into."""

    path: str
    ext: str
    root: str
    sha256: str
    config: LibraryConfig
    modules: list[str]  # reader modules to import first (see `reader_modules`)


def _reason(exc: BaseException) -> str:
    """A reader's failure as the file's reason: IngestError messages as they are, others with their type."""
    if isinstance(exc, IngestError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def read_document(task: ReadTask, tools: dict[str, Any]) -> Document:
    """Run the registered reader for one file (in whichever process calls this)."""
    kind, reader = READERS[task.ext]
    path = Path(task.path)
    data = b"" if kind in STREAMED else path.read_bytes()
    return reader(path, data, ReadContext(Path(task.root), task.sha256, task.config, tools))


def close_tools(tools: dict[str, Any]) -> None:
    for tool in tools.values():
        if hasattr(tool, "close"):
            try:
                tool.close()
            except Exception:  # noqa: BLE001 - closing must not fail a run
                log.exception("closing %r failed", tool)
    tools.clear()


def import_plugins(modules: list[str]) -> None:
    """Import reader modules by name (each registers its readers when imported)."""
    for name in modules:
        importlib.import_module(name)


def reader_modules(config: LibraryConfig) -> list[str]:
    """The modules a reader process imports: those that registered the readers known here, and the
    library config's plugins."""
    return sorted({fn.__module__ for _, fn in READERS.values()} | set(config.plugins))


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(3)
        time.sleep(0.5)


def serve(conn: Connection, parent: int) -> None:
    """The reader process: read files sent by the parent until told to stop (or the parent dies)."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s (reader): %(message)s")
    tools: dict[str, Any] = {}
    while True:
        try:
            op, task = conn.recv()
        except (EOFError, OSError):
            break
        if op == "end":
            close_tools(tools)
            conn.send(("ended", None))
            continue
        try:
            import_plugins(task.modules)
            conn.send(("ok", read_document(task, tools)))
        except BaseException as exc:  # noqa: BLE001 - every failure is the file's, not the worker's
            conn.send(("error", _reason(exc)))
    close_tools(tools)


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {-code}: {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _child_env() -> dict[str, str]:
    """The environment of a reader process: this one's, with mmrag's own folder first on PYTHONPATH."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([here, *filter(None, [env.get("PYTHONPATH")])])
    return env


class ReaderProcess:
    """One worker process (a fresh interpreter running this module, talking over a socket pair), and the
    limits it is held to."""

    def __init__(self) -> None:
        mine, theirs = socket.socketpair()
        self._proc = subprocess.Popen([sys.executable, "-m", "mmrag.ingest.reader_process", str(theirs.fileno()),
                                       str(os.getpid())],
                                      pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=_child_env())
        theirs.close()
        self._conn = Connection(mine.detach())

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def read(self, task: ReadTask, timeout: float, max_rss_mb: float) -> Document:
        """The file's Document, or IngestError (reader error, time or memory limit, crash)."""
        self._conn.send(("read", task))
        reply = self._wait(timeout, max_rss_mb, Path(task.path).name)
        if reply[0] == "error":
            raise IngestError(reply[1])
        return reply[1]

    def end_run(self) -> None:
        """Close what the readers opened for the run (the DuckDB store)."""
        if self.alive:
            try:
                self._conn.send(("end", None))
                self._wait(60.0, 0.0, "closing readers")
            except IngestError as exc:
                log.warning("reader process: %s", exc)

    def _wait(self, timeout: float, max_rss_mb: float, what: str) -> tuple[str, Any]:
        import psutil
        t0 = time.monotonic()
        proc = psutil.Process(self._proc.pid)
        while not self._conn.poll(POLL_S):
            if not self.alive:
                raise IngestError(f"the reader crashed ({_exit_reason(self._proc.returncode)}) on {what}")
            if time.monotonic() - t0 > timeout:
                self.kill()
                raise IngestError(f"reading took longer than {timeout:g} s and was stopped"
                                  " (raise read_timeout_s or media_timeout_s in library.json)")
            try:
                rss = proc.memory_info().rss / 1e6
            except psutil.Error:
                continue
            if max_rss_mb and rss > max_rss_mb:
                self.kill()
                raise IngestError(f"reading used more than {max_rss_mb:.0f} MB of memory and was stopped"
                                  " (raise max_reader_mb in library.json)")
        try:
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise IngestError(f"the reader crashed ({_exit_reason(self._proc.returncode)}) on {what}") from exc

    def kill(self) -> None:
        if self.alive:
            self._proc.kill()
        self._proc.wait(10)
        self._conn.close()

    def close(self) -> None:
        if self.alive:
            self._conn.close()  # the worker sees EOF and exits
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)


def _close_shared() -> None:
    worker = _SHARED["worker"]
    if worker is not None:
        worker.close()


atexit.register(_close_shared)


class Readers:
    """What an ingest run reads with: the shared worker process (or its own, when another run holds
    the shared one), or the calling process when isolation is off."""

    def __init__(self, config: LibraryConfig) -> None:
        self.config = config
        self.isolated = config.isolate_readers
        self._tools: dict[str, Any] = {}
        self._worker: ReaderProcess | None = None
        self._shared = False
        import_plugins(config.plugins)  # here too: the pipeline looks readers up by extension
        self.modules = reader_modules(config)

    def read(self, task: ReadTask, streamed: bool) -> Document:
        if not self.isolated:
            try:
                return read_document(task, self._tools)
            except Exception as exc:  # noqa: BLE001 - the file fails, the run goes on
                raise IngestError(_reason(exc)) from exc
        timeout = self.config.media_timeout_s if streamed else self.config.read_timeout_s
        try:
            return self._process().read(task, timeout, self.config.reader_memory_mb())
        except IngestError:
            if self._worker is not None and not self._worker.alive:
                self._drop()
            raise

    def _process(self) -> ReaderProcess:
        if self._worker is not None and not self._worker.alive:
            self._drop()
        if self._worker is None:
            lock = _SHARED["lock"]
            if lock.acquire(blocking=False):
                shared = _SHARED["worker"]
                self._worker = shared if shared is not None and shared.alive else ReaderProcess()
                _SHARED["worker"], self._shared = self._worker, True
            else:
                self._worker, self._shared = ReaderProcess(), False
        return self._worker

    def _drop(self) -> None:
        if self._shared:
            _SHARED["worker"] = None
            _SHARED["lock"].release()
        self._worker, self._shared = None, False

    def close(self) -> None:
        """End the run: readers' tools closed; the shared worker stays for the next run."""
        close_tools(self._tools)
        if self._worker is None:
            return
        self._worker.end_run()
        if self._shared:
            _SHARED["lock"].release()
        else:
            self._worker.close()
        self._worker, self._shared = None, False

