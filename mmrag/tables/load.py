"""Read table files (CSV/TSV, Excel, Parquet, JSON Lines) as chunks of raw values.

Every reader returns `Sheet`s whose `chunks()` yields DataFrames of at most `chunk_rows`
rows, so a large file is streamed, never held whole in memory. Also the two evaluation
dialects: WTQ's backslash-escaped CSV and TabFact's `#`-separated tables.
"""
from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from ..errors import TableFileError
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



@dataclass(frozen=True)
class Limits:
    """What one table file may produce (LibraryConfig: max_cell_chars, max_table_rows, ...)."""

    max_cell_chars: int = 100_000  # longer cells are cut (counted in the report: cut_cells)
    max_rows: int = 50_000_000  # rows kept per table (the rest: report rows_dropped)
    max_unzipped_mb: float = 2000.0  # .xlsx: largest uncompressed size
    max_line_chars: int = 10_000_000  # JSON Lines: longer lines are skipped (report long_lines)
    max_field_chars: int = 64 << 20  # CSV: a longer field fails the file (not a table)


def cut(value: Any, limits: Limits, report: dict[str, Any]) -> Any:
    """A cell value no longer than `limits.max_cell_chars` (strings are cut and counted)."""
    if isinstance(value, str) and len(value) > limits.max_cell_chars:
        report["cut_cells"] = report.get("cut_cells", 0) + 1
        return value[:limits.max_cell_chars]
    return value


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


def _frames(rows: Iterator[list[Any]], width: int, report: dict[str, Any], chunk_rows: int,
            columns: list[str], limits: Limits = Limits()) -> Iterator[pd.DataFrame]:
    """DataFrames of `chunk_rows` rows; short rows are padded, long ones truncated (and counted); long
    cells cut; rows past `limits.max_rows` dropped (counted)."""
    report.update(padded_rows=0, truncated_rows=0, rows=0)
    while batch := list(islice(rows, min(chunk_rows, limits.max_rows - report["rows"]))):
        fixed = []
        for r in batch:
            r = [cut(c, limits, report) for c in r]
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
    if report["rows"] >= limits.max_rows and next(rows, None) is not None:
        report["rows_dropped"] = True
        log.warning("%s: only the first %d rows are kept (max_table_rows)", report.get("source", ""), limits.max_rows)
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


def read_text_table(path: Path, chunk_rows: int = CHUNK_ROWS, limits: Limits = Limits()) -> Sheet:
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
        csv.field_size_limit(max(csv.field_size_limit(), limits.max_field_chars))
        with open(path, encoding=enc, errors="replace", newline="") as fh:
            reader = csv.reader(fh, delimiter=delim)
            try:
                for r in reader:
                    if any(c.strip() for c in r):
                        break  # skip leading blank lines and the header
                body = (r for r in reader if any(c.strip() for c in r))
                yield from _frames(body, width, report, chunk_rows, columns, limits)
            except csv.Error as exc:
                raise TableFileError(f"{path}: not a readable CSV near line {reader.line_num} ({exc})") from exc

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


def rows_to_sheet(name: str, header: list[Any], rows: list[list[Any]], report: dict[str, Any] | None = None,
                  limits: Limits = Limits()) -> Sheet:
    """An in-memory table (header + rows of values) as a Sheet; ragged rows are padded."""
    width = max([len(header)] + [len(r) for r in rows])
    originals = [str(h) if h is not None else "" for h in header] + [""] * (width - len(header))
    columns = sql_names(originals)
    report = {"source": name, **(report or {})}
    texts = [[_cell_text(v) for v in r] for r in rows]

    def chunks() -> Iterator[pd.DataFrame]:
        yield from _frames(iter(texts), width, report, CHUNK_ROWS, columns, limits)

    return Sheet(name, columns, originals, chunks, ".", report)


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
