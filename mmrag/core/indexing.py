"""Keeping a space's vector index equal to the store: load it, rebuild it, reconcile it, save it.

The store holds every vector; an index on disk remembers the store generation it reflects. An index
that is unreadable, missing or behind is rebuilt or brought up to date from the stored vectors.
A space with more vectors than library.json's `ivfpq_above` gets an IVF-PQ index instead
(`mmrag.core.index_scale`), when it is built from the store and when a grown index is saved.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np

from indexes import VectorIndex, load_index

from .index_scale import new_index, scaled
from .rwlock import RWLock
from .store import Store
from .versions import epoch

log = logging.getLogger(__name__)
RECONCILE_BATCH = 4096


def index_dir(root: Path, space: str) -> Path:
    return root / "indexes" / space


def open_index(root: Path, space: str, kind: str, dim: int, store: Store) -> tuple[VectorIndex, bool]:
    """(the space's index, whether it changed): loaded from disk, else new; reconciled if it lags."""
    d = index_dir(root, space)
    index = None
    if (d / "manifest.json").exists():
        try:
            index = load_index(d)
        except (OSError, ValueError, RuntimeError, EOFError) as exc:
            log.warning("index %s is unreadable (%s); rebuilding it from the store", d, exc)
    if index is None:
        index = new_index(root, space, kind, dim, store)
    if int(index.meta.get("generation", -1)) != store.generation or _stale_epoch(index, store, space):
        reconcile(index, store, space)
        return index, True
    return index, False


def _stale_epoch(index: VectorIndex, store: Store, space: str) -> bool:
    """The index holds vectors of another encoder version (`mmrag.core.versions`)."""
    return int(index.meta.get("epoch", 0)) != epoch(store, space)


def reconcile(index: VectorIndex, store: Store, space: str) -> tuple[int, int]:
    """Make `index` hold exactly the store's vectors for `space`; returns (added, removed)."""
    want, have = store.vector_ids(space), index.ids()
    rebuilt = _stale_epoch(index, store, space)
    if rebuilt:  # another encoder version: every vector changed
        log.info("space %r: encoder version changed; rebuilding its index from the store", space)
        index.remove(have)
        have = np.zeros(0, dtype=np.int64)
        index.meta["epoch"] = epoch(store, space)
    extra, missing = np.setdiff1d(have, want), np.setdiff1d(want, have)
    if len(extra):
        index.remove(extra)
    for start in range(0, len(missing), RECONCILE_BATCH):
        ids = missing[start:start + RECONCILE_BATCH]
        vecs = store.get_vectors(space, ids.tolist(), index.dim)
        index.add(np.stack([vecs[int(i)] for i in ids]), ids)
    if (len(extra) or len(missing)) and not rebuilt:
        log.warning("index for space %r lagged the store: added %d, removed %d", space, len(missing), len(extra))
    return len(missing), len(extra)


def save_index(root: Path, space: str, index: VectorIndex, generation: int) -> None:
    """Save atomically, recording the store generation the index reflects."""
    index.save(index_dir(root, space), meta={**index.meta, "generation": generation})


class Indexes:
    """The loaded vector indexes of a collection: loaded lazily, reconciled in memory when another process
    moved the store on, saved only when asked (by a holder of the writer lock). Thread-safe: searches
    share an index; loading or reconciling it is exclusive."""

    def __init__(self, root: Path, store: Store, kind_of: Callable[[str], str], dim_of: Callable[[str], int]) -> None:
        self.root, self.store, self._kind_of, self._dim_of = root, store, kind_of, dim_of
        self._loaded: dict[str, VectorIndex] = {}
        self._synced: dict[str, int] = {}  # store generation each loaded index reflects
        self.dirty: set[str] = set()
        self._lock = RWLock()

    def loaded(self, space: str) -> bool:
        return space in self._loaded

    def get(self, space: str, writing: bool) -> VectorIndex:
        """The space's index; a reader's is brought up to date with the store first (in memory)."""
        if space in self._loaded and (writing or self.store.generation == self._synced.get(space)):
            return self._loaded[space]
        with self._lock.write():
            if space not in self._loaded:
                gen = self.store.generation
                self._loaded[space], changed = open_index(self.root, space, self._kind_of(space),
                                                          self._dim_of(space), self.store)
                self._synced[space] = gen
                if changed:
                    self.dirty.add(space)
            elif not writing and (gen := self.store.generation) != self._synced.get(space):
                reconcile(self._loaded[space], self.store, space)
                self.dirty.add(space)
                self._synced[space] = gen
            return self._loaded[space]

    def search(self, space: str, queries: np.ndarray, k: int, allowed: np.ndarray | None,
               writing: bool) -> tuple[np.ndarray, np.ndarray]:
        index = self.get(space, writing)
        with self._lock.read():
            return index.search(queries, k, allowed_ids=allowed)

    def synced_to(self, generation: int) -> None:
        """A writer's own writes are in its indexes: they reflect `generation`."""
        self._synced = {s: generation for s in self._loaded}

    def save(self, generation: int | None) -> None:
        """Save the changed indexes, each recording `generation` (None: the generation it was synced to)."""
        now = self.store.generation
        for space in sorted(self.dirty):
            with self._lock.write():
                self._loaded[space] = scaled(self._loaded[space], self.store, space, self.root)
        with self._lock.read():
            for space in sorted(self.dirty):
                gen = generation if generation is not None else self._synced.get(space, now)
                save_index(self.root, space, self._loaded[space], gen)
        self.dirty.clear()

    def discard(self) -> None:
        """Forget every loaded index (after a failed transaction); they reload from disk and the store."""
        self._loaded.clear()
        self._synced.clear()
        self.dirty.clear()
