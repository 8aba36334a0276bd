"""Turning a generated TAT-QA answer into the metric's (answer, scale), and checking its citations.

The model is told (INSTRUCTIONS) to reply with the answer only: spans copied from the evidence
(several joined by ' | ') or a calculation written '= expression', which `safe_eval` computes.
`predict_scale` reads the scale: '%' or a scale word in the answer first, then a percentage or
ratio question for calculations, then the unit of the cited evidence ('$ million', 'in thousands').
"""
from __future__ import annotations

import ast
import operator
import re
from typing import Any, Sequence

from ..answer.citations import is_refusal
from ..records import Answer, Evidence
from .tatqa_metric import gold_answers, is_number, normalize_answer

INSTRUCTIONS = (
    "Reply on one line: the answer only, then the number of the evidence it comes from in brackets.\n"
    "- If the answer is written in the evidence, copy it exactly; for several items separate them with ' | '.\n"
    "- If it must be computed (a change, difference, sum, average, ratio or percentage), write '=' and the "
    "arithmetic with the numbers from the evidence, for example '= 120.5 - 98.2 [1]'. Multiply by 100 only "
    "when the question asks for a percentage, as in '= (120.5 - 98.2) / 98.2 * 100 [1]'.")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.USub: operator.neg, ast.UAdd: operator.pos}
_MARK = re.compile(r"\s*\[\d+\](?:\[\d+\])*")
_SCALE_WORDS = ("thousand", "million", "billion")
_UNITS = [  # (pattern, scale), tried in order on table headers and captions
    (re.compile(r"\bin\s*thousands?\b|\(\s*thousands?\b|[$€£¥]\s*['’]\s*000|['’]000|\b(?:us|s|rmb)?[$]?\s*thousands?\b", re.I),
     "thousand"),
    (re.compile(r"\bin\s*millions?\b|\(\s*millions?\b|[$€£¥]\s*m\b|\b(?:usd|rmb|eur|gbp)\s*['’]?\s*m(?:illions?)?\b"
                r"|[$€£¥]\s*millions?\b", re.I), "million"),
    (re.compile(r"\bin\s*billions?\b|[$€£¥]\s*(?:bn|b)\b|[$€£¥]\s*billions?\b", re.I), "billion"),
]
_RATIO_Q = re.compile(r"percent|percentage|%", re.I)
_PLURAL_Q = re.compile(r"^\s*(?:what|which)\s+(?:are|were)\b|\b(?:respectively|years)\b", re.I)
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_AUX = {"is", "was", "are", "were", "be", "been", "has", "have", "had", "does", "do", "did"}


def safe_eval(expr: str) -> float | None:
    """The value of an arithmetic expression (numbers, + - * /, parentheses), or None."""
    expr = expr.replace("×", "*").replace("÷", "/").replace("−", "-").replace("$", "")
    expr = re.sub(r"(?<=\d),(?=\d{3})", "", expr)
    expr = re.sub(r"(\d+(?:\.\d+)?)\s*%", r"(\1)", expr).strip().rstrip(".")
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.operand))
        raise ValueError(f"not arithmetic: {ast.dump(node)[:40]}")
    try:
        return ev(tree)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


def _fmt(x: float) -> str:
    return str(int(round(x))) if abs(x - round(x)) < 1e-9 else f"{x:.4f}".rstrip("0").rstrip(".")


def _answer_line(text: str) -> str:
    """The first line, without citation markers, list bullets or an 'The answer is' lead."""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^\s*(?:[-*•]\s+|\d+[.)]\s+(?=\D))", "", _MARK.sub("", line)).strip()
    line = re.sub(r"^(?:the\s+)?answer(?:\s+is)?\s*[:\-]?\s*", "", line, flags=re.I).strip()
    m = re.match(r"^([$(]?-?[\d,.]+%?\)?),\s+\D", line)  # '2019, which is the largest ...'
    return m.group(1) if m and not re.match(r"^[\d,.]+,\s+\d", line) else line


def _clean_span(span: str) -> str:
    """A span as the metric wants it: '$66.8 million.' -> '66.8 million' (the metric reads the word scale;
    a span copied with its unit has no separate scale in TAT-QA's annotation)."""
    s = span.strip().strip('"').rstrip(".").strip()
    if is_number(re.sub(r"^[^\d(+\-.]+", "", s)):
        s = re.sub(r"^[^\d(+\-.]+", "", s)
        s = re.sub(r"(\s*(?:thousands?|millions?|billions?)\b).*$", r"\1", s, flags=re.I)
    return s


def unit_of(text: str) -> str:
    """The scale a table or caption states for its numbers ('in thousands', '$'000', '€m', ...), or ''."""
    for pattern, scale in _UNITS:
        if pattern.search(text):
            return scale
    return ""


def _number_scale(span: str, text: str) -> str | None:
    """'percent' or a scale word right after `span` in `text` ('4.1 million', '12%'), else None."""
    m = re.search(re.escape(span) + r"\s*(%|percent|thousand|million|billion)", text, re.I)
    if not m:
        return None
    return "percent" if m.group(1) in ("%", "percent") else m.group(1).lower()


