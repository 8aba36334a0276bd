"""`mmrag eval tabfact`: TabFact statement verification (entailed / refuted) with model-written SQL.

Each statement is checked against its own table (with the table's caption). The model writes a
query whose first value is true when the table supports the statement; with `samples` > 0 more
queries are sampled, and with `read` the model also reads a small table directly. Every check
that gives true/false is a vote; the statement is entailed when the share of true votes is at
least `threshold` (SQL checks err towards false: a literal that misses its cell gives no row, so
a threshold below one half calibrates them). Subsets: the standard small_test / simple_test /
complex_test / test, and `dev`, a fixed random sample (seed 0) of the test statements whose
tables are not in small_test, used for tuning.
"""
from __future__ import annotations

import json
import logging
import random
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import ConfigError
from . import evalpack_dir, register_eval

log = logging.getLogger(__name__)
SUBSETS = {"small_test": "small_test_id.json", "test": "test_id.json", "simple_test": "simple_test_id.json",
           "complex_test": "complex_test_id.json", "dev": None}
SYSTEM = (
    "You check a statement against a table by writing one DuckDB SQL query whose result is true if the "
    "table supports the statement and false otherwise. The table is named t; row_id is the row order. "
    "Quote column names with double quotes and compare text with the exact values shown (statements may "
    "use singular forms: 'united state' is the cell 'united states'). Reply with the SQL only."
)
READ = "Do not write SQL now: reading the table above, is the statement true or false? Reply with one word."


def _ex(columns: str, statement: str, matches: str) -> str:
    return f'Columns of t:\n"row_id" INTEGER\n{columns}\nValues matching the question: {matches}\nQuestion: {statement}'


# Hand-written examples (lower-cased, with 'be' for verbs, like TabFact statements; not from the data set).
FEW_SHOT = [
    (_ex('"team" VARCHAR: \'rovers\', \'city\', \'athletic\'\n"points" BIGINT: 40, 38, 31',
         "rovers score more point than athletic", '"team": \'rovers\'; "team": \'athletic\''),
     'SELECT (SELECT "points" FROM t WHERE "team" = \'rovers\') > (SELECT "points" FROM t WHERE "team" = \'athletic\')'),
    (_ex('"player" VARCHAR: \'j ortiz\', \'p laine\'\n"nationality" VARCHAR: \'canada\', \'finland\'',
         "there be 3 player from canada", '"nationality": \'canada\''),
     'SELECT COUNT(*) = 3 FROM t WHERE "nationality" = \'canada\''),
    (_ex('"rank" BIGINT: 1, 2, 3\n"athlete" VARCHAR: \'mia berg\', \'ana lotz\'',
         "mia berg finish in first place", '"athlete": \'mia berg\''),
     'SELECT COUNT(*) > 0 FROM t WHERE "athlete" = \'mia berg\' AND "rank" = 1'),
    (_ex('"date" VARCHAR: \'march 5\', \'march 12\'\n"opponent" VARCHAR: \'city\', \'rovers\'\n'
         '"attendance" BIGINT: 5120, 7300', "the highest attendance be at the game against city", '"opponent": \'city\''),
     'SELECT "opponent" = \'city\' FROM t ORDER BY "attendance" DESC LIMIT 1'),
]


@dataclass
class Verdict:
    """The votes cast on one statement and the resulting decision."""

    entailed: bool
    votes: list[tuple[str, bool]] = field(default_factory=list)  # (method: sql | sample | read, verdict)
    sql: str | None = None

    @property
    def method(self) -> str:
        return "+".join(sorted({m for m, _ in self.votes})) or "none"


def _truth(values: list[str]) -> bool | None:
    if not values:
        return None
    v = values[0].strip().lower()
    if v in ("true", "yes", "1", "entailed"):
        return True
    if v in ("false", "no", "0", "refuted"):
        return False
    return None


def decide(votes: list[tuple[str, bool]], threshold: float = 0.5) -> bool:
    """Entailed when the share of true votes reaches `threshold` (no votes: refuted)."""
    return bool(votes) and sum(v for _, v in votes) / len(votes) >= threshold


def _read_vote(llm: Any, view: Any, msgs: list[dict], statement: str) -> bool | None:
    from ..tables.qa import ask
    table = view.markdown(60)
    if len(table) > max(llm.n_ctx - 1600, 0) * 2.5:  # too long to read whole
        return None
    msgs = msgs[:-1] + [{"role": "user", "content": f"{table}\n\nStatement: {statement}\n{READ}"}]
    reply = (ask(llm, msgs, max_tokens=4) or "").strip().lower()
    return True if reply.startswith(("true", "yes")) else False if reply.startswith(("false", "no")) else None


