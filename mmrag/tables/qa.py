"""Answer a question about a table: the model writes DuckDB SQL, it runs safely, errors are fed back.

Flow: pick the table, describe it (typed columns, example values, cells matching the question),
ask for one SQL query over `t` (a CTE over the stored table with a 1-based `row_id`), run it
read-only with a timeout, retry with the error (bounded), map projected values back to the raw
cell text, and fall back to reading a small table directly when no query works.
"""
from __future__ import annotations

import datetime as dt
import decimal
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..generate.llm import LLM, Message
from .context import TableView, words
from .db import TableDB
from .prompts import FEW_SHOT, READ_SYSTEM, SYSTEM
from .sql import QueryResult, SQLError

log = logging.getLogger(__name__)
_FENCE = re.compile(r"```(?:sql|duckdb)?\s*(.*?)(?:```|$)", re.S | re.I)
_WITH = re.compile(r"^\s*with\s+(recursive\s+)?", re.I)
_START = re.compile(r"\b(SELECT|WITH)\b")


@dataclass
class TableAnswer:
    """The answer values, and how they were found."""

    answer: list[str]
    sql: str | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    table_id: str | None = None
    error: str | None = None
    attempts: int = 0
    seconds: float = 0.0
    method: str = "sql"  # sql | vote | read | none


def extract_sql(text: str) -> str:
    """The SQL in a model reply: the fenced block if any, up to the first ';'."""
    m = _FENCE.search(text)
    sql = m.group(1) if m else text
    start = _START.search(sql)
    sql = sql[start.start():] if start else sql
    return sql.split(";")[0].strip()


def wrap_sql(sql: str, table_id: str) -> str:
    """`sql` over `t`, a CTE that adds a 1-based `row_id` to the stored table."""
    cte = f"t AS (SELECT CAST(rowid + 1 AS INTEGER) AS row_id, * FROM {table_id})"
    m = _WITH.match(sql)
    if m:
        return f"WITH {m.group(1) or ''}{cte}, {sql[m.end():]}"
    return f"WITH {cte} {sql}"


def format_value(v: Any) -> str:
    """One SQL result value as answer text (integral floats without '.0', dates ISO, booleans yes/no)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, decimal.Decimal):
        v = float(v)
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v))
        return str(round(v, 2)) if abs(v * 1e4 - round(v * 1e4)) > 1e-6 else str(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()[:10] if not isinstance(v, dt.datetime) or not v.time() else v.isoformat(sep=" ")
    return str(v).strip()


def answer_values(res: QueryResult, view: TableView | None) -> list[str]:
    """First-column values of a result (unique, in order), as raw cell text where projected directly."""
    if not res.columns:
        return []
    raw_of = (view.raw_of.get(res.columns[0]) or {}) if view else {}
    out: list[str] = []
    for row in res.rows:
        v = row[0]
        if v is None:
            continue
        text = raw_of.get(v) or format_value(v)
        if text not in out:
            out.append(text)
    return out


def pick_table(question: str, db: TableDB, tables: Sequence[str]) -> str:
    """The table whose column names and values share the most words with the question."""
    if len(tables) == 1:
        return tables[0]
    q = set(words(question))
    def score(tid: str) -> int:
        view = TableView.load(db, tid, max_rows=200)
        text = " ".join(c.original for c in view.info.columns) + " " + " ".join(v for _, v in view.matching_cells(question))
        return len(q & set(words(text)))
    return max(tables, key=score)


def messages(view: TableView, question: str, system: str = SYSTEM,
              few_shot: Sequence[tuple[str, str]] = FEW_SHOT) -> list[Message]:
    msgs: list[Message] = [{"role": "system", "content": system}]
    for user, sql in few_shot:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": sql}]
    msgs.append({"role": "user", "content": f"{view.schema_text(question)}\nQuestion: {question}"})
    return msgs


def ask(llm: LLM, msgs: list[Message], **kw: Any) -> str | None:
    """The model's greedy reply, or None when the prompt is longer than its context window."""
    try:
        return llm.complete(msgs, temperature=0.0, **kw)
    except ValueError as exc:  # llama.cpp: "Requested tokens (...) exceed context window"
        log.warning("prompt too long for %s: %s", llm.name, exc)
        return None


def _run(db: TableDB, view: TableView, sql: str) -> tuple[list[str], QueryResult]:
    res = db.query(wrap_sql(sql, view.info.table_id))
    return answer_values(res, view), res


