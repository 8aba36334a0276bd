"""`mmrag eval wtq` / `wtq-retrieval` / `tabfact` on a few evalpack examples (real tables, real small model)."""
from __future__ import annotations

import json

import pytest

from mmrag.evals import evalpack_dir, run_eval


@pytest.fixture(autouse=True)
def _needs_evalpack():
    try:
        evalpack_dir()
    except FileNotFoundError:
        pytest.skip("evalpack not found (set MMRAG_EVALPACK)")


def test_table_retrieval_over_the_examples_tables():
    res = run_eval("wtq-retrieval", split="test", limit=20, encoder="hash", modes=["bm25"])
    assert res["n"] == 20 and res["tables"] <= 20 and res["records"] > res["tables"]
    assert set(res["bm25"]) >= {"R@1", "R@5", "MRR", "ms_per_question"}
    assert 50 <= res["bm25"]["R@1"] <= res["bm25"]["R@5"] <= 100  # question words find their table


def test_an_unknown_retrieval_mode_names_the_valid_ones():
    from mmrag.errors import UnknownNameError
    with pytest.raises(UnknownNameError, match="valid: bm25, dense, default"):
        run_eval("wtq-retrieval", split="test", limit=5, modes=["hybrid"])
    with pytest.raises(UnknownNameError, match="default\\+llm-rerank"):
        run_eval("tatqa-retrieval", split="dev", limit=5, modes=["rerank"])


def test_tabfact_dev_subset_is_disjoint_from_small_test():
    from mmrag.evals.tabfact import load_statements
    dev, small = load_statements("dev"), load_statements("small_test")
    assert not {t for t, *_ in dev} & {t for t, *_ in small}
    assert len(dev) + len(small) == len(load_statements("test"))
    assert load_statements("dev", 5) == dev[:5] and {lab for _, _, lab, _ in dev[:40]} == {0, 1}


@pytest.mark.slow
def test_wtq_with_retrieval_end_to_end(llm, tmp_path):
    from mmrag.generate import SMALL_MODEL
    preds = tmp_path / "p.jsonl"
    from mmrag.evals.wtq import load_examples
    res = run_eval("wtq", split="train", limit=2, model=SMALL_MODEL, n_ctx=llm.n_ctx, threads=1, retrieve=True,
                   encoder="hash", table_pool=6, predictions=str(preds), read_fallback_rows=0, max_attempts=1,
                   max_tokens=80)
    assert res["n"] == 2 and 0 <= res["accuracy"] <= 1 and res["seconds_per_question"] > 0
    assert res["retrieve"] and 0 <= res["table_retrieval"]["R@1"] <= 100 and res["tables"] == len({e.context for e in load_examples("train", 6)})
    rows = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(rows) == 2 and all(r["table_id"].startswith("t_") for r in rows)
    assert sum(r["correct"] for r in rows) == res["correct"]


@pytest.mark.slow
def test_tabfact_end_to_end(llm, tmp_path):
    from mmrag.generate import SMALL_MODEL
    res = run_eval("tabfact", split="dev", limit=1, model=SMALL_MODEL, n_ctx=llm.n_ctx, threads=1, read="never",
                   max_attempts=1)
    assert res["n"] == 1 and res["subset"] == "dev" and 0 <= res["accuracy"] <= 1
    assert res["predicted_true"] <= 1 and res["seconds_per_question"] > 0