def predict_scale(question: str, answer_line: str, spans: Sequence[str], calculated: bool,
                  evidence: Sequence[Evidence], operands: Sequence[str] = ()) -> str:
    """The scale of the answer: '', thousand, million, billion or percent.

    In order: '%' in the answer; none when the span keeps its scale word, for text, years and
    counts; percent for a calculation when the question asks for a percentage; the word after the
    number (a calculation: its first operand) where the evidence states it; the unit stated by the
    table holding the number, else by its paragraphs.
    """
    low = answer_line.lower()
    if "%" in low or " percent" in low:
        return "percent"
    if any(re.search(rf"\d\s*{word}", x.lower()) for x in spans for word in _SCALE_WORDS):
        return ""  # the span carries its scale word ('9.8 million')
    if not spans or not all(is_number(x) for x in spans) or all(_YEAR.match(x) for x in spans):
        return ""
    if calculated and _RATIO_Q.search(question):
        return "percent"
    if re.match(r"\s*how many\b", question, re.I) and re.fullmatch(r"\d{1,2}", spans[0]):
        return ""  # a count
    lookup = operands or [spans[0]]
    holding = [e for e in evidence if lookup[0] in e.hit.record.text] or list(evidence)
    for ev in holding:
        if (scale := _number_scale(lookup[0], ev.hit.record.text)) is not None:
            return "" if scale == "percent" and calculated else scale
    tables = [e for e in holding if e.modality == "table"] or [e for e in evidence if e.modality == "table"]
    if unit := next((u for e in tables if (u := unit_of(e.hit.record.text))), ""):
        return unit
    sources = {e.source for e in holding[:1]}  # no unit in the table: one stated by its paragraphs (tuned on dev)
    return next((u for e in evidence if e.source in sources and (u := unit_of(e.hit.record.text))), "")


def strip_restatement(answer: str, question: str) -> str:
    """Drop a restatement of the question before or after the answer ('The rate was determined by X' -> 'by X')."""
    q = {w.lower().strip("?,.") for w in question.split()}
    words = answer.rstrip(".").split()
    known = [w.lower().strip(",.") in q or w.lower() in _AUX for w in words]
    i = next((j for j, k in enumerate(known) if not k), len(words))
    j = len(words) - next((j for j, k in enumerate(reversed(known)) if not k), len(words))
    if i >= 3 and i < len(words):  # 'The rate was determined by X' -> 'by X'
        return " ".join(words[i:])
    if len(words) - j >= 2 and j > 0:  # 'The Board approved the statements' -> 'The Board'
        return " ".join(words[:j])
    return answer


def _spans(line: str, question: str, calculated: bool) -> list[str]:
    if calculated:
        return [line]
    parts = [_clean_span(x) for x in line.split("|") if x.strip()]
    items = parts[0].split(", ") if len(parts) == 1 else []
    if len(items) > 1 and (all(is_number(x) for x in items) or (
            _PLURAL_Q.search(question) and all(len(x.split()) <= 4 for x in items))):
        parts = [_clean_span(x) for x in items]  # "2019, 2018, 2017" and "A, B, C" lists
    if len(parts) == 1 and len(parts[0].split()) > 6:
        first = re.split(r"(?<=[.!?])\s+", parts[0])[0]
        parts = [_clean_span(strip_restatement(first, question))]
    return parts


def parse_prediction(question: str, ans: Answer) -> tuple[str | list[str], str]:
    """(answer span(s) or computed number, scale) from a generated answer."""
    if ans.meta.get("refused") or is_refusal(ans.text):
        return "", ""
    line = _answer_line(ans.text)
    calculated, expr = False, ""
    if "=" in line:
        sides = [x for x in line.split("=") if x.strip()]
        expr = sides[0] if sides else ""
        if not _RATIO_Q.search(question):  # a ratio or proportion is not multiplied by 100
            expr = re.sub(r"\s*\*\s*100\s*$", "", expr.strip().rstrip("."))
        value = next((v for v in (safe_eval(x) for x in [expr, *sides[1:]]) if v is not None), None)
        if value is not None:
            line, calculated = _fmt(value), True
    spans = _spans(line, question, calculated)
    evidence = list(ans.citations) + [e for e in ans.evidence if e not in ans.citations]
    if calculated and "/" in expr and not _RATIO_Q.search(question):
        return spans[0], ""  # a ratio of two amounts has no unit
    operands = re.findall(r"\d[\d,]*(?:\.\d+)?", expr) if calculated else []
    scale = predict_scale(question, line, spans, calculated, evidence, operands)
    return (spans[0] if len(spans) == 1 else spans), scale


def cited_has_gold(q: dict[str, Any], cited: Sequence[Evidence]) -> list[bool]:
    """Per cited evidence: does it hold the gold answer (spans) or one of the gold facts (arithmetic)?"""
    kind, golds, _ = gold_answers(q)
    needles = [str(f) for f in q.get("facts", [])] if kind in ("arithmetic", "count") else golds
    needles = [normalize_answer(n) for n in needles if str(n).strip()]
    out = []
    for ev in cited:
        text = normalize_answer(ev.hit.record.text.replace("\n", " "))
        out.append(any(n and n in text for n in needles))
    return out
