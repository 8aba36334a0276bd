"""Table files through the real pipeline: DuckDB store + table, row-group and distinct-value records."""
import os

import duckdb
import pandas as pd

from mmrag import Ingestor


def test_tables_are_stored_and_found_by_cell_values(hash_library, tmp_path):
    d = tmp_path / "tables"
    d.mkdir()
    (d / "riders.csv").write_text("Rank,Rider,Country\n1,Marco Bellini,Italy\n2,Jonas Vingaard,Denmark\n"
                                  "3,Luca Ferri,Italy\n")
    with pd.ExcelWriter(d / "sales.xlsx") as xw:
        pd.DataFrame({"Region": ["North", "South"], "Revenue": [1200, 900]}).to_excel(xw, sheet_name="2023", index=False)
        pd.DataFrame({"Region": ["North", "South"], "Revenue": [1500, 800]}).to_excel(xw, sheet_name="2024", index=False)
    (d / "empty.csv").write_bytes(b"")
    report = Ingestor(hash_library).run([d])
    by = {os.path.basename(r.path): r for r in report.results}
    assert by["riders.csv"].status == "ok" and by["sales.xlsx"].status == "ok"
    assert by["empty.csv"].status == "failed" and "empty" in by["empty.csv"].message

    hit = hash_library.search("Denmark", k=1, modality="table", retrievers=["bm25"])[0]
    assert hit.record.source.endswith("riders.csv")
    assert hit.record.locator["table"].startswith("t_")
    kinds = {r.meta["kind"] for r in hash_library.store.get_records(hash_library.store.filter_ids(["table"]).tolist()).values()}
    assert kinds == {"table", "table_rows", "table_values"}
    sheets = {r.locator.get("sheet") for r in hash_library.store.get_records(
        hash_library.store.filter_ids(["table"], "*sales.xlsx").tolist()).values()}
    assert sheets == {"2023", "2024"}

    con = duckdb.connect(str(hash_library.root / "tables.duckdb"), read_only=True)
    tid = hit.record.locator["table"]
    assert con.execute(f'SELECT count(*) FROM {tid} WHERE "Country" = \'Italy\'').fetchone()[0] == 2
    con.close()


def _table_ids(lib_root):
    con = duckdb.connect(str(lib_root / "tables.duckdb"), read_only=True)
    try:
        return {r[0]: r[1] for r in con.execute("SELECT table_id, sheet FROM _mmrag_tables").fetchall()}
    finally:
        con.close()


def _sheets(path, frames):
    with pd.ExcelWriter(path) as xw:
        for name, df in frames.items():
            df.to_excel(xw, sheet_name=name, index=False)


def test_reingest_and_remove_drop_the_sources_tables(hash_library, tmp_path):
    from mmrag import Library
    book = tmp_path / "book.xlsx"
    df = pd.DataFrame({"Region": ["North", "South"], "Revenue": [1200, 900]})
    _sheets(book, {"2023": df, "2024": df})
    (tmp_path / "keep.csv").write_text("a,b\n1,2\n")
    Ingestor(hash_library).run([book, tmp_path / "keep.csv"])
    assert sorted(_table_ids(hash_library.root).values()) == ["", "2023", "2024"]

    _sheets(book, {"2024": df, "2025": df})  # one sheet gone, one new
    os.utime(book, (1, 1))
    Ingestor(hash_library).run([book])
    assert sorted(_table_ids(hash_library.root).values()) == ["", "2024", "2025"]  # 2023's tables dropped
    tables = set(_table_ids(hash_library.root))
    record_tables = {r.locator["table"] for r in hash_library.store.get_records(
        hash_library.store.filter_ids(["table"]).tolist()).values()}
    assert record_tables == tables  # no record points to a dropped table, no table without records

    assert hash_library.remove_records_of(str(book.resolve()), drop_source=True) > 0
    assert list(_table_ids(hash_library.root).values()) == [""]  # only keep.csv's table is left
    with Library(hash_library.root) as lib:  # the hook also works from another handle on the library
        lib.remove_records_of(str((tmp_path / "keep.csv").resolve()), drop_source=True)
        assert _table_ids(lib.root) == {}


def test_row_group_records_follow_the_config(tmp_path):
    from mmrag import Library, LibraryConfig
    from mmrag.tables import records as table_record_module
    rows = "".join(f"{i},name {i}\n" for i in range(23))
    (tmp_path / "t.csv").write_text("id,name\n" + rows)
    for limit, covered in ((7, 7), (-1, 23)):
        cfg = LibraryConfig.default("hash")
        cfg.table_row_records = limit
        with Library(tmp_path / f"lib{limit}", config=cfg) as lib:
            Ingestor(lib).run([tmp_path / "t.csv"])
            recs = lib.store.get_records(lib.store.filter_ids(["table"]).tolist()).values()
            row_ids = sorted(i for r in recs if r.meta["kind"] == "table_rows" for i in r.locator["rows"])
            assert row_ids == list(range(covered))
    with Library(tmp_path / "lib-1") as lib:  # reading in batches gives the same rows, in order
        from mmrag.tables import TableDB
        with TableDB(lib.root / "tables.duckdb") as db:
            tid = db.tables()[0].table_id
            batches = list(table_record_module.raw_row_batches(db, tid, -1, batch=10))
    assert [(start, len(rows)) for start, rows in batches] == [(0, 10), (10, 10), (20, 3)]
    assert batches[2][1][-1] == {"id": "22", "name": "name 22"}


def test_a_table_whose_records_cannot_be_built_fails_alone(hash_library, tmp_path, monkeypatch):
    """(Readers run in this process here, so the patch applies; the half-built table is swept.)"""
    from mmrag.tables import SQLTimeout, TableDB
    hash_library.config.isolate_readers = False

    def too_slow(*args, **kwargs):
        raise SQLTimeout("query interrupted after the 300 s timeout")
    monkeypatch.setattr(TableDB, "distinct_values", too_slow)
    (tmp_path / "big.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notes.txt").write_text("some words about tables")
    by = {os.path.basename(r.path): r for r in Ingestor(hash_library).run([tmp_path]).results}
    assert by["big.csv"].status == "failed" and "records could not be built" in by["big.csv"].message
    assert by["notes.txt"].status == "ok"
    assert _table_ids(hash_library.root) == {}  # the half-done table was dropped


def test_tables_are_streamed_past_the_in_memory_file_limit(tmp_path):
    """Tables have their own size limit (max_table_mb): the reader streams the file, never reads it whole."""
    from mmrag import Library, LibraryConfig
    (tmp_path / "big.csv").write_text("id,city\n" + "".join(f"{i},city {i % 7}\n" for i in range(3000)))
    (tmp_path / "blank.csv").write_text("\n  \n")
    cfg = LibraryConfig.default("hash")
    cfg.max_file_mb = 0.001  # 1 kB: a document this big would be refused
    with Library(tmp_path / "lib", config=cfg) as lib:
        by = {os.path.basename(r.path): r for r in Ingestor(lib).run([tmp_path]).results}
        assert by["big.csv"].status == "ok", by["big.csv"].message
        assert by["blank.csv"].status == "failed" and "only whitespace" in by["blank.csv"].message
        lib.config.max_table_mb = 0.01  # 10 kB: now the table is over its own limit, and the error says which
        (tmp_path / "big.csv").write_text("id,city\n" + "".join(f"{i},town {i}\n" for i in range(3000)))
        again = {os.path.basename(r.path): r for r in Ingestor(lib).run([tmp_path / "big.csv"]).results}
        assert again["big.csv"].status == "failed" and "max_table_mb" in again["big.csv"].message
