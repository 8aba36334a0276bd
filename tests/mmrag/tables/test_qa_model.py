"""End to end with the real offline model: a question whose answer needs an executed query."""
from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_sum_needs_a_query(llm, tmp_path):
    from mmrag.tables import TableDB, answer_table_question
    rows = [["Oslo", "1,200"], ["Rome", "3,400"], ["Oslo", "800"], ["Paris", "2,000"], ["Rome", "100"]]
    with TableDB(tmp_path / "t.duckdb") as db:
        tid = db.add_rows(["City", "Visitors"], rows, source="visits")
        ans = answer_table_question("how many visitors did rome have in total?", [tid], llm, db, read_fallback_rows=0)
    assert ans.answer == ["3500"], ans
    assert ans.sql and "sum" in ans.sql.lower() and ans.error is None
    assert ans.table_id == tid and ans.method == "sql" and ans.seconds > 0


STAGE = Path(__file__).resolve().parents[3] / "samples" / "corpus" / "stage14-top10.csv"


def _country_counts(llm, tmp_path, question):
    from mmrag.tables import TableDB, answer_table_question
    with TableDB(tmp_path / "stage.duckdb") as db:
        (tid,) = db.add_file(STAGE)
        return answer_table_question(question, [tid], llm, db)


def test_the_most_riders_are_counted_by_the_small_model(llm, tmp_path):
    ans = _country_counts(llm, tmp_path, "which country had the most riders in the top 10?")
    assert ans.answer == ["Italy"] and "count(" in ans.sql.lower() and "group by" in ans.sql.lower(), ans


def test_the_demo_table_question_gets_sql_that_returns_italy(default_llm, tmp_path):
    """The demo's question with the default model (the 1.5B, `make models`): the SQL itself counts."""
    ans = _country_counts(default_llm, tmp_path, "Which country had the most riders in the top 10 of stage 14?")
    assert ans.answer == ["Italy"] and "count(" in ans.sql.lower(), ans
