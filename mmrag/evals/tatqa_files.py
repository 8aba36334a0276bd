"""`mmrag eval tatqa-files`: TAT-QA context retrieval through the product's ingest path.

Each context is written out as a user would keep it: `<uid>.txt` (its paragraphs, in order) and
`<uid>.csv` (its table, rows as given), in one folder. The folder goes through `mmrag ingest`'s
code (`Ingestor`: readers, chunking, table loading and table records), and each question is searched
with `Library.search(question, k)` and no options. A question is right at k when one of its
context's two files is among the first k distinct sources. Unlike `tatqa-retrieval`, nothing here
is built by hand, so the figure is what a user with such a folder gets.
"""
from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..errors import DataMissingError
from ..ingest import Ingestor
from ..library import Library
from . import register_eval
from .metrics import first_rank, ranking_metrics, unique_in_order
from .tatqa_retrieval import load_contexts


def write_contexts(contexts: list[dict], folder: Path) -> int:
    """Write each context as <uid>.txt and <uid>.csv; returns the number of files."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for ctx in contexts:
        uid = ctx["table"]["uid"]
        paras = sorted(ctx["paragraphs"], key=lambda p: p["order"])
        (folder / f"{uid}.txt").write_text("\n\n".join(p["text"].strip() for p in paras) + "\n", encoding="utf-8")
        with open(folder / f"{uid}.csv", "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(ctx["table"]["table"])
        n += 2
    return n


def _context_of(source: str) -> str:
    return Path(source).stem


@register_eval("tatqa-files")
def tatqa_files(split: str = "test", limit: int | None = None, library: str | None = None,
                text_encoder: str = "minilm", n_contexts: int | None = None) -> dict[str, Any]:
    """R@1, R@5, R@10 and MRR of the gold context's files, searched with the library's defaults
    (`n_contexts`: only the split's first contexts, and their questions)."""
    contexts = load_contexts(split)[:n_contexts]
    questions = [(q["question"], c["table"]["uid"]) for c in contexts for q in c["questions"]]
    questions = questions[:limit] if limit else questions
    with tempfile.TemporaryDirectory(prefix="mmrag-tatqa-files-") as tmp:
        folder = Path(tmp) / "contexts"
        files = write_contexts(contexts, folder)
        t0 = time.perf_counter()
        with Library(Path(library or tmp) / "lib", text_encoder=text_encoder) as lib:
            report = Ingestor(lib).run([folder])
            ingest_s = time.perf_counter() - t0
            if report.count("ok") == 0:
                raise DataMissingError(f"no TAT-QA file was ingested from {folder}")
            ranks, times = [], []
            for q, gold in tqdm(questions, desc="tatqa-files", unit="q", disable=None):
                t1 = time.perf_counter()
                hits = lib.search(q, k=50)
                times.append(time.perf_counter() - t1)
                ranks.append(first_rank(unique_in_order([_context_of(h.record.source) for h in hits]), gold))
            records = sum(lib.store.counts()["records"].values())
    return {"eval": "tatqa-files", "split": split, "n": len(questions), "contexts": len(contexts), "files": files,
            "ingested_ok": report.count("ok"), "records": records, "ingest_seconds": round(ingest_s, 1),
            "default": {**ranking_metrics(ranks), "p50_ms": round(1000 * float(np.median(times)), 1)}}
