"""Saving and loading `IvfPqIndex` (crash-safe, see `indexes._io`): new shard files, compaction, manifest.

A save writes the template once per directory, each shard that is only in memory (the delta, shards
filled by a build, compacted ones) as new generation-named files, the tombstones, then the manifest;
files no manifest names any more are removed last. Shard files never change once written, so a
process that has the previous generation memory-mapped keeps a consistent view.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from ._io import MANIFEST, atomic_write, next_generation, read_manifest, remove_stale, write_manifest
from .ivfpq_build import (ShardData, drop_ids, merge_shard_data, open_shard_index, read_shard, serialize,
                          shard_index_from_data, without_quantizer, write_shard)

if TYPE_CHECKING:
    from .ivfpq import IvfPqIndex, _Shard

logger = logging.getLogger(__name__)
STALE = ("shard-", "trained-", "ivfpq-tombstones-", "index-", "tombstones-")


def shard_data(ix: "IvfPqIndex", shard: "_Shard") -> ShardData:
    """A shard's serialised form (read from its files when it has them)."""
    if shard.data is not None:
        return shard.data
    assert shard.entry is not None and ix._dir is not None
    return read_shard(ix._dir, shard.entry, mmap=False)


def _delta_data(delta: "_Shard") -> ShardData:
    refine = None if delta.refine is None else np.array(delta.refine)
    return ShardData(without_quantizer(delta.ivf), np.array(delta.ids), refine)


def _in_memory(ix: "IvfPqIndex", data: ShardData) -> "_Shard":
    from .ivfpq import _Shard
    return _Shard(shard_index_from_data(data, ix._ivf_t.quantizer), data.ids, data.refine, data=data)


def compact(ix: "IvfPqIndex", shards: list["_Shard"], tombstones: np.ndarray) -> tuple[list["_Shard"], np.ndarray]:
    """Rewrite shards whose tombstones pass `compact_fraction`; merge the two smallest while there are
    more than `max_shards`."""
    out = []
    for shard in shards:
        dead = np.intersect1d(np.asarray(shard.ids), tombstones)
        if dead.size and dead.size > ix.compact_fraction * shard.ids.size:
            shard = _in_memory(ix, drop_ids(shard_data(ix, shard), dead))
            tombstones = np.setdiff1d(tombstones, dead)
        if shard.ids.size:
            out.append(shard)
    while len(out) > ix.max_shards:
        out.sort(key=lambda s: -int(s.ids.size))
        a, b = out.pop(), out.pop()
        out.append(_in_memory(ix, merge_shard_data([shard_data(ix, a), shard_data(ix, b)], ix.template)))
    return out, tombstones


def save_index(ix: "IvfPqIndex", directory: Path, meta: dict[str, Any] | None) -> None:
    json.dumps(ix.meta if meta is None else meta)  # not JSON: fail before touching disk
    if meta is not None:
        ix.meta = dict(meta)
    directory.mkdir(parents=True, exist_ok=True)
    gen = next_generation(directory)
    same = ix._dir is not None and ix._dir.resolve() == directory.resolve()
    template_file = ix._template_file if same and ix._template_file else f"trained-{gen}.faiss"
    if not (same and ix._template_file):
        atomic_write(directory / template_file, lambda f: f.write(serialize(ix.template).tobytes()))
    shards = list(ix._shards) + ([_in_memory(ix, _delta_data(ix._delta))] if ix._delta.ids.size else [])
    shards, tombstones = compact(ix, shards, ix._tombstones)
    entries = []
    for i, shard in enumerate(shards):
        if shard.entry is not None and same:
            entries.append(shard.entry)
            continue
        entry = write_shard(directory, f"shard-{gen}-{i:04d}", shard_data(ix, shard))
        shard.ivf = open_shard_index(directory / entry["file"], ix._ivf_t.quantizer)
        shard.ids = np.load(directory / entry["ids_file"], mmap_mode="r")
        shard.refine = np.load(directory / entry["refine_file"], mmap_mode="r") if entry["refine_file"] else None
        shard.entry, shard.data = entry, None
        entries.append(entry)
    tomb_file = f"ivfpq-tombstones-{gen}.npy"
    atomic_write(directory / tomb_file, lambda f: np.save(f, tombstones))
    ix._shards, ix._tombstones, ix._delta = shards, tombstones, ix._empty_delta()
    ix._dir, ix._template_file = directory, template_file
    write_manifest(directory, manifest(ix, gen, template_file, entries, tomb_file))
    keep = {template_file, tomb_file} | {e[k] for e in entries for k in ("file", "ids_file", "refine_file") if e[k]}
    remove_stale(directory, keep, STALE)
    logger.debug("saved %r to %s (generation %d)", ix, directory, gen)


def manifest(ix: "IvfPqIndex", gen: int, template_file: str, entries: list[dict], tomb_file: str) -> dict:
    return {"class": type(ix).__name__, "name": ix.name, "format_version": 1, "generation": gen,
            "dim": ix.dim, "ntotal": ix.ntotal, "n_tombstones": int(ix._tombstones.size),
            "template_file": template_file, "shards": entries, "tombstones_file": tomb_file,
            "quantizer": {"factory": ix.factory, "nlist": ix.nlist, "code_size": ix.code_size,
                          "metric": "inner_product"},
            "bytes_per_vector": ix.bytes_per_vector(), "config": ix.config(), "build": ix.build,
            "faiss_version": faiss.__version__, "meta": ix.meta}


def load_index(cls: type["IvfPqIndex"], directory: Path) -> "IvfPqIndex":
    m = read_manifest(directory)
    where = directory / MANIFEST
    if m.get("class") != cls.__name__:
        raise ValueError(f"{where} describes a {m.get('class')!r}, not a {cls.__name__}")
    try:
        files = [m["template_file"], m["tombstones_file"]] + [e[k] for e in m["shards"]
                                                              for k in ("file", "ids_file", "refine_file") if e[k]]
        for name in files:
            if not (directory / name).is_file():
                raise FileNotFoundError(f"{where} names {name}, which is missing")
        ix = cls(int(m["dim"]), faiss.read_index(str(directory / m["template_file"])), meta=m.get("meta") or {},
                 build=m.get("build") or {}, **m["config"])
        from .ivfpq import _Shard
        for e in m["shards"]:
            refine = np.load(directory / e["refine_file"], mmap_mode="r") if e["refine_file"] else None
            ix._shards.append(_Shard(open_shard_index(directory / e["file"], ix._ivf_t.quantizer),
                                     np.load(directory / e["ids_file"], mmap_mode="r"), refine, entry=e))
        ix._tombstones = np.load(directory / m["tombstones_file"])
        ntotal = int(m["ntotal"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"corrupt index manifest {where}: bad or missing field {exc}") from exc
    ix._dir, ix._template_file = directory, m["template_file"]
    if ix.ntotal != ntotal:
        raise ValueError(f"the shards in {directory} do not match {where} (ntotal {ix.ntotal} != {ntotal})")
    return ix
