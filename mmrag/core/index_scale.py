"""Large spaces: an IVF-PQ index (`indexes.ivfpq`) built from the stored vectors of a space.

Above library.json's `ivfpq_above` vectors, a space's index is trained once on a random sample of its
stored vectors, then filled shard by shard (`ivfpq_shard_size` ids each) by the current shard filler:
in this process (`fill_here`), or in parallel elsewhere inside a `shard_filler(fn)` block (the Ray
ingest fills them in Ray tasks, `mmrag.distributed.index_build`).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from indexes import IvfPqIndex, VectorIndex, create_index
from indexes.ivfpq_build import DEFAULT_FACTORY, ShardData, choose_nlist, fill_shard, serialize, train_sample_size

from .config import LibraryConfig
from .store import Store

log = logging.getLogger(__name__)
BATCH = 4096
Chunks = Iterable[tuple[np.ndarray, np.ndarray]]  # (ids, vectors) of one shard each
ShardFiller = Callable[[np.ndarray, Chunks, str], Iterable[ShardData]]  # (template, chunks, refine) -> shards


def fill_here(template: np.ndarray, chunks: Chunks, refine: str) -> Iterator[ShardData]:
    """Fill the shards one after the other in this process."""
    return (fill_shard(template, vecs, ids, refine) for ids, vecs in chunks)


_FILLER: list[ShardFiller] = [fill_here]


@contextmanager
def shard_filler(fn: ShardFiller) -> Iterator[None]:
    """IVF-PQ builds inside the block fill their shards with `fn` (e.g. in parallel Ray tasks)."""
    _FILLER.append(fn)
    try:
        yield
    finally:
        _FILLER.remove(fn)


def ivfpq_settings(root: Path) -> tuple[int, int, dict]:
    """(ivfpq_above, ivfpq_shard_size, ivfpq) from the library's library.json (0: never, without one)."""
    path = root / "library.json"
    if not path.exists():
        return 0, 1, {}
    cfg = LibraryConfig.load(path)
    return cfg.ivfpq_above, max(1, cfg.ivfpq_shard_size), dict(cfg.ivfpq)


def _stored(store: Store, space: str, ids: np.ndarray, dim: int) -> np.ndarray:
    out = np.empty((ids.size, dim), np.float32)
    for start in range(0, ids.size, BATCH):
        part = ids[start:start + BATCH]
        vecs = store.get_vectors(space, part.tolist(), dim)
        out[start:start + part.size] = np.stack([vecs[int(i)] for i in part])
    return out


def build_ivfpq(store: Store, space: str, dim: int, shard_size: int, params: dict) -> IvfPqIndex:
    """An IVF-PQ index of every stored vector of `space`: trained on a random sample, then filled shard by
    shard (`shard_size` ids each) by the current shard filler."""
    ids = np.sort(store.vector_ids(space))
    params = dict(params)
    factory, nlist = params.pop("factory", DEFAULT_FACTORY), params.pop("nlist", None) or choose_nlist(ids.size)
    rng = np.random.default_rng(0)
    sample = rng.choice(ids, size=min(ids.size, train_sample_size(nlist, factory)), replace=False)
    index = IvfPqIndex.train(_stored(store, space, np.sort(sample), dim), n_total=int(ids.size), factory=factory,
                             nlist=nlist, build={"shard_size": shard_size, "n": int(ids.size)}, **params)
    chunks = ((ids[i:i + shard_size], _stored(store, space, ids[i:i + shard_size], dim))
              for i in range(0, ids.size, shard_size))
    for shard in _FILLER[-1](serialize(index.template), chunks, index.refine):
        index.add_shards([shard])
    log.warning("space %r: built an IVF-PQ index of %d vectors (%s, %d lists, %d shards)", space, ids.size,
                factory, index.nlist, index.n_shards)
    return index


def scaled(index: VectorIndex, store: Store, space: str, root: Path) -> VectorIndex:
    """`index`, or an IVF-PQ index of the stored vectors when the space has outgrown `ivfpq_above`."""
    above, shard_size, params = ivfpq_settings(root)
    if not above or isinstance(index, IvfPqIndex) or index.ntotal <= above:
        return index
    return build_ivfpq(store, space, index.dim, shard_size, params)


def new_index(root: Path, space: str, kind: str, dim: int, store: Store) -> VectorIndex:
    """A new empty index of `kind`; for a space above `ivfpq_above`, an IVF-PQ index of its stored vectors."""
    above, shard_size, params = ivfpq_settings(root)
    if above and store.vector_ids(space).size > above:
        return build_ivfpq(store, space, dim, shard_size, params)
    return create_index(kind, dim)
