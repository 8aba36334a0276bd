"""`IvfPqIndex`: IVF-PQ for large spaces, trained once, held in shard files searched memory-mapped.

One trained template (optional OPQ rotation, coarse quantizer, PQ codebooks; `ivfpq_build`) encodes
every vector; the codes live in shards, each a set of ids. A search rotates the queries and assigns
them to their `nprobe` nearest lists once, then scans those lists in every shard (`search_preassigned`,
in threads) and merges the per-shard top k: the result is the same as one index holding every vector.
With refinement (``refine="fp16"``, the default) the best ``k * k_factor`` candidates are re-ranked by
their float16 vectors (memory-mapped, one row read per candidate): near-exact scores for ~768 more bytes
per vector on disk, none in RAM.

Writes: `add` goes to an in-memory delta shard (written as a new shard file by `save`); `remove` drops
ids from the delta and tombstones them in the other shards (their files are read-only maps); `save`
rewrites a shard whose tombstones exceed `compact_fraction` and merges the smallest shards while there
are more than `max_shards`. Filters of at most `exact_filter_max` ids scan every list (nothing in a
small allowed set is missed); larger ones use the normal `nprobe`. `reconstruct` returns the refine
vectors (float16 precision). Layout: manifest.json (shards, template, build parameters),
``trained-<gen>.faiss``, ``shard-<gen>-<i>.{faiss,ids.npy,refine.npy}``, ``ivfpq-tombstones-<gen>.npy``.
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import faiss
import numpy as np

from .base import check_ids, check_k, check_new_ids, check_vectors, empty_results, top_k
from .ivfpq_build import (DEFAULT_FACTORY, REFINES, ShardData, ivf_of, normalised, pre_transform,
                          shard_index_from_data, train_template)

logger = logging.getLogger(__name__)
NPROBE, K_FACTOR, MAX_SHARDS, COMPACT_FRACTION, EXACT_FILTER_MAX = 64, 8, 64, 0.2, 4096  # bench_ivfpq.py: recall@10 0.967


@dataclass
class _Shard:
    ivf: faiss.IndexIVF
    ids: np.ndarray  # sorted
    refine: np.ndarray | None  # float16 rows in the order of ids
    entry: dict[str, Any] | None = None  # its files (None: only in memory)
    data: ShardData | None = None  # serialised form while only in memory

    def find(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mask of `ids` stored here, their rows)."""
        if self.ids.size == 0:
            return np.zeros(ids.shape, bool), np.zeros(ids.shape, np.int64)
        pos = np.minimum(np.searchsorted(self.ids, ids), self.ids.size - 1)
        return self.ids[pos] == ids, pos