def verify_statement(statement: str, table_id: str, llm: Any, db: Any, caption: str = "", max_attempts: int = 2,
                     samples: int = 0, read: str = "fallback", threshold: float = 0.5,
                     temperature: float = 0.7) -> Verdict:
    """Votes of the greedy SQL check, `samples` sampled checks and (read='always', or 'fallback' when no
    query gave a verdict) the model reading the table; entailed when true votes reach `threshold`."""
    from ..tables.context import TableView
    from ..tables.qa import SQLError, TableAnswer, _run, ask, extract_sql, messages, sql_loop
    view = TableView.load(db, table_id)
    msgs = messages(view, statement, SYSTEM, FEW_SHOT, hints=False)
    if caption:
        msgs[-1]["content"] = f"Table caption: {caption}\n" + msgs[-1]["content"]
    ans = TableAnswer(answer=[], table_id=table_id)
    sql_loop(llm, db, view, statement, ans, max_attempts=max_attempts, msgs=list(msgs), check=False)
    out = Verdict(False, sql=ans.sql)
    if (v := _truth(ans.answer)) is not None:
        out.votes.append(("sql", v))
    for i in range(samples):
        reply = ask(llm, msgs, max_tokens=160, temperature=temperature, stop=[";", "\n\n"], seed=1000 + i)
        try:
            values, _ = _run(db, view, extract_sql(reply or ""))
        except SQLError:
            continue
        if (v := _truth(values)) is not None:
            out.votes.append(("sample", v))
    if read == "always" or (read == "fallback" and not out.votes):
        if (v := _read_vote(llm, view, msgs, statement)) is not None:
            out.votes.append(("read", v))
    out.entailed = decide(out.votes, threshold)
    return out


def load_statements(subset: str = "small_test", limit: int | None = None) -> list[tuple[str, str, int, str]]:
    """(table file, statement, label, caption) in subset order (`dev`: shuffled with seed 0)."""
    if subset not in SUBSETS:
        raise ConfigError(f"unknown TabFact subset {subset!r}; valid: {sorted(SUBSETS)}")
    base = evalpack_dir() / "tables" / "tabfact"
    examples = json.loads((base / "test_examples.json").read_text())
    if subset == "dev":
        small = set(json.loads((base / SUBSETS["small_test"]).read_text()))
        ids = [t for t in json.loads((base / SUBSETS["test"]).read_text()) if t not in small]
    else:
        ids = json.loads((base / SUBSETS[subset]).read_text())
    out = [(t, s, int(lab), examples[t][2]) for t in ids for s, lab in zip(examples[t][0], examples[t][1])]
    if subset == "dev":
        random.Random(0).shuffle(out)
    return out[:limit] if limit is not None else out


def _load_tables(db: Any, names: set[str]) -> dict[str, str]:
    from ..tables import read_tabfact_table
    ids = {}
    with open(evalpack_dir() / "tables" / "tabfact" / "tables.jsonl", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            name = rec["path"].rsplit("/", 1)[-1]
            if name in names:
                ids[name] = db.add_rows(*read_tabfact_table(rec["csv"]), source=f"tabfact:{name}")
    return ids


@register_eval("tabfact")
def run_tabfact(split: str = "small_test", limit: int | None = 300, model: str | None = None,
                n_ctx: int = 4096, threads: int | None = None, predictions: str | None = None, subset: str | None = None,
                library: str | None = None, **options: Any) -> dict[str, Any]:
    """Accuracy of entailed/refuted verdicts on the first `limit` statements of a TabFact subset
    (`split`, or its alias `subset`); `options` go to `verify_statement`; `library` is ignored."""
    from ..generate import load_llm
    from ..tables import TableDB
    subset = subset or split
    items = load_statements(subset, limit)
    llm = load_llm(model, n_ctx=n_ctx, n_threads=threads)
    correct, said_true, methods = 0, 0, {}
    with tempfile.TemporaryDirectory(prefix="mmrag-tabfact-") as tmp, ExitStack() as stack:
        db = stack.enter_context(TableDB(Path(tmp) / "tf.duckdb"))
        ids = _load_tables(db, {t for t, _, _, _ in items})
        out = stack.enter_context(open(predictions, "w", encoding="utf-8")) if predictions else None
        t0 = time.perf_counter()
        for i, (table, statement, label, caption) in enumerate(tqdm(items, desc=f"tabfact {subset}",
                                                                    disable=None), 1):
            v = verify_statement(statement, ids[table], llm, db, caption=caption, **options)
            correct, said_true = correct + (v.entailed == bool(label)), said_true + v.entailed
            methods[v.method] = methods.get(v.method, 0) + 1
            if out:
                out.write(json.dumps({"table": table, "statement": statement, "label": label,
                                      "verdict": v.entailed, "votes": v.votes, "sql": v.sql}) + "\n")
                out.flush()
            if i % 25 == 0:
                log.info("tabfact %s: %d/%d, accuracy %.3f", subset, i, len(items), correct / i)
        seconds = time.perf_counter() - t0
    n = len(items)
    return {"eval": "tabfact", "subset": subset, "n": n, "accuracy": correct / n if n else 0.0, "correct": correct,
            "seconds_per_question": seconds / n if n else 0.0, "methods": methods, "model": llm.name,
            "positives": sum(lab for _, _, lab, _ in items), "predicted_true": said_true, "options": options}
