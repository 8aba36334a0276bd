"""Table files (CSV/TSV, Excel, Parquet, JSON Lines) into the library's DuckDB file and records.

Each table (Excel: each sheet) is stored in `<library>/tables.duckdb` (raw and typed copies, stable
id) and described by the records of `mmrag.tables.records` (`table_row_records` rows in library.json).
Re-ingesting a file first drops its old tables (a sheet that disappeared goes too); removing a source
drops them (a source-removed hook).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..core import hooks
from ..core.readers import Document, ReadContext, register_reader
from ..errors import IngestError, SQLError, TableFileError
from ..kinds import Modality
from ..records import Record
from .db import TableDB
from .records import ROW_RECORD_LIMIT, table_records

log = logging.getLogger(__name__)
TABLE_EXTS = (".csv", ".tsv", ".tab", ".xlsx", ".xlsm", ".parquet", ".jsonl", ".ndjson")
TABLES_FILE = "tables.duckdb"


def _db(ctx: ReadContext) -> TableDB:
    if "tabledb" not in ctx.tools:
        ctx.tools["tabledb"] = TableDB(Path(ctx.root) / TABLES_FILE)
    return ctx.tools["tabledb"]


def drop_source_tables(root: str | Path, source: str) -> list[str]:
    """Drop the DuckDB tables loaded from `source` in the library at `root` (ids dropped)."""
    path = Path(root) / TABLES_FILE
    if not path.is_file():
        return []
    with TableDB(path) as db:
        return db.drop_source(source)


def _check_not_empty(path: Path) -> None:
    """Refuse a 0-byte or whitespace-only file (reading at most its first 64 KiB)."""
    size = path.stat().st_size
    if size == 0:
        raise IngestError("empty table file (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if size <= len(head) and head.isspace():
        raise IngestError("empty table file (only whitespace)")


@hooks.on_source_removed
def _drop_tables(collection: Any, source: str, sha256: str | None) -> None:
    drop_source_tables(collection.root, source)


@register_reader(TABLE_EXTS, Modality.TABLE, streamed=True, max_mb_field="max_table_mb")
def read_table(path: Path, data: bytes, ctx: ReadContext) -> Document:
    """Streamed: `data` is b""; the file is read in chunks straight into DuckDB (`TableDB.add_file`)."""
    _check_not_empty(path)
    db = _db(ctx)
    db.drop_source(str(path.resolve()))  # a re-ingested file replaces all of its old tables
    try:
        table_ids = db.add_file(path)
    except (TableFileError, UnicodeDecodeError, ValueError) as exc:
        raise IngestError(f"unreadable table ({exc})") from exc
    row_limit = getattr(ctx.config, "table_row_records", ROW_RECORD_LIMIT)
    records: list[Record] = []
    try:
        for tid in table_ids:
            sheet = db.info(tid).sheet
            records += table_records(db, tid, f"{path.name}" + (f" sheet {sheet}" if sheet else ""), row_limit)
    except SQLError as exc:  # e.g. a timeout on a huge table: this file fails, the run goes on
        db.drop_source(str(path.resolve()))
        raise IngestError(f"table stored but its records could not be built ({exc})") from exc
    return Document(Modality.TABLE, records=records)
