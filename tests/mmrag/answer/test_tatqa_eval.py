"""`mmrag eval tatqa` plumbing on a few dev questions (hash encoder, extractive generator: no LLM)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import EVALPACK

pytestmark = pytest.mark.skipif(not (EVALPACK / "tables" / "tatqa").is_dir(), reason="evalpack not found")


def test_tatqa_eval_reports_scores_and_citations(tmp_path):
    from mmrag.evals import run_eval
    preds = tmp_path / "p.jsonl"
    out = run_eval("tatqa", split="dev", limit=3, model="extractive", encoder="hash", predictions=str(preds))
    assert out["n"] == 3 and out["setting"] == "open-book" and out["model"] == "extractive"
    assert {"EM", "F1", "scale_accuracy", "citation_validity", "citation_precision", "seconds_per_question"} <= out.keys()
    rows = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(rows) == 3 and all(r["own_context_retrieved"] for r in rows)  # open-book: only its own context
    assert all(0 <= r["em"] <= 1 and r["uid"] for r in rows)
    assert out["EM"] == round(100 * sum(r["em"] for r in rows) / 3, 2)


def test_tatqa_table_record_is_a_grid():
    from mmrag.evals.tatqa import answer_records
    ctx = {"table": {"uid": "u1", "table": [["", "2019", "2018"], ["", "$ million", ""], ["Current", "53.2", "55.2"]]},
           "paragraphs": [{"uid": "p", "order": 1, "text": "25. Deferred income"}], "questions": []}
    table, para = answer_records(ctx)
    assert table.text == "25. Deferred income\n|  | 2019 | 2018 |\n|  | $ million |  |\n| Current | 53.2 | 55.2 |"
    assert table.locator == {"rows": [0, 1, 2]} and para.locator == {"paragraph": 1}