class IvfPqIndex:
    """A `VectorIndex` over a trained IVF-PQ template and its shards (see the module docstring)."""

    name = "ivfpq"

    def __init__(self, dim: int, template: faiss.Index, *, factory: str = DEFAULT_FACTORY, nprobe: int = NPROBE,
                 refine: str = "fp16", k_factor: int = K_FACTOR, max_shards: int = MAX_SHARDS,
                 compact_fraction: float = COMPACT_FRACTION, exact_filter_max: int = EXACT_FILTER_MAX,
                 search_threads: int = 0, meta: dict[str, Any] | None = None, build: dict | None = None) -> None:
        if refine not in REFINES:
            raise ValueError(f"unknown refine {refine!r}; expected one of {', '.join(REFINES)}")
        if template.d != dim or not template.is_trained:
            raise ValueError(f"the template must be trained and of dim {dim} (got d={template.d})")
        self.dim, self.template, self.factory, self.refine = int(dim), template, factory, refine
        self.nprobe, self.k_factor, self.max_shards = nprobe, k_factor, max_shards
        self.compact_fraction, self.exact_filter_max, self.search_threads = compact_fraction, exact_filter_max, \
            search_threads or min(8, os.cpu_count() or 1)
        self.meta: dict[str, Any] = dict(meta or {})
        self.build: dict[str, Any] = dict(build or {})
        self._ivf_t = ivf_of(template)
        self.nlist = int(self._ivf_t.nlist)
        self._shards: list[_Shard] = []
        self._tombstones = np.empty(0, np.int64)
        self._dir: Path | None = None
        self._template_file: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._delta = self._empty_delta()

    @classmethod
    def train(cls, sample: np.ndarray, n_total: int | None = None, factory: str = DEFAULT_FACTORY,
              nlist: int | None = None, **params: Any) -> Self:
        """An empty index trained on `sample` for about `n_total` vectors."""
        template = train_template(sample, factory, nlist, n_total)
        return cls(sample.shape[1], template, factory=factory,
                   build={**params.pop("build", {}), "train_n": int(sample.shape[0])}, **params)

    @classmethod
    def empty(cls, dim: int, sample: np.ndarray | None = None, **params: Any) -> Self:
        """The registry's factory (`create_index("ivfpq", dim, sample=...)`): IVF-PQ must be trained first."""
        if sample is None or sample.shape[1] != dim:
            raise ValueError(f"an ivfpq index is trained on a sample of (n, {dim}) vectors: pass sample=...")
        return cls.train(sample, **params)

    def add_shards(self, shards: list[ShardData]) -> None:
        """Adopt shards filled elsewhere (`ivfpq_build.fill_shard`) with ids not live yet."""
        for data in shards:
            if data.ids.size and self._is_live(data.ids).any():
                raise ValueError(f"ids already in the index: {data.ids[self._is_live(data.ids)][:10].tolist()}")
            ivf = shard_index_from_data(data, self._ivf_t.quantizer)
            self._shards.append(_Shard(ivf, np.asarray(data.ids), data.refine, data=data))

    # -- introspection ---------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return sum(int(s.ids.size) for s in self._shards) - int(self._tombstones.size) + int(self._delta.ids.size)

    @property
    def n_shards(self) -> int:
        return len(self._shards)

    @property
    def code_size(self) -> int:
        return int(self._ivf_t.code_size)

    def bytes_per_vector(self) -> dict[str, int]:
        """RAM a searched vector needs (code + id in its list) and its bytes on disk."""
        ram = self.code_size + 8
        return {"ram": ram, "disk": ram + 8 + (2 * self.dim if self.refine == "fp16" else 0)}

    def config(self) -> dict[str, Any]:
        return {"factory": self.factory, "nprobe": self.nprobe, "refine": self.refine, "k_factor": self.k_factor,
                "max_shards": self.max_shards, "compact_fraction": self.compact_fraction,
                "exact_filter_max": self.exact_filter_max}

    def __repr__(self) -> str:
        return (f"IvfPqIndex(dim={self.dim}, factory={self.factory!r}, nlist={self.nlist}, shards={self.n_shards},"
                f" ntotal={self.ntotal}, tombstones={self._tombstones.size})")

    # -- mutation ----------------------------------------------------------------------------
    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        x = check_vectors(vectors, self.dim)
        ids = check_new_ids(ids, x.shape[0])
        if ids.size == 0:
            return
        live = self._is_live(ids)
        if live.any():
            raise ValueError(f"ids already in the index: {ids[live][:10].tolist()}")
        x = normalised(x)
        d = self._delta
        d.ivf.add_with_ids(pre_transform(self.template, x), ids)
        all_ids = np.concatenate([d.ids, ids])
        order = np.argsort(all_ids, kind="stable")
        d.ids = all_ids[order]
        if d.refine is not None:
            d.refine = np.concatenate([d.refine, x.astype(np.float16)])[order]

    def remove(self, ids: np.ndarray) -> int:
        ids = np.unique(check_ids(ids))
        ids = ids[self._is_live(ids)]
        if ids.size == 0:
            return 0
        d = self._delta
        in_delta, _ = d.find(ids)
        if in_delta.any():
            d.ivf.remove_ids(faiss.IDSelectorBatch(ids[in_delta]))
            keep = ~np.isin(d.ids, ids[in_delta])
            d.ids = d.ids[keep]
            d.refine = None if d.refine is None else d.refine[keep]
        self._tombstones = np.union1d(self._tombstones, ids[~in_delta])
        return int(ids.size)

    # -- queries -------------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int,
               allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = normalised(check_vectors(queries, self.dim, "queries"))
        k = check_k(k)
        allowed = None if allowed_ids is None else np.unique(check_ids(allowed_ids, "allowed_ids"))
        if self.ntotal == 0 or (allowed is not None and allowed.size == 0):
            return empty_results(q.shape[0], k)
        kk = k * self.k_factor if self.refine == "fp16" else k
        nprobe = self.nlist if allowed is not None and allowed.size <= self.exact_filter_max else self.nprobe
        nprobe = min(nprobe, self.nlist)
        xq = pre_transform(self.template, q)
        dq, iq = self._ivf_t.quantizer.search(xq, nprobe)
        shards = [s for s in [*self._shards, self._delta] if s.ids.size]
        parts = self._map(lambda s: self._scan(s, xq, kk, iq, dq, nprobe, allowed), shards)
        scores, ids = top_k(np.concatenate([p[0] for p in parts], 1), np.concatenate([p[1] for p in parts], 1), kk)
        return self._rerank(q, scores, ids, k) if self.refine == "fp16" else (scores, ids)

    def _scan(self, shard: _Shard, xq: np.ndarray, k: int, iq: np.ndarray, dq: np.ndarray, nprobe: int,
              allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        keep: list[Any] = []
        parts = [] if allowed is None else [faiss.IDSelectorBatch(allowed)]
        if shard is not self._delta and self._tombstones.size:
            batch = faiss.IDSelectorBatch(self._tombstones)
            parts += [faiss.IDSelectorNot(batch)]
            keep.append(batch)
        sel = parts[0] if len(parts) == 1 else faiss.IDSelectorAnd(*parts) if parts else None
        keep += parts
        params = faiss.SearchParametersIVF(nprobe=nprobe, sel=sel) if sel is not None else \
            faiss.SearchParametersIVF(nprobe=nprobe)
        n = xq.shape[0]
        dist, lab = np.empty((n, k), np.float32), np.empty((n, k), np.int64)
        shard.ivf.search_preassigned_c(n, faiss.swig_ptr(xq), k, faiss.swig_ptr(iq), faiss.swig_ptr(dq),
                                       faiss.swig_ptr(dist), faiss.swig_ptr(lab), False, params)
        return dist, lab

    def _map(self, fn: Any, shards: list[_Shard]) -> list[Any]:
        if len(shards) < 2 or self.search_threads < 2:
            return [fn(s) for s in shards]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.search_threads, thread_name_prefix="ivfpq")
        return list(self._pool.map(fn, shards))

    def _rerank(self, q: np.ndarray, scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        flat = ids.reshape(-1)
        vecs = self._lookup(np.where(flat < 0, 0, flat)).reshape(ids.shape[0], ids.shape[1], self.dim)
        exact = np.einsum("qd,qcd->qc", q, vecs)
        return top_k(np.where(ids < 0, -np.inf, exact).astype(np.float32), ids, k)

    def _lookup(self, ids: np.ndarray) -> np.ndarray:
        """float32 refine vectors of live ids (the delta's copy wins over a tombstoned older one)."""
        out = np.zeros((ids.size, self.dim), np.float32)
        for shard in [*self._shards, self._delta]:
            hit, pos = shard.find(ids)
            if hit.any() and shard.refine is not None:
                rows = np.flatnonzero(hit)
                order = np.argsort(pos[rows])  # read the map in file order
                out[rows[order]] = np.asarray(shard.refine[pos[rows][order]], dtype=np.float32)
        return out

    def ids(self) -> np.ndarray:
        parts = [s.ids[~np.isin(s.ids, self._tombstones)] for s in self._shards] + [self._delta.ids]
        return np.concatenate(parts).astype(np.int64, copy=False)

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The refine vectors of live ids (float16 precision); KeyError names ids that are not live."""
        ids = check_ids(ids)
        live = self._is_live(ids)
        if not live.all():
            raise KeyError(f"ids not in the index: {ids[~live][:10].tolist()}")
        if self.refine != "fp16":
            raise ValueError("this IVF-PQ index keeps no vectors (refine='none'): only codes")
        return self._lookup(ids)

    def _is_live(self, ids: np.ndarray) -> np.ndarray:
        stored = np.zeros(ids.shape, bool)
        for shard in self._shards:
            stored |= shard.find(ids)[0]
        return (stored & ~np.isin(ids, self._tombstones)) | self._delta.find(ids)[0]

    def _empty_delta(self) -> _Shard:
        ivf = faiss.clone_index(self._ivf_t)
        empty = np.empty((0, self.dim), np.float16) if self.refine == "fp16" else None
        return _Shard(ivf, np.empty(0, np.int64), empty)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, directory: Path, meta: dict[str, Any] | None = None) -> None:
        """Write new shards (the delta among them), compact, then the manifest (see `indexes._io`)."""
        save_index(self, Path(directory), meta)

    @classmethod
    def load(cls, directory: Path) -> Self:
        return load_index(cls, Path(directory))


from .ivfpq_store import load_index, save_index  # noqa: E402 - it needs _Shard from here

