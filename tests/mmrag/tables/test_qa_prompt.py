"""What the model is shown (matches, total rows, hints, rows), voting between queries, list clean-up."""
from __future__ import annotations

import pytest

from mmrag.tables import TableDB, answer_table_question
from mmrag.tables.context import TableView
from mmrag.tables.prompts import question_hints
from mmrag.tables.qa import drop_mentioned, messages

from .test_qa_parts import ScriptedLLM

ROWS = [["1", "Ryan Hall", "MF", "14"], ["2", "Elliot Benyon", "FW", "9"], ["3", "Joe Grant", "FW", "9"],
        ["4", "Ryan Smith", "DF", "3"], ["5", "Mark Ryan", "DF", "2"], ["", "TOTALS", "", "37"]]


@pytest.fixture
def db(tmp_path):
    with TableDB(tmp_path / "t.duckdb") as d:
        d.tid = d.add_rows(["Place", "Name", "Position", "Total"], ROWS, source="scorers")
        yield d


def test_a_rare_word_matches_a_longer_cell(db):
    view = TableView.load(db, db.tid)
    cells = view.matching_cells("who scored more, grant or benyon?")
    assert set(cells) == {("Name", "Elliot Benyon"), ("Name", "Joe Grant")}
    assert not any(v.startswith("Ryan") or v == "Mark Ryan" for _, v in view.matching_cells("did ryan score?"))


def test_total_rows_are_pointed_out(db):
    view = TableView.load(db, db.tid)
    assert view.total_rows() == [(6, "Name", "TOTALS")]
    assert "Total rows (leave them out" in view.schema_text("who scored most?")
    assert "Total rows" not in view.schema_text("who scored most?", totals=False)


def test_rows_can_replace_examples(db):
    view = TableView.load(db, db.tid)
    text = view.schema_text("who scored most?", rows=3)
    assert "2: 2 | 'Elliot Benyon' | 'FW' | 9" in text and "... (3 more rows)" in text
    assert "'Joe Grant'" not in text.split("Rows")[0]  # columns carry no example values then


@pytest.mark.parametrize("question, expected", [
    ("what team is listed previous to belgium?", "row order"),
    ("who was the first away team on the chart", "ORDER BY row_id"),
    ("who scored more, grant or benyon?", "compare only their rows"),
    ("who won first place?", None),
    ("how many goals did he score?", None),
    ("which country had the most riders in the top 10 of stage 14?", None),  # a range of ranks, not row order
    ("who was in the top ten?", None),
    ("which team was at the top of the table?", "ORDER BY row_id"),
])
def test_question_hints(question, expected):
    hints = question_hints(question)
    assert (expected is None and hints == []) or any(expected in h for h in hints)


def test_hints_go_into_the_prompt(db):
    view = TableView.load(db, db.tid)
    assert "row order" in messages(view, "who is listed after joe grant?")[-1]["content"]
    assert "row order" not in messages(view, "who is listed after joe grant?", hints=False)[-1]["content"]


def test_named_entities_leave_list_answers():
    q = "which players played the same position as joe grant?"
    assert drop_mentioned(q, ["Elliot Benyon", "Joe Grant"]) == ["Elliot Benyon"]
    assert drop_mentioned(q, ["Joe Grant"]) == ["Joe Grant"]  # never empties an answer
    assert drop_mentioned("who scored more, grant or benyon?", ["Joe Grant", "Elliot Benyon"]) == \
        ["Joe Grant", "Elliot Benyon"]  # only whole values named in the question are dropped


def test_vote_overrules_the_greedy_query(db):
    greedy = 'SELECT "Name" FROM t ORDER BY "Total" DESC LIMIT 1'
    right = 'SELECT "Name" FROM t WHERE "Name" <> \'TOTALS\' ORDER BY "Total" DESC LIMIT 1'
    llm = ScriptedLLM([greedy, right, "SELECT nope FROM t", right])
    ans = answer_table_question("who scored the most?", [db.tid], llm, db, candidates=4, check_answers=False)
    assert ans.answer == ["Ryan Hall"] and ans.method == "vote" and ans.sql == right
    assert ans.votes == [(["Ryan Hall"], 2), (["TOTALS"], 1)] and ans.first_answer == ["TOTALS"]
    llm = ScriptedLLM([greedy, right, greedy])  # a tie keeps the greedy answer
    ans = answer_table_question("who scored the most?", [db.tid], llm, db, candidates=3, check_answers=False)
    assert ans.answer == ["TOTALS"] and ans.method == "sql"


def test_samples_answer_when_the_greedy_query_fails(db):
    llm = ScriptedLLM(["SELECT nope FROM t", "SELECT nope2 FROM t", 'SELECT COUNT(*) FROM t WHERE "Position" = \'FW\''])
    ans = answer_table_question("how many forwards?", [db.tid], llm, db, candidates=2, read_fallback_rows=0)
    assert ans.answer == ["2"] and ans.method == "vote" and ans.error is None and ans.attempts == 2


@pytest.mark.parametrize("question, values, kind", [
    ("how many forwards are there?", [], "empty"),
    ("how many forwards are there?", ["Joe Grant"], "type"),
    ("how many forwards are there?", ["2"], None),
    ("who scored the most?", ["14"], "type"),
    ("who scored the most?", ["Ryan Hall"], None),
    ("what year did he join?", ["2004"], None),
    ("who scored the most?", ["TOTALS"], "total"),
    ("which line holds the total?", ["Total"], None),
    ("which country had the most riders in the top 10?", ["Kazakhstan", "France", "Italy"], "many"),
    ("which country had the most riders in the top 10?", ["Italy"], None),
    ("which countries had the most riders?", ["Italy", "Spain"], None),  # a plural asks for several
    ("which players scored the most goals and assists?", ["Ryan Hall", "Joe Grant"], None),
    ("who was the last driver to finish?", ["Ada", "Bo"], "many"),
    ("who finished after ada?", ["Bo", "Cy"], None),  # no superlative: a list may be right
])
def test_results_of_the_wrong_kind_are_sent_back(question, values, kind):
    from mmrag.tables.repair import complaint
    got = complaint(question, values)
    assert (got[0] if got else None) == kind


