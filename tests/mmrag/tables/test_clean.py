"""Typed copies: numbers, percentages, money, units, dates and empty strings; usable column names."""
from __future__ import annotations

import json
from dataclasses import asdict

import pandas as pd
import pytest

from mmrag.tables import TableDB, apply_types, infer_columns, parse_numbers, sql_names


@pytest.mark.parametrize("text, value", [
    ("1,234", 1234.0), ("12%", 12.0), ("$5.3", 5.3), ("(12)", -12.0), ("−4", -4.0), ("-1,234.5", -1234.5),
    ("€ 7", 7.0), ("0.25", 0.25),
    ("11,429*", 11429.0), ("2008†", 2008.0), ("91[3]", 91.0), ("231+", 231.0), ("62.4 (2009)", 62.4),  # notes
    ("–0.4", -0.4),  # an en dash as a minus sign
])
def test_parse_numbers(text, value):
    assert parse_numbers(pd.Series([text]))[0] == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "1,2,3", "12 apples and 3", "", "1-2", "–", "abc (2)", "#", "29–16"])
def test_non_numbers_do_not_parse(text):
    assert pd.isna(parse_numbers(pd.Series([text]))[0])


def test_comma_decimals():
    assert parse_numbers(pd.Series(["1.234,5", "3,14"]), decimal=",").tolist() == [1234.5, 3.14]


def test_infer_and_apply_types():
    df = pd.DataFrame({"n": ["1,234", "2", "", "7"], "pct": ["12%", "5%", "1.5%", ""],
                       "d": ["March 3, 2004", "April 1, 2005", "", "June 2, 2006"], "s": ["x", "", "y", "z"],
                       "len": ["2 m", "15 m", "3.5 m", "1 m"]})
    infos = {i.name: i for i in infer_columns(df)}
    assert (infos["n"].kind, infos["n"].sql_type) == ("integer", "BIGINT")
    assert infos["pct"].kind == "float" and infos["pct"].percent
    assert (infos["d"].kind, infos["d"].date_format) == ("date", "%B %d, %Y")
    assert infos["s"].kind == "text" and infos["len"].unit == "m"
    typed = apply_types(df, list(infos.values()))
    assert typed["n"].tolist()[:2] == [1234, 2] and pd.isna(typed["n"][2])
    assert typed["pct"].tolist()[:3] == [12.0, 5.0, 1.5]
    assert str(typed["d"][0].date()) == "2004-03-03" and pd.isna(typed["d"][2])
    assert pd.isna(typed["s"][1])  # empty string -> NULL
    assert typed["len"].tolist() == [2.0, 15.0, 3.5, 1.0]
    json.dumps([asdict(i) for i in infos.values()])  # the inference record serialises


def test_mostly_numeric_column_records_failures():
    col = [str(i) for i in range(1, 20)] + ["Total"]
    info = infer_columns(pd.DataFrame({"rank": col}))[0]
    assert info.kind == "integer" and info.failed == 1 and info.failed_examples == ["Total"]


def test_sql_names_dedupe_and_fill():
    assert sql_names(["Name", "name", "", None, "a\nb", "Name"]) == ["Name", "name_2", "column_3", "column_4", "a b",
                                                                      "Name_3"]


def test_db_keeps_raw_and_typed(tmp_path):
    with TableDB(tmp_path / "t.duckdb") as db:
        tid = db.add_rows(["Pop.", "Pop."], [["1,234", "12%"], ["", "5%"]], source="x")
        cols = db.schema(tid)
        assert [(c.name, c.original, c.sql_type) for c in cols] == [("Pop.", "Pop.", "BIGINT"),
                                                                     ("Pop._2", "Pop.", "BIGINT")]
        assert db.sample_rows(tid, raw=True) == [{"Pop.": "1,234", "Pop._2": "12%"}, {"Pop.": "", "Pop._2": "5%"}]
        assert db.sample_rows(tid) == [{"Pop.": 1234, "Pop._2": 12}, {"Pop.": None, "Pop._2": 5}]


def test_types_come_from_a_sample_but_every_failure_is_counted(tmp_path, monkeypatch):
    from mmrag.tables import clean
    monkeypatch.setattr(clean, "INFER_SAMPLE", 50)
    rows = [[str(i), f"{i}%"] for i in range(1000)] + [["oops", "5%"]]
    with TableDB(tmp_path / "t.duckdb") as db:
        tid = db.add_rows(["n", "pct"], rows, source="x")
        n, pct = db.info(tid).columns
        assert (n.kind, n.failed, pct.kind, pct.percent, pct.failed) == ("integer", 1, "integer", True, 0)
        assert db.query(f"SELECT COUNT(n), SUM(pct) FROM {tid}").rows == [(1000, 499505)]
