"""`export` / `import` of a library: the round trip searches the same in the new folder, and an archive
that was changed, holds unsafe names, or targets a folder in use is refused naming the problem, leaving
nothing behind."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from mmrag import ArchiveError, Library
from mmrag.core.archive import MANIFEST, import_library
from mmrag.tables.db import TableDB


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path, list]:
    tmp = tmp_path_factory.mktemp("export")
    lib_dir = tmp / "lib"
    files = lib_dir / "files"
    files.mkdir(parents=True)
    (files / "ferry.txt").write_text("The ferry to the island leaves at seven every morning.\n")
    (files / "light.txt").write_text("The last lighthouse keeper left the station in 1968.\n")
    (files / "riders.csv").write_text("Rider,Country\nAnna,Italy\nBo,Kazakhstan\n")
    with Library(lib_dir, text_encoder="hash") as lib:
        lib.ingest(sorted(files.iterdir()))
        before = [(h.record.source.replace(str(lib_dir.resolve()), ""), round(h.score, 5))
                  for h in lib.search("when did the lighthouse keeper leave", k=3)]
        report = lib.export(tmp / "lib.tar.gz")
    assert report.files >= 4 and report.outside == 0
    return tmp / "lib.tar.gz", lib_dir, before


def test_round_trip_searches_the_same_in_the_new_folder(exported, tmp_path):
    archive, old, before = exported
    with Library.import_archive(archive, tmp_path / "restored") as lib:
        root = str((tmp_path / "restored").resolve())
        after = [(h.record.source.replace(root, ""), round(h.score, 5))
                 for h in lib.search("when did the lighthouse keeper leave", k=3)]
        assert after == before and all(s["path"].startswith(root) for s in lib.sources())
        with TableDB(lib.root / "tables.duckdb", read_only=True) as db:
            assert [t.source for t in db.tables()] == [root + "/files/riders.csv"]
        assert lib.doctor()["ok"]
    assert not any(p.name.startswith(".restored.import-") for p in tmp_path.iterdir())


def _rewrite(src: Path, dst: Path, change) -> None:
    """Copy an archive member by member, letting `change(info, data)` alter or add members."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read() if m.isfile() else b""
            for info, body in change(m, data):
                tout.addfile(info, io.BytesIO(body) if info.isfile() else None)


def test_a_changed_member_is_refused_and_nothing_is_left(exported, tmp_path):
    def flip(m, data):
        if m.name == "files/light.txt":
            data = data.replace(b"1968", b"1986")
        yield m, data
    bad = tmp_path / "bad.tar.gz"
    _rewrite(exported[0], bad, flip)
    with pytest.raises(ArchiveError, match="files/light.txt does not match its sha256"):
        import_library(bad, tmp_path / "dest")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tar.gz"]


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/abs.txt", "files/../../x.txt"])
def test_unsafe_names_are_refused(exported, tmp_path, name):
    def add(m, data):
        yield m, data
        if m.name == MANIFEST:
            evil = tarfile.TarInfo(name)
            evil.size = 4
            yield evil, b"evil"
    bad = tmp_path / "evil.tar.gz"
    _rewrite(exported[0], bad, add)
    with pytest.raises(ArchiveError, match="unsafe name"):
        import_library(bad, tmp_path / "dest")
    assert not (tmp_path.parent / "escape.txt").exists() and not (tmp_path / "dest").exists()


def test_links_and_unlisted_members_are_refused(exported, tmp_path):
    def link(m, data):
        yield m, data
        if m.name == MANIFEST:
            ln = tarfile.TarInfo("files/passwd")
            ln.type, ln.linkname = tarfile.SYMTYPE, "/etc/passwd"
            yield ln, b""
    bad = tmp_path / "link.tar.gz"
    _rewrite(exported[0], bad, link)
    with pytest.raises(ArchiveError, match="link or device"):
        import_library(bad, tmp_path / "dest")

    def extra(m, data):
        yield m, data
        if m.name == MANIFEST:
            x = tarfile.TarInfo("files/extra.txt")
            x.size = 2
            yield x, b"hi"
    _rewrite(exported[0], bad, extra)
    with pytest.raises(ArchiveError, match="not in the manifest"):
        import_library(bad, tmp_path / "dest2")


def test_not_an_export_and_a_used_folder_are_refused(exported, tmp_path):
    plain = tmp_path / "plain.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ArchiveError, match="not an mmrag export"):
        import_library(plain, tmp_path / "dest")
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    with pytest.raises(ArchiveError, match="not empty"):
        import_library(exported[0], used)
    assert [p.name for p in used.iterdir()] == ["keep.txt"]
    with tarfile.open(exported[0], "r:gz") as tar:
        manifest = json.loads(tar.extractfile(MANIFEST).read())
    assert manifest["format"] == 1 and "store.sqlite" in manifest["files"]
    assert not any(n.endswith((".lock", "-wal", "-shm")) for n in manifest["files"])


def test_the_archive_cannot_be_written_inside_the_library(exported):
    with Library(exported[1]) as lib, pytest.raises(ArchiveError, match="inside the library"):
        lib.export(exported[1] / "self.tar.gz")
