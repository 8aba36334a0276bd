"""Filling the shards of an IVF-PQ build in parallel Ray tasks (`mmrag.core.index_scale`).

The driver trains the template once and reads each shard's vectors from the store; every shard is then
encoded by `indexes.ivfpq_build.fill_shard` in a Ray task (the template is put in the object store
once), at most one task per CPU in flight, and handed back as it finishes; the driver writes the shard
files and the manifest. Inside `ray_shard_filler()` every IVF-PQ build of this process does this.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from indexes.ivfpq_build import ShardData, fill_shard

from ..core.index_scale import Chunks, shard_filler
from .cluster import require_ray


def ray_fill(template: np.ndarray, chunks: Chunks, refine: str) -> Iterator[ShardData]:
    """Shards filled by Ray tasks, yielded as they finish (not in order)."""
    ray = require_ray()
    task = ray.remote(num_cpus=1, max_retries=3)(fill_shard)
    ref = ray.put(template)
    limit = max(1, int(ray.cluster_resources().get("CPU", 1)))
    running: list[Any] = []
    for ids, vectors in chunks:
        running.append(task.remote(ref, vectors, ids, refine))
        if len(running) >= limit:
            done, running = ray.wait(running, num_returns=1)
            yield ray.get(done[0])
    while running:
        done, running = ray.wait(running, num_returns=1)
        yield ray.get(done[0])


@contextmanager
def ray_shard_filler() -> Iterator[None]:
    """IVF-PQ builds in the block fill their shards in Ray tasks (needs a Ray session)."""
    with shard_filler(ray_fill):
        yield
