"""Finding a question's table among many with the library's retrieval over table records."""
from __future__ import annotations

import pytest

from mmrag.tables import TableDB
from mmrag.tables.retrieve import index_tables, rank_tables

TABLES = {
    "riders": (["Rank", "Rider", "Country"], [["1", "Marco Bellini", "Italy"], ["2", "Jonas Vingaard", "Denmark"],
                                              ["3", "Luca Ferri", "Italy"]]),
    "lakes": (["Lake", "Depth (m)", "Area (km2)"], [["Lake Oren", "2", "120"], ["Lake Sava", "15", "45"]]),
    "medals": (["Nation", "Gold", "Silver"], [["Norway", "13", "9"], ["Japan", "7", "10"], ["Chile", "1", "0"]]),
    "films": (["Year", "Film", "Role"], [["2004", "The Long Road", "Anna"], ["2006", "Blue Harbor", "Herself"]]),
}
QUESTIONS = [("which country had the most riders in the top 3?", "riders"), ("how deep is lake sava?", "lakes"),
             ("how many gold medals did norway win?", "medals"), ("what role did she play in blue harbor?", "films")]


def _index(lib, tmp_path):
    db = TableDB(tmp_path / "t.duckdb")
    ids = {name: db.add_rows(h, rows, source=name) for name, (h, rows) in TABLES.items()}
    n = index_tables(lib, db, {f"table:{k}": v for k, v in ids.items()})
    db.close()
    return ids, n


def test_tables_are_ranked_by_their_records(hash_library, tmp_path):
    ids, n = _index(hash_library, tmp_path)
    assert n == sum(1 + 1 + len(h) for h, _ in TABLES.values())  # table + one row group + a record per column
    for question, name in QUESTIONS:
        ranked = rank_tables(hash_library, question, k=3, retrievers=["bm25"])
        assert ranked[0] == ids[name], question
        assert len(ranked) == len(set(ranked)) <= 3
    assert rank_tables(hash_library, "zzzz qqqq", k=3, retrievers=["bm25"]) == []


@pytest.mark.slow
def test_real_minilm_finds_each_questions_table(minilm_library, tmp_path):
    ids, _ = _index(minilm_library, tmp_path)
    for question, name in QUESTIONS:
        assert rank_tables(minilm_library, question, k=1) == [ids[name]], question
        assert rank_tables(minilm_library, question, k=1, retrievers=["dense"]) == [ids[name]], question
