"""`mmrag eval tatqa`: answers to TAT-QA questions (hybrid table + text), EM/F1 with scale, citations.

Every context of the split (a financial table and its paragraphs) is indexed as one record per
paragraph and one for the whole table (its caption and a markdown grid of every row, header and
unit rows included: TAT-QA tables are small, and row groups lose which column is which year). Open-book (default): a question's search is limited to its own context;
`--retrieve`: it searches all contexts. `mmrag.answer.ask` answers with citations, told to reply
with the answer only (spans copied, several joined by ' | ', or a calculation as '= expression',
which is evaluated here). The scale is read from the answer, the question and the cited evidence
(`predict_scale`). Scores: TAT-QA EM and F1 (`tatqa_metric`), scale accuracy, citation validity
(share of the model's [n] markers naming evidence that exists) and citation precision (share of
cited evidence holding the gold answer, or for arithmetic one of the gold facts), with and without
the citation pass.
"""
from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..core import LibraryConfig, SpaceConfig
from ..library import Library
from ..records import Record
from . import register_eval
from .tatqa_answer import INSTRUCTIONS, cited_has_gold, parse_prediction
from .tatqa_metric import score
from .tatqa_retrieval import context_parts, load_contexts

log = logging.getLogger(__name__)


def table_grid(table: list[list[str]]) -> str:
    """The table as a markdown grid, every row (header and unit rows included) as it is."""
    width = max((len(r) for r in table), default=0)
    rows = [[" ".join(str(c).split()).replace("|", "/") for c in r] + [""] * (width - len(r)) for r in table]
    return "\n".join("| " + " | ".join(r) + " |" for r in rows if any(c for c in r))


def answer_records(ctx: dict) -> list[Record]:
    """One record per paragraph and one for the whole table (caption + grid): small tables read best whole."""
    uid, source, caption, table, paragraphs = context_parts(ctx)
    recs = [Record("table", source, {"rows": list(range(len(table)))},
                   (f"{caption}\n" if caption else "") + table_grid(table)).with_uid(uid)]
    recs += paragraphs
    return recs


def build_library(contexts: list[dict], root: Path, encoder: str = "minilm") -> Library:
    """The table and paragraph records of every context (`answer_records`)."""
    cfg = LibraryConfig(spaces={"text": SpaceConfig(encoder=encoder, modalities=["text", "table"])})
    lib = Library(root, config=cfg)
    records = [r for c in contexts for r in answer_records(c)]
    for start in tqdm(range(0, len(records), 512), desc="index tatqa", unit="batch", disable=None):
        lib.add_records(records[start:start + 512])
    lib.flush()
    return lib


def load_questions(split: str, limit: int | None, offset: int) -> tuple[list[dict], list[tuple[dict, str]]]:
    contexts = load_contexts(split)
    qs = [(q, f"tatqa:{c['table']['uid']}") for c in contexts for q in sorted(c["questions"], key=lambda q: q["order"])]
    return contexts, qs[offset: offset + limit if limit else None]


