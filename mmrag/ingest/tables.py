"""Table files (CSV/TSV, Excel, Parquet, JSON Lines) into the library's DuckDB file and records.

Each table (Excel: each sheet) is stored in `<library>/tables.duckdb` (raw and typed copies, stable
id) and described by records in the text space and FTS5: one table-level record (file, sheet,
columns with inferred types, sample rows), row-group records ("column: value; ..." for a few rows,
locator {"table", "rows"}) for the first `table_row_records` rows (library.json; -1 = every row,
read in batches), and one distinct-values record per column so a question's entity ("Italy") finds
the table that holds it (TableRAG's cell index). Re-ingesting a file first drops its old tables
(a sheet that disappeared goes too); removing a source drops them via `drop_source_tables`.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator

from ..records import Record
from .readers import Document, IngestError, ReadContext, register_reader

log = logging.getLogger(__name__)
TABLE_EXTS = (".csv", ".tsv", ".tab", ".xlsx", ".xlsm", ".parquet", ".jsonl", ".ndjson")
TABLES_FILE = "tables.duckdb"
ROWS_PER_RECORD = 5
ROW_RECORD_LIMIT = 2000  # default of LibraryConfig.table_row_records
ROW_BATCH = 5000  # rows fetched per query when writing row-group records
DISTINCT_LIMIT = 50
DISTINCT_SCAN_ROWS = 200_000  # distinct-value records summarise a large table's first rows
BUILD_TIMEOUT = 300.0  # seconds for the store's own record-building queries (model-written SQL gets far less)


def _db(ctx: ReadContext) -> Any:
    if "tabledb" not in ctx.tools:
        from ..tables import TableDB
        ctx.tools["tabledb"] = TableDB(Path(ctx.root) / TABLES_FILE)
    return ctx.tools["tabledb"]


def _fmt(row: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in row.items() if v not in (None, ""))


def raw_row_batches(db: Any, table_id: str, limit: int, batch: int = ROW_BATCH) -> Iterator[tuple[int, list[dict]]]:
    """(first row index, rows as dicts) of a table's raw copy, in row order, `batch` rows per query.

    `limit` caps the rows read (-1: all of them).
    """
    info = db.info(table_id)
    n = info.n_rows if limit < 0 else min(limit, info.n_rows)
    for start in range(0, n, batch):
        size = min(batch, n - start)
        res = db.reader.execute(f"SELECT * FROM {info.raw_table} ORDER BY rowid LIMIT {size} OFFSET {start}",
                                max_rows=size, timeout=BUILD_TIMEOUT)
        yield start, [dict(zip(res.columns, r)) for r in res.rows]


def table_records(db: Any, table_id: str, label: str, row_limit: int = ROW_RECORD_LIMIT) -> list[Record]:
    """The table-level, row-group (first `row_limit` rows; -1 = all) and distinct-values records of a table."""
    info = db.info(table_id)
    cols = ", ".join(f"{c.original or c.name} ({c.kind})" for c in info.columns)
    sample = "\n".join(_fmt(r) for r in db.sample_rows(table_id, 3, raw=True))
    base = {"table": table_id, "sheet": info.sheet}
    recs = [Record("table", "", {**base, "part": "table"},
                   f"table {label}: {info.n_rows} rows; columns: {cols}\n{sample}",
                   meta={"kind": "table", "n_rows": info.n_rows})]
    for first, rows in raw_row_batches(db, table_id, row_limit):
        for start in range(0, len(rows), ROWS_PER_RECORD):
            chunk = rows[start:start + ROWS_PER_RECORD]
            text = f"{label}\n" + "\n".join(_fmt(r) for r in chunk)
            idx = list(range(first + start, first + start + len(chunk)))
            recs.append(Record("table", "", {**base, "rows": idx}, text, meta={"kind": "table_rows"}))
    for c in info.columns:
        values = db.distinct_values(table_id, c.name, DISTINCT_LIMIT, DISTINCT_SCAN_ROWS, BUILD_TIMEOUT)
        if values:
            recs.append(Record("table", "", {**base, "column": c.name},
                               f"{label} column {c.original or c.name}: " + ", ".join(map(str, values)),
                               meta={"kind": "table_values"}))
    return recs


def drop_source_tables(root: str | Path, source: str) -> list[str]:
    """Drop the DuckDB tables loaded from `source` in the library at `root` (ids dropped)."""
    path = Path(root) / TABLES_FILE
    if not path.is_file():
        return []
    from ..tables import TableDB
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


@register_reader(TABLE_EXTS, "table", streamed=True, max_mb_field="max_table_mb")
def read_table(path: Path, data: bytes, ctx: ReadContext) -> Document:
    """Streamed: `data` is b""; the file is read in chunks straight into DuckDB (`TableDB.add_file`)."""
    from ..tables import SQLError, TableFileError
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
    return Document("table", records=records)
