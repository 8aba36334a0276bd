"""Benchmark: IVF-PQ (indexes/ivfpq.py) recall@10 against exact search on real MiniLM embeddings.

Passages: real text of the evalpack (TAT-QA paragraphs and questions, TabFact statements, WTQ training
questions and table rows, COCO captions), ~44k; queries: 1,000 WTQ test questions (not in the base).
Embeddings come from the MiniLM encoder mmrag uses and are cached under /tmp (never in the repo).
For each factory and refinement, the index is trained once on a sample, filled as 4 shards
(`fill_shard`, what a Ray build runs per task) and searched through the shard fan-out. Reports per
(factory, refine, nprobe): 10-recall@10 (|approx top 10 & exact top 10| / 10), bytes per vector
(RAM / disk), train and fill time, single-query latency p50/p95, for nprobe x k_factor (refinement
candidates per result); and the chosen configuration (the fewest RAM bytes per vector reaching
`--goal`, then the lowest nprobe and k_factor).
Usage: HF_HUB_OFFLINE=1 python benchmarks/bench_ivfpq.py [--passages 44000] [--queries 1000] [--quick]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from encoders import create_encoder  # noqa: E402
from indexes.ivfpq import IvfPqIndex  # noqa: E402
from indexes.ivfpq_build import choose_nlist, fill_shard, normalised, serialize, train_sample_size  # noqa: E402
from mmrag.evals import evalpack_dir  # noqa: E402

CACHE = Path("/tmp/mmrag-bench")
CONFIGS = [("IVF{nlist},PQ32", "fp16"), ("IVF{nlist},PQ48", "fp16"), ("IVF{nlist},PQ96", "none"),
           ("OPQ32,IVF{nlist},PQ32", "fp16")]
NPROBES = (8, 16, 32, 64)
K_FACTORS = (4, 8, 16)  # refinement candidates per result (a search-time setting: no rebuild)


def wtq_rows(ep: Path, limit: int) -> list[str]:
    out: list[str] = []
    for name in ("tables_train_part1.jsonl", "tables_train_part2.jsonl"):
        for line in (ep / "tables/wtq" / name).read_text().splitlines():
            rows = list(csv.reader(io.StringIO(json.loads(line)["csv"]), escapechar="\\", doublequote=False))
            out += ["; ".join(f"{h}: {v}" for h, v in zip(rows[0], r)) for r in rows[1:6] if r]
            if len(out) >= limit:
                return out[:limit]
    return out


def texts(n_passages: int, n_queries: int) -> tuple[list[str], list[str]]:
    ep = evalpack_dir()
    pool: list[str] = []
    for name in ("tatqa_dataset_dev.json", "tatqa_dataset_test_gold.json"):
        for ctx in json.loads((ep / "tables/tatqa" / name).read_text()):
            pool += [p["text"] for p in ctx["paragraphs"]] + [q["question"] for q in ctx["questions"]]
    pool += [s for v in json.loads((ep / "tables/tabfact/test_examples.json").read_text()).values() for s in v[0]]
    pool += [line.split("\t")[1] for line in (ep / "tables/wtq/train.tsv").read_text().splitlines()[1:]]
    for line in (ep / "images/coco_mini/captions.jsonl").read_text().splitlines():
        pool += [c.strip() for c in json.loads(line)["captions"]]
    pool = list(dict.fromkeys(t.strip() for t in pool if t.strip()))
    pool += wtq_rows(ep, max(0, n_passages - len(pool)))
    queries = [line.split("\t")[1] for line in (ep / "tables/wtq/test.tsv").read_text().splitlines()[1:]]
    return pool[:n_passages], queries[:n_queries]


def embed(name: str, items: list[str]) -> np.ndarray:
    path = CACHE / f"minilm-{name}-{len(items)}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    vecs = np.asarray(create_encoder("minilm").encode(items, batch_size=64), dtype=np.float32)
    print(f"embedded {len(items)} {name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    np.save(path, vecs)
    return vecs


def build(x: np.ndarray, factory: str, refine: str, shards: int = 4) -> tuple[IvfPqIndex, float, float]:
    ids = np.arange(x.shape[0], dtype=np.int64)
    t0 = time.perf_counter()
    nlist = choose_nlist(x.shape[0])
    sample = x[np.random.default_rng(0).permutation(x.shape[0])[:train_sample_size(nlist, factory)]]
    index = IvfPqIndex.train(sample, n_total=x.shape[0], factory=factory, refine=refine)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    template = serialize(index.template)
    index.add_shards([fill_shard(template, x[part], ids[part], refine)
                      for part in np.array_split(np.arange(x.shape[0]), shards)])
    return index, t_train, time.perf_counter() - t0


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / truth.shape[1] for f, t in zip(found, truth)]))


def measure(index: IvfPqIndex, q: np.ndarray, truth: np.ndarray, nprobe: int, k_factor: int) -> dict:
    index.nprobe, index.k_factor = nprobe, k_factor
    _, found = index.search(q, 10)
    lat = []
    for row in q[:200]:
        t0 = time.perf_counter()
        index.search(row[None, :], 10)
        lat.append((time.perf_counter() - t0) * 1000)
    return {"nprobe": nprobe, "k_factor": k_factor if index.refine == "fp16" else None, "recall@10": round(recall_at(found, truth), 4),
            "latency_ms_p50": round(float(np.percentile(lat, 50)), 3),
            "latency_ms_p95": round(float(np.percentile(lat, 95)), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=44_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--goal", type=float, default=0.95)
    ap.add_argument("--quick", action="store_true", help="two configurations only (a smoke run)")
    args = ap.parse_args()
    passages, queries = texts(args.passages, args.queries)
    x, q = normalised(embed("passages", passages)), normalised(embed("queries", queries))
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    _, truth = flat.search(q, 10)
    rows = []
    for factory, refine in CONFIGS[1:3] if args.quick else CONFIGS:
        index, t_train, t_fill = build(x, factory, refine)
        base = {"factory": factory, "nlist": index.nlist, "refine": refine, "bytes_per_vector": index.bytes_per_vector(), "train_s": round(t_train, 2),
                "fill_vectors_per_s": round(x.shape[0] / t_fill), "shards": index.n_shards}
        for nprobe in NPROBES:
            for k_factor in K_FACTORS if refine == "fp16" else (1,):
                rows.append({**base, **measure(index, q, truth, nprobe, k_factor)})
                print(json.dumps(rows[-1]), file=sys.stderr)
    ok = [r for r in rows if r["recall@10"] >= args.goal]
    chosen = min(ok, key=lambda r: (r["bytes_per_vector"]["ram"], r["nprobe"], r["k_factor"] or 0)) if ok else None
    print(json.dumps({"machine": platform.processor() or platform.machine(), "faiss": faiss.__version__,
                      "passages": x.shape[0], "queries": q.shape[0], "dim": x.shape[1], "goal": args.goal,
                      "chosen": chosen, "results": rows}, indent=1))


if __name__ == "__main__":
    main()
