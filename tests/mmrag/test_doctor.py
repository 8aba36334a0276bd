"""`mmrag doctor`: each kind of damage is found and said in words, `--repair` mends it, and a damaged
store gives a one-line error naming the file and the command (never a traceback)."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from mmrag import Library, LibraryDamagedError
from tests.conftest import ROOT, SAMPLES

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mmrag", *args], env=ENV, cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture
def built(tmp_path):
    """A small library with text, a table and an image (hash encoder, no CLIP)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("lighthouse.txt", "sourdough.txt", "stage14-top10.csv", "cafe-receipt.jpg"):
        (docs / name).write_bytes((SAMPLES / name).read_bytes())
    root = tmp_path / "lib"
    with Library(root, text_encoder="hash") as lib:
        lib.ingest([docs])
    return root, docs


def findings(report: dict) -> dict[str, dict]:
    return {f["check"]: f for f in report["findings"]}


def test_a_sound_library_is_ok(built):
    root, _ = built
    with Library(root) as lib:
        report = lib.doctor()
    assert report["ok"] and all(f["ok"] for f in report["findings"]), report["text"]


def test_orphan_rows_are_found_and_repaired(built):
    root, _ = built
    con = sqlite3.connect(root / "store.sqlite")
    rid = con.execute("SELECT id FROM records WHERE source LIKE '%lighthouse.txt' LIMIT 1").fetchone()[0]
    con.execute("DELETE FROM records WHERE id = ?", (rid,))  # its FTS row and vector stay behind
    con.commit()
    con.close()
    with Library(root) as lib:
        report = lib.doctor()
        f = findings(report)
        assert not report["ok"] and f["FTS rows without a record"]["detail"] == "1 found"
        assert not f["vectors without a record"]["ok"] and not f["sources whose record count is wrong"]["ok"]
        fixed = lib.doctor(repair=True)
        assert fixed["ok"] and findings(fixed)["FTS rows without a record"]["repaired"] == "fixed"
        assert lib.doctor()["ok"]


def test_an_index_that_disagrees_with_the_store_is_rebuilt(built):
    root, _ = built
    from indexes import load_index
    index = load_index(root / "indexes" / "text")
    index.remove(index.ids()[:2])  # same generation, fewer vectors: damage, not lag
    index.save(root / "indexes" / "text")
    with Library(root) as lib:
        f = findings(lib.doctor())["index text"]
        assert not f["ok"], f
        fixed = findings(lib.doctor(repair=True))["index text"]
        assert fixed["repaired"].startswith("rebuilt from")
        assert lib.doctor()["ok"]


def test_orphan_and_missing_tables_and_thumbnails(built):
    root, docs = built
    con = duckdb.connect(str(root / "tables.duckdb"))
    tid = con.execute("SELECT table_id FROM _mmrag_tables").fetchone()[0]
    con.execute("CREATE TABLE t_orphan AS SELECT 1 AS x")  # a table no record names
    con.execute("CREATE TABLE t_half_raw AS SELECT 1 AS x")  # half of a table a crash left
    con.execute(f"DROP TABLE {tid}")  # the CSV's typed table is gone
    con.close()
    thumb = next((root / "thumbs").rglob("*.jpg"))
    thumb.unlink()
    with Library(root) as lib:
        f = findings(lib.doctor())
        assert f["unreferenced tables"]["detail"].startswith("3 found")  # the orphans and the broken table
        assert f["missing tables"]["detail"].startswith("1 sources") and "stage14" not in f["missing tables"]["detail"]
        assert f["missing thumbnails"]["detail"].startswith("1 sources")
        fixed = lib.doctor(repair=True)
        assert fixed["ok"], fixed["text"]
        assert lib.doctor()["ok"]
        assert lib.search("Kazakhstan", k=1, retrievers=["bm25"])[0].record.source.endswith("stage14-top10.csv")
    assert next((root / "thumbs").rglob("*.jpg")).is_file()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_store_is_one_line_and_repair_reingests(built, damage):
    root, _ = built
    path = root / "store.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else os.urandom(len(data)))
    with pytest.raises(LibraryDamagedError, match="store.sqlite is damaged.*mmrag doctor"):
        Library(root)
    out = cli("search", "lighthouse", "--library", str(root))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "store.sqlite is damaged" in out.stderr and "mmrag doctor" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    out = cli("doctor", "--library", str(root), "--json")
    assert out.returncode == 1 and not json.loads(out.stdout)["ok"]
    out = cli("doctor", "--library", str(root), "--repair", "--json")
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["ok"], out.stdout + out.stderr
    assert list(root.glob("store.sqlite.damaged-*"))
    with Library(root) as lib:
        ok = {Path(s["path"]).name for s in lib.sources() if s["status"] == "ok"}
        if damage == "truncated":  # the sources table was still readable: everything came back
            assert ok == {"lighthouse.txt", "sourdough.txt", "stage14-top10.csv", "cafe-receipt.jpg"}
        assert lib.doctor()["ok"]


def test_an_empty_tombstones_file_is_rebuilt_not_an_error(built):
    root, _ = built
    manifest = json.loads((root / "indexes" / "text" / "manifest.json").read_text())
    (root / "indexes" / "text" / manifest["tombstones_file"]).write_bytes(b"")
    with Library(root) as lib:
        assert lib.search("keeper lighthouse", k=1)[0].record.source.endswith("lighthouse.txt")


def test_a_reader_never_writes_while_another_process_holds_the_lock(built, tmp_path):
    root, docs = built
    with Library(root) as lib:
        (docs / "new.txt").write_text("A brand new passage about comets.")
        lib.ingest([docs])
    index_files = {p: p.stat().st_mtime_ns for p in (root / "indexes").rglob("*")}
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from mmrag.core.lock import write_lock;"
                               " from pathlib import Path\nwith write_lock(Path(sys.argv[1])):\n"
                               "    print('held', flush=True); time.sleep(30)", str(root)],
                              env=ENV, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        con = sqlite3.connect(root / "store.sqlite")  # another writer moved the store on
        con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
        con.commit()
        con.close()
        reader = Library(root)
        reader.search("comets", k=1)  # reconciles in memory
        reader.close()
        assert {p: p.stat().st_mtime_ns for p in (root / "indexes").rglob("*")} == index_files
    finally:
        holder.kill()
        holder.wait()
