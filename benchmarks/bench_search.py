"""Benchmark: ingest throughput and query latency of mmrag against raw encoder + FAISS.

Builds a library of N text chunks (default 100k) from real sentences of the evalpack (TAT-QA
paragraphs, WTQ questions, COCO captions) written as files and ingested through the real pipeline.
Reports, in one process:
  * ingest chunks/s (read + chunk + encode + SQLite/FTS5 + FAISS) vs the encoder alone on a sample;
  * query latency p50/p95 of `Library.search` (hybrid and dense-only) vs encoder + raw FAISS flat search.
  * hybrid search with BM25 from SQLite FTS5 (`MMRAG_LEXICAL=fts5`), the baseline of the tantivy index.
With `--query-encoder minilm`, every timed query also encodes its text with that model (the vector is not
used): a library too big to embed here with MiniLM is searched at the query cost MiniLM would add.
Usage: python benchmarks/bench_search.py [--chunks 100000] [--encoder minilm] [--queries 200]
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

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from encoders import create_encoder  # noqa: E402
from mmrag import Ingestor, Library  # noqa: E402
from mmrag.evals import evalpack_dir  # noqa: E402


def sentence_pool() -> tuple[list[str], list[str]]:
    """Real sentences (for documents) and real questions (for queries)."""
    ep = evalpack_dir()
    sents, questions = [], []
    for ctx in json.loads((ep / "tables/tatqa/tatqa_dataset_dev.json").read_text()):
        sents += [s.strip() + "." for p in ctx["paragraphs"] for s in p["text"].split(". ") if len(s) > 30]
        questions += [q["question"] for q in ctx["questions"]]
    for line in (ep / "images/coco_mini/captions.jsonl").read_text().splitlines():
        sents += [c.strip() for c in json.loads(line)["captions"]]
    for line in (ep / "tables/wtq/train.tsv").read_text().splitlines()[1:]:
        questions.append(line.split("\t")[1])
    return sents, questions


def write_corpus(folder: Path, n_chunks: int, sents: list[str], chunk_chars: int, per_file: int = 50) -> None:
    rng = random.Random(0)
    n_files = max(1, n_chunks // per_file)
    for f in range(n_files):
        paras = []
        for _ in range(per_file):
            para = ""
            while len(para) < chunk_chars * 0.8:
                para += rng.choice(sents) + " "
            paras.append(para.strip())
        (folder / f"doc{f:05d}.txt").write_text("\n\n".join(paras))


def pct(xs: list[float], q: float) -> float:
    return round(1000 * float(np.percentile(xs, q)), 2)


def time_queries(fn, queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--encoder", default="minilm")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--encoder-sample", type=int, default=5000)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--query-encoder", default=None, help="also encode each query with this encoder")
    args = ap.parse_args()
    sents, questions = sentence_pool()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="mmrag-bench-"))
    corpus, libdir = work / "corpus", work / "lib"
    corpus.mkdir(parents=True, exist_ok=True)
    lib = Library(libdir, text_encoder=args.encoder)
    write_corpus(corpus, args.chunks, sents, lib.config.chunk_chars)
    enc = lib.encoder("text")
    enc.encode(["warm up"])

    t = time.perf_counter()
    report = Ingestor(lib, progress=True).run([corpus])
    ingest_s = time.perf_counter() - t
    n = sum(r.n_records for r in report.results if r.status == "ok")
    if report.results and all(r.status == "unchanged" for r in report.results):  # --workdir reused: nothing new
        n, ingest_s = lib.store.fts_count(), float("nan")
    texts = [r.text for r in lib.store.get_records(range(1, args.encoder_sample + 1)).values()]
    t = time.perf_counter()
    vecs = enc.encode(texts)
    enc_s = time.perf_counter() - t

    ids = lib.store.vector_ids("text")
    stored = lib.store.get_vectors("text", ids.tolist(), enc.dim)
    raw = faiss.IndexFlatIP(enc.dim)
    raw.add(np.stack([stored[int(i)] for i in ids]))
    qs = random.Random(1).sample(questions, args.queries)
    qenc = create_encoder(args.query_encoder) if args.query_encoder else None
    cost = (lambda q: qenc.encode([q])) if qenc else (lambda q: None)
    os.environ["MMRAG_LEXICAL"] = "fts5"
    fts_lib = Library(libdir)
    del os.environ["MMRAG_LEXICAL"]
    for q in qs[:5]:
        lib.search(q), fts_lib.search(q), cost(q)
    raw_t = time_queries(lambda q: (cost(q), raw.search(enc.encode([q]), 10)), qs)
    hyb_t = time_queries(lambda q: (cost(q), lib.search(q, k=10)), qs)
    den_t = time_queries(lambda q: (cost(q), lib.search(q, k=10, retrievers=["dense"])), qs)
    fts_t = time_queries(lambda q: (cost(q), fts_lib.search(q, k=10)), qs)
    same = sum(lib.search(q, k=1)[0].record.id == fts_lib.search(q, k=1)[0].record.id for q in qs[:50])
    res = {
        "machine": f"{platform.machine()}, {faiss.omp_get_max_threads()} threads, {platform.python_version()}",
        "encoder": args.encoder, "query_encoder": args.query_encoder, "chunks": n,
        "lexical": "tantivy" if lib.core.lexical_index() is not None else "fts5", "index": lib.index("text").name,
        "ingest_chunks_per_s": round(n / ingest_s, 1),
        "encoder_alone_chunks_per_s": round(len(texts) / enc_s, 1),
        "ingest_vs_encoder": round((n / ingest_s) / (len(texts) / enc_s), 3),
        "raw_faiss_p50_ms": pct(raw_t, 50), "raw_faiss_p95_ms": pct(raw_t, 95),
        "mmrag_hybrid_p50_ms": pct(hyb_t, 50), "mmrag_hybrid_p95_ms": pct(hyb_t, 95),
        "mmrag_dense_p50_ms": pct(den_t, 50), "mmrag_dense_p95_ms": pct(den_t, 95),
        "hybrid_fts5_p50_ms": pct(fts_t, 50), "hybrid_fts5_p95_ms": pct(fts_t, 95),
        "same_first_hit_as_fts5_of_50": int(same),
    }
    res["hybrid_vs_raw_p50"] = round(res["mmrag_hybrid_p50_ms"] / res["raw_faiss_p50_ms"], 2)
    res["dense_vs_raw_p50"] = round(res["mmrag_dense_p50_ms"] / res["raw_faiss_p50_ms"], 2)
    res["hybrid_vs_dense_p95"] = round(res["mmrag_hybrid_p95_ms"] / res["mmrag_dense_p95_ms"], 2)
    res["hybrid_fts5_vs_dense_p95"] = round(res["hybrid_fts5_p95_ms"] / res["mmrag_dense_p95_ms"], 2)
    fts_lib.close()
    lib.close()
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