def sql_loop(llm: LLM, db: TableDB, view: TableView, question: str, ans: TableAnswer, max_attempts: int = 3,
             max_tokens: int = 160, msgs: list[Message] | None = None) -> None:
    """Ask for SQL, run it, feed errors (and one empty result) back, up to `max_attempts` times."""
    msgs = msgs or messages(view, question)
    empty_retried = False
    while ans.attempts < max_attempts:
        ans.attempts += 1
        reply = ask(llm, msgs, max_tokens=max_tokens, stop=[";", "\n\n"])
        if reply is None:
            ans.error = "the prompt does not fit the model's context window"
            return
        if not _START.search(reply):  # prose instead of SQL: retrying rarely helps, so stop here
            ans.error = f"no SQL in the reply: {reply[:80]!r}"
            return
        sql = extract_sql(reply)
        ans.sql = sql
        try:
            values, res = _run(db, view, sql)
        except SQLError as exc:
            ans.error = str(exc)[:300]
            log.debug("attempt %d failed: %s | %s", ans.attempts, sql, ans.error)
            msgs += [{"role": "assistant", "content": sql},
                     {"role": "user", "content": f"The query failed: {ans.error}\nReply with the corrected SQL only."}]
            continue
        ans.rows, ans.error = res.rows[:50], None
        if values or empty_retried:
            ans.answer = values
            return
        empty_retried = True
        msgs += [{"role": "assistant", "content": sql},
                 {"role": "user", "content": "The query returned no rows. Check the exact values and column names "
                                             "shown above. Reply with the corrected SQL only."}]


def _vote(llm: LLM, db: TableDB, view: TableView, question: str, ans: TableAnswer, k: int,
          max_tokens: int, temperature: float) -> None:
    """Self-consistency: add k sampled queries, keep the answer most of them give (ties: greedy's)."""
    counts: Counter[tuple[str, ...]] = Counter()
    if ans.answer:
        counts[tuple(ans.answer)] += 1
    msgs = messages(view, question)
    for i in range(k):
        reply = llm.complete(msgs, max_tokens=max_tokens, temperature=temperature, stop=[";", "\n\n"], seed=1000 + i)
        try:
            values, _ = _run(db, view, extract_sql(reply))
        except SQLError:
            continue
        if values:
            counts[tuple(values)] += 1
    if counts:
        best, n = counts.most_common(1)[0]
        if not ans.answer or n > counts[tuple(ans.answer)]:
            ans.answer, ans.method = list(best), "vote"


def read_directly(llm: LLM, view: TableView, question: str, max_rows: int = 40) -> list[str]:
    """Ask the model to read the answer off a small table (no SQL).

    The conversation starts like the SQL prompt so the model's cached prefix is reused.
    """
    table = view.markdown(max_rows)
    if len(table) > max(llm.n_ctx - 1600, 0) * 2.5:  # a table that does not fit whole is not read
        return []
    msgs = messages(view, question)[:-1]
    msgs.append({"role": "user", "content": f"{table}\n\nQuestion: {question}\n{READ_SYSTEM}"})
    reply = ask(llm, msgs, max_tokens=48, stop=["\n"]) or ""
    reply = re.sub(r"^\s*answer\s*:\s*", "", reply.strip(), flags=re.I)
    return [p.strip() for p in reply.split("|") if p.strip()]


def answer_table_question(question: str, tables: Sequence[str], llm: LLM, db: TableDB, *, max_attempts: int = 2,
                          max_tokens: int = 160, candidates: int = 1, temperature: float = 0.7,
                          read_fallback_rows: int = 40) -> TableAnswer:
    """Answer `question` from one of `tables` (ids in `db`) with model-written SQL.

    candidates > 1 adds that many - 1 sampled queries and votes (self-consistency);
    tables of at most `read_fallback_rows` rows are read directly when no query gives an answer.
    """
    if not tables:
        raise ValueError("no tables given: pass at least one table id")
    t0 = time.perf_counter()
    tid = pick_table(question, db, tables)
    view = TableView.load(db, tid)
    ans = TableAnswer(answer=[], table_id=tid)
    sql_loop(llm, db, view, question, ans, max_attempts, max_tokens)
    if candidates > 1:
        _vote(llm, db, view, question, ans, candidates - 1, max_tokens, temperature)
    if not ans.answer and 0 < len(view.raw) <= read_fallback_rows:
        ans.answer, ans.method = read_directly(llm, view, question, read_fallback_rows), "read"
    if not ans.answer:
        ans.method = "none"
    ans.seconds = time.perf_counter() - t0
    return ans
