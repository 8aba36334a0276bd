"""Benchmark: `mmrag ingest --engine ray` at 1 and 2 workers against the local ingest, in one run.

Corpus: N text files of real evalpack sentences (TAT-QA paragraphs, COCO captions), each a few chunks,
written under a temporary folder. Runs, on this machine:
  * local: `Library.ingest` (reader process + MiniLM in this process);
  * ray, W = 1 and 2 workers: a local Ray cluster of a head node without CPUs (the driver) and W worker
    nodes of 1 CPU each (`ray.cluster_utils.Cluster`: separate raylets and worker processes), one
    embedding actor per worker; `RayIngestor(address=...)`.
Reports files/s, records/s and the ratio to local for each; the per-worker overhead: the time to start
a worker node, and a one-file ingest (connect, pipeline start, actor and model load); and the cluster.
Run it alone on a quiet machine. Usage: python benchmarks/bench_ray.py [--files 400] [--smoke]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from mmrag import Library  # noqa: E402
from mmrag.distributed import RayIngestor  # noqa: E402
from mmrag.evals import evalpack_dir  # noqa: E402


def sentences() -> list[str]:
    ep = evalpack_dir()
    out = []
    for ctx in json.loads((ep / "tables/tatqa/tatqa_dataset_dev.json").read_text()):
        out += [s.strip() + "." for p in ctx["paragraphs"] for s in p["text"].split(". ") if len(s) > 30]
    for line in (ep / "images/coco_mini/captions.jsonl").read_text().splitlines():
        out += [c.strip() for c in json.loads(line)["captions"]]
    return out


def write_corpus(folder: Path, n_files: int, chars: int = 4000) -> None:
    rng, pool = random.Random(0), sentences()
    folder.mkdir(parents=True)
    for i in range(n_files):
        text = ""
        while len(text) < chars:
            text += " ".join(rng.sample(pool, 5)) + "\n\n"
        (folder / f"doc-{i:05d}.txt").write_text(text)


def timed_ingest(make, root: Path, folder: Path) -> dict:
    with Library(root) as lib:
        t0 = time.perf_counter()
        report = make(lib).run([folder])
        seconds = time.perf_counter() - t0
    d = report.to_dict()
    return {"seconds": round(seconds, 2), "files": d["counts"]["ok"], "records": d["records"],
            "files_per_s": round(d["counts"]["ok"] / seconds, 2), "records_per_s": round(d["records"] / seconds, 1)}


def ray_run(workers: int, folder: Path, one_file: Path, tmp: Path) -> dict:
    from ray.cluster_utils import Cluster
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        starts = []
        for _ in range(workers):
            t0 = time.perf_counter()
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            starts.append(time.perf_counter() - t0)
        make = lambda lib: RayIngestor(lib, address=cluster.address, embed_actors=workers, progress=False)  # noqa: E731
        warm = timed_ingest(make, tmp / f"one-{workers}", one_file)
        run = timed_ingest(make, tmp / f"ray-{workers}", folder)
    finally:
        cluster.shutdown()
    return {**run, "workers": workers, "node_start_s": round(sum(starts) / len(starts), 2),
            "one_file_ingest_s": warm["seconds"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--smoke", action="store_true", help="8 files, 1 worker: checks the script runs")
    args = ap.parse_args()
    n, worker_counts = (8, (1,)) if args.smoke else (args.files, (1, 2))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        write_corpus(tmp / "corpus", n)
        write_corpus(tmp / "one", 1)
        local = timed_ingest(lambda lib: __import__("mmrag").Ingestor(lib, progress=False), tmp / "local",
                             tmp / "corpus")
        runs = [ray_run(w, tmp / "corpus", tmp / "one", tmp) for w in worker_counts]
    for r in runs:
        r["ratio_to_local"] = round(r["files_per_s"] / local["files_per_s"], 3)
        r["overhead_s"] = round(r["seconds"] - local["seconds"] / r["workers"], 2)
    print(json.dumps({"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                      "files": n, "local": local, "ray": runs}, indent=1))


if __name__ == "__main__":
    main()
