"""Building IVF-PQ shards: train once on a sample, fill shards anywhere, merge; shard files on disk.

A *template* is the empty trained index (optional OPQ rotation, coarse quantizer, PQ codebooks), made
once by `train_template` from a sample. `fill_shard` encodes one disjoint set of vectors with it; it is
a pure function of its arguments (template bytes, vectors, ids), so shards can be filled in parallel in
any process (a Ray task, `mmrag.distributed`). A shard is written without the coarse quantizer (every
shard shares the template's): `<name>.faiss` (its inverted lists, searched memory-mapped),
`<name>.ids.npy` (its ids, sorted) and, with refinement, `<name>.refine.npy` (its vectors as float16,
in the order of the ids, read memory-mapped to re-rank candidates). Never imports mmrag.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import faiss
import numpy as np

from ._io import atomic_write

DEFAULT_FACTORY = "IVF{nlist},PQ48"  # chosen by benchmarks/bench_ivfpq.py (with fp16 refinement)
REFINES = ("none", "fp16")
MIN_NLIST, MAX_NLIST = 16, 262_144
POINTS_PER_LIST = 39  # FAISS warns below 39 training points per centroid


def choose_nlist(n: int) -> int:
    """Inverted lists for `n` vectors: the power of two nearest 4*sqrt(n), with >= 39 training points each."""
    want = 2 ** round(math.log2(max(1.0, 4 * math.sqrt(max(n, 1)))))
    return int(max(MIN_NLIST, min(MAX_NLIST, want, max(MIN_NLIST, n // POINTS_PER_LIST))))


def train_sample_size(nlist: int, factory: str) -> int:
    """Training vectors to draw: 64 per list, and at least what an 8-bit PQ codebook asks (256 * 39)."""
    return max(64 * nlist, 256 * POINTS_PER_LIST if "PQ" in factory else 0)


def normalised(vectors: np.ndarray) -> np.ndarray:
    x = np.array(vectors, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(x)
    return x


def train_template(sample: np.ndarray, factory: str = DEFAULT_FACTORY, nlist: int | None = None,
                   n_total: int | None = None) -> faiss.Index:
    """The empty trained index for `factory` ("{nlist}" filled from `n_total`, the size it will hold)."""
    x = normalised(sample)
    nlist = nlist or choose_nlist(n_total or x.shape[0])
    index = faiss.index_factory(x.shape[1], factory.format(nlist=nlist), faiss.METRIC_INNER_PRODUCT)
    if faiss.try_extract_index_ivf(index) is None:
        raise ValueError(f"factory {factory!r} is not an IVF index")
    index.train(x)
    return index


def ivf_of(index: faiss.Index) -> faiss.IndexIVF:
    return faiss.downcast_index(faiss.extract_index_ivf(index))


def pre_transform(index: faiss.Index, x: np.ndarray) -> np.ndarray:
    """Apply the template's transforms (an OPQ rotation), if any, to normalised vectors."""
    index = faiss.downcast_index(index)
    if not isinstance(index, faiss.IndexPreTransform):
        return x
    for i in range(index.chain.size()):
        x = faiss.downcast_VectorTransform(index.chain.at(i)).apply(x)
    return np.ascontiguousarray(x, dtype=np.float32)


def serialize(index: faiss.Index) -> np.ndarray:
    return faiss.serialize_index(index)


@dataclass
class ShardData:
    """A filled shard in memory: its serialised inverted lists (no quantizer), sorted ids, refine vectors."""

    index: np.ndarray  # uint8, faiss.serialize_index of the IVF part
    ids: np.ndarray  # int64, sorted
    refine: np.ndarray | None  # float16 (n, dim) in the order of `ids`, or None


def without_quantizer(ivf: faiss.IndexIVF) -> np.ndarray:
    """`ivf` serialised with an empty coarse quantizer in place of its own (shards share the template's).
    No ownership moves between Python and FAISS (that corrupts SWIG's type table): pointers are swapped
    and put back."""
    own, quantizer = ivf.own_fields, ivf.quantizer
    dummy = faiss.IndexFlat(ivf.d, ivf.metric_type)
    ivf.own_fields = False
    ivf.quantizer = dummy
    try:
        return serialize(ivf)
    finally:
        ivf.quantizer = quantizer
        ivf.own_fields = own


