"""Read table files (CSV/TSV, Excel, Parquet, JSON Lines) as chunks of raw values.

Every reader returns `Sheet`s whose `chunks()` yields DataFrames of at most `chunk_rows`
rows, so a large file is streamed, never held whole in memory. Also the two evaluation
dialects: WTQ's backslash-escaped CSV and TabFact's `#`-separated tables.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pandas as pd

from ..errors import DataMissingError, TableFileError
from .clean import sql_names

log = logging.getLogger(__name__)
CHUNK_ROWS = 25_000  # rows per streamed chunk: peak memory follows this, not the file size
SAMPLE_BYTES = 1 << 16
TEXT_SUFFIXES = {".csv", ".tsv", ".tab", ".txt"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
SUFFIXES = TEXT_SUFFIXES | EXCEL_SUFFIXES | {".parquet", ".pq", ".jsonl", ".ndjson"}
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_COMMA_DECIMAL = re.compile(r"^-?\d{1,3}(\.\d{3})*,\d+$")



@dataclass
class Sheet:
    """One table of a file: SQL column names, original headers, and a way to stream its rows."""

    name: str
    columns: list[str]
    originals: list[str]
    chunks: Callable[[], Iterator[pd.DataFrame]]
    decimal: str = "."
    report: dict[str, Any] = field(default_factory=dict)


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file's first bytes: a BOM, else UTF-8 if valid, else charset-normalizer's guess."""
    for bom, enc in _BOMS:
        if sample.startswith(bom):
            return enc
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes
        best = from_bytes(sample).best()
        if best is not None:
            return best.encoding
    except ImportError:
        log.warning("charset-normalizer is not installed; assuming cp1252")
    return "cp1252"


def sniff_delimiter(text: str, suffix: str = "") -> str:
    """The field delimiter of a text table (',', ';', tab or '|')."""
    if suffix in (".tsv", ".tab"):
        return "\t"
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: min((ln.count(d) for ln in lines), default=0) for d in ",;\t|"}
        return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def sniff_decimal(rows: list[list[str]], delimiter: str) -> str:
    """',' when numbers are written with comma decimals (only possible when ',' is not the delimiter)."""
    if delimiter == ",":
        return "."
    cells = [c.strip() for r in rows[1:] for c in r]
    return "," if sum(bool(_COMMA_DECIMAL.match(c)) for c in cells) >= 3 else "."


def _frames(rows: Iterator[list[str]], width: int, report: dict[str, Any], chunk_rows: int,
            columns: list[str]) -> Iterator[pd.DataFrame]:
    """DataFrames of `chunk_rows` rows; short rows are padded, long ones truncated (and counted)."""
    report.update(padded_rows=0, truncated_rows=0, rows=0)
    while batch := list(islice(rows, chunk_rows)):
        fixed = []
        for r in batch:
            if len(r) < width:
                report["padded_rows"] += 1
                r = r + [""] * (width - len(r))
            elif len(r) > width:
                if any(c.strip() for c in r[width:]):
                    report["truncated_rows"] += 1
                r = r[:width]
            fixed.append(r)
        report["rows"] += len(fixed)
        yield pd.DataFrame(fixed, columns=columns, dtype="string")
    if report["padded_rows"] or report["truncated_rows"]:
        log.warning("ragged rows: %d padded, %d truncated (%s)", report["padded_rows"], report["truncated_rows"],
                    report.get("source", ""))


def _head_rows(text: str, delim: str, complete: bool, limit: int = 200) -> list[list[str]]:
    """The first rows of a sample; a cut-off last row is dropped unless the sample is the whole file."""
    rows: list[list[str]] = []
    try:
        for row in islice(csv.reader(io.StringIO(text), delimiter=delim), limit):
            rows.append(row)
    except csv.Error:
        pass
    return rows if complete or len(rows) < 2 else rows[:-1]


