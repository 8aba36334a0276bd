"""Lexical search at scale: tantivy against SQLite FTS5, and a postings budget; quality and latency, in one process.

    python benchmarks/bench_lexical_scale.py [--split dev] [--limit 600] [--chunks 150000] [--budgets 0,20000]
        [--backends tantivy,fts5]

TAT-QA contexts of one split (as `mmrag eval tatqa-retrieval` indexes them) plus `--chunks` distractor
chunks of real sentences (as `bench_search.py` writes them: TAT-QA paragraphs of the *dev* split, COCO
captions), in one library with the hash encoder (only BM25 is measured: the postings budget changes
nothing else). For each budget (0: none), the same questions are searched with BM25 alone and the
library's lexical query (`mmrag.retrieval.lexical`): R@1/R@5 of the question's own context and p50/p95 ms.
Each backend is the same library folder opened twice: with its tantivy index, and with `MMRAG_LEXICAL=fts5`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_search import sentence_pool, write_corpus  # noqa: E402

from mmrag import Library  # noqa: E402
from mmrag.evals.metrics import first_rank, ranking_metrics, unique_in_order  # noqa: E402
from mmrag.evals.tatqa_retrieval import build_library, load_contexts  # noqa: E402
from mmrag.retrieval import lexical  # noqa: E402


def measure(lib, questions: list[tuple[str, str]], budget: int, backend: str) -> dict:
    lexical.MAX_POSTINGS = budget
    ranks, times = [], []
    for q, gold in questions:
        t0 = time.perf_counter()
        hits = lib.search(q, k=50, retrievers=["bm25"])
        times.append(time.perf_counter() - t0)
        ranks.append(first_rank(unique_in_order([h.record.source for h in hits]), gold))
    m = ranking_metrics(ranks)
    return {"backend": backend, "budget": budget, "R@1": m["R@1"], "R@5": m["R@5"], "MRR": m["MRR"],
            "p50_ms": round(1000 * float(np.median(times)), 2),
            "p95_ms": round(1000 * float(np.percentile(times, 95)), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev")
    ap.add_argument("--limit", type=int, default=600)
    ap.add_argument("--chunks", type=int, default=150_000)
    ap.add_argument("--budgets", default="0")
    ap.add_argument("--backends", default="tantivy,fts5")
    args = ap.parse_args()
    contexts = load_contexts(args.split)
    questions = [(q["question"], f"tatqa:{c['table']['uid']}") for c in contexts for q in c["questions"]]
    questions = random.Random(0).sample(questions, min(args.limit, len(questions)))
    with tempfile.TemporaryDirectory() as tmp:
        lib = build_library(contexts, Path(tmp) / "lib", "hash")
        if args.chunks:
            corpus = Path(tmp) / "corpus"
            corpus.mkdir()
            write_corpus(corpus, args.chunks, sentence_pool()[0], lib.config.chunk_chars)
            lib.ingest([corpus])
        n = sum(lib.store.counts()["records"].values())
        os.environ["MMRAG_LEXICAL"] = "fts5"
        libs = {"tantivy": lib, "fts5": Library(lib.root)}
        del os.environ["MMRAG_LEXICAL"]
        assert lib.core.lexical_index() is not None and libs["fts5"].core.lexical_index() is None
        for q, _ in questions[:5]:
            for x in libs.values():
                x.search(q, retrievers=["bm25"])
        rows = [measure(libs[be], questions, int(b), be) for be in args.backends.split(",")
                for b in args.budgets.split(",")]
        for x in libs.values():
            x.close()
    print(json.dumps({"split": args.split, "questions": len(questions), "records": n, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
