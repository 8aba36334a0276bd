"""Loaders on files made here: BOM + ';' + comma decimals, Excel sheets, ragged rows, empty files, dialects."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from mmrag.tables import TableDB, TableFileError, read_tabfact_table, read_table_file, read_wtq_csv


def _frame(sheet):
    return pd.concat(list(sheet.chunks()), ignore_index=True)


def test_csv_with_bom_semicolons_and_comma_decimals(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_bytes("\ufeffProdukt;Preis;Menge\nÄpfel;1,25;3\nBirnen;2,50;10\nKäse;12,75;1\n".encode("utf-8"))
    [sheet] = read_table_file(path)
    assert sheet.columns == ["Produkt", "Preis", "Menge"]  # the BOM is not part of the first header
    assert (sheet.report["encoding"], sheet.report["delimiter"], sheet.decimal) == ("utf-8-sig", ";", ",")
    assert _frame(sheet)["Produkt"].tolist() == ["Äpfel", "Birnen", "Käse"]
    with TableDB(tmp_path / "t.duckdb") as db:
        [tid] = db.add_file(path)
        assert db.query(f'SELECT SUM("Preis") FROM {tid}').rows == [(16.5,)]
        assert db.query(f'SELECT "Preis" FROM {tid}_raw LIMIT 1').rows == [("1,25",)]


def test_latin1_csv(tmp_path):
    path = tmp_path / "old.csv"
    path.write_bytes("name,city\nJosé,Málaga\nRenée,Orléans\n".encode("cp1252"))
    [sheet] = read_table_file(path)
    assert _frame(sheet)["city"].tolist() == ["Málaga", "Orléans"]


def test_excel_with_two_sheets(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        pd.DataFrame({"year": [2001, 2002], "sales": [10.5, 12.0]}).to_excel(xw, sheet_name="Sales", index=False)
        pd.DataFrame({"name": ["Ann", "Bo"], "age": [31, 42]}).to_excel(xw, sheet_name="People", index=False)
    with TableDB(tmp_path / "t.duckdb") as db:
        ids = db.add_file(path)
        assert len(ids) == 2 and len(set(ids)) == 2
        infos = {db.info(t).sheet: t for t in ids}
        assert set(infos) == {"Sales", "People"}
        assert db.query(f"SELECT SUM(sales) FROM {infos['Sales']}").rows == [(22.5,)]
        assert db.query(f"SELECT name FROM {infos['People']} WHERE age > 40").rows == [("Bo",)]
        assert db.add_file(path) == ids  # ids are stable for the same file and sheet


def test_ragged_rows_are_padded_and_reported(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6\n7,8,9,10\n")
    [sheet] = read_table_file(path)
    df = _frame(sheet)
    assert list(df.columns) == ["a", "b", "c", "column_4"]  # the long row is within the sniffed sample: widened
    assert df.fillna("").values.tolist() == [["1", "2", "3", ""], ["4", "5", "", ""], ["6", "", "", ""],
                                             ["7", "8", "9", "10"]]
    assert sheet.report["padded_rows"] == 3


def test_zero_byte_csv_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(TableFileError, match="empty.*0 bytes"):
        read_table_file(path)


def test_unknown_suffix_names_the_supported_ones(tmp_path):
    path = tmp_path / "x.docx"
    path.write_text("x")
    with pytest.raises(TableFileError, match=r"unsupported.*\.csv"):
        read_table_file(path)


def test_tsv_parquet_and_jsonl(tmp_path):
    (tmp_path / "a.tsv").write_text("x\ty\n1\thello, world\n")
    assert _frame(read_table_file(tmp_path / "a.tsv")[0])["y"].tolist() == ["hello, world"]
    pd.DataFrame({"k": [1, 2], "v": ["a", None]}).to_parquet(tmp_path / "b.parquet")
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in [{"k": 1, "t": {"a": 1}}, {"k": 2}]) + "\n")
    with TableDB(tmp_path / "t.duckdb") as db:
        [p] = db.add_file(tmp_path / "b.parquet")
        [j] = db.add_file(tmp_path / "c.jsonl")
        assert db.query(f"SELECT SUM(k), COUNT(v) FROM {p}").rows == [(3, 1)]
        assert db.query(f"SELECT t FROM {j}_raw ORDER BY k").rows == [('{"a": 1}',), (None,)]


def test_large_csv_is_streamed_in_chunks(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write("id,amount,label\n")
        for i in range(60_000):
            fh.write(f'{i},"{i * 3:,}",row {i % 7}\n')
    [sheet] = read_table_file(path, chunk_rows=10_000)
    sizes = [len(c) for c in sheet.chunks()]
    assert sizes == [10_000] * 6
    with TableDB(tmp_path / "t.duckdb") as db:
        [tid] = db.add_file(path, chunk_rows=10_000)
        assert db.query(f"SELECT COUNT(*), MAX(amount) FROM {tid}").rows == [(60_000, 179_997)]
        assert db.distinct_values(tid, "label", limit=2) == ["row 0", "row 1"]
        assert db.distinct_values(tid, "label", limit=3, scan_rows=10) == ["row 0", "row 1", "row 2"]  # 2 each
        with pytest.raises(KeyError, match="unknown column 'nope' in t_.*; valid: id, amount, label"):
            db.distinct_values(tid, "nope")
        db.drop(tid)
        with pytest.raises(KeyError, match="unknown table"):
            db.info(tid)


def test_wtq_dialect():
    text = '"Title","Note"\n"\\"Rock & Roll Holiday\\"","a\\\\b"\n"Two\nlines","x"\n'
    header, rows = read_wtq_csv(text)
    assert header == ["Title", "Note"]
    assert rows == [['"Rock & Roll Holiday"', "a\\b"], ["Two\nlines", "x"]]


def test_tabfact_dialect():
    header, rows = read_tabfact_table("rank#gold#nation\r\n1#2#china\r\n2#1#japan\r\n")
    assert header == ["rank", "gold", "nation"] and rows == [["1", "2", "china"], ["2", "1", "japan"]]