def read_text_table(path: Path, chunk_rows: int = CHUNK_ROWS) -> Sheet:
    """A CSV/TSV file: encoding and delimiter sniffed, ragged rows padded, streamed in chunks."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise TableFileError(f"{path} is empty ({len(sample)} bytes): a table file needs at least a header row")
    enc = detect_encoding(sample)
    text = sample.decode(enc, errors="ignore")
    delim = sniff_delimiter(text, path.suffix.lower())
    head_rows = _head_rows(text, delim, complete=len(sample) < SAMPLE_BYTES)
    header = next((r for r in head_rows if any(c.strip() for c in r)), None)
    if header is None:
        raise TableFileError(f"{path} has no header row")
    width = max(len(header), max((len(r) for r in head_rows), default=0))
    originals = header + [""] * (width - len(header))
    columns = sql_names(originals)
    report: dict[str, Any] = {"source": str(path), "encoding": enc, "delimiter": delim}

    def chunks() -> Iterator[pd.DataFrame]:
        with open(path, encoding=enc, errors="replace", newline="") as fh:
            reader = csv.reader(fh, delimiter=delim)
            for r in reader:
                if any(c.strip() for c in r):
                    break  # skip leading blank lines and the header
            body = (r for r in reader if any(c.strip() for c in r))
            yield from _frames(body, width, report, chunk_rows, columns)

    decimal = sniff_decimal(head_rows, delim)
    report["decimal"] = decimal
    return Sheet(path.stem, columns, originals, chunks, decimal, report)


def _cell_text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, pd.Timestamp) or hasattr(v, "isoformat"):
        return v.isoformat()[:10] if str(v).endswith("00:00:00") else v.isoformat(sep=" ")
    return str(v)


def rows_to_sheet(name: str, header: list[Any], rows: list[list[Any]], report: dict[str, Any] | None = None) -> Sheet:
    """An in-memory table (header + rows of values) as a Sheet; ragged rows are padded."""
    width = max([len(header)] + [len(r) for r in rows])
    originals = [str(h) if h is not None else "" for h in header] + [""] * (width - len(header))
    columns = sql_names(originals)
    report = {"source": name, **(report or {})}
    texts = [[_cell_text(v) for v in r] for r in rows]

    def chunks() -> Iterator[pd.DataFrame]:
        yield from _frames(iter(texts), width, report, CHUNK_ROWS, columns)

    return Sheet(name, columns, originals, chunks, ".", report)


def read_excel(path: Path) -> list[Sheet]:
    """Every non-empty sheet of an .xlsx workbook (openpyxl); the first non-empty row is the header."""
    frames = pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine="openpyxl")
    sheets = []
    for name, df in frames.items():
        df = df.dropna(how="all").dropna(axis=1, how="all")
        if df.empty:
            log.info("%s: sheet %r is empty; skipped", path, name)
            continue
        values = df.to_numpy(dtype=object).tolist()
        sheets.append(rows_to_sheet(str(name), values[0], values[1:], {"source": f"{path}#{name}"}))
    if not sheets:
        raise TableFileError(f"{path} has no non-empty sheet")
    return sheets


def _typed_chunks(batches: Iterable[pd.DataFrame], columns: list[str], report: dict[str, Any]) -> Iterator[pd.DataFrame]:
    report["rows"] = 0
    for df in batches:
        for c in df.columns:
            if df[c].map(lambda v: isinstance(v, (dict, list))).any():
                df[c] = df[c].map(lambda v: json.dumps(v) if isinstance(v, (dict, list)) else v)
        extra = [c for c in df.columns if c not in report["original_set"]]
        if extra:
            report.setdefault("dropped_keys", sorted(set(report.get("dropped_keys", [])) | set(map(str, extra))))
        df = df.reindex(columns=report["original_order"])
        df.columns = columns
        report["rows"] += len(df)
        yield df


def read_parquet(path: Path, chunk_rows: int = CHUNK_ROWS) -> Sheet:
    """A Parquet file, streamed in record batches (native column types are kept)."""
    import pyarrow.parquet as pq
    pf = pq.ParquetFile(path)
    originals = list(pf.schema_arrow.names)
    report = {"source": str(path), "original_set": set(originals), "original_order": originals}
    columns = sql_names(originals)

    def chunks() -> Iterator[pd.DataFrame]:
        batches = (b.to_pandas() for b in pf.iter_batches(batch_size=chunk_rows))
        yield from _typed_chunks(batches, columns, report)

    return Sheet(path.stem, columns, originals, chunks, ".", report)


def read_jsonl(path: Path, chunk_rows: int = CHUNK_ROWS) -> Sheet:
    """A JSON Lines file of objects; columns come from the first chunk's keys."""
    if path.stat().st_size == 0:
        raise TableFileError(f"{path} is empty (0 bytes): a JSON Lines table needs at least one object")
    with open(path, encoding="utf-8") as fh:
        first = pd.read_json(io.StringIO("".join(islice(fh, 1000))), lines=True, dtype=False)
    originals = [str(c) for c in first.columns]
    report = {"source": str(path), "original_set": set(first.columns), "original_order": list(first.columns)}
    columns = sql_names(originals)

    def chunks() -> Iterator[pd.DataFrame]:
        with pd.read_json(path, lines=True, dtype=False, chunksize=chunk_rows) as reader:
            yield from _typed_chunks(reader, columns, report)

    return Sheet(path.stem, columns, originals, chunks, ".", report)


def read_table_file(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> list[Sheet]:
    """The tables in a file, by suffix: CSV/TSV/TXT, XLSX/XLSM (every sheet), Parquet, JSONL."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataMissingError(f"no such table file: {path}")
    if path.stat().st_size == 0:
        raise TableFileError(f"{path} is empty (0 bytes): a table file needs at least a header row")
    if suffix in TEXT_SUFFIXES:
        return [read_text_table(path, chunk_rows)]
    if suffix in EXCEL_SUFFIXES:
        return read_excel(path)  # openpyxl reads a workbook whole
    if suffix in (".parquet", ".pq"):
        return [read_parquet(path, chunk_rows)]
    if suffix in (".jsonl", ".ndjson"):
        return [read_jsonl(path, chunk_rows)]
    raise TableFileError(f"unsupported table file type {suffix!r} ({path}); supported: {', '.join(sorted(SUFFIXES))}")


def read_wtq_csv(text: str) -> tuple[list[str], list[list[str]]]:
    """A WikiTableQuestions CSV: every field quoted, quotes escaped as \\\" (not doubled), header first."""
    rows = list(csv.reader(io.StringIO(text), escapechar="\\", doublequote=False))
    if not rows:
        raise TableFileError("empty WTQ table")
    return rows[0], rows[1:]


def read_tabfact_table(text: str) -> tuple[list[str], list[list[str]]]:
    """A TabFact table: '#'-separated cells, no quoting, CRLF lines, header first."""
    rows = [ln.split("#") for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    if not rows:
        raise TableFileError("empty TabFact table")
    return rows[0], rows[1:]
