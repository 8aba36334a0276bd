"""Indexes by name: `create_index` builds one, `load_index` reopens a saved one."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ._io import read_manifest
from .base import VectorIndex
from .faiss_index import FaissIndex
from .sharded import ShardedIndex

Factory = Callable[..., VectorIndex]
Loader = Callable[[Path], VectorIndex]


def _sharded(dim: int, n_shards: int = 2, shard: str = "faiss", **params: Any) -> ShardedIndex:
    """`n_shards` indexes of registry name `shard`, all built with `params`."""
    return ShardedIndex([create_index(shard, dim, **params) for _ in range(n_shards)])


_FACTORIES: dict[str, Factory] = {
    "faiss": lambda dim, **kw: FaissIndex(dim, kind="auto", **kw),
    "faiss-flat": lambda dim, **kw: FaissIndex(dim, kind="flat", **kw),
    "faiss-hnsw": lambda dim, **kw: FaissIndex(dim, kind="hnsw", **kw),
    "faiss-ivf": lambda dim, **kw: FaissIndex(dim, kind="ivf", **kw),
    "sharded": _sharded,
}
_LOADERS: dict[str, Loader] = {
    **{name: FaissIndex.load for name in ("faiss", "faiss-flat", "faiss-hnsw", "faiss-ivf")},
    "sharded": ShardedIndex.load,
}


def available_indexes() -> list[str]:
    """Names that `create_index` accepts."""
    return sorted(_FACTORIES)


def register_index(name: str, factory: Factory, loader: Loader | None = None) -> None:
    """Add `factory(dim, **params)` under `name`; `loader(dir)` reopens saves whose manifest has that name."""
    _FACTORIES[name] = factory
    if loader is not None:
        _LOADERS[name] = loader


def create_index(name: str, dim: int, **params: Any) -> VectorIndex:
    """Build a new empty index of registry name `name`."""
    if name not in _FACTORIES:
        raise KeyError(f"unknown index {name!r}; available: {', '.join(available_indexes())}")
    return _FACTORIES[name](dim, **params)


def load_index(directory: Path) -> VectorIndex:
    """Load whatever index was saved in `directory`, dispatching on its manifest's name."""
    manifest = read_manifest(Path(directory))
    name = manifest.get("name")
    if name not in _LOADERS:
        raise ValueError(f"{Path(directory) / 'manifest.json'}: no loader for index {name!r}; "
                         f"known: {', '.join(sorted(_LOADERS))}")
    return _LOADERS[name](Path(directory))
