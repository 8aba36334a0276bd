"""`ask` over tables: when a question is a table question, and the SQL answer cited with its rows."""
from __future__ import annotations

import pytest

from mmrag.answer.tableqa import cited_rows, table_question, without_table
from mmrag.records import Evidence, Hit, Record


def _hit(modality: str, score: float, table: str | None = None) -> Hit:
    loc = {"table": table, "rows": [0]} if table else {"char_start": 0}
    return Hit(Record(modality, "/x", loc, "t"), score)


def test_table_question_rule():
    assert table_question([_hit("table", 0.5, "t_a"), _hit("text", 0.4), _hit("table", 0.3, "t_b")]) == ["t_a", "t_b"]
    assert table_question([_hit("text", 0.5), _hit("table", 0.3, "t_a"), _hit("table", 0.3, "t_a")]) == ["t_a"]
    assert table_question([_hit("text", 0.5), _hit("text", 0.4), _hit("table", 0.1, "t_a")]) == []
    assert table_question([_hit("table", 0.5)]) == []  # a table record without a stored table (e.g. TAT-QA rows)
    assert table_question([]) == []


def test_without_table_leaves_out_only_that_tables_records():
    hits = [_hit("table", 0.5, "t_a"), _hit("text", 0.4), _hit("table", 0.3, "t_b"), _hit("table", 0.2, "t_a")]
    kept = without_table(hits, "t_a")
    assert [h.record.locator.get("table") for h in kept] == [None, "t_b"]


def test_cited_rows_from_the_query_and_from_values(tmp_path):
    from mmrag.tables import TableDB
    with TableDB(tmp_path / "t.duckdb") as db:
        tid = db.add_rows(["country", "gold"], [["Italy", "10"], ["France", "12"], ["Norway", "16"]], source="m.csv")
        assert cited_rows(db, tid, "SELECT country FROM t WHERE gold > 11 ORDER BY gold DESC", ["Norway"]) == [2, 1]
        assert cited_rows(db, tid, "SELECT count(*) FROM t WHERE gold > 11 LIMIT 1", ["2"]) == [1, 2]
        assert cited_rows(db, tid, "SELECT country FROM t t1 JOIN t t2 USING (gold)", ["France"]) == [1]
        assert cited_rows(db, tid, None, ["Italy", "Oslo"]) == [0]


def test_table_result_block_carries_sql_rows_and_answer():
    from mmrag.answer.evidence import render_block
    from mmrag.generate import ExtractiveGenerator, Passage
    rec = Record("table", "/data/countries.csv", {"table": "t_1", "rows": [2]}, "q", meta={"answer": "Madrid"})
    ev = Evidence(1, Hit(rec, 1.0), sql="SELECT capital FROM t WHERE country = 'Spain'", columns=["capital"],
                  rows=[["Madrid"]])
    block = render_block(ev)
    assert block.answer == "Madrid" and block.header == "[1] table query result on countries.csv"
    assert block.body == ("SQL: SELECT capital FROM t WHERE country = 'Spain'\nResult:\n| capital |\n| Madrid |\n"
                          "Answer from the query: Madrid")
    text = ExtractiveGenerator().answer("capital of Spain", [Passage(1, block.body, block.answer)])
    assert text.startswith("Madrid [1]")
    assert ev.to_dict()["rows"] == [["Madrid"]] and ev.to_dict()["locator"] == {"table": "t_1", "rows": [2]}


@pytest.mark.slow
def test_table_question_is_answered_by_sql(minilm_docs_library, llm):
    answer = minilm_docs_library.ask("What is the population of Norway in millions?", generator=llm, k=4,
                                     max_tokens=32)
    assert answer.meta["table_question"], answer.meta
    first = answer.evidence[0]
    assert first.n == 1 and first.sql and first.sql.lower().startswith(("select", "with"))
    assert first.locator["table"].startswith("t_") and first.locator["rows"] == [3]  # Norway is row 4 (0-based 3)
    assert [[str(v) for v in r] for r in first.rows] == [["5"]] and first.hit.record.meta["answer"] == "5"
    assert "5" in answer.text and answer.citations
    assert all(e.modality == "table" for e in answer.citations)
    # the query result stands for its table: the table's own records are not given again
    assert [e.n for e in answer.evidence if e.locator.get("table") == first.locator["table"]] == [1]
    d = answer.to_dict()
    assert {"n", "id", "modality", "source", "locator", "sql", "columns", "rows"} <= d["citations"][0].keys() \
        or d["citations"][0]["locator"].get("table") == first.locator["table"]


def _result(values: list[str]) -> list[Evidence]:
    rec = Record("table", "/data/tour.csv", {"table": "t_1", "rows": [0]}, "q",
                 meta={"kind": "table_result", "answer": ", ".join(values), "values": values})
    return [Evidence(1, Hit(rec, 1.0), sql="SELECT 1"), Evidence(2, Hit(Record("text", "/r.md", {}, "report"), 0.5))]


def test_an_answer_that_leaves_out_the_query_result_gets_it_stated():
    from mmrag.answer.tableqa import query_result_note
    ev = _result(["Italy"])
    assert query_result_note("The country had the most riders in the top 10 [2].", ev) == \
        "The query over the table returned Italy [1]."
    assert query_result_note("Italy had the most riders [2].", ev) == ""
    assert query_result_note("It has 1,234 riders [1].", _result(["1234.0"])) == ""
    assert query_result_note("It has 12 riders [1].", _result(["1234"])) != ""
    assert query_result_note("I could not find that.", ev, refused=True).endswith("Italy [1].")
    assert query_result_note("Anything.", ev[1:]) == ""  # no query answered: nothing to add


@pytest.mark.slow
def test_the_demo_table_question_names_the_query_result(tmp_path, minilm, llm):
    """The demo's question with the 0.5B `make demo` installs: whatever sentence the model writes, the answer
    names the country the executed query returned, cited to the query."""
    import shutil

    from mmrag import Library
    from tests.conftest import ROOT
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("stage14-top10.csv", "tour-results.md", "lighthouse.txt"):
        shutil.copy(ROOT / "samples" / "corpus" / name, docs / name)
    with Library(tmp_path / "lib", text_encoder="minilm") as lib:
        lib.ingest([docs])
        answer = lib.ask("Which country had the most riders in the top 10 of stage 14?", generator=llm,
                         max_tokens=64)
    first = answer.evidence[0]
    assert first.sql and first.hit.record.meta["values"] == ["Italy"], answer.meta
    assert "Italy" in answer.text and first in answer.citations, answer.text


def test_a_citation_marker_does_not_count_as_naming_a_number():
    from mmrag.answer.tableqa import query_result_note
    assert query_result_note("Several riders came from there [1].", _result(["1"])).endswith("returned 1 [1].")
    assert query_result_note("It was 1 rider [1].", _result(["1"])) == ""
