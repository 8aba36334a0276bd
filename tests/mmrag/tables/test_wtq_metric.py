"""The WTQ evaluator re-implementation, on hand-made cases from the README's rules and real test.tagged lines."""
from __future__ import annotations

import pytest

from mmrag.evals.wtq_metric import is_correct, normalize, to_value, tsv_unescape_list


@pytest.mark.parametrize("raw, norm", [
    ("Crème Brûlée", "creme brulee"),  # NFKD diacritics
    ("‘quoted’ “text”", "'quoted' \"text\""),  # smart quotes
    ("1999–2000", "1999-2000"),  # dashes
    ("Italy[1]", "italy"), ("Italy†", "italy"), ("Italy *", "italy"),  # trailing citations
    ("Varbergs GIF (D3)", "varbergs gif"),  # trailing parenthesised details
    ('"Rock & Roll Holiday"', "rock & roll holiday"),  # outer quotes
    ("St. Louis.", "st. louis"),  # one trailing period
    ("  Many   SPACES ", "many spaces"),
    ("[1] note", "[1] note"),  # a leading bracket is not a trailing citation
])
def test_normalize(raw, norm):
    assert normalize(raw) == norm


def test_numbers_match_within_tolerance():
    assert is_correct(["12467"], ["12,467"], ["12467.0"])
    assert is_correct(["12,467"], ["12,467"], ["12467.0"])
    assert is_correct(["3.0000001"], ["3"], ["3.0"])
    assert not is_correct(["12468"], ["12,467"], ["12467.0"])


def test_dates_match_by_parts():
    assert is_correct(["1995-01-26"], ["January 26, 1995"], ["1995-01-26"])
    assert is_correct(["January 26, 1995"], ["January 26, 1995"], ["1995-01-26"])
    assert is_correct(["xxxx-10-17"], ["October 17"], ["xxxx-10-17"])
    assert not is_correct(["1995-01-27"], ["January 26, 1995"], ["1995-01-26"])
    assert to_value("2004", "2004-xx-xx").kind == "num"  # a year-only date is a number


def test_set_semantics():
    assert is_correct(["2005", "2004"], ["2004", "2005"], ["2004.0", "2005.0"])
    assert is_correct(["Italy", "italy"], ["Italy"])  # duplicates collapse
    assert not is_correct(["Italy", "France"], ["Italy"])  # sizes differ
    assert not is_correct([], ["Italy"])


def test_string_targets_are_not_numbers():
    assert is_correct(["17 years"], ["17 years"], ["17.0"])
    assert is_correct(["17"], ["17 years"], ["17.0"])
    assert not is_correct(["17"], ["17 years"])  # without a canonical number it is a string


def test_tsv_list_escapes():
    assert tsv_unescape_list(r"a\pb|c\nd|e\\f") == ["a|b", "c\nd", "e\\f"]


def test_real_test_tagged_lines():
    from mmrag.evals import evalpack_dir
    try:
        lines = (evalpack_dir() / "tables" / "wtq" / "test.tagged").read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        pytest.skip("evalpack not found (set MMRAG_EVALPACK)")
    header = lines[0].split("\t")
    rows = {f["id"]: f for f in (dict(zip(header, ln.split("\t"))) for ln in lines[1:] if ln)}
    assert len(rows) == 4344
    checks = {"nu-0": (["Italy"], ["France"]), "nu-1": (["100000"], ["100001"])}
    for qid, (good, bad) in checks.items():
        f = rows[qid]
        targets, canons = tsv_unescape_list(f["targetValue"]), tsv_unescape_list(f["targetCanon"])
        assert is_correct(targets, targets, canons), qid
        assert is_correct(good, targets, canons) and not is_correct(bad, targets, canons), qid
    multi = next(f for f in rows.values() if "|" in f["targetValue"] and f["targetCanonType"] == "number")
    targets, canons = tsv_unescape_list(multi["targetValue"]), tsv_unescape_list(multi["targetCanon"])
    assert is_correct(list(reversed(targets)), targets, canons)
    assert not is_correct(targets[:-1], targets, canons)
    date = next(f for f in rows.values() if f["targetCanonType"] == "date" and f["targetCanon"].count("-") == 2
                and "x" not in f["targetCanon"] and "|" not in f["targetCanon"])
    assert is_correct([date["targetCanon"]], [date["targetValue"]], [date["targetCanon"]])
