"""`mmrag.watch`: real files added, changed and deleted under a watched folder, by file events and by
polling; a broken file fails alone and the watcher goes on; the library folder itself is never watched."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmrag import Library, LibraryConfig, SpaceConfig
from mmrag.watch import Watcher
from tests.conftest import ROOT

TIMEOUT = 30.0  # no wait below is longer than this; each ends as soon as its condition holds


def wait_until(cond, timeout: float = TIMEOUT, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(every)
    return cond()


def statuses(root: Path) -> dict[str, str]:
    """{file name: status} as another reader of the library sees it (a fresh handle, like `mmrag serve`)."""
    with Library(root) as lib:
        return {Path(s["path"]).name: s["status"] for s in lib.sources()}


def texts(root: Path, name: str) -> str:
    with Library(root) as lib:
        src = next(s["path"] for s in lib.sources() if Path(s["path"]).name == name)
        return " ".join(r.text for r in lib.store.get_records(lib.store.record_ids_of(src)).values())


@pytest.fixture
def folders(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "first.md").write_text("# First\n\nThe quokka lives on Rottnest Island.\n")
    cfg = LibraryConfig(spaces={"text": SpaceConfig(encoder="hash", modalities=["text", "table"])})
    Library(tmp_path / "lib", config=cfg).close()
    return docs, tmp_path / "lib"


@pytest.fixture(params=["events", "poll"])
def watcher(request, folders):
    docs, root = folders
    lib = Library(root)
    w = Watcher(lib, [docs], debounce_s=0.2, poll=request.param == "poll", poll_s=0.2).start()
    assert w.mode == request.param
    assert w.wait_for_batches(1, TIMEOUT), "the catch-up ingest did not finish"
    yield w, docs, root
    w.stop()
    lib.close()


def test_add_modify_delete_and_a_broken_file(watcher, caplog):
    w, docs, root = watcher
    assert statuses(root) == {"first.md": "ok"}  # caught up at start

    (docs / "second.txt").write_text("Sourdough needs an active starter.\n")
    assert wait_until(lambda: statuses(root).get("second.txt") == "ok")
    (docs / "second.txt").write_text("Rye bread needs a long proof instead.\n")
    assert wait_until(lambda: "Rye bread" in texts(root, "second.txt"))
    assert "Sourdough" not in texts(root, "second.txt")

    n = len(w.batches)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF at all")
    assert wait_until(lambda: statuses(root).get("broken.pdf") == "failed")
    assert any("broken.pdf" in r.getMessage() for r in caplog.records if r.levelname in ("WARNING", "ERROR"))
    assert w.wait_for_batches(n + 1, TIMEOUT) and w.batches[-1].error == ""  # a failed file, not a failed batch

    (docs / "second.txt").unlink()  # the watcher is still running: it sees the deletion
    assert wait_until(lambda: "second.txt" not in statuses(root))
    sub = docs / "sub"
    sub.mkdir()
    (sub / "third.md").write_text("Lighthouse keepers climbed the stairs at dusk.\n")
    assert wait_until(lambda: statuses(root).get("third.md") == "ok")
    shutil.rmtree(sub)  # a deleted folder takes its sources with it
    assert wait_until(lambda: "third.md" not in statuses(root))
    assert statuses(root) == {"first.md": "ok", "broken.pdf": "failed"}


def test_rapid_writes_are_debounced_into_one_read(watcher):
    w, docs, root = watcher
    n = len(w.batches)
    path = docs / "growing.md"
    for i in range(5):  # five writes closer together than the debounce
        path.write_text("line\n" * (i + 1) + "final words: pelican\n")
        time.sleep(0.02)
    assert wait_until(lambda: statuses(root).get("growing.md") == "ok")
    assert w.wait_for_batches(n + 1, TIMEOUT)
    took = [b for b in w.batches[n:] if str(path) in b.paths]
    assert len(took) == 1 and took[0].report["counts"]["ok"] == 1, [b.summary() for b in w.batches[n:]]


def test_hidden_unsupported_and_library_files_are_ignored(folders):
    docs, root = folders
    with Library(root) as lib:
        w = Watcher(lib, [docs.parent], catch_up=False)  # the library folder lies under the watched one
        assert not w.wanted(root / "store.sqlite") and not w.wanted(root / "indexes" / "text" / "x.md")
        assert not w.wanted(docs / ".notes.md") and not w.wanted(docs / ".git" / "a.md")
        assert not w.wanted(docs / "archive.xyz") and w.wanted(docs / "archive.xyz", gone=True)
        assert w.wanted(docs / "a.md") and not w.wanted("/etc/passwd")


def test_the_watch_command_keeps_a_library_current(folders):
    """`mmrag watch` as a user runs it, in its own process; a reader in this process sees its changes."""
    docs, root = folders
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mmrag", "watch", str(docs), "--library", str(root),
                             "--debounce", "0.2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: statuses(root).get("first.md") == "ok", timeout=120), proc.stderr
        (docs / "added.md").write_text("The pangolin eats ants.\n")
        assert wait_until(lambda: statuses(root).get("added.md") == "ok", timeout=60)
    finally:
        proc.terminate()  # SIGTERM: it stops between batches
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "1 ok" in out and "(file events)" in err, (out, err)


def test_ctrl_c_stops_the_watch_command_even_when_its_parent_ignored_sigint(folders):
    """A process started with SIGINT ignored (a background job, a parent that ignores it) inherits that;
    `mmrag watch` still stops on Ctrl+C."""
    docs, root = folders
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mmrag", "watch", str(docs), "--library", str(root)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert wait_until(lambda: statuses(root).get("first.md") == "ok", timeout=120)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err


def test_polls_when_file_events_are_unavailable(folders, monkeypatch, caplog):
    """An observer that cannot start (here: the inotify watch limit, injected) leaves the watcher polling."""
    import watchdog.observers

    class Exhausted(watchdog.observers.Observer):
        def schedule(self, *args, **kwargs):
            raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watchdog.observers, "Observer", Exhausted)
    docs, root = folders
    with Library(root) as lib:
        w = Watcher(lib, [docs], debounce_s=0.1, poll_s=0.2).start()
        try:
            assert w.mode == "poll" and "polling every" in caplog.text
            (docs / "late.md").write_text("Found by polling.\n")
            assert wait_until(lambda: statuses(root).get("late.md") == "ok")
        finally:
            w.stop()
