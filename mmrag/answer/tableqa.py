"""Table questions in `ask`: run the table-QA engine on the retrieved tables; cite the SQL and rows.

A question is a table question when retrieval says so: the top hit is a record of a stored table
(locator {"table": id}), or such records hold at least half of the fused score of the top
TOP_HITS hits. The engine (`mmrag.tables.answer_table_question`) gets the retrieved tables (at most
MAX_TABLES, in rank order), writes and runs the SQL; its answer becomes one evidence block with the
SQL, the result rows, and a locator {"table", "rows"} naming the table rows the answer came from.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any, Sequence

from ..core import Collection
from ..kinds import Modality, RecordKind
from ..records import Evidence, Hit, Record
from ..tables import TABLES_FILE, TableDB, answer_table_question
from ..tables.qa import wrap_sql
from ..tables.repair import AGGREGATE
from .attribution import numbers
from .citations import strip_citations

log = logging.getLogger(__name__)
TOP_HITS = 5
MAX_TABLES = 3
MAX_CITED_ROWS = 20
_SIMPLE = re.compile(r"^\s*select\s+(?:distinct\s+)?(?P<sel>.+?)\s+from\s+t\b(?P<rest>.*)$", re.I | re.S)
_LOCKS: dict[str, threading.Lock] = {}


def _table_id(hit: Hit) -> str | None:
    tid = hit.record.locator.get("table") if hit.record.modality == Modality.TABLE else None
    return tid if isinstance(tid, str) else None


def table_question(hits: Sequence[Hit], top: int = TOP_HITS) -> list[str]:
    """Table ids to query (best first) when the hits make this a table question, else []."""
    head = list(hits[:top])
    if not head:
        return []
    table_score = sum(h.score for h in head if _table_id(h))
    total = sum(h.score for h in head) or 1.0
    if _table_id(head[0]) is None and table_score / total < 0.5:
        return []
    return list(dict.fromkeys(t for h in hits if (t := _table_id(h))))[:MAX_TABLES]


def without_table(hits: Sequence[Hit], table_id: str) -> list[Hit]:
    """`hits` less the records of `table_id` (its rows, column values, summary): once a query over that table
    has answered, its result and cited rows stand for the table, and the raw rows would only lengthen the
    prompt (by about 700 tokens on the demo's table) and draw citations away from the query's evidence."""
    return [h for h in hits if _table_id(h) != table_id]


def _words(text: str) -> str:
    """Lower-case words, space-delimited, for containment tests."""
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def _names(text: str, value: str) -> bool:
    """`text` names `value`: the same number (`attribution.numbers`: "1,234" is 1234.0), else the same words."""
    if re.fullmatch(r"\s*[-−]?[\d,]*\.?\d+\s*", value):
        return bool(numbers(value) & numbers(text))
    return bool(_words(value).strip()) and _words(value) in _words(text)


def query_result(evidence: Sequence[Evidence]) -> Evidence | None:
    """The executed query's evidence among `evidence`, if any."""
    return next((e for e in evidence if e.hit.record.meta.get("kind") == RecordKind.TABLE_RESULT), None)


def query_result_note(text: str, evidence: Sequence[Evidence], refused: bool = False) -> str:
    """A sentence giving an executed query's answer, cited, when the generated `text` names none of its values
    (a small model may write "The country had the most riders [2]" and leave the query's "Italy" out); "" when
    the text names one, or no query answered."""
    ev = query_result(evidence)
    values = [v for v in (ev.hit.record.meta.get("values") or []) if v.strip()] if ev else []
    if not values:
        return ""
    said = strip_citations(text)  # "[1]" names no value
    if not refused and any(_names(said, v) for v in values):
        return ""
    shown = ", ".join(values[:10]) + (f" and {len(values) - 10} more" if len(values) > 10 else "")
    return f"The query over the table returned {shown} [{ev.n}]."


def cited_rows(db: Any, table_id: str, sql: str | None, answer: Sequence[str]) -> list[int]:
    """0-based rows of `table_id` the answer came from: the rows the query selected, else rows holding it."""
    m = _SIMPLE.match(sql or "")
    if m and not re.search(r"\b(join|union|group\s+by|intersect|except)\b|\(\s*select", sql or "", re.I):
        rest = m.group("rest")
        if AGGREGATE.search(m.group("sel")):
            rest = re.split(r"\b(order\s+by|limit)\b", rest, flags=re.I)[0]
        try:
            res = db.query(wrap_sql(f"SELECT row_id FROM t{rest}", table_id), max_rows=MAX_CITED_ROWS)
            return [int(r[0]) - 1 for r in res.rows]
        except Exception as exc:  # noqa: BLE001 - any failure falls back to matching values
            log.debug("row query failed for %s: %s", sql, exc)
    values = [a for a in answer if a][:5]
    if not values:
        return []
    info = db.info(table_id)
    cond = " OR ".join(f'trim("{c.name}") = ?' for c in info.columns for _ in values)
    params = [v for _ in info.columns for v in values]
    res = db.reader.execute(f"SELECT rowid FROM {info.raw_table} WHERE {cond} ORDER BY rowid LIMIT {MAX_CITED_ROWS}",
                            params=params)
    return [int(r[0]) for r in res.rows]


def _result_columns(db: Any, table_id: str, sql: str | None, n: int) -> list[str]:
    if not sql:
        return [f"col{i + 1}" for i in range(n)]
    try:
        return list(db.query(wrap_sql(sql, table_id), max_rows=1).columns)
    except Exception:  # noqa: BLE001
        return [f"col{i + 1}" for i in range(n)]


def _run_table_qa(path: Any, question: str, tables: list[str], llm: Any,
                  options: dict[str, Any]) -> tuple[Any, list[str], list[int]]:
    """(TableAnswer, result column names, cited table rows), the database closed afterwards."""
    with TableDB(path) as db:
        ta = answer_table_question(question, tables, llm, db, **options)
        if not ta.answer:
            return ta, [], []
        n = len(ta.rows[0]) if ta.rows else 1
        return ta, _result_columns(db, ta.table_id, ta.sql, n), cited_rows(db, ta.table_id, ta.sql, ta.answer)


def table_evidence(lib: Collection, question: str, hits: Sequence[Hit], llm: Any,
                   **options: Any) -> tuple[Evidence | None, dict[str, Any]]:
    """(evidence for the executed query or None, what happened) for a table question."""
    tables = table_question(hits)
    info: dict[str, Any] = {"table_question": bool(tables)}
    path = lib.root / TABLES_FILE
    if not tables or llm is None or not path.exists():
        if tables:
            info["table_qa"] = "skipped: " + ("no LLM for SQL" if llm is None else "no tables.duckdb")
        return None, info
    t0 = time.perf_counter()
    try:
        with _LOCKS.setdefault(str(path), threading.Lock()):  # one DuckDB connection per file at a time
            found = _run_table_qa(path, question, tables, llm, options)
    except Exception as exc:  # noqa: BLE001 - a table failure must not fail the answer: rows stay as evidence
        log.warning("table QA failed on %s: %s", path, exc)
        info["table_qa"] = f"failed: {exc}"
        return None, info
    ta, columns, cited = found
    info.update(table_qa=ta.method, sql=ta.sql, table=ta.table_id, table_qa_s=time.perf_counter() - t0,
                table_error=ta.error)
    if not ta.answer:
        return None, info
    rows = [list(r) for r in ta.rows]
    base = next((h for h in hits if _table_id(h) == ta.table_id), hits[0])
    answer = ", ".join(ta.answer)
    rec = Record(Modality.TABLE, base.record.source, {"table": ta.table_id, "rows": cited},
                 f"Question: {question}\nSQL: {ta.sql or '(read directly)'}\nAnswer: {answer}",
                 meta={"kind": RecordKind.TABLE_RESULT, "answer": answer, "values": [str(v) for v in ta.answer],
                       "method": ta.method}, id=base.record.id)
    return Evidence(0, Hit(rec, base.score, {"table-qa": 1}), sql=ta.sql, columns=columns, rows=rows), info
