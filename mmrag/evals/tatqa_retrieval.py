"""`mmrag eval tatqa-retrieval`: find each TAT-QA question's own context among all contexts.

Each context (a financial table and its paragraphs) becomes records: one per paragraph, the table
serialised as row-group records ("row label | column header: value; ...") prefixed with the
context's first paragraph (usually the table's caption), and one whole-context record (all
paragraphs + row labels). A question is right at k when its context is among the first k distinct
contexts of the ranking. Reported for `default` (exactly `Library.search(question, k)`), BM25 only, dense
only, RRF, the convex fusion tuned earlier, default + PRF, and (only when named) default + the LLM
reranking the top 5 records.
Choices were made on the dev split (see benchmarks/RESULTS.md); report on test.
"""
from __future__ import annotations

import json
import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from tqdm import tqdm

from ..core import LibraryConfig, SpaceConfig
from ..errors import ConfigError, UnknownNameError
from ..library import Library
from ..records import Record
from . import evalpack_dir, register_eval
from .metrics import first_rank, ranking_metrics, unique_in_order

log = logging.getLogger(__name__)
SPLITS = {"test": "tatqa_dataset_test_gold.json", "dev": "tatqa_dataset_dev.json"}
_NUMERIC = re.compile(r"^[\s$€£%()\-–—,.\d]*\d[\s$€£%()\-–—,.\dmkb]*$", re.I)
CONVEX = {"fusion": "convex", "weights": {"dense:text": 0.5}, "group_by_source": True}  # the old tuned mode
MODES: dict[str, dict[str, Any]] = {
    "default": {},  # exactly Library.search(question, k): what a user gets
    "bm25": {"retrievers": ["bm25"]},
    "dense": {"retrievers": ["dense"]},
    "rrf": {"fusion": "rrf"},
    "rrf-per-context": {"fusion": "rrf", "group_by_source": True},
    "convex-per-context": CONVEX,
    "default+prf": {"expand": True},
    "default+llm-rerank": {"rerank": "llm", "rerank_depth": 5},  # the offline LLM picks among the top 5 records
}
SLOW_MODES = ("default+llm-rerank",)  # run only when named (--mode)


def load_contexts(split: str) -> list[dict]:
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid: {sorted(SPLITS)}")
    return json.loads((evalpack_dir() / "tables" / "tatqa" / SPLITS[split]).read_text())


def _header_rows(table: list[list[str]]) -> int:
    """Leading rows that hold no numbers in the value columns."""
    n = 0
    for row in table:
        if any(_NUMERIC.match(c) for c in row[1:] if c.strip()):
            break
        n += 1
    return min(n, max(len(table) - 1, 0))


def serialise_table(table: list[list[str]], max_chars: int = 700) -> Iterator[tuple[str, list[int]]]:
    """Yield (text, row indices) row groups: 'label | header: value; ...' lines under a header line."""
    h = _header_rows(table)
    ncol = max((len(r) for r in table), default=0)
    headers = [" ".join(r[j] for r in table[:h] if j < len(r) and r[j].strip()).strip() for j in range(ncol)]
    head = "columns: " + " | ".join(x for x in headers if x)
    lines, rows = [], []
    for i, row in enumerate(table[h:], start=h):
        cells = [f"{headers[j] or 'value'}: {c}" for j, c in enumerate(row[1:], 1) if c.strip()]
        line = f"{row[0].strip() or 'total'} | " + "; ".join(cells)
        if lines and len(head) + sum(len(x) + 1 for x in lines) + len(line) > max_chars:
            yield head + "\n" + "\n".join(lines), rows
            lines, rows = [], []
        lines.append(line)
        rows.append(i)
    if lines:
        yield head + "\n" + "\n".join(lines), rows


def context_parts(ctx: dict) -> tuple[str, str, str, list[list[str]], list[Record]]:
    """(uid, source, caption, table, one text record per paragraph in reading order) of a context."""
    uid = ctx["table"]["uid"]
    source = f"tatqa:{uid}"
    paras = sorted(ctx["paragraphs"], key=lambda p: p["order"])
    caption = paras[0]["text"].strip()[:200] if paras else ""
    recs = [Record("text", source, {"paragraph": p["order"]}, p["text"]).with_uid(uid) for p in paras]
    return uid, source, caption, ctx["table"]["table"], recs


def context_records(ctx: dict) -> list[Record]:
    uid, source, caption, table, recs = context_parts(ctx)
    paragraphs = " ".join(r.text for r in recs)
    for text, rows in serialise_table(table):
        recs.append(Record("table", source, {"rows": rows}, f"{caption}\n{text}" if caption else text).with_uid(uid))
    labels = "; ".join(r[0].strip() for r in table if r and r[0].strip())
    whole = paragraphs + f"\nrows: {labels}"
    recs.append(Record("text", source, {"context": "all"}, whole).with_uid(uid))
    return recs


def build_library(contexts: list[dict], root: Path, encoder: str) -> Library:
    cfg = LibraryConfig(spaces={"text": SpaceConfig(encoder=encoder, modalities=["text", "table"])})
    lib = Library(root, config=cfg)
    records = [r for ctx in contexts for r in context_records(ctx)]
    for start in tqdm(range(0, len(records), 512), desc="index tatqa", unit="batch", disable=None):
        lib.add_records(records[start:start + 512])
    lib.flush()
    return lib


def _rank_contexts(lib: Library, question: str, gold: str, opts: dict) -> tuple[int | None, float]:
    t0 = time.perf_counter()
    hits = lib.search(question, k=50, **opts)
    dt = time.perf_counter() - t0
    return first_rank(unique_in_order([h.record.source for h in hits]), gold), dt


@register_eval("tatqa-retrieval")
def tatqa_retrieval(split: str = "test", limit: int | None = None, encoder: str = "minilm",
                    library: str | None = None, modes: list[str] | None = None) -> dict[str, Any]:
    """R@1, R@5, R@10 and MRR of the gold context, per retrieval mode."""
    if bad := [m for m in modes or [] if m not in MODES]:
        raise UnknownNameError("tatqa-retrieval mode", bad[0], MODES)
    contexts = load_contexts(split)
    questions = [(q["question"], f"tatqa:{c['table']['uid']}") for c in contexts for q in c["questions"]]
    questions = questions[:limit] if limit else questions
    with tempfile.TemporaryDirectory() as tmp:
        lib = build_library(contexts, Path(library or tmp) / "tatqa", encoder)
        result: dict[str, Any] = {"eval": "tatqa-retrieval", "split": split, "n": len(questions),
                                  "contexts": len(contexts), "records": sum(lib.store.counts()["records"].values())}
        for mode in modes or [m for m in MODES if m not in SLOW_MODES]:
            ranks, times = zip(*(_rank_contexts(lib, q, g, MODES[mode]) for q, g in
                                 tqdm(questions, desc=mode, unit="q", disable=None)))
            result[mode] = {**ranking_metrics(ranks), "p50_ms": round(1000 * float(np.median(times)), 1)}
        lib.close()
    return result
