"""Excel, Parquet and JSON Lines tables, streamed in chunks with bounded memory.

* Excel (.xlsx/.xlsm) is a zip: its entries' uncompressed size is checked before anything is parsed
  (a zip bomb under max_table_mb would expand to gigabytes), then every sheet is read row by row with
  openpyxl in read-only mode, twice: once to find the non-empty columns, once to stream the rows.
* Parquet is read in record batches; JSON Lines line by line (lines over `max_line_chars` are skipped
  without being held whole; lines that are not JSON objects are skipped and counted).
Cells are cut at `max_cell_chars` and rows stop at `max_rows`; the report says so.
"""
from __future__ import annotations

import json
import logging
import zipfile
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

import pandas as pd

from ..errors import DataMissingError, TableFileError
from .clean import sql_names
from .load import (
    CHUNK_ROWS,
    EXCEL_SUFFIXES,
    SUFFIXES,
    TEXT_SUFFIXES,
    Limits,
    Sheet,
    _cell_text,
    _frames,
    cut,
    read_text_table,
)

log = logging.getLogger(__name__)
HEAD_OBJECTS = 1000  # JSON Lines: the columns are the keys of the first objects


def check_zip(path: Path, limits: Limits) -> None:
    """Refuse a file that is not a zip, or whose entries expand past `max_unzipped_mb`."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise TableFileError(f"{path.name} is not a valid Excel file (not a readable zip: {exc})") from exc
    if total > limits.max_unzipped_mb * 1e6:
        raise TableFileError(f"{path.name} expands to {total / 1e6:.0f} MB uncompressed, over max_unzipped_mb="
                             f"{limits.max_unzipped_mb:g} (a zip bomb?); raise it in library.json if the file is real")


def _sheet_rows(path: Path, name: str) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        yield from wb[name].iter_rows(values_only=True)
    finally:
        wb.close()


def _layout(path: Path, name: str) -> tuple[list[int], int] | None:
    """(indexes of the columns holding any value, first non-empty row), or None for an empty sheet."""
    used: set[int] = set()
    first = None
    for i, row in enumerate(_sheet_rows(path, name)):
        cells = [j for j, v in enumerate(row) if _cell_text(v) not in (None, "")]
        if cells:
            used.update(cells)
            first = i if first is None else first
    return (sorted(used), first) if first is not None else None


def _excel_sheet(path: Path, name: str, chunk_rows: int, limits: Limits) -> Sheet | None:
    layout = _layout(path, name)
    if layout is None:
        log.info("%s: sheet %r is empty; skipped", path, name)
        return None
    cols, first = layout
    rows = _sheet_rows(path, name)
    header = next(islice(rows, first, None))
    rows.close()
    originals = [_cell_text(header[j]) if j < len(header) else None for j in cols]
    originals = [o if o is not None else "" for o in originals]
    columns = sql_names(originals)
    report: dict[str, Any] = {"source": f"{path}#{name}"}

    def chunks() -> Iterator[pd.DataFrame]:
        body = (r for r in islice(_sheet_rows(path, name), first + 1, None)
                if any(_cell_text(v) not in (None, "") for v in r))
        texts = ([_cell_text(r[j]) if j < len(r) else None for j in cols] for r in body)
        yield from _frames(texts, len(cols), report, chunk_rows, columns, limits)

    return Sheet(str(name), columns, originals, chunks, ".", report)


def read_excel(path: Path, chunk_rows: int = CHUNK_ROWS, limits: Limits = Limits()) -> list[Sheet]:
    """Every non-empty sheet of an .xlsx workbook; the first non-empty row is the header."""
    check_zip(path, limits)
    from openpyxl import load_workbook
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        names = list(wb.sheetnames)
        wb.close()
        sheets = [s for n in names if (s := _excel_sheet(path, n, chunk_rows, limits)) is not None]
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise TableFileError(f"{path.name} is not a readable Excel workbook ({type(exc).__name__}: {exc})") from exc
    if not sheets:
        raise TableFileError(f"{path} has no non-empty sheet")
    return sheets


def _typed_chunks(batches: Iterable[pd.DataFrame], columns: list[str], report: dict[str, Any],
                  limits: Limits) -> Iterator[pd.DataFrame]:
    report.setdefault("rows", 0)
    for df in batches:
        df = df.iloc[:max(limits.max_rows - report["rows"], 0)]
        if df.empty:
            report["rows_dropped"] = True
            break
        for c in df.columns:
            if df[c].map(lambda v: isinstance(v, (dict, list))).any():
                df[c] = df[c].map(lambda v: json.dumps(v) if isinstance(v, (dict, list)) else v)
            if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]):
                df[c] = df[c].map(lambda v: cut(v, limits, report))
        extra = [c for c in df.columns if c not in report["original_set"]]
        if extra:
            report.setdefault("dropped_keys", sorted(set(report.get("dropped_keys", [])) | set(map(str, extra))))
        df = df.reindex(columns=report["original_order"])
        df.columns = columns
        report["rows"] += len(df)
        yield df


def read_parquet(path: Path, chunk_rows: int = CHUNK_ROWS, limits: Limits = Limits()) -> Sheet:
    """A Parquet file, streamed in record batches (native column types are kept)."""
    import pyarrow.parquet as pq
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
        raise TableFileError(f"{path.name} is not a readable Parquet file ({type(exc).__name__}: {exc})") from exc
    originals = list(pf.schema_arrow.names)
    report = {"source": str(path), "original_set": set(originals), "original_order": originals}
    columns = sql_names(originals)

    def chunks() -> Iterator[pd.DataFrame]:
        report["rows"] = 0
        batches = (b.to_pandas() for b in pf.iter_batches(batch_size=chunk_rows))
        yield from _typed_chunks(batches, columns, report, limits)

    return Sheet(path.stem, columns, originals, chunks, ".", report)


def _objects(fh: TextIO, limits: Limits, report: dict[str, Any]) -> Iterator[dict]:
    """The JSON objects of a JSON Lines stream; over-long, non-JSON and non-object lines are skipped."""
    while line := fh.readline(limits.max_line_chars + 1):
        if len(line) > limits.max_line_chars and not line.endswith("\n"):
            report["long_lines"] = report.get("long_lines", 0) + 1
            while (rest := fh.readline(1 << 20)) and not rest.endswith("\n"):
                pass  # skip the rest of the line without holding it
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            yield obj
        else:
            report["bad_lines"] = report.get("bad_lines", 0) + 1


def read_jsonl(path: Path, chunk_rows: int = CHUNK_ROWS, limits: Limits = Limits()) -> Sheet:
    """A JSON Lines file of objects; columns come from the first objects' keys."""
    if path.stat().st_size == 0:
        raise TableFileError(f"{path} is empty (0 bytes): a JSON Lines table needs at least one object")
    probe: dict[str, Any] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = list(islice(_objects(fh, limits, probe), HEAD_OBJECTS))
    if not head:
        raise TableFileError(f"{path.name} holds no JSON object on any line: not a JSON Lines table")
    order = list(dict.fromkeys(k for obj in head for k in obj))
    report = {"source": str(path), "original_set": set(order), "original_order": order}
    columns = sql_names([str(k) for k in order])

    def chunks() -> Iterator[pd.DataFrame]:
        report["rows"] = 0
        with open(path, encoding="utf-8", errors="replace") as fh:
            objects = _objects(fh, limits, report)
            while batch := list(islice(objects, chunk_rows)):
                keys = list(dict.fromkeys(k for obj in batch for k in obj))
                yield from _typed_chunks([pd.DataFrame.from_records(batch, columns=keys)], columns, report, limits)

    return Sheet(path.stem, columns, [str(k) for k in order], chunks, ".", report)


def read_table_file(path: str | Path, chunk_rows: int = CHUNK_ROWS, limits: Limits | None = None) -> list[Sheet]:
    """The tables in a file, by suffix: CSV/TSV/TXT, XLSX/XLSM (every sheet), Parquet, JSONL."""
    path, limits = Path(path), limits or Limits()
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataMissingError(f"no such table file: {path}")
    if path.stat().st_size == 0:
        raise TableFileError(f"{path} is empty (0 bytes): a table file needs at least a header row")
    if suffix in TEXT_SUFFIXES:
        return [read_text_table(path, chunk_rows, limits)]
    if suffix in EXCEL_SUFFIXES:
        return read_excel(path, chunk_rows, limits)
    if suffix in (".parquet", ".pq"):
        return [read_parquet(path, chunk_rows, limits)]
    if suffix in (".jsonl", ".ndjson"):
        return [read_jsonl(path, chunk_rows, limits)]
    raise TableFileError(f"unsupported table file type {suffix!r} ({path}); supported: {', '.join(sorted(SUFFIXES))}")
