"""The records that describe a stored table in the text space and FTS5.

One table-level record (file, sheet, columns with inferred types, sample rows), row-group records
("column: value; ..." for a few rows, locator {"table", "rows"}) for the first `row_limit` rows
(-1 = every row, read in batches), and one distinct-values record per column so a question's entity
("Italy") finds the table that holds it (TableRAG's cell index).
"""
from __future__ import annotations

from typing import Any, Iterator

from ..kinds import Modality, RecordKind
from ..records import Record
from .db import TableDB

ROWS_PER_RECORD = 5
ROW_RECORD_LIMIT = 2000  # default of LibraryConfig.table_row_records
ROW_BATCH = 5000  # rows fetched per query when writing row-group records
DISTINCT_LIMIT = 50
DISTINCT_SCAN_ROWS = 200_000  # distinct-value records summarise a large table's first rows
BUILD_TIMEOUT = 300.0  # seconds for the store's own record-building queries (model-written SQL gets far less)


RECORD_CELL_CHARS = 300  # a cell's share of a record's text (the table keeps it whole, up to max_cell_chars)


def _cell(v: Any) -> str:
    text = str(v)
    return text if len(text) <= RECORD_CELL_CHARS else text[:RECORD_CELL_CHARS] + "…[cut]"


def _fmt(row: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {_cell(v)}" for k, v in row.items() if v not in (None, ""))


def _limits_note(report: dict[str, Any]) -> str:
    """What the reader cut from the file, said in the table's own record."""
    notes = []
    if report.get("cut_cells"):
        notes.append(f"{report['cut_cells']} cells were cut to the max_cell_chars limit")
    if report.get("rows_dropped"):
        notes.append(f"only the first {report.get('rows', 0)} rows were kept (max_table_rows)")
    for key, what in (("long_lines", "over-long lines"), ("bad_lines", "lines that are not JSON objects")):
        if report.get(key):
            notes.append(f"{report[key]} {what} were skipped")
    return f"\nnote: {'; '.join(notes)}" if notes else ""


def raw_row_batches(db: TableDB, table_id: str, limit: int, batch: int = ROW_BATCH) -> Iterator[tuple[int, list[dict]]]:
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


def table_records(db: TableDB, table_id: str, label: str, row_limit: int = ROW_RECORD_LIMIT) -> list[Record]:
    """The table-level, row-group (first `row_limit` rows; -1 = all) and distinct-values records of a table."""
    info = db.info(table_id)
    cols = ", ".join(f"{c.original or c.name} ({c.kind})" for c in info.columns)
    sample = "\n".join(_fmt(r) for r in db.sample_rows(table_id, 3, raw=True))
    base = {"table": table_id, "sheet": info.sheet}
    recs = [Record(Modality.TABLE, "", {**base, "part": "table"},
                   f"table {label}: {info.n_rows} rows; columns: {cols}\n{sample}{_limits_note(info.report)}",
                   meta={"kind": RecordKind.TABLE, "n_rows": info.n_rows})]
    for first, rows in raw_row_batches(db, table_id, row_limit):
        for start in range(0, len(rows), ROWS_PER_RECORD):
            chunk = rows[start:start + ROWS_PER_RECORD]
            text = f"{label}\n" + "\n".join(_fmt(r) for r in chunk)
            idx = list(range(first + start, first + start + len(chunk)))
            recs.append(Record(Modality.TABLE, "", {**base, "rows": idx}, text, meta={"kind": RecordKind.TABLE_ROWS}))
    for c in info.columns:
        values = db.distinct_values(table_id, c.name, DISTINCT_LIMIT, DISTINCT_SCAN_ROWS, BUILD_TIMEOUT)
        if values:
            recs.append(Record(Modality.TABLE, "", {**base, "column": c.name},
                               f"{label} column {c.original or c.name}: " + ", ".join(map(_cell, values)),
                               meta={"kind": RecordKind.TABLE_VALUES}))
    return recs
