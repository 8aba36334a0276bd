"""Answer a question about a table: the model writes DuckDB SQL, it runs safely, errors are fed back.

Flow: pick the table, describe it (typed columns with example values or the first rows, total
rows, cells matching the question, hints the question's wording calls for), ask for one SQL query
over `t` (a CTE over the stored table with a 1-based `row_id`), run it read-only with a timeout,
feed back errors and, once each, results that cannot be the answer (no rows, text for 'how
many', a number for 'who', a total row, text compared alphabetically), map projected values back
to the raw cell text, optionally vote over sampled queries (self-consistency), and fall back to
reading a small table directly when no query works.
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

from ..errors import BadQueryError, SQLError
from ..generate.llm import LLM, Message
from ..generate.prefix_states import prime
from ..kinds import TableQAMethod
from .context import TableView, words
from .db import TableDB
from .prompts import FEW_SHOT, READ_SYSTEM, SYSTEM, question_hints, sql_prefix_messages
from .repair import EMPTY, complaint, drop_mentioned, grouped_sql, repairs
from .sql import QueryResult

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
    method: TableQAMethod = TableQAMethod.SQL
    votes: list[tuple[list[str], int]] = field(default_factory=list)  # (answer, queries giving it), candidates > 1
    first_answer: list[str] = field(default_factory=list)  # the greedy query's answer, before voting/reading


def extract_sql(text: str) -> str:
    """The SQL in a model reply: the fenced block if any, up to the first ';'."""
    m = _FENCE.search(text)
    sql = m.group(1) if m else text
    start = _START.search(sql)
    sql = sql[start.start():] if start else sql
    return sql.split(";")[0].strip()


def wrap_sql(sql: str, table_id: str, skip_rows: Sequence[int] = ()) -> str:
    """`sql` over `t`, a CTE that adds a 1-based `row_id` to the stored table (minus `skip_rows`, 0-based)."""
    where = f" WHERE rowid NOT IN ({', '.join(str(int(r)) for r in skip_rows)})" if skip_rows else ""
    cte = f"t AS (SELECT CAST(rowid + 1 AS INTEGER) AS row_id, * FROM {table_id}{where})"
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
             few_shot: Sequence[tuple[str, str]] = FEW_SHOT, rows: int = 0, hints: bool = True) -> list[Message]:
    """System prompt, few-shot turns, then the table (schema, first `rows` rows, matches) and the question."""
    msgs = sql_prefix_messages(system, few_shot)[:-1]
    extra = "".join("\n" + h for h in question_hints(question)) if hints else ""
    schema = view.schema_text(question, rows=rows, totals=hints)
    msgs.append({"role": "user", "content": f"{schema}\nQuestion: {question}{extra}"})
    return msgs


def ask(llm: LLM, msgs: list[Message], temperature: float = 0.0, **kw: Any) -> str | None:
    """The model's reply (greedy by default), or None when the prompt is longer than its context window."""
    try:
        return llm.complete(msgs, temperature=temperature, **kw)
    except ValueError as exc:  # llama.cpp: "Requested tokens (...) exceed context window"
        log.warning("prompt too long for %s: %s", llm.name, exc)
        return None


def _run(db: TableDB, view: TableView, sql: str, skip_rows: Sequence[int] = ()) -> tuple[list[str], QueryResult]:
    res = db.query(wrap_sql(sql, view.info.table_id, skip_rows))
    return answer_values(res, view), res


def _run_or_group(db: TableDB, view: TableView, sql: str) -> tuple[str, list[str], QueryResult]:
    """(sql, values, result) of `sql`, or of `sql` with the GROUP BY its aggregate lacks (`grouped_sql`)
    when DuckDB refuses it for that; the first error is raised when neither runs."""
    try:
        return (sql, *_run(db, view, sql))
    except SQLError as exc:
        fixed = grouped_sql(sql, str(exc))
        if fixed is None:
            raise
        try:
            values, res = _run(db, view, fixed)
        except SQLError:
            raise exc from None
        log.debug("grouped %s -> %s", sql, fixed)
        return fixed, values, res


def _repaired(db: TableDB, view: TableView, question: str, sql: str,
              values: list[str]) -> tuple[list[str], QueryResult] | None:
    """The first repair of a doubtful result (see `repair.repairs`) that runs and gives a clean answer."""
    for fixed, skip in repairs(question, sql, values, view):
        try:
            new, res = _run(db, view, fixed, skip)
        except SQLError:
            continue
        if new and complaint(question, new, fixed) is None:
            log.debug("repaired %s -> %s (skip %s)", sql, fixed, skip)
            return new, res
    return None


