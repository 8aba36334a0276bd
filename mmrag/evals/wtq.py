"""`mmrag eval wtq`: WikiTableQuestions denotation accuracy of the table QA engine.

Each question is asked against its own table (loaded from the evalpack with WTQ's CSV dialect
into a temporary DuckDB file). With `retrieve`, each question is asked against the whole set of
tables of the evaluated examples instead: their records (as ingestion writes them) go into a
temporary library, `mmrag.tables.retrieve.rank_tables` picks the top `retrieve_k` tables, and the
table-retrieval R@1/R@5/MRR of the gold table is reported too. Scoring follows the official
evaluator (see `wtq_metric`); on the test split the target numbers/dates come from `targetCanon`
in test.tagged.
"""
from __future__ import annotations

import json
import logging
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, TextIO

from tqdm import tqdm

from ..errors import ConfigError, DataMissingError, UnknownNameError
from . import evalpack_dir, register_eval
from .metrics import first_rank, ranking_metrics
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
        raise ConfigError(f"unknown WTQ split {split!r}; valid: {sorted(SPLITS)}")
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
        raise DataMissingError(f"{len(missing)} WTQ tables missing from the evalpack, e.g. {sorted(missing)[:3]}")
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


class TableRetriever:
    """The tables of an eval run in a temporary library; ranks them per question and keeps the gold ranks."""

    def __init__(self, db: Any, ids: dict[str, str], root: Path, encoder: str, k: int) -> None:
        from ..core import LibraryConfig, SpaceConfig
        from ..library import Library
        from ..tables.retrieve import index_tables
        cfg = LibraryConfig(spaces={"text": SpaceConfig(encoder=encoder, modalities=["text", "table"])})
        self.lib = Library(root, config=cfg)
        self.k = k
        self.ranks: list[int | None] = []
        t0 = time.perf_counter()
        self.n_records = index_tables(self.lib, db, {f"wtq:{c}": t for c, t in ids.items()})
        self.index_seconds = time.perf_counter() - t0

    def tables_for(self, question: str, gold: str) -> list[str]:
        from ..tables.retrieve import rank_tables
        ranked = rank_tables(self.lib, question, k=max(self.k, 10))
        self.ranks.append(first_rank(ranked, gold))
        return ranked[:self.k] or [gold]  # nothing retrieved (no matching word): fall back to asking anything

    def metrics(self) -> dict[str, Any]:
        return {**ranking_metrics(self.ranks, (1, 5)), "records": self.n_records,
                "index_seconds": round(self.index_seconds, 1)}

    def close(self) -> None:
        self.lib.close()


def _record(out: TextIO | None, ex: WTQExample, ans: Any, ok: bool) -> None:
    if out:
        out.write(json.dumps({"id": ex.id, "question": ex.question, "targets": ex.targets, "correct": ok,
                              **asdict(ans), "rows": [list(map(str, r)) for r in ans.rows[:5]]}) + "\n")
        out.flush()


def _ask_all(examples: list[WTQExample], ids: dict[str, str], llm: Any, db: Any, retriever: TableRetriever | None,
             out: TextIO | None, qa_options: dict[str, Any]) -> dict[str, Any]:
    """Ask every question; accuracy, errors and methods."""
    from ..tables import answer_table_question
    methods: dict[str, int] = {}
    correct = errors = 0
    for i, ex in enumerate(tqdm(examples, desc="wtq", unit="q", disable=None), 1):
        tables = retriever.tables_for(ex.question, ids[ex.context]) if retriever else [ids[ex.context]]
        ans = answer_table_question(ex.question, tables, llm, db, **qa_options)
        ok = is_correct(ans.answer, ex.targets, ex.canons)
        correct, errors = correct + ok, errors + (ans.error is not None)
        methods[ans.method] = methods.get(ans.method, 0) + 1
        _record(out, ex, ans, ok)
        if i % 25 == 0 or i == len(examples):
            log.info("wtq: %d/%d, accuracy %.3f", i, len(examples), correct / i)
    n = len(examples)
    return {"n": n, "accuracy": correct / n if n else 0.0, "correct": correct, "sql_errors": errors, "methods": methods}


