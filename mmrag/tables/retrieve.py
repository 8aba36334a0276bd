"""Find the table a question is about with the library's own retrieval over table records.

The records are the ones ingestion writes (`mmrag.tables.records.table_records`: a table-level
record, row groups, one distinct-values record per column), so the same code ranks tables for
`mmrag eval wtq --retrieve` and for questions asked of a library. Tables are ranked by their
best record in the library's default search (dense + BM25, adaptive fusion; record level: an Excel
file's sheets stay separate tables).
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from tqdm import tqdm

from ..core import Collection, HasCollection, as_collection
from ..kinds import Modality
from ..retrieval import search
from .db import TableDB
from .records import table_records

log = logging.getLogger(__name__)
SEARCH_DEPTH = 50  # records fetched per question before grouping them by table


def index_tables(lib: Collection | HasCollection, db: TableDB, tables: Mapping[str, str], row_limit: int = 2000,
                 batch: int = 512) -> int:
    """Add the records of `tables` (source label -> table id in `db`) to `lib`; returns how many."""
    lib = as_collection(lib)
    pending, n = [], 0
    for source, tid in tqdm(tables.items(), desc="index tables", unit="table", disable=None):
        for rec in table_records(db, tid, "table", row_limit):
            rec.source = source
            pending.append(rec.with_uid(tid))
        if len(pending) >= batch:
            n += len(lib.add_records(pending))
            pending = []
    if pending:
        n += len(lib.add_records(pending))
    lib.flush()
    return n


def rank_tables(lib: Collection | HasCollection, question: str, k: int = 5, **search_options: Any) -> list[str]:
    """Ids of the `k` tables whose records best match `question`, best first."""
    opts = {"modality": Modality.TABLE, **search_options}
    hits = search(as_collection(lib), question, k=SEARCH_DEPTH, **opts)
    ranked: list[str] = []
    for hit in hits:
        tid = hit.record.locator.get("table")
        if tid and tid not in ranked:
            ranked.append(tid)
            if len(ranked) == k:
                break
    return ranked