def sql_loop(llm: LLM, db: TableDB, view: TableView, question: str, ans: TableAnswer, max_attempts: int = 3,
             max_tokens: int = 160, msgs: list[Message] | None = None, check: bool = True) -> None:
    """Ask for SQL, run it, feed errors back, up to `max_attempts` queries. With `check`, a result
    that is likely wrong is first repaired (total rows, alphabetical comparisons), else sent back once
    per kind (empty, wrong kind of answer); a result that was complained about is kept when no later
    query does better. Without `check`, only an empty result is sent back (once)."""
    msgs = msgs or messages(view, question)
    complained: set[str] = set()
    fallback: tuple[list[str], str, QueryResult] | None = None
    while ans.attempts < max_attempts:
        ans.attempts += 1
        reply = ask(llm, msgs, max_tokens=max_tokens, stop=[";", "\n\n"])
        if reply is None or not _START.search(reply):  # prose instead of SQL: retrying rarely helps
            ans.error = "the prompt does not fit the model's context window" if reply is None else \
                f"no SQL in the reply: {reply[:80]!r}"
            break
        sql = ans.sql = extract_sql(reply)
        try:
            sql, values, res = _run_or_group(db, view, sql)
            ans.sql = sql
        except SQLError as exc:
            ans.error = str(exc)[:300]
            log.debug("attempt %d failed: %s | %s", ans.attempts, sql, ans.error)
            msgs += [{"role": "assistant", "content": sql},
                     {"role": "user", "content": f"The query failed: {ans.error}\nReply with the corrected SQL only."}]
            continue
        ans.rows, ans.error = res.rows[:50], None
        problem = complaint(question, values, sql) if check else (None if values else ("empty", EMPTY))
        if problem and check and (fixed := _repaired(db, view, question, sql, values)):
            (values, res), problem = fixed, None
            ans.rows, ans.method = res.rows[:50], TableQAMethod.REPAIR
        if problem is None or problem[0] in complained:
            ans.answer = values
            return
        complained.add(problem[0])
        fallback = (values, sql, res) if values else fallback
        msgs += [{"role": "assistant", "content": sql}, {"role": "user", "content": problem[1]}]
    if fallback and not ans.answer:
        ans.answer, ans.sql, ans.rows, ans.error = fallback[0], fallback[1], fallback[2].rows[:50], None


def _key(values: Sequence[str]) -> frozenset[str]:
    """Answers compared as sets of lower-cased values (the order of a list does not matter)."""
    return frozenset(" ".join(v.lower().split()) for v in values)


def _vote(llm: LLM, db: TableDB, view: TableView, msgs: list[Message], ans: TableAnswer, k: int,
          max_tokens: int, temperature: float) -> None:
    """Self-consistency: add k sampled queries, keep the answer most of them give (ties: greedy's).

    Queries that fail or return nothing do not vote; when the greedy query gave nothing, the
    samples alone decide (so voting doubles as a retry)."""
    counts: Counter[frozenset[str]] = Counter()
    first: dict[frozenset[str], tuple[list[str], str, QueryResult]] = {}
    if ans.answer:
        counts[_key(ans.answer)] += 1
    for i in range(k):
        reply = ask(llm, msgs, max_tokens=max_tokens, stop=[";", "\n\n"], temperature=temperature, seed=1000 + i)
        if reply is None:
            break
        sql = extract_sql(reply)
        try:
            sql, values, res = _run_or_group(db, view, sql)
        except SQLError:
            continue
        if values:
            counts[_key(values)] += 1
            first.setdefault(_key(values), (values, sql, res))
    shown = {k_: v[0] for k_, v in first.items()}
    if ans.answer:
        shown.setdefault(_key(ans.answer), ans.answer)
    ans.votes = [(list(shown[k_]), n) for k_, n in counts.most_common(8)]
    if not counts:
        return
    best, n = counts.most_common(1)[0]
    if not ans.answer or (n > counts[_key(ans.answer)] and best in first):
        values, sql, res = first[best]
        ans.answer, ans.sql, ans.rows, ans.error, ans.method = values, sql, res.rows[:50], None, TableQAMethod.VOTE


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
                          read_fallback_rows: int = 20, prompt_rows: int = 0, hints: bool = True,
                          drop_named: bool = True, check_answers: bool = True) -> TableAnswer:
    """Answer `question` from one of `tables` (ids in `db`) with model-written SQL.

    The prompt shows typed columns with example values, or the first `prompt_rows` rows when > 0;
    `hints` adds row-order/total-row notes the question calls for. candidates > 1 adds that many - 1
    sampled queries and votes (self-consistency); tables of at most `read_fallback_rows` rows are
    read directly when no query gives an answer; `drop_named` removes the question's own entities
    from a list answer; `check_answers` sends back, once, a result of the wrong kind (text for
    'how many', a number for 'who').
    """
    if not tables:
        raise BadQueryError("no tables given: pass at least one table id")
    t0 = time.perf_counter()
    tid = pick_table(question, db, tables)
    view = TableView.load(db, tid)
    ans = TableAnswer(answer=[], table_id=tid)
    msgs = messages(view, question, rows=prompt_rows, hints=hints)
    prime(llm, sql_prefix_messages())  # the worked examples' state, from RAM or disk when read before
    sql_loop(llm, db, view, question, ans, max_attempts, max_tokens, msgs=list(msgs), check=check_answers)
    ans.first_answer = list(ans.answer)
    if candidates > 1:
        _vote(llm, db, view, msgs, ans, candidates - 1, max_tokens, temperature)
    if not ans.answer and 0 < len(view.raw) <= read_fallback_rows:
        ans.answer, ans.method = read_directly(llm, view, question, read_fallback_rows), TableQAMethod.READ
    if drop_named:
        ans.answer = drop_mentioned(question, ans.answer)
    if not ans.answer:
        ans.method = TableQAMethod.NONE
    ans.seconds = time.perf_counter() - t0
    return ans
