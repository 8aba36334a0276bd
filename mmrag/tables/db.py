"""`TableDB`: a DuckDB file holding each table twice, raw (all text) and typed, with what was inferred."""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd

from ..errors import SQLRefused, UnknownNameError
from .clean import ColumnInfo, apply_types, infer_columns, is_null_text, raw_strings
from .formats import read_table_file
from .load import CHUNK_ROWS, EXCEL_SUFFIXES, Limits, Sheet, rows_to_sheet
from .sql import QueryResult, SafeSQL, connect

log = logging.getLogger(__name__)
META = "_mmrag_tables"


def qident(name: str) -> str:
    """`name` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def table_id_for(source: str, sheet: str = "", version: str = "") -> str:
    """A table name from a source (file path or label), a sheet name and the content's version (its
    sha256): a changed file gets new table ids, so its old tables stay whole until the records that
    name them are replaced."""
    key = f"{source}\x00{sheet}" + (f"\x00{version}" if version else "")
    return "t_" + hashlib.sha1(key.encode()).hexdigest()[:16]



@dataclass
class TableInfo:
    """One stored table: where it came from and what was inferred about its columns."""

    table_id: str
    source: str
    sheet: str
    n_rows: int
    columns: list[ColumnInfo]
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def raw_table(self) -> str:
        return f"{self.table_id}_raw"


class TableDB:
    """Tables in one DuckDB file: `<id>` (typed) and `<id>_raw` (text); queries run read-only."""

    def __init__(self, path: str | Path, timeout: float = 5.0, max_rows: int = 1000, read_only: bool = False) -> None:
        self.path = Path(path)
        self.timeout, self.max_rows, self.read_only = timeout, max_rows, read_only
        self._reader: SafeSQL | None = None
        if read_only:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._writer() as con:
            con.execute(f"CREATE TABLE IF NOT EXISTS {META} (table_id VARCHAR PRIMARY KEY, source VARCHAR, "
                        "sheet VARCHAR, n_rows BIGINT, meta VARCHAR)")

    @contextlib.contextmanager
    def _writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection for one change, in one transaction (rolled back on failure)."""
        if self.read_only:
            raise SQLRefused(f"{self.path} is open read-only")
        self.close()  # a file cannot be open read-only and read-write in one process at once
        con = connect(self.path, read_only=False)
        try:
            con.begin()
            yield con
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            con.close()

    @property
    def reader(self) -> SafeSQL:
        """The read-only, locked-down connection used for every query."""
        if self._reader is None:
            self._reader = SafeSQL(self.path, timeout=self.timeout, max_rows=self.max_rows)
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> "TableDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_file(self, path: str | Path, chunk_rows: int = CHUNK_ROWS, version: str = "",
                 limits: Limits | None = None) -> list[str]:
        """Load every table (sheet) of a file, streamed in chunks; returns their table ids."""
        path = Path(path).resolve()
        excel = path.suffix.lower() in EXCEL_SUFFIXES
        return [self.add_table(sheet, source=str(path), sheet=sheet.name if excel else "", version=version)
                for sheet in read_table_file(path, chunk_rows, limits)]

    def add_rows(self, header: list[Any], rows: list[list[Any]], source: str, sheet: str = "") -> str:
        """Load an in-memory table (header + rows)."""
        return self.add_table(rows_to_sheet(sheet or source, header, rows), source=source, sheet=sheet)

    def add_table(self, data: Sheet | pd.DataFrame, source: str, sheet: str = "", version: str = "") -> str:
        """Store a table (streamed chunk by chunk) as raw and typed copies, in one transaction; replaces
        one with the same id."""
        if isinstance(data, pd.DataFrame):
            data = rows_to_sheet(sheet or source, list(data.columns), data.to_numpy(dtype=object).tolist())
        tid = table_id_for(source, sheet, version)
        with self._writer() as con:
            self._drop(con, tid)
            infos, n = self._insert_chunks(con, tid, data)
            report = {k: v for k, v in data.report.items() if k not in ("original_set", "original_order")}
            meta = {"columns": [asdict(i) for i in infos], "report": report}
            con.execute(f"INSERT INTO {META} VALUES (?, ?, ?, ?, ?)", [tid, source, sheet, n, json.dumps(meta)])
        log.info("stored %s (%s %s): %d rows, %d columns", tid, source, sheet, n, len(infos))
        return tid

    def _insert_chunks(self, con: duckdb.DuckDBPyConnection, tid: str, sheet: Sheet) -> tuple[list[ColumnInfo], int]:
        infos: list[ColumnInfo] = []
        n = 0
        for chunk in sheet.chunks():
            raw = raw_strings(chunk)
            if not infos:
                infos = infer_columns(chunk, sheet.originals, sheet.decimal)
                self._create(con, tid, chunk, infos)
                for info in infos:  # inference saw a sample: count failures over every row below
                    info.failed = 0
            typed = apply_types(chunk, infos)
            for info in infos:  # non-empty values that did not parse are NULL in the typed copy: count them
                if info.kind not in ("text", "native"):
                    info.failed += int((typed[info.name].isna() & ~is_null_text(raw[info.name])).sum())
            con.register("_chunk_raw", raw)
            con.register("_chunk_typed", typed)
            con.execute(f"INSERT INTO {tid}_raw SELECT * FROM _chunk_raw")
            con.execute(f"INSERT INTO {tid} SELECT * FROM _chunk_typed")
            con.unregister("_chunk_raw")
            con.unregister("_chunk_typed")
            n += len(chunk)
        if not infos:  # header only: an empty table of text columns
            infos = [ColumnInfo(name=c, original=o) for c, o in zip(sheet.columns, sheet.originals)]
            self._create(con, tid, pd.DataFrame(columns=sheet.columns, dtype="string"), infos)
        return infos, n

    @staticmethod
    def _create(con: duckdb.DuckDBPyConnection, tid: str, chunk: pd.DataFrame, infos: list[ColumnInfo]) -> None:
        native = {}
        if any(i.kind == "native" for i in infos):
            con.register("_first", chunk)
            native = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM _first").fetchall()}
            con.unregister("_first")
        for info in infos:
            if info.kind == "native":
                info.sql_type = native[info.name]
        con.execute(f"CREATE TABLE {tid}_raw ({', '.join(qident(i.name) + ' VARCHAR' for i in infos)})")
        con.execute(f"CREATE TABLE {tid} ({', '.join(qident(i.name) + ' ' + i.sql_type for i in infos)})")

    @staticmethod
    def _drop(con: duckdb.DuckDBPyConnection, tid: str) -> None:
        con.execute(f"DROP TABLE IF EXISTS {tid}")
        con.execute(f"DROP TABLE IF EXISTS {tid}_raw")
        con.execute(f"DELETE FROM {META} WHERE table_id = ?", [tid])

    def drop(self, table_id: str) -> None:
        """Remove a table (both copies and its metadata)."""
        self.info(table_id)
        with self._writer() as con:
            self._drop(con, table_id)

    def drop_source(self, source: str) -> list[str]:
        """Remove every table loaded from `source` (e.g. a file that was removed or is re-ingested)."""
        with self._writer() as con:
            ids = [r[0] for r in con.execute(f"SELECT table_id FROM {META} WHERE source = ?", [source]).fetchall()]
            for tid in ids:
                self._drop(con, tid)
        if ids:
            log.info("dropped %d table(s) of %s", len(ids), source)
        return ids

    def move_sources(self, old: str, new: str) -> None:
        """Tables loaded from files under the folder `old` now name them under `new`."""
        with self._writer() as con:
            con.execute(f"UPDATE {META} SET source = ? || substr(source, ?) WHERE starts_with(source, ?)",
                        [new, len(old) + 1, old])

    def sweep(self, keep: set[str], dry_run: bool = False) -> list[str]:
        """Drop every table whose id is not in `keep`, and the halves of tables a crash left behind (a
        `_raw` or typed copy without its metadata row, or a metadata row without its tables); with
        `dry_run`, only say which (read-only)."""
        if dry_run:
            return self._unkept(lambda sql: self.reader.execute(sql, catalog=True).rows, keep)
        with self._writer() as con:
            gone = self._unkept(lambda sql: con.execute(sql).fetchall(), keep)
            for tid in gone:
                self._drop(con, tid)
        return gone

    def whole_tables(self) -> set[str]:
        """Ids of the tables stored whole: metadata row, typed and raw copies."""
        return self._parts(lambda sql: self.reader.execute(sql, catalog=True).rows)[2]

    @staticmethod
    def _parts(run: Any) -> tuple[set[str], set[str], set[str]]:
        """(ids with a metadata row, ids with any stored copy, ids stored whole)."""
        names = {r[0] for r in run("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")}
        known = {r[0] for r in run(f"SELECT table_id FROM {META}")}
        stored = {n.removesuffix("_raw") for n in names if n != META}
        return known, stored, {t for t in known if t in names and f"{t}_raw" in names}

    @classmethod
    def _unkept(cls, run: Any, keep: set[str]) -> list[str]:
        known, stored, whole = cls._parts(run)
        return sorted((known | stored) - (whole & keep))

    def tables(self) -> list[TableInfo]:
        """Every stored table."""
        rows = self.reader.execute(f"SELECT table_id, source, sheet, n_rows, meta FROM {META} ORDER BY source, sheet")
        return [self._info(r) for r in rows.rows]

    @staticmethod
    def _info(row: tuple[Any, ...]) -> TableInfo:
        meta = json.loads(row[4])
        return TableInfo(row[0], row[1], row[2], row[3], [ColumnInfo(**c) for c in meta["columns"]], meta["report"])

    def info(self, table_id: str) -> TableInfo:
        """A table's metadata; UnknownNameError (a KeyError) naming the stored ids when it is unknown."""
        res = self.reader.execute(f"SELECT table_id, source, sheet, n_rows, meta FROM {META} WHERE table_id = ?",
                                  params=[table_id])
        if not res.rows:
            known = [t.table_id for t in self.tables()]
            raise UnknownNameError("table", table_id, known)
        return self._info(res.rows[0])

    def schema(self, table_id: str) -> list[ColumnInfo]:
        """The typed table's columns: SQL name, SQL type, original header and inferred kind."""
        return self.info(table_id).columns

    def sample_rows(self, table_id: str, n: int = 3, raw: bool = False) -> list[dict[str, Any]]:
        """The first `n` rows, as dicts (typed values, or raw text with raw=True)."""
        info = self.info(table_id)
        res = self.reader.execute(f"SELECT * FROM {info.raw_table if raw else table_id} LIMIT {int(n)}")
        return [dict(zip(res.columns, r)) for r in res.rows]

    def distinct_values(self, table_id: str, column: str, limit: int = 50, scan_rows: int | None = None,
                        timeout: float | None = None) -> list[str]:
        """Distinct raw (text) values of one column, most frequent first (of the first `scan_rows` rows)."""
        info = self.info(table_id)
        names = [c.name for c in info.columns]
        if column not in names:
            raise UnknownNameError("column", column, names, where=table_id)
        col = qident(column)
        src = info.raw_table if scan_rows is None else f"(SELECT {col}, rowid AS r FROM {info.raw_table} " \
            f"ORDER BY rowid LIMIT {int(scan_rows)})"
        order = "min(rowid)" if scan_rows is None else "min(r)"
        res = self.reader.execute(f"SELECT {col} FROM {src} WHERE trim({col}) <> '' "
                                  f"GROUP BY {col} ORDER BY count(*) DESC, {order} LIMIT {int(limit)}", timeout=timeout)
        return [r[0] for r in res.rows]

    def query(self, sql: str, timeout: float | None = None, max_rows: int | None = None) -> QueryResult:
        """Run one model-written SELECT safely (see `SafeSQL`)."""
        return self.reader.execute(sql, timeout=timeout, max_rows=max_rows)
