"""`ShardedIndex`: several `VectorIndex` shards behind one, routed by ``id % n_shards``.

Each shard is only used through the protocol, so a shard can later be a proxy for an
index living on its own worker (e.g. a Ray actor) without changing this class.
Saved layout: ``manifest.json`` + ``shards-<generation>/shard-<i>/`` (one saved index
each); the manifest is replaced last, so a crash mid-save leaves the old set loadable.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any, Self

import numpy as np

from ._io import MANIFEST, fsync_dir, next_generation, read_manifest, remove_stale, write_manifest
from .base import VectorIndex, check_ids, check_k, check_new_ids, check_vectors, empty_results, top_k

logger = logging.getLogger(__name__)


class ShardedIndex:
    """Routes ids to shards by ``id % len(shards)`` and merges search results by score."""

    name = "sharded"

    def __init__(self, shards: list[VectorIndex], meta: dict[str, Any] | None = None) -> None:
        if not shards:
            raise ValueError("ShardedIndex needs at least one shard")
        dims = {s.dim for s in shards}
        if len(dims) != 1:
            raise ValueError(f"shards disagree on dim: {sorted(dims)}")
        self.shards = list(shards)
        self.dim: int = dims.pop()
        self.meta: dict[str, Any] = dict(meta or {})

    @property
    def ntotal(self) -> int:
        """Live vectors over all shards."""
        return sum(s.ntotal for s in self.shards)

    def __repr__(self) -> str:
        return f"ShardedIndex(dim={self.dim}, shards={len(self.shards)}, ntotal={self.ntotal})"

    def _route(self, ids: np.ndarray) -> list[np.ndarray]:
        """Per shard, the positions in `ids` that belong to it."""
        owner = np.mod(ids, len(self.shards))
        return [np.flatnonzero(owner == i) for i in range(len(self.shards))]

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add to the owning shards; on failure, roll back the shards already written."""
        x = check_vectors(vectors, self.dim)
        ids = check_new_ids(ids, x.shape[0])
        done: list[tuple[VectorIndex, np.ndarray]] = []
        try:
            for shard, pos in zip(self.shards, self._route(ids)):
                if pos.size:
                    shard.add(x[pos], ids[pos])
                    done.append((shard, ids[pos]))
        except Exception:
            for shard, added in done:
                shard.remove(added)
            raise

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids from their shards; return how many were removed."""
        ids = np.unique(check_ids(ids))
        return sum(shard.remove(ids[pos]) for shard, pos in zip(self.shards, self._route(ids)) if pos.size)

    def search(self, queries: np.ndarray, k: int,
               allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Search every shard (allowed ids routed too) and keep the best k by score."""
        q = check_vectors(queries, self.dim, "queries")
        k = check_k(k)
        allowed = None if allowed_ids is None else np.unique(check_ids(allowed_ids, "allowed_ids"))
        routes = None if allowed is None else self._route(allowed)
        parts = []
        for i, shard in enumerate(self.shards):
            if routes is None:
                parts.append(shard.search(q, k))
            elif routes[i].size:
                parts.append(shard.search(q, k, allowed_ids=allowed[routes[i]]))
        if not parts:
            return empty_results(q.shape[0], k)
        scores = np.concatenate([p[0] for p in parts], axis=1)
        ids = np.concatenate([p[1] for p in parts], axis=1)
        return top_k(scores, ids, k)

    def ids(self) -> np.ndarray:
        """All live ids (grouped by shard)."""
        return np.concatenate([s.ids() for s in self.shards]).astype(np.int64, copy=False)

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """Vectors for live ids, in the order given."""
        ids = check_ids(ids)
        out = np.empty((ids.size, self.dim), np.float32)
        for shard, pos in zip(self.shards, self._route(ids)):
            if pos.size:
                out[pos] = shard.reconstruct(ids[pos])
        return out

    def save(self, directory: Path, meta: dict[str, Any] | None = None) -> None:
        """Save every shard into a fresh generation folder, then the manifest."""
        directory = Path(directory)
        json.dumps(self.meta if meta is None else meta)  # not JSON: fail before touching disk
        if meta is not None:
            self.meta = dict(meta)
        directory.mkdir(parents=True, exist_ok=True)
        gen = next_generation(directory)
        folder = f"shards-{gen}"
        shutil.rmtree(directory / folder, ignore_errors=True)  # debris of a crashed save
        names = [f"shard-{i:03d}" for i in range(len(self.shards))]
        for shard, name in zip(self.shards, names):
            shard.save(directory / folder / name)
        fsync_dir(directory)
        write_manifest(directory, {
            "class": type(self).__name__, "name": self.name, "generation": gen, "folder": folder,
            "shards": names, "dim": self.dim, "ntotal": self.ntotal, "meta": self.meta})
        remove_stale(directory, {folder}, ("shards-",))
        logger.debug("saved %r to %s (generation %d)", self, directory, gen)

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Load a sharded index and each of its shards (via the registry)."""
        from .registry import load_index  # registry imports this module

        directory = Path(directory)
        manifest = read_manifest(directory)
        if manifest.get("class") != cls.__name__:
            raise ValueError(f"{directory / MANIFEST} describes a {manifest.get('class')!r}, "
                             f"not a {cls.__name__}")
        try:
            paths = [directory / manifest["folder"] / name for name in manifest["shards"]]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"corrupt index manifest {directory / MANIFEST}: bad field {exc}") from exc
        return cls([load_index(p) for p in paths], meta=manifest.get("meta") or {})
