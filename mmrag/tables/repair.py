"""Checks and repairs of a model-written query's result, before the model is asked again.

`repairs` rewrites two mistakes a small model repeats even when told about them, and reruns the
query: a total row ('Total', 'TOTALS') returned as the answer (rerun over `t` without the total
rows), and text compared with < / > where the table's order was meant ("Team" < 'Belgium' for
"listed before belgium": rerun comparing row_id with that row's). `complaint` names a result that
cannot be the answer (no rows, text for 'how many', a number for 'who', ...) so the model can be
asked again with that feedback.
"""
from __future__ import annotations

import re
from typing import Iterator

from .context import TOTAL_LABEL, TableView

_NUMBER_Q = re.compile(r"^\s*(how (many|much|long|old|tall|far|big|high)|what (is|was) the (total|number|sum|difference|"
                       r"average|count)|(total|number of|difference)\b)", re.I)
_NAME_Q = re.compile(r"^\s*who\b", re.I)
_NUMERIC = re.compile(r"^[-+−–$€£]?\s?\d")
_TEXT_CMP = re.compile(r"(\"[^\"]+\")\s*(<=|>=|<|>)\s*('(?:[^']|'')*')")
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
    return None
