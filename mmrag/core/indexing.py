"""Keeping a space's vector index equal to the store: load it, rebuild it, reconcile it, save it.

The store holds every vector; an index on disk remembers the store generation it reflects. An index
that is unreadable, missing or behind is rebuilt or brought up to date from the stored vectors.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from indexes import VectorIndex, create_index, load_index

from .store import Store

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
        index = create_index(kind, dim)
    if int(index.meta.get("generation", -1)) != store.generation:
        reconcile(index, store, space)
        return index, True
    return index, False


def reconcile(index: VectorIndex, store: Store, space: str) -> tuple[int, int]:
    """Make `index` hold exactly the store's vectors for `space`; returns (added, removed)."""
    want, have = store.vector_ids(space), index.ids()
    extra, missing = np.setdiff1d(have, want), np.setdiff1d(want, have)
    if len(extra):
        index.remove(extra)
    for start in range(0, len(missing), RECONCILE_BATCH):
        ids = missing[start:start + RECONCILE_BATCH]
        vecs = store.get_vectors(space, ids.tolist(), index.dim)
        index.add(np.stack([vecs[int(i)] for i in ids]), ids)
    if len(extra) or len(missing):
        log.warning("index for space %r lagged the store: added %d, removed %d", space, len(missing), len(extra))
    return len(missing), len(extra)


def save_index(root: Path, space: str, index: VectorIndex, generation: int) -> None:
    """Save atomically, recording the store generation the index reflects."""
    index.save(index_dir(root, space), meta={"generation": generation})
