"""Connecting to Ray: an existing cluster (`address`), or a small local one started for the run.

Ray is an optional extra: `require_ray` imports it or says how to install it. Workers get the driver's
mmrag-related environment (offline flags, model folders) through the job's runtime environment, so a
cluster started elsewhere sees the same models; the library folder and the files being ingested must
be at the same paths on every node (a shared filesystem), as readers write tables and thumbnails there.
"""
from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager, redirect_stdout
from types import ModuleType
from typing import Any, Iterator

from ..errors import DependencyMissingError

log = logging.getLogger(__name__)
PIP_HINT = "pip install 'mmrag[ray]'"
LOCAL_CPUS = 4  # a local cluster uses at most this many CPUs unless told otherwise
ENV_PREFIXES = ("MMRAG_", "HF_", "TRANSFORMERS_", "TORCH_", "OMP_NUM_THREADS")


def require_ray() -> ModuleType:
    """The `ray` module (with Ray Data), or DependencyMissingError naming the pip command."""
    try:
        import ray
        import ray.data  # noqa: F401 - the [data] extra
    except ImportError as exc:
        raise DependencyMissingError(f"--engine ray needs Ray Data, which is not installed ({exc}); install it with"
                                     f" `{PIP_HINT}`, or use --engine local") from exc
    return ray


def worker_env() -> dict[str, str]:
    """The driver's variables that workers need to find and load the same models."""
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}


def local_cpus(num_cpus: int | None) -> int:
    return max(1, num_cpus or min(LOCAL_CPUS, os.cpu_count() or 1))


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[dict[str, Any]]:
    """Connected to Ray for the block: to `address`, else to a new local cluster (no dashboard, workers'
    logs not copied to this terminal) that is shut down at the end. Yields the cluster's resources.
    Inside an existing Ray session (`ray.is_initialized()`), that session is used and left open."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray.cluster_resources()
        return
    logging.getLogger("ray").setLevel(logging.WARNING)
    kwargs: dict[str, Any] = {"log_to_driver": False, "runtime_env": {"env_vars": worker_env()}}
    # Ray prints node failures to stdout, also while connecting and shutting down; all of it goes to
    # stderr, so `--json` output stays parseable
    with redirect_stdout(sys.stderr):
        if address:
            log.info("connecting to the Ray cluster at %s", address)
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=local_cpus(num_cpus), include_dashboard=False, **kwargs)
        try:
            yield ray.cluster_resources()
        finally:
            ray.shutdown()
