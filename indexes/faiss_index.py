"""FAISS implementation of `VectorIndex`: inner product on L2-normalised vectors, inside ``IndexIDMap2``.

Kinds: ``"auto"`` (default) is exact ``IndexFlatIP`` up to ``SWITCH_AT`` (50,000) vectors, then all
vectors move into ``IndexHNSWFlat`` (M=32, efConstruction=200, efSearch=128, raised to k when larger);
``"flat"`` is always exact; ``"hnsw"`` is HNSW from the first vector; ``"ivf"`` is ``IndexIVFFlat``
(nprobe=16), flat until ``IVF_TRAIN_AT`` (10,000) vectors, then trained on them with
``nlist = min(4*sqrt(n), n // 39)`` (39 points per centroid, as FAISS asks) unless ``nlist`` is given.

Removal: flat uses real ``remove_ids``. HNSW cannot remove, and ``IndexIDMap2.remove_ids`` over IVF
corrupts the id mapping, so both use tombstones (``IDSelectorNot`` at search time), rebuilt away once
they exceed ``tombstone_fraction`` (0.2) of the stored vectors. Filtered search on HNSW/IVF with at most
``exact_filter_max`` (4096) allowed ids is exact on reconstructed vectors (a graph search can miss a small
allowed set); larger filters use ``SearchParameters(sel=...)``. Not thread-safe for concurrent writes.
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Self

import faiss
import numpy as np

from ._io import MANIFEST, atomic_write, next_generation, read_manifest, remove_stale, write_manifest
from .base import PAD_ID, PAD_SCORE, check_ids, check_k, check_new_ids, check_vectors, empty_results, top_k

logger = logging.getLogger(__name__)

SWITCH_AT = 50_000
HNSW_M = 32
EF_CONSTRUCTION = 200
EF_SEARCH = 128
NPROBE = 16
IVF_TRAIN_AT = 10_000
TOMBSTONE_FRACTION = 0.2
EXACT_FILTER_MAX = 4096
KINDS = ("auto", "flat", "hnsw", "ivf")
FORMAT_VERSION = 1


def ivf_nlist(n: int) -> int:
    """Number of IVF lists for `n` training vectors: ~4*sqrt(n), >= 39 points per list."""
    return max(1, min(int(4 * math.sqrt(n)), n // 39))


class FaissIndex:
    """A `VectorIndex` over one FAISS index wrapped in ``IndexIDMap2``."""

    def __init__(self, dim: int, kind: str = "auto", *, switch_at: int = SWITCH_AT, M: int = HNSW_M,
                 ef_construction: int = EF_CONSTRUCTION, ef_search: int = EF_SEARCH,
                 nlist: int | None = None, nprobe: int = NPROBE, train_at: int = IVF_TRAIN_AT,
                 tombstone_fraction: float = TOMBSTONE_FRACTION,
                 exact_filter_max: int = EXACT_FILTER_MAX, meta: dict[str, Any] | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.dim = int(dim)
        self.kind = kind
        self.name = "faiss" if kind == "auto" else f"faiss-{kind}"
        self.switch_at, self.M, self.nlist, self.nprobe = switch_at, M, nlist, nprobe
        self.ef_construction, self.ef_search, self.train_at = ef_construction, ef_search, train_at
        self.tombstone_fraction, self.exact_filter_max = tombstone_fraction, exact_filter_max
        self.meta: dict[str, Any] = dict(meta or {})
        structure = "hnsw" if kind == "hnsw" else "flat"
        self._set_index(faiss.IndexIDMap2(self._new_inner(structure, None)), structure,
                        np.empty(0, np.int64))

    # -- introspection -------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        """Number of live vectors."""
        return int(self._index.ntotal) - int(self._tombstones.size)

    @property
    def structure(self) -> str:
        """The FAISS structure in use now: "flat", "hnsw" or "ivf"."""
        return self._structure

    @property
    def n_tombstones(self) -> int:
        """Removed ids still physically stored (HNSW/IVF only)."""
        return int(self._tombstones.size)

    def config(self) -> dict[str, Any]:
        """Constructor parameters, as recorded in the manifest."""
        return {"kind": self.kind, "switch_at": self.switch_at, "M": self.M,
                "ef_construction": self.ef_construction, "ef_search": self.ef_search,
                "nlist": self.nlist, "nprobe": self.nprobe, "train_at": self.train_at,
                "tombstone_fraction": self.tombstone_fraction, "exact_filter_max": self.exact_filter_max}

    def __repr__(self) -> str:
        return (f"FaissIndex(dim={self.dim}, kind={self.kind!r}, structure={self._structure!r}, "
                f"ntotal={self.ntotal}, tombstones={self.n_tombstones})")

    # -- mutation --------------------------------------------------------------------------
    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add vectors (normalised on a copy) under ids that are not live yet."""
        x = check_vectors(vectors, self.dim)
        ids = check_new_ids(ids, x.shape[0])
        if ids.size == 0:
            return
        stored = self._is_stored(ids)
        live = stored & ~np.isin(ids, self._tombstones)
        if live.any():
            raise ValueError(f"ids already in the index: {ids[live][:10].tolist()}")
        if stored.any():  # re-adding tombstoned ids: purge their old copies first
            self._rebuild()
        faiss.normalize_L2(x)
        self._index.add_with_ids(x, ids)
        self._sorted_ids = None
        if self._structure == "flat" and self._target_structure(self.ntotal) != "flat":
            self._rebuild()

    def remove(self, ids: np.ndarray) -> int:
        """Remove live ids (real removal on flat, tombstones otherwise); return the count."""
        ids = np.unique(check_ids(ids))
        ids = ids[self._is_live(ids)]
        if ids.size == 0:
            return 0
        if self._structure == "flat":
            removed = int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
            self._sorted_ids = None
            return removed
        self._set_tombstones(np.union1d(self._tombstones, ids))
        if self._tombstones.size > self.tombstone_fraction * self._index.ntotal:
            self._rebuild()
        return int(ids.size)

    # -- queries ---------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int,
               allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k inner-product search, optionally restricted to `allowed_ids`."""
        q = check_vectors(queries, self.dim, "queries")
        k = check_k(k)
        faiss.normalize_L2(q)
        allowed = None if allowed_ids is None else np.unique(check_ids(allowed_ids, "allowed_ids"))
        if self.ntotal == 0 or (allowed is not None and allowed.size == 0):
            return empty_results(q.shape[0], k)
        if allowed is not None and self._structure != "flat" and allowed.size <= self.exact_filter_max:
            return self._exact_search(q, k, allowed)
        keep: list[Any] = []  # selectors must outlive the search call
        sel = self._selector(allowed, keep)
        scores, ids = self._index.search(q, k, params=self._search_params(sel, k))
        scores[ids == PAD_ID] = PAD_SCORE
        return scores, ids

    def ids(self) -> np.ndarray:
        """Live ids in insertion order."""
        stored = faiss.vector_to_array(self._index.id_map).astype(np.int64, copy=False)
        return stored[~np.isin(stored, self._tombstones)] if self._tombstones.size else stored

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors for live ids; KeyError names any id that is not live."""
        ids = check_ids(ids)
        live = self._is_live(ids)
        if not live.all():
            raise KeyError(f"ids not in the index: {ids[~live][:10].tolist()}")
        if ids.size == 0:
            return np.empty((0, self.dim), np.float32)
        return self._index.reconstruct_batch(ids)

    # -- persistence -----------------------------------------------------------------------
    def save(self, directory: Path, meta: dict[str, Any] | None = None) -> None:
        """Atomically save into `directory` (see `indexes._io` for the protocol)."""
        directory = Path(directory)
        json.dumps(self.meta if meta is None else meta)  # not JSON: fail before touching disk
        if meta is not None:
            self.meta = dict(meta)
        directory.mkdir(parents=True, exist_ok=True)
        gen = next_generation(directory)
        files = {"index_file": f"index-{gen}.faiss", "tombstones_file": f"tombstones-{gen}.npy"}
        atomic_write(directory / files["index_file"],
                     lambda f: faiss.write_index(self._index, faiss.PyCallbackIOWriter(f.write)))
        atomic_write(directory / files["tombstones_file"], lambda f: np.save(f, self._tombstones))
        write_manifest(directory, self._manifest(gen, files))
        remove_stale(directory, set(files.values()), ("index-", "tombstones-"))
        logger.debug("saved %r to %s (generation %d)", self, directory, gen)

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Load the index whose manifest is in `directory`."""
        directory = Path(directory)
        manifest = read_manifest(directory)
        where = directory / MANIFEST
        if manifest.get("class") != cls.__name__:
            raise ValueError(f"{where} describes a {manifest.get('class')!r}, not a {cls.__name__}")
        try:
            obj = cls(int(manifest["dim"]), meta=manifest.get("meta") or {}, **manifest["config"])
            paths = [directory / manifest["index_file"], directory / manifest["tombstones_file"]]
            structure, ntotal = manifest["structure"], int(manifest["ntotal"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"corrupt index manifest {where}: bad or missing field {exc}") from exc
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError(f"{where} names {path.name}, which is missing")
        obj._set_index(faiss.read_index(str(paths[0])), structure, np.load(paths[1]))
        if obj.ntotal != ntotal or obj._index.d != obj.dim:
            raise ValueError(f"{paths[0]} does not match {where} (ntotal/dim differ)")
        logger.debug("loaded %r from %s", obj, directory)
        return obj

    def _manifest(self, gen: int, files: dict[str, str]) -> dict[str, Any]:
        inner = faiss.downcast_index(self._index.index)
        return {"class": type(self).__name__, "format_version": FORMAT_VERSION, "name": self.name,
                "generation": gen, **files, "dim": self.dim, "ntotal": self.ntotal,
                "n_stored": int(self._index.ntotal), "n_tombstones": self.n_tombstones,
                "kind": self.kind, "structure": self._structure, "config": self.config(),
                "trained_nlist": int(inner.nlist) if self._structure == "ivf" else None,
                "faiss_version": faiss.__version__, "meta": self.meta}

    # -- internals -------------------------------------------------------------------------
    def _set_index(self, index: faiss.Index, structure: str, tombstones: np.ndarray) -> None:
        self._index = index
        self._structure = structure
        self._sorted_ids: np.ndarray | None = None
        self._set_tombstones(np.unique(np.asarray(tombstones, dtype=np.int64)))

    def _set_tombstones(self, tombstones: np.ndarray) -> None:
        self._tombstones = tombstones
        self._tomb_sel: tuple[Any, Any] | None = None

    def _is_stored(self, ids: np.ndarray) -> np.ndarray:
        if self._sorted_ids is None:
            self._sorted_ids = np.sort(faiss.vector_to_array(self._index.id_map).astype(np.int64))
        stored = self._sorted_ids
        if stored.size == 0:
            return np.zeros(ids.shape, bool)
        return stored[np.minimum(np.searchsorted(stored, ids), stored.size - 1)] == ids

    def _is_live(self, ids: np.ndarray) -> np.ndarray:
        return self._is_stored(ids) & ~np.isin(ids, self._tombstones)

    def _target_structure(self, n: int) -> str:
        if self.kind in ("flat", "hnsw"):
            return self.kind
        if self.kind == "auto":
            return "hnsw" if n > self.switch_at else "flat"
        return "ivf" if n >= max(self.train_at, self.nlist or 1) else "flat"

    def _new_inner(self, structure: str, train: np.ndarray | None) -> faiss.Index:
        if structure == "flat":
            return faiss.IndexFlatIP(self.dim)
        if structure == "hnsw":
            index = faiss.IndexHNSWFlat(self.dim, self.M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction, index.hnsw.efSearch = self.ef_construction, self.ef_search
            return index
        assert train is not None and train.shape[0] > 0, "IVF needs training vectors"
        nlist = self.nlist or ivf_nlist(train.shape[0])
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(train)
        index.nprobe = self.nprobe
        index.set_direct_map_type(faiss.DirectMap.Array)  # reconstruct by (sequential) id
        return index

    def _rebuild(self) -> None:
        """Re-add the live vectors into a fresh structure sized for them (drops tombstones)."""
        ids = self.ids()
        vectors = self.reconstruct(ids)
        structure = self._target_structure(ids.size)
        index = faiss.IndexIDMap2(self._new_inner(structure, vectors))
        if ids.size:
            index.add_with_ids(vectors, ids)
        logger.info("rebuilt %s index: %s -> %s, %d live vectors, %d tombstones dropped",
                    self.name, self._structure, structure, ids.size, self.n_tombstones)
        self._set_index(index, structure, np.empty(0, np.int64))

    def _selector(self, allowed: np.ndarray | None, keep: list[Any]) -> Any:
        parts: list[Any] = []
        if allowed is not None:
            parts.append(faiss.IDSelectorBatch(allowed))
        if self._tombstones.size:
            if self._tomb_sel is None:
                batch = faiss.IDSelectorBatch(self._tombstones)
                self._tomb_sel = (batch, faiss.IDSelectorNot(batch))
            parts.append(self._tomb_sel[1])
        keep.extend(parts)
        if len(parts) < 2:
            return parts[0] if parts else None
        both = faiss.IDSelectorAnd(parts[0], parts[1])
        keep.append(both)
        return both

    def _search_params(self, sel: Any, k: int) -> faiss.SearchParameters | None:
        if self._structure == "hnsw":
            return faiss.SearchParametersHNSW(sel=sel, efSearch=max(self.ef_search, k))
        if self._structure == "ivf":
            return faiss.SearchParametersIVF(sel=sel, nprobe=self.nprobe)
        return faiss.SearchParameters(sel=sel) if sel is not None else None

    def _exact_search(self, q: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        live = allowed[self._is_live(allowed)]
        if live.size == 0:
            return empty_results(q.shape[0], k)
        scores = q @ self._index.reconstruct_batch(live).T
        return top_k(scores, np.broadcast_to(live, scores.shape), k)
