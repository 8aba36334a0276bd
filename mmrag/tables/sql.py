"""Run model-written SQL safely: one read-only SELECT, no file or network access, a timeout, a row limit.

The database file is opened read-only with `enable_external_access=false` (no read_csv, COPY,
ATTACH, INSTALL/LOAD), Python replacement scans off, and `lock_configuration=true` (no SET); no spilling
to disk (`temp_directory` empty: a query over `memory_limit` fails instead of filling the disk), one
thread. Only a single statement whose DuckDB statement type is SELECT (which covers WITH) is run, and
it may not name the catalog and settings functions (`duckdb_databases()`, `pragma_database_list`,
`current_setting`, ...) that would tell a client where the library lives.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ..errors import DataMissingError, SQLError, SQLRefused, SQLTimeout

log = logging.getLogger(__name__)
LOCK_WAIT_S = 120.0  # how long to wait for another process's hold on a DuckDB file
SAFE_CONFIG = {
    "enable_external_access": "false",
    "autoload_known_extensions": "false",
    "autoinstall_known_extensions": "false",
    "python_enable_replacements": "false",
    "lock_configuration": "true",
    "temp_directory": "",  # no spilling: a query that needs more than memory_limit fails
    # DuckDB 2.0's late materialization fails ("INTERNAL Error: Attempted to access index -1") on a
    # filter over rowid followed by ORDER BY ... LIMIT, i.e. `WHERE row_id > 3 ORDER BY x LIMIT 1` on t.
    "disabled_optimizers": "late_materialization",
}



@dataclass
class QueryResult:
    """Rows of a query (at most `max_rows`; `truncated` says whether more existed)."""

    sql: str
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    seconds: float


CATALOG_PREFIXES = ("duckdb_", "pragma_", "sqlite_")
CATALOG_NAMES = frozenset({"current_setting", "getenv", "information_schema", "pg_catalog", "current_database",
                           "current_catalog", "which_secret", "read_text", "read_blob"})


def catalog_names(text: str) -> list[str]:
    """Unquoted names in `text` that reach the catalog, settings or files (see CATALOG_*); a quoted name is a
    column of the table, whatever it is called."""
    tokens = duckdb.tokenize(text)
    out = []
    for (start, kind), nxt in zip(tokens, [*tokens[1:], (len(text), None)]):
        if kind in (duckdb.token_type.identifier, duckdb.token_type.keyword):
            word = text[start:nxt[0]].strip().lower()
            if word.startswith(CATALOG_PREFIXES) or word in CATALOG_NAMES:
                out.append(word)
    return out


def check_sql(sql: str, catalog: bool = False) -> str:
    """`sql` if it is exactly one SELECT/WITH statement (parsed by DuckDB) naming no catalog function (unless
    `catalog`, for mmrag's own queries), else SQLRefused/SQLError."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SQLRefused("empty query: write one SELECT statement")
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise SQLError(f"the query does not parse: {exc}") from exc
    if len(statements) != 1:
        raise SQLRefused(f"refused: {len(statements)} statements given; only one SELECT (or WITH ... SELECT) is allowed")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise SQLRefused(f"refused: {kind.name} statements are not allowed; only SELECT (or WITH ... SELECT) queries")
    if not catalog and (names := catalog_names(text)):
        raise SQLRefused(f"refused: {', '.join(sorted(set(names)))} is not allowed; query the table t only")
    return text


def connect(path: Path, read_only: bool, wait_s: float = LOCK_WAIT_S, **kw: Any) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection, waiting (up to `wait_s`) while another process holds the file: DuckDB lets one
    process write a file, or several read it, not both at once."""
    deadline, pause = time.monotonic() + wait_s, 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, **kw)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


class SafeSQL:
    """A read-only, locked-down connection to one DuckDB database file."""

    def __init__(self, path: str | Path, timeout: float = 5.0, max_rows: int = 1000, threads: int = 1,
                 memory_limit: str = "1GB") -> None:
        self.path, self.timeout, self.max_rows = Path(path), timeout, max_rows
        if not self.path.is_file():
            raise DataMissingError(f"no DuckDB database at {self.path}")
        config = {"threads": str(threads), "memory_limit": memory_limit, **SAFE_CONFIG}
        self._con = connect(self.path, read_only=True, config=config)
        self._lock = threading.Lock()

    def execute(self, sql: str, timeout: float | None = None, max_rows: int | None = None,
                params: list[Any] | None = None, catalog: bool = False) -> QueryResult:
        """Run one checked SELECT; SQLRefused, SQLTimeout or SQLError on failure."""
        text = check_sql(sql, catalog)
        timeout = self.timeout if timeout is None else timeout
        limit = self.max_rows if max_rows is None else max_rows
        with self._lock:
            timer = threading.Timer(timeout, self._con.interrupt)
            t0 = time.perf_counter()
            timer.start()
            try:
                cur = self._con.execute(text, params)
                rows = cur.fetchmany(limit + 1)
                desc = cur.description or []
            except duckdb.InterruptException as exc:
                raise SQLTimeout(f"query interrupted after the {timeout:g} s timeout; write a simpler query") from exc
            except duckdb.PermissionException as exc:
                raise SQLRefused(f"refused: external access is disabled ({exc})") from exc
            except duckdb.Error as exc:
                raise SQLError(str(exc).split("\n\nLINE")[0].strip()) from exc
            finally:
                timer.cancel()
        return QueryResult(text, [d[0] for d in desc], [str(d[1]) for d in desc], rows[:limit],
                           len(rows) > limit, time.perf_counter() - t0)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "SafeSQL":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
