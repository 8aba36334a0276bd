"""Ingest through the real pipeline (hash encoder for speed; MiniLM tests live in test_search)."""
import os
import time

import pytest

from mmrag import Ingestor, Library


def _write(folder, name, data):
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def _consistent(lib):
    """Store, FTS and vector index agree exactly."""
    ids = set(lib.store.filter_ids().tolist())
    assert set(lib.index("text").ids().tolist()) == ids
    assert lib.store.fts_count() == len(ids)
    uids = [r[0] for r in lib.store.db.execute("SELECT uid FROM records")]
    assert len(uids) == len(set(uids))


def test_bad_inputs_are_reported_and_good_files_ingested(hash_library, tmp_path):
    d = tmp_path / "docs"
    _write(d, "good.md", "# Title\n\nUseful words about zebras.")
    _write(d, "empty.txt", "")
    _write(d, "binary.txt", bytes(range(256)) * 10)
    _write(d, "latin1.txt", "caf\xe9 cr\xe8me br\xfbl\xe9e".encode("cp1252"))
    big = _write(d, "big.txt", b"")
    with open(big, "wb") as f:
        f.truncate(50 * 1024 * 1024)
    _write(d, "image.xyz", "not supported")
    report = Ingestor(hash_library).run([d, tmp_path / "does-not-exist"])
    by_name = {os.path.basename(r.path): r for r in report.results}
    assert by_name["good.md"].status == "ok" and by_name["good.md"].n_records == 1
    assert by_name["empty.txt"].status == "failed" and "empty" in by_name["empty.txt"].message
    assert by_name["binary.txt"].status == "failed" and "binary" in by_name["binary.txt"].message
    assert by_name["big.txt"].status == "failed" and "too large" in by_name["big.txt"].message
    assert by_name["latin1.txt"].status == "ok" and "cp1252" in by_name["latin1.txt"].message
    assert by_name["image.xyz"].status == "skipped"
    assert by_name["does-not-exist"].status == "missing"
    assert not report.nothing_ingested
    failed = {os.path.basename(f["path"]): f["error"] for f in hash_library.status()["failed"]}
    assert set(failed) == {"empty.txt", "binary.txt", "big.txt"}
    assert "crème" in hash_library.search("creme brulee", k=1)[0].record.text
    _consistent(hash_library)


def test_reingest_touches_only_changed_files(hash_library, tmp_path):
    d = tmp_path / "docs"
    a = _write(d, "a.txt", "apples and pears")
    _write(d, "b.txt", "boats and harbours")
    Ingestor(hash_library).run([d])
    ids_b = set(hash_library.store.filter_ids(source_glob="*b.txt").tolist())
    time.sleep(0.01)
    a.write_text("apricots and plums")
    report = Ingestor(hash_library).run([d])
    assert report.count("ok") == 1 and report.count("unchanged") == 1
    assert set(hash_library.store.filter_ids(source_glob="*b.txt").tolist()) == ids_b
    assert hash_library.search("apricots", k=1)[0].record.source == str(a.resolve())
    assert not hash_library.store.bm25('"apples"', 5)
    _consistent(hash_library)


def test_touch_without_change_is_unchanged(hash_library, tmp_path):
    a = _write(tmp_path, "a.txt", "stable content")
    Ingestor(hash_library).run([a])
    os.utime(a, (time.time() + 5, time.time() + 5))
    assert Ingestor(hash_library).run([a]).count("unchanged") == 1


def test_duplicates_and_prune(hash_library, tmp_path):
    d = tmp_path / "docs"
    a = _write(d, "a.txt", "identical words")
    _write(d, "copy/a-copy.txt", "identical words")
    report = Ingestor(hash_library).run([d])
    assert report.count("ok") == 1 and report.count("duplicate") == 1
    assert hash_library.store.counts()["records"] == {"text": 1}
    a.unlink()
    report = Ingestor(hash_library).run([d], prune=True)
    assert report.count("removed") == 1
    assert hash_library.store.get_source(str(a.resolve())) is None
    _consistent(hash_library)


def test_nothing_ingested_flag(hash_library, tmp_path):
    report = Ingestor(hash_library).run([_write(tmp_path, "e.txt", "")])
    assert report.nothing_ingested


def test_html_and_pdf_readers(tmp_path):
    from mmrag.documents import read_html, read_pdf
    from mmrag.errors import IngestError
    doc = read_html(tmp_path / "x.html", b"<html><script>var hidden=1;</script><p>Visible &amp; kept</p></html>", None)
    assert doc.sections[0].text == "Visible & kept"
    with pytest.raises(IngestError, match="PDF"):
        read_pdf(tmp_path / "x.pdf", b"%PDF-1.4 garbage", None)


def test_index_survives_reopen_and_repairs_lag(tmp_path):
    from mmrag.records import Record
    d = tmp_path / "docs"
    _write(d, "a.txt", "first document about comets")
    with Library(tmp_path / "lib", text_encoder="hash") as lib:
        Ingestor(lib).run([d])
        # A commit that reached the store but not the saved index (as after kill -9).
        rec = Record("text", "/b.txt", {"char_start": 0, "char_end": 9}, "asteroids").with_uid("b")
        lib.store.add_records([rec], {"text": ([0], lib.encoder("text").encode(["asteroids"]))})
        lib.discard_indexes()
    with Library(tmp_path / "lib") as lib2:
        assert lib2.index("text").ntotal == 2
        assert lib2.search("asteroids", k=1)[0].record.source == "/b.txt"
        _consistent(lib2)
