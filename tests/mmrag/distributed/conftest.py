"""A real local Ray cluster for the distributed tests: a head node and one worker node, 1 CPU each.

`ray.cluster_utils.Cluster` starts each node as its own processes (GCS, raylet, worker processes), so a
worker node can be killed (`remove_node(allow_graceful=False)`) while a run is using it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'mmrag[ray]')")
CPUS = 1


@pytest.fixture(scope="session")
def cluster():
    """{cluster, address, worker}: the head plus one worker node on 127.0.0.1; stopped at the end."""
    from ray.cluster_utils import Cluster
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": CPUS, "include_dashboard": False})
    state = {"cluster": c, "address": c.address, "worker": c.add_node(num_cpus=CPUS)}
    c.wait_for_nodes()
    yield state
    c.shutdown()


def mixed_folder(dest: Path) -> Path:
    """The sample corpus without its video (text, Markdown, HTML, CSV, images), one copy of a file (a
    duplicate) and one broken PDF (a failure)."""
    dest.mkdir(parents=True)
    for f in SAMPLES.iterdir():
        if f.suffix != ".mp4":
            shutil.copy(f, dest / f.name)
    shutil.copy(SAMPLES / "sourdough.txt", dest / "sourdough-copy.txt")
    (dest / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a pdf at all\n")
    return dest


def mmrag_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m mmrag ARGS` in a fresh process (its own Ray driver)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mmrag", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)


def start_cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "mmrag", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
