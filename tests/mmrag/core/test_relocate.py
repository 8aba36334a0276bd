"""A library folder that is moved keeps working: sources inside it (files given one by one, as the app's
uploads are; walking a folder skips the library's own) follow it in the store and DuckDB, sources outside
keep their paths, and re-ingesting the moved files finds them unchanged."""
from __future__ import annotations

import shutil
from pathlib import Path

from mmrag import Library
from mmrag.core.relocate import ROOT_KEY
from mmrag.kinds import SourceStatus
from mmrag.tables.db import TableDB


def _make(tmp_path: Path) -> tuple[Path, Path]:
    lib_dir, outside = tmp_path / "a" / "lib", tmp_path / "outside.txt"
    inside = lib_dir / "files"
    inside.mkdir(parents=True)
    (inside / "ferry.txt").write_text("The ferry to the island leaves at seven every morning.\n")
    (inside / "riders.csv").write_text("Rider,Country\nAnna,Italy\nBo,Kazakhstan\n")
    outside.write_text("The orchard has two hundred apple trees.\n")
    with Library(lib_dir, text_encoder="hash") as lib:
        lib.ingest([inside / "ferry.txt", inside / "riders.csv", outside])  # as the app adds its uploads
    return lib_dir, outside


def test_a_moved_library_follows_its_files(tmp_path):
    lib_dir, outside = _make(tmp_path)
    moved = tmp_path / "b" / "renamed"
    moved.parent.mkdir()
    shutil.move(str(lib_dir), moved)
    with Library(moved) as lib:
        paths = {s["path"] for s in lib.sources()}
        assert paths == {str(moved.resolve() / "files" / "ferry.txt"), str(moved.resolve() / "files" / "riders.csv"),
                         str(outside.resolve())}
        assert lib.store.get_meta(ROOT_KEY) == str(moved.resolve())
        hit = lib.search("ferry island", k=1)[0]
        assert Path(hit.record.source).is_file() and hit.record.source.startswith(str(moved.resolve()))
        again = lib.ingest([*(moved / "files").iterdir(), outside])
        assert again.count(SourceStatus.UNCHANGED) == 3 and again.count(SourceStatus.OK) == 0
        with TableDB(moved / "tables.duckdb", read_only=True) as db:
            assert [t.source for t in db.tables()] == [str(moved.resolve() / "files" / "riders.csv")]
        assert lib.doctor()["ok"], lib.doctor()
        removed = lib.remove([moved / "files" / "riders.csv"])
        assert list(removed.values())[0] > 0
        with TableDB(moved / "tables.duckdb", read_only=True) as db:
            assert db.tables() == []


def test_a_folder_with_a_similar_name_is_not_rewritten(tmp_path):
    """Only paths under the old folder itself move: `lib2/x` is not under `lib/`."""
    lib_dir, _ = _make(tmp_path)
    sibling = lib_dir.parent / "lib2"
    sibling.mkdir()
    (sibling / "x.txt").write_text("Lighthouse keepers climbed the stairs at dusk.\n")
    with Library(lib_dir) as lib:
        lib.ingest([sibling])
    moved = tmp_path / "elsewhere"
    shutil.move(str(lib_dir), moved)
    with Library(moved) as lib:
        assert str((sibling / "x.txt").resolve()) in {s["path"] for s in lib.sources()}
