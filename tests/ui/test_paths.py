"""Upload names, what may be served, and the file-route guard (no server needed)."""
from __future__ import annotations

import os

import pytest

from ui import paths
from ui.guard import FileRouteGuard, file_target


@pytest.mark.parametrize("name, expected", [
    ("../../x.jpg", "x.jpg"),
    ("..\\..\\evil.png", "evil.png"),
    ("/etc/passwd", "passwd"),
    ("..", "upload"),
    (".bashrc", "bashrc"),
    ("a b (1).pdf", "a b _1_.pdf"),
    ("café.txt", "café.txt"),
    ("", "upload"),
    ("x" * 300 + ".jpg", "x" * (paths.MAX_NAME - 4) + ".jpg"),
])
def test_safe_name(name, expected):
    assert paths.safe_name(name) == expected


def test_upload_target_stays_in_uploads_and_never_overwrites(tmp_path):
    lib = tmp_path / "lib"
    first = paths.upload_target(lib, "../../x.jpg")
    assert first == (lib / "uploads" / "x.jpg").resolve()
    first.write_bytes(b"1")
    second = paths.upload_target(lib, "../x.jpg")
    assert second.name == "x-2.jpg" and second.parent == first.parent
    for name in ("../../../tmp/y.txt", "/abs/z.md", "..", "....//w.csv"):
        assert paths.inside(paths.upload_target(lib, name), lib / "uploads")
    assert not (tmp_path / "x.jpg").exists()


def test_servable_is_library_media_only(tmp_path):
    lib = tmp_path / "lib"
    (lib / "thumbs").mkdir(parents=True)
    (lib / "indexes" / "text").mkdir(parents=True)
    (lib / "uploads").mkdir()
    (lib / "media").mkdir()
    for rel in ("thumbs/a.jpg", "media/v.mp4", "store.sqlite", "library.json", "indexes/text/index.faiss",
                "tables.duckdb", "uploads/x.html", "uploads/x.jpg", "notes.txt"):
        (lib / rel).write_bytes(b"x")
    assert paths.servable(lib, lib / "thumbs" / "a.jpg") and paths.servable(lib, lib / "media" / "v.mp4")
    for rel in ("store.sqlite", "library.json", "indexes/text/index.faiss", "tables.duckdb", "uploads/x.html",
                "uploads/x.jpg", "notes.txt", "thumbs", "media"):
        assert not paths.servable(lib, lib / rel), rel
    assert not paths.servable(lib, tmp_path / "outside.txt")
    assert not paths.servable(lib, lib / "thumbs" / ".." / ".." / "outside.txt")
    os.symlink(tmp_path, lib / "thumbs" / "escape")
    assert not paths.servable(lib, lib / "thumbs" / "escape" / "outside.txt")


def test_media_copy_puts_outside_sources_inside_the_library(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    src = tmp_path / "clip.mp4"
    src.write_bytes(b"video bytes")
    copy = paths.media_copy(lib, src)
    assert copy.parent == (lib / "media").resolve() and copy.read_bytes() == b"video bytes"
    assert paths.media_copy(lib, src) == copy  # cached
    inside = lib / "uploads" / "v.mp4"
    inside.parent.mkdir()
    inside.write_bytes(b"v")
    in_media = paths.media_copy(lib, inside)  # uploads are not servable: a media copy (hard link) is made
    assert in_media.parent == (lib / "media").resolve() and in_media.read_bytes() == b"v"
    assert paths.media_copy(lib, tmp_path / "gone.mp4") is None
    secret = tmp_path / "notes.txt"
    secret.write_text("not media")
    assert paths.media_copy(lib, secret) is None  # documents and data are never copied out to be served
    src.write_bytes(b"edited video")
    os.utime(src, ns=(1, 1))
    fresh = paths.media_copy(lib, src)
    assert fresh != copy and fresh.read_bytes() == b"edited video" and not copy.exists()
    assert paths.drop_media_copy(lib, src) == 1 and not fresh.exists()


def test_guard_allows_only_library_media_and_uploads(tmp_path):
    lib, uploads = tmp_path / "lib", tmp_path / "gradio"
    (lib / "thumbs").mkdir(parents=True)
    uploads.mkdir()
    guard = FileRouteGuard(app=None, library=lib, upload_dir=uploads)
    assert guard.allowed(str(lib / "thumbs" / "a.jpg"))
    assert guard.allowed(str(uploads / "abc" / "q.png"))
    for bad in ("/etc/passwd", str(lib / "store.sqlite"), str(lib / "thumbs/../../../etc/passwd"),
                "https://example.com/a.png", "file:///etc/passwd", "", str(lib / "library.json")):
        assert not guard.allowed(bad), bad
    assert file_target("/gradio_api/file=/etc/passwd") == "/etc/passwd"
    assert file_target("/prefix/gradio_api/file/etc/passwd") == "etc/passwd"
    assert file_target("/gradio_api/upload") is None
