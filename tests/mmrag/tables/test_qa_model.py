"""End to end with the real offline model: a question whose answer needs an executed query."""
from __future__ import annotations

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