class Tally:
    """Running sums for the report."""

    def __init__(self) -> None:
        self.n = 0
        self.sums: dict[str, float] = {}
        self.by_type: dict[str, list[float]] = {}

    def add(self, key: str, value: float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + value

    def ratio(self, num: str, den: str) -> float | None:
        d = self.sums.get(den, 0.0)
        return round(100 * self.sums.get(num, 0.0) / d, 2) if d else None


def _one(lib: Library, q: dict, source: str, gen: Any, retrieve: bool, k: int, opts: dict) -> dict[str, Any]:
    search = {} if retrieve else {"source": source}
    ans = lib.ask(q["question"], k=k, generator=gen, search_options=search, table_qa=False,
                  instructions=INSTRUCTIONS, max_tokens=opts.get("max_tokens", 96), example=opts.get("example", False),
                  evidence_order="score" if retrieve else "reading")
    pred, scale = parse_prediction(q["question"], ans)
    s = score(q, pred, scale)
    m = ans.meta
    return {"uid": q["uid"], "question": q["question"], "type": q["answer_type"], "gold": q["answer"],
            "gold_scale": q["scale"], "pred": pred, "pred_scale": scale, **s, "text": ans.text, "raw": m.get("raw"),
            "model_cites": m.get("model_citations", []), "invalid_cites": m.get("invalid_citations", []),
            "cites": [e.n for e in ans.citations], "cited_gold": cited_has_gold(q, ans.citations),
            "model_cited_gold": cited_has_gold(q, [e for e in ans.citations if e.n in m.get("model_citations", [])]),
            "own_context_retrieved": any(h.record.source == source for h in ans.hits),
            "seconds": ans.timings.get("total_s", 0.0), "prompt_tokens": m.get("prompt_tokens")}


def _tally(t: Tally, row: dict[str, Any]) -> None:
    t.n += 1
    for key in ("em", "f1", "scale"):
        t.add(key, row[key])
    t.by_type.setdefault(row["type"], []).append(row["em"])
    t.add("markers_valid", len(row["model_cites"]))
    t.add("markers", len(row["model_cites"]) + len(row["invalid_cites"]))
    t.add("answers_model_cited", bool(row["model_cites"]))
    t.add("answers_cited", bool(row["cites"]))
    t.add("cited", len(row["cites"]))
    t.add("cited_gold", sum(row["cited_gold"]))
    t.add("model_cited", len(row["model_cites"]))
    t.add("model_cited_gold", sum(row["model_cited_gold"]))
    t.add("own_context", row["own_context_retrieved"])
    t.add("seconds", row["seconds"])
    t.add("n", 1)


def report(t: Tally, split: str, retrieve: bool, model: str, offset: int, wall: float) -> dict[str, Any]:
    n = max(t.n, 1)
    return {"eval": "tatqa", "split": split, "setting": "retrieval" if retrieve else "open-book", "n": t.n,
            "offset": offset, "model": model, "EM": round(100 * t.sums.get("em", 0) / n, 2),
            "F1": round(100 * t.sums.get("f1", 0) / n, 2), "scale_accuracy": round(100 * t.sums.get("scale", 0) / n, 2),
            "EM_by_type": {k: round(100 * sum(v) / len(v), 2) for k, v in sorted(t.by_type.items())},
            "citation_validity": t.ratio("markers_valid", "markers"),
            "answers_with_model_citation": t.ratio("answers_model_cited", "n"),
            "answers_with_citation_after_pass": t.ratio("answers_cited", "n"),
            "citation_precision": t.ratio("cited_gold", "cited"),
            "citation_precision_model_only": t.ratio("model_cited_gold", "model_cited"),
            "own_context_in_evidence": t.ratio("own_context", "n"),
            "seconds_per_question": round(wall / n, 2)}


@register_eval("tatqa")
def run_tatqa(split: str = "dev", limit: int | None = None, offset: int = 0, model: str | None = None,
              retrieve: bool = False, predictions: str | None = None, library: str | None = None,
              k: int | None = None, encoder: str = "minilm", threads: int | None = None,
              **opts: Any) -> dict[str, Any]:
    """EM/F1 (with scale) and citation quality of generated answers on a TAT-QA split.

    k: evidence blocks (default 12 open-book, which is every record of a context; 8 with retrieval);
    opts: max_tokens (96), example (the worked example in the prompt, default False). Open-book keeps
    each context's evidence in reading order, so questions on one context share the cached prompt prefix.
    threads: llama.cpp threads (on a busy machine 1 is much faster than all cores).
    """
    k = k or (8 if retrieve else 12)
    from ..generate.registry import create_generator
    contexts, questions = load_questions(split, limit, offset)
    gen = create_generator(model, **({"n_threads": threads} if threads else {}))
    t, t0 = Tally(), time.perf_counter()
    out = open(predictions, "w", encoding="utf-8") if predictions else None
    with tempfile.TemporaryDirectory(prefix="mmrag-tatqa-") as tmp:
        lib = build_library(contexts, Path(library or tmp) / f"tatqa-{split}", encoder)
        try:
            for q, source in tqdm(questions, desc="tatqa", unit="q", disable=None):
                row = _one(lib, q, source, gen, retrieve, k, opts)
                _tally(t, row)
                if out:
                    out.write(json.dumps(row, default=str) + "\n")
                    out.flush()
                if t.n % 20 == 0:
                    log.info("tatqa %s: %d/%d EM %.1f", split, t.n, len(questions), 100 * t.sums["em"] / t.n)
        finally:
            lib.close()
            if out:
                out.close()
    return report(t, split, retrieve, gen.name, offset, time.perf_counter() - t0)

