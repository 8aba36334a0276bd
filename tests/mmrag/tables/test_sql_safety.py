"""Model-written SQL runs read-only, without file/network access, with a timeout and a row limit."""
from __future__ import annotations

import time

import pytest

from mmrag.tables import SQLError, SQLRefused, SQLTimeout, TableDB, check_sql


@pytest.fixture
def db(tmp_path):
    with TableDB(tmp_path / "t.duckdb", timeout=1.0, max_rows=5) as d:
        d.tid = d.add_rows(["name", "n"], [["a", "1"], ["b", "2"], ["c", "3"]], source="demo")
        yield d


def test_select_and_with_run(db):
    assert db.query(f"SELECT name FROM {db.tid} WHERE n > 1 ORDER BY n").rows == [("b",), ("c",)]
    assert db.query(f"WITH x AS (SELECT SUM(n) s FROM {db.tid}) SELECT s FROM x;").rows == [(6,)]


@pytest.mark.parametrize("sql", [
    "INSERT INTO {t} VALUES ('d', 4)",
    "UPDATE {t} SET n = 0",
    "DELETE FROM {t}",
    "CREATE TABLE x (a INT)",
    "DROP TABLE {t}",
    "SET threads = 2",
    "PRAGMA table_info('{t}')",
    "INSTALL httpfs",
    "LOAD httpfs",
    "COPY {t} TO '/tmp/mmrag-leak.csv'",
    "ATTACH '/tmp/mmrag-other.duckdb' AS o",
    "CALL pragma_version()",
    "EXPLAIN SELECT 1",
    "COPY (SELECT * FROM {t}) TO '/tmp/mmrag-leak.csv'",
    "EXPORT DATABASE '/tmp/mmrag-export'",
    "CREATE TEMP TABLE y AS SELECT 1",
    "WITH x AS (SELECT 1) INSERT INTO {t} SELECT 'e', 5",
    "DETACH t",
    "USE memory",
    "VACUUM",
    "CHECKPOINT",
])
def test_non_select_statements_are_refused(db, sql):
    with pytest.raises(SQLRefused, match="refused"):
        db.query(sql.format(t=db.tid))


def test_two_statements_are_refused(db):
    with pytest.raises(SQLRefused, match="2 statements"):
        db.query(f"SELECT 1; DROP TABLE {db.tid}")


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "SELECT * FROM read_json('/etc/x.json')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "SELECT * FROM 'https://example.com/x.csv'",
    "SELECT * FROM read_csv('https://example.com/x.csv')",
])
def test_file_access_inside_select_is_refused(db, sql):
    with pytest.raises(SQLRefused, match="external access is disabled|is not allowed"):
        db.query(sql)


def test_file_path_as_table_is_not_read(db):
    with pytest.raises(SQLError) as err:  # replacement scans are off: the path is just an unknown table
        db.query("SELECT * FROM '/etc/passwd'")
    assert "root:" not in str(err.value)


@pytest.mark.parametrize("sql", ["SELECT * FROM sqlite_scan('/tmp/x.db', 't')",
                                 "SELECT * FROM postgres_scan('host=localhost', 'public', 't')"])
def test_extensions_are_not_loaded_on_demand(db, sql):
    with pytest.raises(SQLError, match="not in the catalog|does not exist|is not allowed"):
        db.query(sql)


def test_settings_cannot_be_unlocked(db):
    with pytest.raises(SQLRefused):
        db.query("SET enable_external_access = true")
    with pytest.raises(SQLRefused, match="external access"):
        db.query("SELECT * FROM read_csv('/etc/passwd')")


def test_data_is_unchanged_after_refusals(db):
    for sql in (f"DELETE FROM {db.tid}", f"DROP TABLE {db.tid}"):
        with pytest.raises(SQLRefused):
            db.query(sql)
    assert db.query(f"SELECT COUNT(*) FROM {db.tid}").rows == [(3,)]


def test_long_query_is_interrupted_by_the_timeout(db):
    t0 = time.perf_counter()
    with pytest.raises(SQLTimeout, match="timeout"):
        db.query("SELECT COUNT(*) FROM range(1000000000000) a, range(1000) b", timeout=0.5)
    assert time.perf_counter() - t0 < 5
    assert db.query("SELECT 1").rows == [(1,)]  # the connection still works afterwards


def test_row_limit_truncates(db):
    res = db.query("SELECT * FROM range(100)")
    assert len(res.rows) == 5 and res.truncated


def test_bad_sql_gives_the_duckdb_error(db):
    with pytest.raises(SQLError, match="missing_col"):
        db.query(f"SELECT missing_col FROM {db.tid}")
    with pytest.raises(SQLError, match="does not parse"):
        check_sql("SELEC name FROM x")
    with pytest.raises(SQLRefused, match="empty"):
        check_sql("  ;")
