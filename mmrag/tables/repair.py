"""Checks and repairs of a model-written query's result, before the model is asked again.

`grouped_sql` adds the GROUP BY an aggregate needs when DuckDB refuses a query for lacking it ("ORDER BY
COUNT(*)" over a plain column). `repairs` rewrites two mistakes a small model repeats even when told
about them, and reruns the query: a total row ('Total', 'TOTALS') returned as the answer (rerun over `t` without the total
rows), and text compared with < / > where the table's order was meant ("Team" < 'Belgium' for
"listed before belgium": rerun comparing row_id with that row's). `complaint` names a result that
cannot be the answer (no rows, text for 'how many', a number for 'who', ...) so the model can be
asked again with that feedback.
"""
from __future__ import annotations

import re
from typing import Iterator

from .context import TOTAL_LABEL, TableView, words

_NUMBER_Q = re.compile(r"^\s*(how (many|much|long|old|tall|far|big|high)|what (is|was) the (total|number|sum|difference|"
                       r"average|count)|(total|number of|difference)\b)", re.I)
_NAME_Q = re.compile(r"^\s*who\b", re.I)
_NUMERIC = re.compile(r"^[-+−–$€£]?\s?\d")
_TEXT_CMP = re.compile(r"(\"[^\"]+\")\s*(<=|>=|<|>)\s*('(?:[^']|'')*')")
# "which/who/what ... the most/highest/first ...": one answer is asked for (a plural noun before the
# superlative, "which countries had the most", or "and"/"or" between two asks, allows several)
_ONE_Q = re.compile(r"^\s*(which|who|what)\b(?:(?!\b(?:and|or|all|[a-z]+ies|[a-z]{3,}[^s\W]s)\b)[^?])*?\b(most|least|fewest|"
                    r"highest|lowest|largest|smallest|greatest|biggest|longest|shortest|best|worst|first|last|top)\b",
                    re.I)
SINGLE_CHECK = True  # send back a list answer to a one-answer superlative question (see `complaint`)
EMPTY = ("The query returned no rows. Check the exact values and column names shown above. "
         "Reply with the corrected SQL only.")


def _alpha_comparisons(sql: str) -> list[re.Match[str]]:
    """Comparisons of a column with a text literal (one holding letters) by < or >."""
    return [m for m in _TEXT_CMP.finditer(sql) if re.search(r"[A-Za-z]", m.group(3))]


def row_order_sql(sql: str) -> str | None:
    """`sql` with "col" < 'text' turned into a row order comparison (and ORDER BY "col" into ORDER BY
    row_id), or None when it compares no text that way."""
    found = _alpha_comparisons(sql)
    if not found:
        return None
    out, cols = sql, set()
    for m in reversed(found):
        col, op, lit = m.groups()
        cols.add(col)
        out = out[:m.start()] + f"row_id {op} (SELECT MIN(row_id) FROM t WHERE {col} = {lit})" + out[m.end():]
    for col in cols:
        out = re.sub(rf"ORDER\s+BY\s+{re.escape(col)}", "ORDER BY row_id", out, flags=re.I)
    return out


_GROUP_ERROR = re.compile(r"must appear in the GROUP BY clause|must be part of an aggregate function", re.I)
_SELECT = re.compile(r"^\s*select\s+(?P<sel>.+?)\s+from\s+t\b(?P<mid>.*?)(?P<tail>\s+(?:order\s+by|limit|having)\b.*)?$",
                     re.I | re.S)
AGGREGATE = re.compile(r"\b(count|sum|avg|min|max|median|string_agg|list)\s*\(", re.I)  # an aggregate call


def _split_select(sel: str) -> list[str]:
    """The items of a select list (commas inside parentheses do not split)."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(sel):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            items.append(sel[start:i].strip())
            start = i + 1
    return [*items, sel[start:].strip()]


def grouped_sql(sql: str, error: str) -> str | None:
    """`sql` with the GROUP BY its aggregate needs ("SELECT "Country" FROM t WHERE ... ORDER BY COUNT(*)
    DESC LIMIT 1" -> "... GROUP BY "Country" ORDER BY ..."), when DuckDB refused it for lacking one;
    else None. Only a plain one-table query is rewritten: its plain select items become the groups."""
    if not _GROUP_ERROR.search(error) or re.search(r"\bgroup\s+by\b|\(\s*select\b", sql, re.I):
        return None
    m = _SELECT.match(sql)
    if not m:
        return None
    keys = [re.split(r"\s+as\s+", item, flags=re.I)[0] for item in _split_select(m.group("sel"))
            if not AGGREGATE.search(item)]
    if not keys or any(k.strip() in ("*", "") for k in keys):
        return None
    return f"SELECT {m.group('sel')} FROM t{m.group('mid')} GROUP BY {', '.join(keys)}{m.group('tail') or ''}"


def is_total_answer(question: str, values: list[str]) -> bool:
    """True when the answer is a total row's label and the question is not about totals."""
    return bool(values) and bool(TOTAL_LABEL.match(values[0].strip())) and "total" not in question.lower()


def repairs(question: str, sql: str, values: list[str], view: TableView) -> Iterator[tuple[str, list[int]]]:
    """(sql, 0-based rows to leave out of t) to try instead of a result that is likely wrong."""
    if is_total_answer(question, values):
        skip = [i - 1 for i, _, _ in view.total_rows()]
        if skip:
            yield sql, skip
    fixed = row_order_sql(sql)
    if fixed:
        yield fixed, []


def complaint(question: str, values: list[str], sql: str = "") -> tuple[str, str] | None:
    """(kind, feedback) when a result cannot be the answer: no rows, text for 'how many', a number for
    'who', a total row, or text compared with < / > (alphabetical order, where table order was meant)."""
    if not values:
        return "empty", EMPTY
    if _alpha_comparisons(sql):
        return "alpha", ("Comparing text with < or > uses alphabetical order. For rows before or after a row, "
                         "compare row_id instead. Reply with the corrected SQL only.")
    if is_total_answer(question, values):
        return "total", (f"{values[0]!r} is the total row, not an entry of the table. Leave it out "
                         "(WHERE ... <> 'Total') and reply with the corrected SQL only.")
    if _NUMBER_Q.search(question) and not _NUMERIC.match(values[0]):
        return "type", (f"The question asks for a number, but the query returned {values[0][:60]!r}. "
                        "Reply with a corrected SQL query that returns the number only.")
    if _NAME_Q.search(question) and all(_NUMERIC.match(v) for v in values):
        return "type", (f"The question asks who, but the query returned the number {values[0][:20]!r}. "
                        "Reply with a corrected SQL query that returns the name.")
    if SINGLE_CHECK and len(values) > 1 and _ONE_Q.search(question):
        return "many", (f"The question asks for one answer, but the query returned {len(values)} values "
                        f"({', '.join(v[:30] for v in values[:3])}, ...). Return only the one that answers it: "
                        "ORDER BY the value asked about (or COUNT(*) per group) and LIMIT 1. "
                        "Reply with the corrected SQL only.")
    return None


def drop_mentioned(question: str, values: list[str]) -> list[str]:
    """A list answer without the values the question itself names ('who is the same age as X?' is not X)."""
    if len(values) < 2:
        return values
    q = " " + " ".join(words(question)) + " "
    kept = [v for v in values if not (words(v) and " " + " ".join(words(v)) + " " in q)]
    return kept or values
