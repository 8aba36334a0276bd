"""`mmrag eval tatqa-tune`: does `mmrag tune` make TAT-QA context retrieval better?

The test library is built as in `tatqa-retrieval`; R@k of the gold context is measured with the default
search (exactly `Library.search(question, k)`) and dense only, before and after tuning, through
`Library.tune` as a user runs it:
* `labelled`: (question, gold evidence) pairs from the **dev** split (the first relevant paragraph,
  else the context's first table record), hard negatives mined from the test library's own search
  (the dev contexts are not in it, so no hit is the answer);
* `synthetic`: no labels at all: the LLM writes questions for `synthetic` passages of the test library
  and keeps those that retrieve their passage (round-trip filtering). Test questions are never seen.
Each variant starts from the base encoder (`restore(1)` in between). `--dataset labelled|synthetic`
runs one; `--model` picks the LLM for synthetic questions.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from encoders.tuning import TrainConfig

from ..errors import ConfigError
from ..library import Library
from ..tune import Pair
from . import register_eval
from .metrics import ranking_metrics
from .tatqa_retrieval import MODES, _rank_contexts, build_library, context_records, load_contexts

VARIANTS = ("labelled", "synthetic")
MEASURED = ("default", "dense")


def dev_pairs(limit: int | None = None) -> list[Pair]:
    """(dev question, its gold evidence text) pairs."""
    pairs = []
    for ctx in load_contexts("dev"):
        recs = context_records(ctx)
        paras = {str(r.locator.get("paragraph")): r.text for r in recs if "paragraph" in r.locator}
        table = next((r.text for r in recs if r.modality == "table"), None)
        for q in ctx["questions"]:
            rel = [paras[p] for p in q.get("rel_paragraphs", []) if p in paras]
            positive = rel[0] if rel else table
            if positive:
                pairs.append(Pair(q["question"], positive=positive))
    return pairs[:limit] if limit else pairs


def measure(lib: Library, questions: list[tuple[str, str]]) -> dict[str, Any]:
    out = {}
    for mode in MEASURED:
        ranks, times = zip(*(_rank_contexts(lib, q, g, MODES[mode]) for q, g in
                             tqdm(questions, desc=mode, unit="q", disable=None)))
        out[mode] = {**ranking_metrics(ranks), "p50_ms": round(1000 * float(np.median(times)), 1)}
    return out


@register_eval("tatqa-tune")
def tatqa_tune(split: str = "test", limit: int | None = None, dataset: str | None = None,
               model: str | None = None, library: str | None = None, synthetic: int = 300,
               pairs_limit: int | None = None, epochs: int = 1) -> dict[str, Any]:
    """R@k before and after `tune`, with labelled dev pairs and with synthetic pairs only."""
    variants = [dataset] if dataset else list(VARIANTS)
    if bad := set(variants) - set(VARIANTS):
        raise ConfigError(f"unknown --dataset {sorted(bad)}; valid: {', '.join(VARIANTS)}")
    contexts = load_contexts(split)
    questions = [(q["question"], f"tatqa:{c['table']['uid']}") for c in contexts for q in c["questions"]]
    questions = questions[:limit] if limit else questions
    cfg = TrainConfig(epochs=epochs)
    with tempfile.TemporaryDirectory() as tmp:
        lib = build_library(contexts, Path(library or tmp) / "tatqa", "minilm")
        result: dict[str, Any] = {"eval": "tatqa-tune", "split": split, "n": len(questions),
                                  "before": measure(lib, questions)}
        for variant in variants:
            t0 = time.perf_counter()
            if variant == "labelled":
                report = lib.tune(dev_pairs(pairs_limit), config=cfg, progress=None)
            else:
                report = lib.tune(synthetic=synthetic, generator=model, config=cfg, progress=None)
            result[variant] = {"tune": {**report.to_dict(), "wall_s": round(time.perf_counter() - t0, 1)},
                               **measure(lib, questions)}
            lib.restore(1)
        lib.close()
    return result
