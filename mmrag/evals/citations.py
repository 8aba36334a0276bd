"""`mmrag eval citations`: citation precision and recall as ALCE measures them, where the gold evidence is known.

The set (`data/citations.json`) is our own: short documents written to be confusable (shared names,
years and numbers across files) plus the text files of `samples/corpus`, and questions whose answer is in
named gold files. The documents are ingested with the defaults a user gets, and each question is asked with
the default generator. Per answer (ALCE, Gao et al. 2023, with gold sources standing in for NLI):

* citation recall: share of answer sentences (refusals excluded) with at least one citation whose evidence
  comes from a gold file;
* citation precision: share of citations whose evidence comes from a gold file;
* answer accuracy: share of answers holding the gold string; `unsupported`: answers that say so.
"""
from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..answer.citations import is_refusal, parse_citations, split_sentences
from ..library import Library
from ..records import Answer
from . import register_eval

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "corpus"
SAMPLE_FILES = ("lighthouse.txt", "quarterly-report.md", "sourdough.txt", "tour-results.md", "stage14-top10.csv",
                "vector-search.md")


def load_set() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("data/citations.json").read_text(encoding="utf-8"))


def write_corpus(folder: Path, docs: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    for name in SAMPLE_FILES:
        if (SAMPLES / name).is_file():
            (folder / name).write_bytes((SAMPLES / name).read_bytes())


def sentences(text: str) -> list[str]:
    """The answer's sentences that say something (not the refusal note, not empty)."""
    parts = split_sentences(text)
    return [s for s in parts[::2] if re.search(r"\w", re.sub(r"\[\d+(?:\s*,\s*\d+)*\]", "", s))]


def score_answer(ans: Answer, gold: list[str], answer: str) -> dict[str, Any]:
    """Per-answer counts: sentences, supported sentences, citations, gold citations, correct."""
    by_n = {e.n: Path(e.source).name for e in ans.evidence}
    sents = [] if is_refusal(ans.text) else sentences(ans.text)
    cited = [[by_n.get(n) for n in parse_citations(s)] for s in sents]
    return {"sentences": len(sents), "supported": sum(any(c in gold for c in cs) for cs in cited),
            "citations": sum(len(cs) for cs in cited), "gold_citations": sum(c in gold for cs in cited for c in cs),
            "correct": answer.lower() in ans.text.lower(), "refused": is_refusal(ans.text)}


@register_eval("citations")
def run_citations(limit: int | None = None, model: str | None = None, predictions: str | None = None,
                  **_: Any) -> dict[str, Any]:
    """Ingest the set with the defaults, ask every question, report ALCE citation precision/recall."""
    data = load_set()
    questions = data["questions"][:limit]
    rows, times = [], []
    with tempfile.TemporaryDirectory(prefix="mmrag-citations-") as tmp:
        write_corpus(Path(tmp) / "docs", data["documents"])
        with Library(Path(tmp) / "lib") as lib:
            lib.ingest([Path(tmp) / "docs"])
            for item in tqdm(questions, desc="citations", unit="q", disable=None):
                t0 = time.perf_counter()
                ans = lib.ask(item["q"], **({"generator": model} if model else {}))
                times.append(time.perf_counter() - t0)
                rows.append({"q": item["q"], "text": ans.text, "model": ans.model,
                             "first_token_s": ans.timings.get("first_token_s"),
                             "prompt_tokens": ans.meta.get("prompt_tokens"),
                             **score_answer(ans, item["gold"], item["answer"])})
    if predictions:
        Path(predictions).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return summarise(rows, times)


def summarise(rows: list[dict[str, Any]], times: list[float]) -> dict[str, Any]:
    total = {k: sum(r[k] for r in rows) for k in ("sentences", "supported", "citations", "gold_citations")}
    ratio = lambda a, b: round(100 * a / b, 1) if b else None  # noqa: E731
    return {"n": len(rows), "model": rows[0]["model"] if rows else None,
            "citation_precision": ratio(total["gold_citations"], total["citations"]),
            "citation_recall": ratio(total["supported"], total["sentences"]),
            "answer_accuracy": ratio(sum(r["correct"] for r in rows), len(rows)),
            "refused": sum(r["refused"] for r in rows), **total,
            "s_per_question_median": _median(times), "first_token_s_median": _median(
                [r["first_token_s"] for r in rows if r.get("first_token_s") is not None]),
            "prompt_tokens_median": _median([r["prompt_tokens"] for r in rows if r.get("prompt_tokens")])}


def _median(xs: list[float]) -> float | None:
    return round(statistics.median(xs), 2) if xs else None