def test_a_complained_about_result_is_kept_when_the_retry_fails(db):
    wrong_kind = 'SELECT "Name" FROM t WHERE "Position" = \'FW\''
    llm = ScriptedLLM([wrong_kind, "SELECT nope FROM t"])
    ans = answer_table_question("how many forwards are there?", [db.tid], llm, db, read_fallback_rows=0)
    assert "asks for a number" in llm.prompts[1][-1]["content"]
    assert ans.answer == ["Elliot Benyon", "Joe Grant"] and ans.sql == wrong_kind and ans.error is None
    llm = ScriptedLLM([wrong_kind, 'SELECT COUNT(*) FROM t WHERE "Position" = \'FW\''])
    assert answer_table_question("how many forwards are there?", [db.tid], llm, db).answer == ["2"]


@pytest.mark.parametrize("sql, alpha", [
    ('SELECT "Team" FROM t WHERE "Team" < \'Belgium\' ORDER BY "Team" DESC LIMIT 1', True),
    ('SELECT "Team" FROM t WHERE "Date" >= \'2004-01-02\'', False),
    ('SELECT "Team" FROM t WHERE row_id < (SELECT row_id FROM t WHERE "Team" = \'Belgium\')', False),
])
def test_alphabetical_comparisons_are_sent_back(sql, alpha):
    from mmrag.tables.repair import complaint
    got = complaint("which team is listed before belgium?", ["Belarus"], sql)
    assert (got is not None and got[0] == "alpha") == alpha


def test_a_total_row_answer_is_repaired_without_asking_again(db):
    llm = ScriptedLLM(['SELECT "Name" FROM t ORDER BY "Total" DESC LIMIT 1'])
    ans = answer_table_question("who scored the most?", [db.tid], llm, db)
    assert ans.answer == ["Ryan Hall"] and ans.method == "repair" and len(llm.prompts) == 1
    llm = ScriptedLLM(['SELECT "Name" FROM t ORDER BY "Total" DESC LIMIT 1'])
    assert answer_table_question("which row has the highest total?", [db.tid], llm, db).answer == ["TOTALS"]


def test_alphabetical_comparisons_become_row_order(db):
    from mmrag.tables.repair import row_order_sql
    sql = 'SELECT "Name" FROM t WHERE "Name" < \'Joe Grant\' ORDER BY "Name" DESC LIMIT 1'
    assert row_order_sql(sql) == ('SELECT "Name" FROM t WHERE row_id < (SELECT MIN(row_id) FROM t WHERE "Name" = '
                                  '\'Joe Grant\') ORDER BY row_id DESC LIMIT 1')
    assert row_order_sql('SELECT "Name" FROM t WHERE "Total" > 5') is None
    before = sql.replace("Joe Grant", "Mark Ryan")
    llm = ScriptedLLM([before])
    ans = answer_table_question("who is listed before mark ryan?", [db.tid], llm, db)
    assert ans.answer == ["Ryan Smith"] and ans.method == "repair"  # alphabetically it would be 'Joe Grant'
    llm = ScriptedLLM([sql.replace("<", ">").replace("DESC", "ASC")])
    assert answer_table_question("who is listed after joe grant?", [db.tid], llm, db).answer == ["Ryan Smith"]


GROUP_ERROR = 'Binder Error: column "Country" must appear in the GROUP BY clause or must be part of an aggregate'


@pytest.mark.parametrize("sql, fixed", [
    ('SELECT "Country" FROM t WHERE "Rank" <= 10 ORDER BY COUNT(*) DESC LIMIT 1',
     'SELECT "Country" FROM t WHERE "Rank" <= 10 GROUP BY "Country" ORDER BY COUNT(*) DESC LIMIT 1'),
    ('SELECT "Country" AS c, COUNT(*) AS n FROM t ORDER BY n DESC',
     'SELECT "Country" AS c, COUNT(*) AS n FROM t GROUP BY "Country" ORDER BY n DESC'),
    ('SELECT "Country" FROM t GROUP BY "Rank" ORDER BY COUNT(*) DESC', None),  # has a GROUP BY: not ours to fix
    ('SELECT "Rider" FROM t WHERE "Rank" = (SELECT MAX("Rank") FROM t)', None),
])
def test_an_aggregate_without_its_group_by_gets_one(sql, fixed):
    from mmrag.tables.repair import grouped_sql
    assert grouped_sql(sql, GROUP_ERROR) == fixed
    assert grouped_sql(sql, "Parser Error: syntax error at end of input") is None


def test_a_query_refused_for_its_missing_group_by_runs_grouped(db):
    """The 1.5B's first query for the demo's question: right idea, no GROUP BY; no second model call."""
    llm = ScriptedLLM(['SELECT "Position" FROM t WHERE "Place" <= 5 ORDER BY COUNT(*) DESC LIMIT 1'])
    ans = answer_table_question("which position had the most players in the top 5?", [db.tid], llm, db)
    assert ans.sql == 'SELECT "Position" FROM t WHERE "Place" <= 5 GROUP BY "Position" ORDER BY COUNT(*) DESC LIMIT 1'
    assert ans.answer in (["FW"], ["DF"]) and ans.attempts == 1 and len(llm.prompts) == 1
