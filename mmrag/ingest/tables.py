"""Table files (CSV/TSV, Excel, Parquet, JSON Lines) into the library's DuckDB file and records.

Each table (Excel: each sheet) is stored in `<library>/tables.duckdb` (raw and typed copies, stable
id) and described by records in the text space and FTS5: one table-level record (file, sheet,
columns with inferred types, sample rows), row-group records ("column: value; ..." for a few rows,
locator {"table", "rows"}) for the first ROW_RECORD_LIMIT rows, and one distinct-values record per
column so a question's entity ("Italy") finds the table that holds it (TableRAG's cell index).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..records import Record
from .readers import Document, IngestError, ReadContext, register_reader

TABLE_EXTS = (".csv", ".tsv", ".tab", ".xlsx", ".xlsm", ".parquet", ".jsonl", ".ndjson")
ROWS_PER_RECORD = 5
ROW_RECORD_LIMIT = 2000
DISTINCT_LIMIT = 50


def _db(ctx: ReadContext) -> Any:
    if "tabledb" not in ctx.tools:
        from ..tables import TableDB
        ctx.tools["tabledb"] = TableDB(Path(ctx.root) / "tables.duckdb")
    return ctx.tools["tabledb"]


def _fmt(row: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in row.items() if v not in (None, ""))


def table_records(db: Any, table_id: str, label: str) -> list[Record]:
    """The table-level, row-group and distinct-values records of one stored table."""
    info = db.info(table_id)
    cols = ", ".join(f"{c.original or c.name} ({c.kind})" for c in info.columns)
    sample = "\n".join(_fmt(r) for r in db.sample_rows(table_id, 3, raw=True))
    base = {"table": table_id, "sheet": info.sheet}
    recs = [Record("table", "", {**base, "part": "table"},
                   f"table {label}: {info.n_rows} rows; columns: {cols}\n{sample}",
                   meta={"kind": "table", "n_rows": info.n_rows})]
    res = db.reader.execute(f"SELECT * FROM {info.raw_table} LIMIT {ROW_RECORD_LIMIT}", max_rows=ROW_RECORD_LIMIT)
    rows = [dict(zip(res.columns, r)) for r in res.rows]
    for start in range(0, len(rows), ROWS_PER_RECORD):
        chunk = rows[start:start + ROWS_PER_RECORD]
        text = f"{label}\n" + "\n".join(_fmt(r) for r in chunk)
        recs.append(Record("table", "", {**base, "rows": list(range(start, start + len(chunk)))}, text,
                           meta={"kind": "table_rows"}))
    for c in info.columns:
        values = db.distinct_values(table_id, c.name, DISTINCT_LIMIT)
        if values:
            recs.append(Record("table", "", {**base, "column": c.name},
                               f"{label} column {c.original or c.name}: " + ", ".join(map(str, values)),
                               meta={"kind": "table_values"}))
    return recs


@register_reader(TABLE_EXTS, "table")
def read_table(path: Path, data: bytes, ctx: ReadContext) -> Document:
    from ..tables import TableFileError
    if not data.strip():
        raise IngestError("empty table file (0 bytes)")
    db = _db(ctx)
    try:
        table_ids = db.add_file(path)
    except (TableFileError, UnicodeDecodeError, ValueError) as exc:
        raise IngestError(f"unreadable table ({exc})") from exc
    records: list[Record] = []
    for tid in table_ids:
        sheet = db.info(tid).sheet
        records += table_records(db, tid, f"{path.name}" + (f" sheet {sheet}" if sheet else ""))
    return Document("table", records=records)