def fill_shard(template: np.ndarray, vectors: np.ndarray, ids: np.ndarray, refine: str = "fp16") -> ShardData:
    """Encode `vectors` (any scale: normalised here) under `ids` with the trained `template` (serialised)."""
    t = faiss.deserialize_index(template)  # a fresh copy: its IVF part becomes the shard
    x = normalised(vectors)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    ivf = ivf_of(t)
    if ids.size:
        ivf.add_with_ids(pre_transform(t, x), ids)
    order = np.argsort(ids, kind="stable")
    return ShardData(without_quantizer(ivf), ids[order], x[order].astype(np.float16) if refine == "fp16" else None)


def merge_shard_data(parts: Iterable[ShardData], template: faiss.Index) -> ShardData:
    """One shard holding every vector of `parts` (FAISS `merge_from`), e.g. to compact small shards."""
    parts = list(parts)
    copy = faiss.deserialize_index(serialize(template))
    base = ivf_of(copy)
    for part in parts:
        other = faiss.deserialize_index(part.index)
        attach_quantizer(other, base.quantizer)  # FAISS checks that both have the same quantizer
        base.merge_from(other, 0)
    ids = np.concatenate([p.ids for p in parts]) if parts else np.empty(0, np.int64)
    order = np.argsort(ids, kind="stable")
    refine = None if not parts or parts[0].refine is None else np.concatenate([p.refine for p in parts])[order]
    return ShardData(without_quantizer(base), ids[order], refine)


def drop_ids(shard: ShardData, dead: np.ndarray) -> ShardData:
    """The shard without the ids in `dead` (a real `remove_ids` on an in-memory copy)."""
    ivf = faiss.deserialize_index(shard.index)
    ivf.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(dead, dtype=np.int64)))
    keep = ~np.isin(shard.ids, dead)
    return ShardData(serialize(ivf), shard.ids[keep], None if shard.refine is None else shard.refine[keep])


def write_shard(directory: Path, name: str, shard: ShardData) -> dict[str, Any]:
    """Write a shard's files atomically; returns its manifest entry."""
    entry: dict[str, Any] = {"name": name, "file": f"{name}.faiss", "ids_file": f"{name}.ids.npy",
                             "n": int(shard.ids.size), "refine_file": None}
    atomic_write(directory / entry["file"], lambda f: f.write(shard.index.tobytes()))
    atomic_write(directory / entry["ids_file"], lambda f: np.save(f, shard.ids))
    if shard.refine is not None:
        entry["refine_file"] = f"{name}.refine.npy"
        atomic_write(directory / entry["refine_file"], lambda f: np.save(f, shard.refine))
    return entry


def read_shard(directory: Path, entry: dict[str, Any], mmap: bool = True) -> ShardData:
    """A shard's files as `ShardData` (ids and refine vectors memory-mapped; the index bytes read whole)."""
    mode = "r" if mmap else None
    raw = np.fromfile(directory / entry["file"], dtype=np.uint8)
    refine = np.load(directory / entry["refine_file"], mmap_mode=mode) if entry.get("refine_file") else None
    return ShardData(raw, np.load(directory / entry["ids_file"], mmap_mode=mode), refine)


def open_shard_index(path: Path, quantizer: faiss.Index) -> faiss.IndexIVF:
    """A shard's inverted lists memory-mapped (read-only), searching with the shared `quantizer`."""
    ivf = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
    attach_quantizer(ivf, quantizer)
    return ivf


def attach_quantizer(ivf: faiss.IndexIVF, quantizer: faiss.Index) -> None:
    """Make `ivf` search with `quantizer` (not owned: the caller keeps it alive). The empty placeholder it
    was read with is left to leak (a few bytes) rather than freed across the SWIG boundary."""
    ivf.own_fields = False
    ivf.quantizer = quantizer


def shard_index_from_data(shard: ShardData, quantizer: faiss.Index) -> faiss.IndexIVF:
    """An in-memory (writable) shard index from `ShardData`."""
    ivf = faiss.deserialize_index(shard.index)
    attach_quantizer(ivf, quantizer)
    return ivf
