"""`mmrag eval tabfact`: TabFact statement verification (entailed / refuted) with model-written SQL.

The model writes one query whose first value is true when the table supports the statement;
when no query runs, a small table is read directly. Accuracy is over statements of a subset
(small_test by default), each checked against its own table.
"""
from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from . import evalpack_dir, register_eval

log = logging.getLogger(__name__)
SUBSETS = {"small_test": "small_test_id.json", "test": "test_id.json", "simple_test": "simple_test_id.json",
           "complex_test": "complex_test_id.json"}
SYSTEM = (
    "You check a statement against a table by writing one DuckDB SQL query whose result is true if the "
    "table supports the statement and false otherwise. The table is named t; row_id is the row order. "
    "Quote column names with double quotes and compare text with the exact values shown. Reply with the SQL only."
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


def _truth(values: list[str]) -> bool | None:
    if not values:
        return None
    v = values[0].strip().lower()
    if v in ("true", "yes", "1", "entailed"):
        return True
    if v in ("false", "no", "0", "refuted"):
        return False
    return None


def verify_statement(statement: str, table_id: str, llm: Any, db: Any, max_attempts: int = 2) -> tuple[bool, str]:
    """(verdict, method): the SQL check's verdict, else the model reading the table, else False."""
    from ..tables.context import TableView
    from ..tables.qa import TableAnswer, ask, messages, sql_loop
    view = TableView.load(db, table_id)
    ans = TableAnswer(answer=[], table_id=table_id)
    msgs = messages(view, statement, SYSTEM, FEW_SHOT)
    sql_loop(llm, db, view, statement, ans, max_attempts=max_attempts, msgs=msgs)
    verdict = _truth(ans.answer)
    if verdict is not None:
        return verdict, "sql"
    table = view.markdown(60)
    if len(table) > max(llm.n_ctx - 1600, 0) * 2.5:  # too long to read whole: say refuted
        return False, "none"
    msgs = msgs[:-1] + [{"role": "user", "content": f"{table}\n\nStatement: {statement}\n{READ}"}]
    reply = (ask(llm, msgs, max_tokens=4) or "").strip().lower()
    return reply.startswith(("true", "yes")), "read"


def load_statements(subset: str = "small_test", limit: int | None = None) -> list[tuple[str, str, int]]:
    """(table file, statement, label) in subset order."""
    if subset not in SUBSETS:
        raise ValueError(f"unknown TabFact subset {subset!r}; valid: {sorted(SUBSETS)}")
    base = evalpack_dir() / "tables" / "tabfact"
    ids = json.loads((base / SUBSETS[subset]).read_text())
    examples = json.loads((base / "test_examples.json").read_text())
    out = [(t, s, int(lab)) for t in ids for s, lab in zip(examples[t][0], examples[t][1])]
    return out[:limit] if limit is not None else out


@register_eval("tabfact")
def run_tabfact(limit: int | None = 300, subset: str = "small_test", model: str | None = None,
                threads: int | None = None, predictions: str | None = None) -> dict[str, Any]:
    """Accuracy of entailed/refuted verdicts on the first `limit` statements of a TabFact subset."""
    from ..generate import load_llm
    from ..tables import TableDB, read_tabfact_table
    items = load_statements(subset, limit)
    llm = load_llm(model, n_ctx=4096, n_threads=threads)
    want = {t for t, _, _ in items}
    correct, methods, t0 = 0, {"sql": 0, "read": 0, "none": 0}, time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mmrag-tabfact-") as tmp, TableDB(Path(tmp) / "tf.duckdb") as db:
        ids = {}
        with open(evalpack_dir() / "tables" / "tabfact" / "tables.jsonl", encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                name = rec["path"].rsplit("/", 1)[-1]
                if name in want:
                    ids[name] = db.add_rows(*read_tabfact_table(rec["csv"]), source=f"tabfact:{name}")
        out = open(predictions, "w", encoding="utf-8") if predictions else None
        for i, (table, statement, label) in enumerate(items, 1):
            verdict, method = verify_statement(statement, ids[table], llm, db)
            correct += verdict == bool(label)
            methods[method] += 1
            if out:
                out.write(json.dumps({"table": table, "statement": statement, "label": label, "verdict": verdict,
                                      "method": method}) + "\n")
                out.flush()
            if i % 25 == 0:
                log.info("tabfact %s: %d/%d, accuracy %.3f", subset, i, len(items), correct / i)
        if out:
            out.close()
    n = len(items)
    return {"eval": "tabfact", "subset": subset, "n": n, "accuracy": correct / n if n else 0.0, "correct": correct,
            "seconds_per_statement": (time.perf_counter() - t0) / n if n else 0.0, "methods": methods,
            "model": llm.name, "positives": sum(lab for _, _, lab in items)}
