"""`mmrag eval wtq`: WikiTableQuestions denotation accuracy of the table QA engine.

Each question is asked against its own table (loaded from the evalpack with WTQ's CSV dialect
into a temporary DuckDB file). Scoring follows the official evaluator (see `wtq_metric`); on the
test split the target numbers/dates come from `targetCanon` in test.tagged.
"""
from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from . import evalpack_dir, register_eval
from .wtq_metric import approx_canon, is_correct, tsv_unescape, tsv_unescape_list

log = logging.getLogger(__name__)
SPLITS = {"test": "test.tagged", "train": "train.tsv"}
TABLE_FILES = ("tables_test.jsonl", "tables_train_part1.jsonl", "tables_train_part2.jsonl")


@dataclass
class WTQExample:
    id: str
    question: str
    context: str  # the table's csv path
    targets: list[str]
    canons: list[str] | None


def load_examples(split: str = "test", limit: int | None = None, offset: int = 0) -> list[WTQExample]:
    """Questions of a split, in file order (test: with targetCanon from test.tagged)."""
    if split not in SPLITS:
        raise ValueError(f"unknown WTQ split {split!r}; valid: {sorted(SPLITS)}")
    lines = (evalpack_dir() / "tables" / "wtq" / SPLITS[split]).read_text(encoding="utf-8").split("\n")
    header = lines[0].split("\t")
    out = []
    for line in lines[1 + offset:]:
        if not line:
            continue
        f = dict(zip(header, line.split("\t")))
        targets = tsv_unescape_list(f["targetValue"])
        canons = tsv_unescape_list(f["targetCanon"]) if "targetCanon" in f else [approx_canon(t) for t in targets]
        out.append(WTQExample(f["id"], tsv_unescape(f["utterance"]), f["context"], targets, canons))
        if limit is not None and len(out) >= limit:
            break
    return out


def load_tables(paths: Iterable[str]) -> dict[str, str]:
    """Raw CSV text of the named WTQ tables."""
    want, found = set(paths), {}
    for name in TABLE_FILES:
        with open(evalpack_dir() / "tables" / "wtq" / name, encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                if rec["path"] in want:
                    found[rec["path"]] = rec["csv"]
    missing = want - set(found)
    if missing:
        raise FileNotFoundError(f"{len(missing)} WTQ tables missing from the evalpack, e.g. {sorted(missing)[:3]}")
    return found


def build_db(examples: list[WTQExample], path: Path) -> tuple[Any, dict[str, str]]:
    """A TableDB with each example's table; returns it and context -> table id."""
    from ..tables import TableDB, read_wtq_csv
    db = TableDB(path)
    ids = {}
    for ctx, text in load_tables({e.context for e in examples}).items():
        header, rows = read_wtq_csv(text)
        ids[ctx] = db.add_rows(header, rows, source=f"wtq:{ctx}")
    return db, ids


@register_eval("wtq")
def run_wtq(split: str = "test", limit: int | None = None, offset: int = 0, model: str | None = None,
            n_ctx: int = 4096, threads: int | None = None, predictions: str | None = None,
            **qa_options: Any) -> dict[str, Any]:
    """Denotation accuracy on a WTQ split; `qa_options` go to `answer_table_question`."""
    from ..generate import load_llm
    from ..tables import answer_table_question
    examples = load_examples(split, limit, offset)
    llm = load_llm(model, n_ctx=n_ctx, n_threads=threads)
    methods: dict[str, int] = {}
    correct = errors = 0
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mmrag-wtq-") as tmp:
        db, ids = build_db(examples, Path(tmp) / "wtq.duckdb")
        out = open(predictions, "w", encoding="utf-8") if predictions else None
        try:
            for i, ex in enumerate(examples, 1):
                ans = answer_table_question(ex.question, [ids[ex.context]], llm, db, **qa_options)
                ok = is_correct(ans.answer, ex.targets, ex.canons)
                correct += ok
                errors += ans.error is not None
                methods[ans.method] = methods.get(ans.method, 0) + 1
                if out:
                    out.write(json.dumps({"id": ex.id, "question": ex.question, "targets": ex.targets, "correct": ok,
                                          **asdict(ans), "rows": [list(map(str, r)) for r in ans.rows[:5]]}) + "\n")
                    out.flush()
                if i % 25 == 0 or i == len(examples):
                    log.info("wtq %s: %d/%d, accuracy %.3f", split, i, len(examples), correct / i)
        finally:
            if out:
                out.close()
            db.close()
    n = len(examples)
    seconds = time.perf_counter() - t_start
    return {"eval": "wtq", "split": split, "n": n, "offset": offset, "accuracy": correct / n if n else 0.0,
            "correct": correct, "seconds_per_question": seconds / n if n else 0.0, "sql_errors": errors,
            "methods": methods, "model": llm.name, "options": qa_options,
            "prompt_tokens": llm.usage.prompt_tokens, "completion_tokens": llm.usage.completion_tokens}
