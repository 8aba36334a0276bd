"""Keeping the lexical index (tantivy, `indexes.lexical`) equal to the store's text, as vector indexes are.

The store's FTS5 table stays the truth; `<library>/lexical/` is derived from it and remembers the store
generation it reflects. It serves searches only when that generation is the store's: otherwise (another
process is writing, a writer died, tantivy is missing or the folder is damaged) search uses FTS5, which
is always current. A writer brings it up to date when it flushes (records added or removed since are
found by comparing ids: record ids are never reused); a damaged folder is deleted and rebuilt.
`MMRAG_LEXICAL=fts5` in the environment turns the tantivy index off (for comparisons).
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

from indexes.lexical import LexicalIndex, remove_index, tantivy_available

from ..errors import LibraryBusyError
from .lock import write_lock
from .store import Store

log = logging.getLogger(__name__)
FORMAT = 1  # bump when the schema or the analyzer changes: older folders are rebuilt
_ADD_BATCH = 5_000
_OPEN_ERRORS = (OSError, ValueError, RuntimeError)


def lexical_dir(root: Path) -> Path:
    return root / "lexical"


class Lexical:
    """The library's tantivy index: `current()` for searches, `sync()` under the writer lock."""

    def __init__(self, root: Path, store: Store) -> None:
        self.root, self.store = root, store
        self._ix: LexicalIndex | None = None
        self._unreadable = False  # the folder failed to open: a writer rebuilds it
        self._disabled = not tantivy_available()  # tantivy missing, or writing failed: FTS5 in this process
        if os.environ.get("MMRAG_LEXICAL", "").lower() == "fts5":
            self._disabled = True
        elif self._disabled:
            log.info("tantivy is not installed; BM25 uses SQLite FTS5 (pip install tantivy)")

    def disable(self) -> None:
        """Stop using it in this process (after an error writing the index)."""
        self.close()
        self._disabled = True

    def _open(self) -> LexicalIndex | None:
        if self._ix is None and not (self._disabled or self._unreadable):
            try:
                self._ix = LexicalIndex(lexical_dir(self.root))
            except _OPEN_ERRORS as exc:
                log.warning("lexical index %s is unreadable (%s); BM25 uses FTS5 until a writer rebuilds it",
                            lexical_dir(self.root), exc)
                self._unreadable = True
        return self._ix

    def _fresh(self, ix: LexicalIndex) -> bool:
        return ix.meta.get("generation") == self.store.generation and ix.meta.get("format") == FORMAT

    def current(self) -> LexicalIndex | None:
        """The index when it reflects the store exactly, else None (search then uses FTS5)."""
        ix = self._open()
        if ix is None:
            return None
        if not self._fresh(ix):
            try:
                ix.refresh()  # another process may have committed
            except _OPEN_ERRORS as exc:
                log.warning("lexical index %s: %s; BM25 uses FTS5", lexical_dir(self.root), exc)
                return None
        return ix if self._fresh(ix) else None

    def for_search(self, writing: bool) -> LexicalIndex | None:
        """`current()`, after bringing the index up to date when it lags and no other process writes (a
        writer, `writing`, holds the lock already)."""
        ix = self.current()
        if ix is not None or self._disabled:
            return ix
        try:
            if writing:
                self.sync_or_disable()
            else:
                with write_lock(self.root):
                    self.sync_or_disable()
                    self.release()
        except LibraryBusyError:
            return None
        except OSError as exc:  # the lock cannot be taken (a read-only library folder): FTS5 serves
            log.warning("cannot update the lexical index of %s (%s); BM25 uses SQLite FTS5", self.root, exc)
            self.disable()
            return None
        return self.current()

    def sync_or_disable(self) -> None:
        """`sync`; on an OS error (disk full, read-only folder) log it and use FTS5 in this process."""
        try:
            self.sync()
        except OSError as exc:  # a derived index: search falls back to FTS5, the write goes on
            log.warning("lexical index of %s not updated (%s); BM25 uses SQLite FTS5", self.root, exc)
            self.disable()

    def sync(self) -> tuple[int, int]:
        """Make the index hold exactly the store's text records (the caller holds the writer lock);
        returns (added, removed). A damaged folder is deleted and rebuilt."""
        if self._disabled:
            return 0, 0
        ix = self._open_for_writing()
        if self._fresh(ix):
            return 0, 0
        t0 = time.monotonic()
        gen = self.store.generation
        try:
            have = ix.ids()
        except _OPEN_ERRORS as exc:
            log.warning("lexical index %s is unreadable (%s); rebuilding it", lexical_dir(self.root), exc)
            ix, have = self._rebuilt(), np.zeros(0, dtype=np.int64)
        want = self.store.text_ids()
        extra, missing = np.setdiff1d(have, want), np.setdiff1d(want, have)
        try:
            ix.remove(extra.tolist())
            for start in range(0, len(missing), _ADD_BATCH):
                ids, texts, tags = self.store.lexical_rows(missing[start:start + _ADD_BATCH].tolist())
                ix.add(ids, texts, tags)
            ix.commit({"generation": gen, "format": FORMAT})
        except BaseException:
            ix.rollback()
            raise
        if len(missing) > _ADD_BATCH:
            log.info("lexical index: %d records added, %d removed in %.1f s", len(missing), len(extra),
                     time.monotonic() - t0)
        return len(missing), len(extra)

    def _open_for_writing(self) -> LexicalIndex:
        ix = self._open()
        if ix is not None and ix.meta.get("format", FORMAT) == FORMAT:
            return ix
        return self._rebuilt()

    def _rebuilt(self) -> LexicalIndex:
        log.warning("rebuilding the lexical index %s from the store", lexical_dir(self.root))
        self.close()
        remove_index(lexical_dir(self.root))
        self._unreadable = False
        self._ix = LexicalIndex(lexical_dir(self.root))
        return self._ix

    def status(self) -> dict:
        """What serves BM25 searches now: tantivy (with its document count) or FTS5, and why."""
        if self._disabled:
            return {"backend": "fts5", "reason": "tantivy is off or not installed"}
        ix = self.current()
        if ix is None:
            return {"backend": "fts5", "reason": "the tantivy index lags the store (a writer updates it)"}
        return {"backend": "tantivy", "documents": ix.ntotal}

    def release(self) -> None:
        """Release tantivy's writer (its merges finish first), so that another process can write."""
        if self._ix is not None:
            self._ix.close()

    def close(self) -> None:
        self.release()
        self._ix = None
