"""WikiTableQuestions denotation accuracy, re-implemented from the official evaluator's rules (v1.0.2).

A prediction is a set of values; it is right iff it has as many items as the target set and
every target item matches some predicted item. Items match when their normalised strings are
equal, when both are numbers within 1e-6, or when both are dates (yyyy-mm-dd, 'xx' unknown)
with equal parts. Target numbers/dates come from `targetCanon` of the .tagged file.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

_CITATION = re.compile(r"((?<!^)\[[^\]]*\]|\[\d+\]|[•♦†‡*#+])*$")
_PAREN = re.compile(r"(?<!^)( \([^)]*\))*$")
_OUTER_QUOTES = re.compile(r'^"([^"]*)"$')


def normalize(x: str) -> str:
    """The evaluator's string normalisation (diacritics, quotes, dashes, citations, case, spaces)."""
    x = "".join(c for c in unicodedata.normalize("NFKD", x) if unicodedata.category(c) != "Mn")
    x = re.sub(r"[‘’´`]", "'", x)
    x = re.sub(r"[“”]", '"', x)
    x = re.sub(r"[‐‑‒–—−]", "-", x)
    while True:
        old = x
        x = _CITATION.sub("", x.strip())
        x = _PAREN.sub("", x.strip())
        x = _OUTER_QUOTES.sub(r"\1", x.strip())
        if x == old:
            break
    if x and x[-1] == ".":
        x = x[:-1]
    return re.sub(r"\s+", " ", x, flags=re.U).lower().strip()


@dataclass(frozen=True)
class Value:
    """A normalised answer item: kind 'str', 'num' (key = amount) or 'date' (key = (y, m, d), -1 unknown)."""

    kind: str
    normalized: str
    key: object = None

    def match(self, other: "Value") -> bool:
        if self.normalized == other.normalized:
            return True
        if self.kind == "num" and other.kind == "num":
            return abs(self.key - other.key) < 1e-6  # type: ignore[operator]
        return self.kind == "date" and other.kind == "date" and self.key == other.key

    def __hash__(self) -> int:
        return hash((self.kind, self.key if self.kind != "str" else self.normalized))

    def __eq__(self, other: object) -> bool:  # set semantics, as in the evaluator
        if not isinstance(other, Value) or other.kind != self.kind:
            return False
        return self.normalized == other.normalized if self.kind == "str" else self.key == other.key


def parse_number(text: str) -> float | None:
    """int() or float() of the text, as the evaluator does (no NaN/inf)."""
    try:
        return int(text)
    except ValueError:
        try:
            amount = float(text)
        except ValueError:
            return None
        return None if math.isnan(amount) or math.isinf(amount) else amount


def parse_date(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) from 'yyyy-mm-dd' with 'xx' (or 'xxxx') for unknown parts."""
    parts = text.lower().split("-")
    if len(parts) != 3:
        return None
    try:
        y = -1 if parts[0] in ("xx", "xxxx") else int(parts[0])
        m = -1 if parts[1] == "xx" else int(parts[1])
        d = -1 if parts[2] == "xx" else int(parts[2])
    except ValueError:
        return None
    if (y == m == d == -1) or not (m == -1 or 1 <= m <= 12) or not (d == -1 or 1 <= d <= 31):
        return None
    return y, m, d


def to_value(original: str, canon: str | None = None) -> Value:
    """An item as the evaluator sees it: a number, a date, else a string (canon decides the kind)."""
    canon = canon or original
    amount = parse_number(canon)
    if amount is not None:
        amount = int(amount) if abs(amount - round(amount)) < 1e-6 else float(amount)
        return Value("num", normalize(original), amount)
    ymd = parse_date(canon)
    if ymd is not None:
        if ymd[1] == ymd[2] == -1:
            return Value("num", normalize(original), ymd[0])
        return Value("date", normalize(original), ymd)
    return Value("str", normalize(original))


def to_value_set(originals: Iterable[str], canons: Iterable[str] | None = None) -> set[Value]:
    originals = list(originals)
    canon_list = list(canons) if canons is not None else [None] * len(originals)
    if len(canon_list) != len(originals):
        raise ValueError(f"{len(originals)} values but {len(canon_list)} canonical forms")
    return {to_value(o, c) for o, c in zip(originals, canon_list)}


def check_denotation(targets: set[Value], predicted: set[Value]) -> bool:
    """True iff both sets have the same size and every target matches some prediction."""
    return len(targets) == len(predicted) and all(any(t.match(p) for p in predicted) for t in targets)


def tsv_unescape(x: str) -> str:
    """Undo the TSV escapes of the dataset files (\\n, \\p for '|', \\\\)."""
    return x.replace(r"\n", "\n").replace(r"\p", "|").replace("\\\\", "\\")


def tsv_unescape_list(x: str) -> list[str]:
    """A '|'-separated list field: split on '|' first, then unescape each item."""
    return [tsv_unescape(y) for y in x.split("|")]


def approx_canon(target: str) -> str:
    """A stand-in for CoreNLP's targetCanon where no .tagged file exists (train): '12,467' -> '12467'."""
    t = target.strip()
    return t.replace(",", "") if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", t) else t


def is_correct(predicted: list[str], targets: list[str], canons: list[str] | None = None) -> bool:
    """Denotation match of predicted strings against target strings (and their canonical forms)."""
    return check_denotation(to_value_set(targets, canons), to_value_set(predicted))
