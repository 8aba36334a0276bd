"""`mmrag eval citations`: ALCE-style scoring against gold sources, and a real run with the extractive generator."""
from __future__ import annotations

import pytest

from mmrag.evals import run_eval
from mmrag.evals.citations import load_set, score_answer
from mmrag.records import Answer, Evidence, Hit, Record


def _answer(text: str, sources: list[str]) -> Answer:
    ev = [Evidence(n, Hit(Record("text", f"/x/{s}", {}, "..."), 1.0)) for n, s in enumerate(sources, 1)]
    return Answer(text, evidence=ev)


def test_scores_count_gold_citations_per_sentence():
    ans = _answer("The keeper left in 1968 [1]. The orchard lost its blossom [2]. It is a museum.",
                  ["lighthouse-history.txt", "orchard.txt"])
    got = score_answer(ans, ["lighthouse-history.txt"], "1968")
    assert got == {"sentences": 3, "supported": 1, "citations": 2, "gold_citations": 1, "correct": True,
                   "refused": False}


def test_set_gold_files_exist():
    data = load_set()
    from mmrag.evals.citations import SAMPLE_FILES
    names = set(data["documents"]) | set(SAMPLE_FILES)
    assert all(set(q["gold"]) <= names for q in data["questions"]) and len(data["questions"]) >= 20


@pytest.mark.slow
def test_real_run_with_the_extractive_generator(minilm):
    out = run_eval("citations", limit=3, model="extractive")
    assert out["n"] == 3 and out["citations"] >= 3
    assert out["citation_precision"] >= 66 and out["citation_recall"] >= 66
