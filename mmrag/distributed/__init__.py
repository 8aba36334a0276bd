"""Scale-out on Ray (the optional extra: `pip install 'mmrag[ray]'`).

`RayIngestor` (`mmrag ingest --engine ray [--address ADDR]`) reads and embeds files on a Ray cluster
and writes the same library as a local ingest; `ray_shard_filler` fills the shards of IVF-PQ builds in
Ray tasks. Importing this package does not import Ray: that happens when a run starts, and a missing
Ray is a `DependencyMissingError` naming the pip command.
"""
from .cluster import PIP_HINT, ray_session, require_ray
from .index_build import ray_shard_filler
from .ingest import RayIngestor

__all__ = ["PIP_HINT", "RayIngestor", "ray_session", "ray_shard_filler", "require_ray"]
