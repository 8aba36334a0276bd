"""The model-free parts of table QA: SQL extraction, the `t` wrapper, answer formatting, cell matching."""
from __future__ import annotations

import datetime as dt

import pytest

from mmrag.tables import TableDB
from mmrag.tables.context import TableView
from mmrag.tables.qa import answer_values, extract_sql, format_value, wrap_sql


@pytest.mark.parametrize("reply, sql", [
    ("SELECT 1", "SELECT 1"),
    ("```sql\nSELECT a FROM t;\n```", "SELECT a FROM t"),
    ("Here is the query:\nSELECT a\nFROM t; -- done", "SELECT a\nFROM t"),
    ("WITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT 1) SELECT * FROM x"),
])
def test_extract_sql(reply, sql):
    assert extract_sql(reply) == sql


@pytest.mark.parametrize("value, text", [
    (3.0, "3"), (2.5, "2.5"), (1 / 3, "0.33"), (True, "yes"), (dt.date(2004, 3, 1), "2004-03-01"), (" x ", "x"),
])
def test_format_value(value, text):
    assert format_value(value) == text


@pytest.fixture
def db(tmp_path):
    with TableDB(tmp_path / "t.duckdb") as d:
        d.tid = d.add_rows(["Year", "Club", "Attendance", "Date"],
                           [["2001", "Harbor United", "1,200", "March 3, 2001"],
                            ["2002", "Lakeside FC", "15,000", "May 1, 2002"],
                            ["2003", "Harbor United", "900", "June 2, 2003"]], source="demo")
        yield d


def test_wrapped_queries_see_row_id(db):
    assert db.query(wrap_sql('SELECT "Club" FROM t WHERE row_id = 2', db.tid)).rows == [("Lakeside FC",)]
    res = db.query(wrap_sql('WITH x AS (SELECT * FROM t WHERE row_id > 1) SELECT COUNT(*) FROM x', db.tid))
    assert res.rows == [(2,)]


@pytest.mark.parametrize("where, club", [("row_id > 1", "Lakeside FC"), ("row_id <> 2", "Harbor United"),
                                         ("row_id NOT IN (2)", "Harbor United")])
def test_row_id_filters_with_top_n(db, where, club):
    # a DuckDB 2.0 optimizer bug turned these into INTERNAL errors (late materialization is off)
    sql = f'SELECT "Club" FROM t WHERE {where} ORDER BY "Attendance" DESC LIMIT 1'
    assert db.query(wrap_sql(sql, db.tid)).rows == [(club,)]
    assert db.query(wrap_sql('SELECT "Club" FROM t ORDER BY "Attendance" DESC LIMIT 1', db.tid, skip_rows=[1])).rows == \
        [("Harbor United",)]


def test_answers_use_raw_cell_text_when_projected(db):
    view = TableView.load(db, db.tid)
    res = db.query(wrap_sql('SELECT "Attendance" FROM t ORDER BY "Attendance" DESC LIMIT 1', db.tid))
    assert answer_values(res, view) == ["15,000"]  # the cell as written, not 15000
    res = db.query(wrap_sql('SELECT SUM("Attendance") FROM t', db.tid))
    assert answer_values(res, view) == ["17100"]
    res = db.query(wrap_sql('SELECT "Club" FROM t', db.tid))
    assert answer_values(res, view) == ["Harbor United", "Lakeside FC"]  # unique, in order


def test_cells_matching_the_question(db):
    view = TableView.load(db, db.tid)
    assert view.matching_cells("how many fans came to lakeside fc games?")[0] == ("Club", "Lakeside FC")
    assert ("Year", "2002") in view.matching_cells("who played in 2002?")
    text = view.schema_text("who played in 2002?")
    assert '"Attendance" BIGINT: 1200, 15000, 900' in text and '"Year": 2002' in text


class ScriptedLLM:
    """Replies from a script (tests the retry loop, not a model)."""

    name, n_ctx = "scripted", 4096

    def __init__(self, replies):
        self.replies, self.prompts = list(replies), []

    def complete(self, prompt, max_tokens=256, temperature=0.0, stop=None, seed=None):
        self.prompts.append(list(prompt) if isinstance(prompt, list) else prompt)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def test_sql_error_is_fed_back_and_retried(db):
    from mmrag.tables import answer_table_question
    llm = ScriptedLLM(['SELECT "Visitors" FROM t', 'SELECT SUM("Attendance") FROM t WHERE "Club" = \'Harbor United\''])
    ans = answer_table_question("how many fans saw harbor united?", [db.tid], llm, db)
    assert ans.answer == ["2100"] and ans.attempts == 2 and ans.error is None and ans.method == "sql"
    assert "Visitors" in llm.prompts[1][-1]["content"] and "failed" in llm.prompts[1][-1]["content"]


def test_prompt_overflow_and_prose_end_gracefully(db):
    from mmrag.tables import answer_table_question
    llm = ScriptedLLM([ValueError("Requested tokens (5000) exceed context window of 4096"), "I cannot tell. | x"])
    ans = answer_table_question("who won?", [db.tid], llm, db)
    assert ans.error and "context window" in ans.error and ans.method == "read" and ans.answer == ["I cannot tell.", "x"]
    llm = ScriptedLLM(["Sorry, I do not know."])
    ans = answer_table_question("who won?", [db.tid], llm, db, read_fallback_rows=0)
    assert ans.answer == [] and ans.method == "none" and "no SQL" in ans.error
