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
