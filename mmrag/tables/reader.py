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
from ..core.config import LibraryConfig
from ..core.readers import Document, ReadContext, register_reader
from ..errors import IngestError, SQLError, TableFileError
from ..kinds import Modality
from ..records import Record
from .db import TableDB
from .load import Limits
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


@hooks.on_relocated
def _relocate_tables(collection: Any, old: str, new: str) -> None:
    path = Path(collection.root) / TABLES_FILE
    if path.is_file():
        with TableDB(path) as db:
            db.move_sources(old, new)


@hooks.register_sweeper("tables")
def sweep_tables(collection: Any, dry_run: bool) -> list[str]:
    """Tables in tables.duckdb that no committed record names (a crash before the commit, or the old
    tables of a file ingested again), and halves of tables a crash left."""
    path = Path(collection.root) / TABLES_FILE
    if not path.is_file():
        return []
    keep = collection.store.referenced("table", Modality.TABLE)
    with TableDB(path, read_only=dry_run) as db:
        return db.sweep(keep, dry_run)


def limits_of(config: LibraryConfig) -> Limits:
    return Limits(max_cell_chars=config.max_cell_chars, max_rows=config.max_table_rows,
                  max_unzipped_mb=config.max_unzipped_mb, max_line_chars=config.max_line_chars)


@register_reader(TABLE_EXTS, Modality.TABLE, streamed=True, max_mb_field="max_table_mb")
def read_table(path: Path, data: bytes, ctx: ReadContext) -> Document:
    """Streamed: `data` is b""; the file is read in chunks straight into DuckDB (`TableDB.add_file`).

    The tables get new ids (the content's sha256 is part of them): the old tables of a file ingested
    again stay whole until the commit replaces the records that name them, then they are swept. The
    DuckDB file is closed after each file, so other processes (the app's table questions) can read it."""
    _check_not_empty(path)
    db = _db(ctx)
    try:
        table_ids = db.add_file(path, version=ctx.sha256, limits=limits_of(ctx.config))
        row_limit = getattr(ctx.config, "table_row_records", ROW_RECORD_LIMIT)
        records: list[Record] = []
        for tid in table_ids:
            sheet = db.info(tid).sheet
            records += table_records(db, tid, f"{path.name}" + (f" sheet {sheet}" if sheet else ""), row_limit)
    except (TableFileError, UnicodeDecodeError, ValueError) as exc:
        raise IngestError(f"unreadable table ({exc})") from exc
    except SQLError as exc:  # e.g. a timeout on a huge table: this file fails, the run goes on
        raise IngestError(f"table stored but its records could not be built ({exc})") from exc
    finally:
        db.close()
    return Document(Modality.TABLE, records=records)


@hooks.register_missing("tables")
def missing_tables(collection: Any) -> dict[str, str]:
    """Sources whose records name a table that tables.duckdb no longer holds."""
    keep = collection.store.referenced("table", Modality.TABLE)
    if not keep:
        return {}
    path = Path(collection.root) / TABLES_FILE
    present = set()
    if path.is_file():
        with TableDB(path, read_only=True) as db:
            present = db.whole_tables()
    gone = keep - present
    return {src: f"its table {tid} is missing from {TABLES_FILE}"
            for src, tid in collection.store.sources_referencing("table", gone, Modality.TABLE).items()}
