"""The vector-index protocol plus the input checks every implementation shares.

Arrays and int64 ids in, arrays and ids out: nothing here knows about documents.
Scores are inner products of L2-normalised vectors (cosine similarity); missing
results are padded with score ``-inf`` and id ``-1``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np

PAD_ID = -1
PAD_SCORE = -np.inf


@runtime_checkable
class VectorIndex(Protocol):
    """A mutable id -> vector store with top-k inner-product search."""

    dim: int
    name: str
    meta: dict[str, Any]

    @property
    def ntotal(self) -> int:
        """Number of live vectors (tombstoned ones excluded)."""
        ...

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add float32 (n, dim) vectors under int64 (n,) ids not already live."""
        ...

    def search(self, queries: np.ndarray, k: int,
               allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores float32 (nq, k), ids int64 (nq, k)), best first, padded."""
        ...

    def remove(self, ids: np.ndarray) -> int:
        """Remove the given ids; return how many were live and are now gone."""
        ...

    def ids(self) -> np.ndarray:
        """All live ids as int64."""
        ...

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """Stored (normalised) vectors for live ids, float32 (n, dim)."""
        ...

    def save(self, directory: Path, meta: dict[str, Any] | None = None) -> None:
        """Persist atomically into `directory`; `meta` replaces `self.meta` if given."""
        ...

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Load an index saved with `save`."""
        ...


def check_vectors(vectors: np.ndarray, dim: int, what: str = "vectors") -> np.ndarray:
    """Return a C-contiguous float32 (n, dim) copy of `vectors`, or raise ValueError."""
    arr = np.asarray(vectors)
    if arr.ndim == 1 and arr.shape[0] == dim:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{what} must have shape (n, {dim}), got {arr.shape}")
    return np.array(arr, dtype=np.float32, order="C", copy=True)


def check_ids(ids: np.ndarray, what: str = "ids") -> np.ndarray:
    """Return `ids` as a 1-D int64 array, or raise ValueError."""
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must be integers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_new_ids(ids: np.ndarray, n: int) -> np.ndarray:
    """Validate ids for `add`: one per vector, no repeats within the batch."""
    arr = check_ids(ids)
    if arr.shape[0] != n:
        raise ValueError(f"got {n} vectors but {arr.shape[0]} ids")
    uniq, counts = np.unique(arr, return_counts=True)
    if uniq.size != arr.size:
        raise ValueError(f"duplicate ids within the batch: {uniq[counts > 1][:10].tolist()}")
    return arr


def check_k(k: int) -> int:
    """Validate the number of neighbours requested."""
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return int(k)


def empty_results(nq: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """All-padding result arrays."""
    return (np.full((nq, k), PAD_SCORE, dtype=np.float32),
            np.full((nq, k), PAD_ID, dtype=np.int64))


def top_k(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best `k` per row of (nq, m) candidate scores/ids, padded when m < k."""
    nq, m = scores.shape
    out_s, out_i = empty_results(nq, k)
    if m == 0:
        return out_s, out_i
    take = min(k, m)
    scores = np.where(ids == PAD_ID, PAD_SCORE, scores).astype(np.float32)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :take]
    out_s[:, :take] = np.take_along_axis(scores, order, axis=1)
    out_i[:, :take] = np.take_along_axis(ids, order, axis=1)
    out_i[out_s == PAD_SCORE] = PAD_ID
    return out_s, out_i
