"""TAT-QA EM/F1 with scale (hand-checked cases), and reading answers out of generated text."""
from __future__ import annotations

import pytest

from mmrag.evals.tatqa_answer import parse_prediction, predict_scale, safe_eval
from mmrag.evals.tatqa_metric import em_f1, normalize_answer, score, to_number
from mmrag.records import Answer, Evidence, Hit, Record


def q(answer, kind="span", scale="", facts=()):
    return {"answer": answer, "answer_type": kind, "scale": scale, "facts": list(facts)}


@pytest.mark.parametrize("gold, pred, pred_scale, em, f1", [
    (q(["66.8"], scale="million"), "66.8", "million", 1, 1),
    (q(["66.8"], scale="million"), "66.8", "", 0, 0),  # the scale is part of the answer
    (q(-2, "arithmetic", "million"), "-2.0", "million", 1, 1),
    (q(-3.62, "arithmetic", "percent"), "-3.6231884", "percent", 1, 1),  # rounded to 2 decimals
    (q(-3.62, "arithmetic", "percent"), "-0.0362", "", 1, 1),  # a plain unscaled number is tried as is
    (q(23.42, "arithmetic", "percent"), "23.42%", "percent", 1, 1),
    (q(3, "count"), "3", "", 1, 1),
    (q(3, "count"), "4", "", 0, 0),  # arithmetic and count: F1 = EM
    (q(["the Group's deferred income"]), "deferred income", "", 0, 0.8),
    (q(["Europe", "Asia"], "multi-span"), ["Asia", "Europe"], "", 1, 1),
    (q(["Europe", "Asia"], "multi-span"), ["Asia"], "", 0, 0.67),
    (q(["Europe"]), "", "", 0, 0),
])
def test_score(gold, pred, pred_scale, em, f1):
    s = score(gold, pred, pred_scale)
    assert (s["em"], s["f1"]) == (em, f1)
    assert s["scale"] == float(pred_scale == gold["scale"])


def test_normalisation_and_numbers():
    assert normalize_answer("The Total, in 2019!") == "total in 2019" and normalize_answer("2.50") == "2.5"
    assert to_number("(234.5)") == -234.5 and to_number("12%") == 0.12 and to_number("1.5 million") == 1500000
    assert em_f1("a cat sat", "the cat sat") == (1.0, 1.0) and em_f1("a black cat", "the cat sat") == (0.0, 0.5)


def test_safe_eval():
    assert safe_eval("(53.2 - 55.2) / 55.2 * 100") == pytest.approx(-3.6231884)
    assert safe_eval("1,234 + 10%") == pytest.approx(1244)
    assert safe_eval("__import__('os').system('x')") is None and safe_eval("2 ** 100") is None


def _answer(text: str, evidence_text: str) -> Answer:
    ev = Evidence(1, Hit(Record("table", "tatqa:x", {"rows": [1]}, evidence_text), 1.0))
    return Answer(text, citations=[ev], evidence=[ev])


def test_parse_prediction():
    ev_text = "Deferred income\ncolumns: 2019 $ million | 2018 $ million\nCurrent | 2019 $ million: 53.2"
    assert parse_prediction("What was the current deferred income in 2019?", _answer("53.2 [1]", ev_text)) == \
        ("53.2", "million")
    assert parse_prediction("What was the percentage change in current deferred income?",
                            _answer("= (53.2 - 55.2) / 55.2 * 100 [1]", ev_text)) == ("-3.6232", "percent")
    assert parse_prediction("Which regions?", _answer("Europe | Asia [1]", "Europe and Asia")) == (["Europe", "Asia"], "")
    assert parse_prediction("x?", _answer("The evidence does not answer this question.", "")) == ("", "")
    assert predict_scale("How many segments?", "3", ["3"], False, []) == ""
    assert parse_prediction("What is revenue?", _answer("Revenue was $4.1 billion. [1]", "")) == ("4.1 billion", "")
    assert score(q(["$4.1 billion"]), "4.1 billion", "")["em"] == 1 and score(q(["4.1"], scale="billion"),
                                                                            "4.1 billion", "")["em"] == 1


@pytest.mark.parametrize("text, scale", [
    ("| | U.S. $ in thousands | |", "thousand"), ("| | 2019 €m | 2018 €m |", "million"), ("($ in millions)", "million"),
    ("| | $'000 | $'000 |", "thousand"), ("RMB’million", "million"), ("(in billions)", "billion"),
    ("Deferred Charges and Other Assets", ""), ("The firm employs 300 people", ""),
])
def test_unit_of_tables(text, scale):
    from mmrag.evals.tatqa_answer import unit_of
    assert unit_of(text) == scale


def test_restatement_and_lists():
    from mmrag.evals.tatqa_answer import strip_restatement
    q = "How is the discount rate for domestic plans determined?"
    assert strip_restatement("The discount rate for domestic plans was determined by comparison against X", q) == \
        "by comparison against X"
    assert strip_restatement("Annual basis", "How often are assumptions reviewed?") == "Annual basis"
    assert strip_restatement("The Board of Directors approved the financial statements.",
                             "Who approved the financial statements?") == "The Board of Directors"
    grid = "Note 13\n| | 2019 | 2018 |\n| | U.S. $ in thousands | |\n| Operating loss | 73,260 | 57,768 |"
    assert parse_prediction("What was the operating loss in 2019 and 2018?", _answer("73,260 | 57,768 [1]", grid)) == \
        (["73,260", "57,768"], "thousand")
    assert parse_prediction("In which years?", _answer("2019, 2018 [1]", grid)) == (["2019", "2018"], "")
    assert parse_prediction("What is the ratio of A to B?", _answer("= 2,664 / 909 * 100 [1]", grid)) == ("2.9307", "")


def test_answer_line_cleanup():
    grid = "| | 2019 | 2018 |\n| Other | 44.1 | 56.7 |"
    assert parse_prediction("What is the change in Other?", _answer("- 44.1 - 56.7 = -12.6 [2]", grid))[0] == "-12.6"
    assert parse_prediction("In which year was Other largest?",
                            _answer("The answer is 2019, which is the largest amount. [1]", grid)) == ("2019", "")
    assert parse_prediction("What are the segments?", _answer("Transportation, Industrial Solutions [1]", grid))[0] \
        == ["Transportation", "Industrial Solutions"]
    assert parse_prediction("Where does it operate?", _answer("Germany, Ghana, the UK [1]", grid))[0] == \
        "Germany, Ghana, the UK"


def test_scale_of_calculations_and_counts():
    text = "In fiscal 2018 we issued senior notes of $10.0 billion and $14.0 billion."
    assert parse_prediction("What was the total value of notes issued?", _answer("= 10.0 + 14.0 [1]", text)) == \
        ("24", "billion")
    grid = "| | 2019 |\n| | (in millions) |\n| A | 55 |\n| B | 60 |"
    assert parse_prediction("How many segments were above $50 million?", _answer("2 [1]", grid)) == ("2", "")
