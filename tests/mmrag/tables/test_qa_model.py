"""End to end with the real offline model: a question whose answer needs an executed query."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llm():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from mmrag.generate import SMALL_MODEL, load_llm
    from mmrag.generate.models import REGISTRY, locate_pieces
    try:
        locate_pieces(REGISTRY[SMALL_MODEL])
    except FileNotFoundError as exc:
        pytest.skip(f"model pieces not installed: {exc}")
    return load_llm(SMALL_MODEL, n_ctx=2048, n_threads=1)  # one thread: robust on a busy machine


def test_sum_needs_a_query(llm, tmp_path):
    from mmrag.tables import TableDB, answer_table_question
    rows = [["Oslo", "1,200"], ["Rome", "3,400"], ["Oslo", "800"], ["Paris", "2,000"], ["Rome", "100"]]
    with TableDB(tmp_path / "t.duckdb") as db:
        tid = db.add_rows(["City", "Visitors"], rows, source="visits")
        ans = answer_table_question("how many visitors did rome have in total?", [tid], llm, db, read_fallback_rows=0)
    assert ans.answer == ["3500"], ans
    assert ans.sql and "sum" in ans.sql.lower() and ans.error is None
    assert ans.table_id == tid and ans.method == "sql" and ans.seconds > 0