@register_eval("wtq")
def run_wtq(split: str = "test", limit: int | None = None, offset: int = 0, model: str | None = None,
            n_ctx: int = 4096, threads: int | None = None, predictions: str | None = None,
            retrieve: bool = False, retrieve_k: int = 1, encoder: str = "minilm", table_pool: int | None = None,
            library: str | None = None, **qa_options: Any) -> dict[str, Any]:
    """Denotation accuracy on a WTQ split; `qa_options` go to `answer_table_question`.

    With `retrieve`, questions are asked against the top `retrieve_k` tables retrieved from all
    the tables of the evaluated examples (R@1 of the gold table is reported as `table_retrieval`);
    `table_pool` widens that set to the tables of the first `table_pool` examples (so a short run
    searches as many tables as a long one). `library` is ignored: the eval builds its own
    temporary table store and library.
    """
    from ..generate import load_llm
    pool = load_examples(split, None if limit is None else max(limit, table_pool or 0), offset)
    examples = pool if limit is None else pool[:limit]
    llm = load_llm(model, n_ctx=n_ctx, n_threads=threads)
    with tempfile.TemporaryDirectory(prefix="mmrag-wtq-") as tmp, ExitStack() as stack:
        db, ids = build_db(pool, Path(tmp) / "wtq.duckdb")
        stack.callback(db.close)
        retriever = TableRetriever(db, ids, Path(tmp) / "lib", encoder, retrieve_k) if retrieve else None
        if retriever:
            stack.callback(retriever.close)
        out = stack.enter_context(open(predictions, "w", encoding="utf-8")) if predictions else None
        t_start = time.perf_counter()
        result = {"eval": "wtq", "split": split, "offset": offset,
                  **_ask_all(examples, ids, llm, db, retriever, out, qa_options)}
        result["seconds_per_question"] = (time.perf_counter() - t_start) / max(len(examples), 1)
        result.update(tables=len(ids), model=llm.name, threads=getattr(llm, "n_threads", None), options=qa_options,
                      prompt_tokens=llm.usage.prompt_tokens, completion_tokens=llm.usage.completion_tokens)
        if retriever:
            result.update(retrieve=True, retrieve_k=retrieve_k, encoder=encoder, table_retrieval=retriever.metrics())
    return result


RETRIEVAL_MODES: dict[str, dict[str, Any]] = {
    "bm25": {"retrievers": ["bm25"]},
    "dense": {"retrievers": ["dense"]},
    "default": {},  # exactly what `ask` and `rank_tables` use with no options (adaptive fusion)
    "rrf": {"fusion": "rrf"},
    "default-grouped": {"group_by_source": True},
}


@register_eval("wtq-retrieval")
def run_wtq_retrieval(split: str = "test", limit: int | None = None, offset: int = 0, encoder: str = "minilm",
                      modes: list[str] | None = None) -> dict[str, Any]:
    """Table retrieval alone (no model): R@1/R@5/MRR of each question's table among all the examples' tables."""
    from ..tables.retrieve import rank_tables
    if bad := [m for m in modes or [] if m not in RETRIEVAL_MODES]:
        raise UnknownNameError("wtq-retrieval mode", bad[0], RETRIEVAL_MODES)
    examples = load_examples(split, limit, offset)
    with tempfile.TemporaryDirectory(prefix="mmrag-wtqr-") as tmp:
        db, ids = build_db(examples, Path(tmp) / "wtq.duckdb")
        retriever = TableRetriever(db, ids, Path(tmp) / "lib", encoder, 1)
        result: dict[str, Any] = {"eval": "wtq-retrieval", "split": split, "n": len(examples), "tables": len(ids),
                                  "records": retriever.n_records, "index_seconds": round(retriever.index_seconds, 1)}
        for mode in modes or list(RETRIEVAL_MODES):
            t0 = time.perf_counter()
            ranks = [first_rank(rank_tables(retriever.lib, ex.question, 10, **RETRIEVAL_MODES[mode]), ids[ex.context])
                     for ex in tqdm(examples, desc=mode, unit="q", disable=None)]
            ms = 1000 * (time.perf_counter() - t0) / max(len(examples), 1)
            result[mode] = {**ranking_metrics(ranks, (1, 5, 10)), "ms_per_question": round(ms, 1)}
        retriever.close()
        db.close()
    return result
