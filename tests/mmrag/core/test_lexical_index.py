"""The tantivy index stays equal to the store, and search falls back to FTS5 whenever it is not."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from mmrag import Library
from mmrag.core.lexical_index import lexical_dir
from mmrag.core.lock import write_lock
from mmrag.records import Record
from mmrag.retrieval.lexical import lexical_query
from tests.conftest import ROOT

pytest.importorskip("tantivy")


def _recs(prefix: str, n: int) -> list[Record]:
    return [Record("text", f"{prefix}{i}.txt", {"i": i}, f"report {prefix} number {i} code {prefix}x{i:04d}")
            .with_uid(f"{prefix}{i}") for i in range(n)]


@pytest.fixture
def lib(tmp_path):
    with Library(tmp_path / "lib", text_encoder="hash") as lib:
        with lib.core.writing():
            lib.core.add_records(_recs("a", 40))
        yield lib


def _ids_in_index(lib: Library) -> set[int]:
    ix = lib.core.lexical_index()
    assert ix is not None
    return set(ix.ids().tolist())


def test_a_writer_leaves_the_index_equal_to_the_store(lib):
    ix = lib.core.lexical_index()
    assert ix is not None and ix.meta["generation"] == lib.store.generation
    assert _ids_in_index(lib) == set(lib.store.text_ids().tolist())
    q = lexical_query(lib.core, "ax0007")
    assert q.index is not None and lib.search("ax0007", k=1)[0].record.source == "a7.txt"
    with lib.core.writing():
        lib.core.remove_records_of("a7.txt")
    assert _ids_in_index(lib) == set(lib.store.text_ids().tolist())
    assert all(h.record.source != "a7.txt" for h in lib.search("ax0007", k=3))


def test_another_process_writes_and_a_reader_sees_it(lib):
    with Library(lib.root) as writer, writer.core.writing():
        writer.core.add_records(_recs("b", 5))
    assert lib.search("bx0003", k=1)[0].record.source == "b3.txt"
    assert lexical_query(lib.core, "bx0003").index is not None


def test_a_lagging_index_is_not_used_until_it_is_brought_up_to_date(lib):
    lib.store.add_records(_recs("c", 3), {})  # the store moved on; the index has not seen it
    assert lib.core._lex.current() is None
    with write_lock(lib.root):  # another process is writing: FTS5 answers, and it is current
        assert lexical_query(lib.core, "cx0002").index is None
        assert lib.search("cx0002", k=1, retrievers=["bm25"])[0].record.source == "c2.txt"
    q = lexical_query(lib.core, "cx0002")  # no writer now: the reader brings the index up to date
    assert q.index is not None and lib.search("cx0002", k=1, retrievers=["bm25"])[0].record.source == "c2.txt"


def test_a_damaged_index_is_logged_and_rebuilt(tmp_path, caplog):
    root = tmp_path / "lib"
    with Library(root, text_encoder="hash") as lib, lib.core.writing():
        lib.core.add_records(_recs("d", 10))
    for f in lexical_dir(root).iterdir():
        if f.name == "meta.json":
            f.write_text("{ not json")
    with caplog.at_level(logging.WARNING), Library(root) as lib:
        assert lib.search("dx0004", k=1)[0].record.source == "d4.txt"
        assert "lexical index" in caplog.text
        assert lib.core.lexical_index() is not None and len(_ids_in_index(lib)) == 10


def test_without_tantivy_search_uses_fts5(tmp_path, monkeypatch):
    monkeypatch.setattr("mmrag.core.lexical_index.tantivy_available", lambda: False)
    with Library(tmp_path / "lib", text_encoder="hash") as lib:
        with lib.core.writing():
            lib.core.add_records(_recs("e", 5))
        assert lib.core.lexical_index() is None and not lexical_dir(lib.root).exists()
        assert lib.search("ex0001", k=1)[0].record.source == "e1.txt"


def test_a_reader_sees_what_a_writer_process_committed(lib, tmp_path):
    assert lib.search("zq7781", k=1, retrievers=["bm25"]) == []
    doc = tmp_path / "new.txt"
    doc.write_text("The harbour code zq7781 opens the north gate.")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "mmrag", "ingest", str(doc), "--library", str(lib.root)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert lib.status()["lexical"]["backend"] == "tantivy", "the writer left it current: no rebuild here"
    assert lib.search("zq7781", k=1, retrievers=["bm25"])[0].record.source == str(doc.resolve())


def test_a_lock_that_cannot_be_taken_leaves_search_on_fts5(lib, monkeypatch, caplog):
    """A read-only library folder (simulated: tests run as root, where permissions do not bind)."""
    def refuse(root):
        raise PermissionError(13, "Read-only file system", str(root / ".lock"))
    lib.store.add_records(_recs("f", 2), {})  # the index lags: a search would try to update it
    monkeypatch.setattr("mmrag.core.lexical_index.write_lock", refuse)
    with caplog.at_level(logging.WARNING):
        assert lib.search("fx0001", k=1, retrievers=["bm25"])[0].record.source == "f1.txt"
    assert "BM25 uses SQLite FTS5" in caplog.text and lib.status()["lexical"]["backend"] == "fts5"
