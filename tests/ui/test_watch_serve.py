"""A running app shows what `mmrag watch` (another process) adds, changes and deletes, without a restart:
its indexes follow the store's generation counter."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import ROOT

from .conftest import free_port, text_only_config

pytestmark = pytest.mark.slow


def sources_found(url: str, query: str) -> set[str]:
    r = httpx.post(f"{url}mmrag/api/search", json={"query": query, "k": 5}, timeout=30)
    r.raise_for_status()
    return {os.path.basename(h["source"]) for h in r.json()["hits"] if query in h["text"]}


def wait_until(cond, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def test_the_app_follows_a_watched_folder(tmp_path):
    from mmrag import Library
    from ui import Settings, launch
    docs, lib = tmp_path / "docs", tmp_path / "lib"
    docs.mkdir()
    (docs / "old.md").write_text("An aardvark digs burrows at night.\n")
    Library(lib, config=text_only_config("hash")).close()
    server = launch(Settings(library=lib, generator="extractive", warm_up=False), port=free_port())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    watch = subprocess.Popen([sys.executable, "-m", "mmrag", "watch", str(docs), "--library", str(lib),
                              "--debounce", "0.2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert wait_until(lambda: sources_found(server.url, "aardvark") == {"old.md"}, 120)  # the catch-up
        (docs / "new.md").write_text("The quokka smiles on Rottnest Island.\n")
        assert wait_until(lambda: sources_found(server.url, "quokka") == {"new.md"})
        (docs / "new.md").write_text("The numbat eats termites instead.\n")
        assert wait_until(lambda: sources_found(server.url, "numbat") == {"new.md"})
        assert sources_found(server.url, "quokka") == set()  # the old text is gone from every index
        hit = httpx.post(f"{server.url}mmrag/api/search", json={"query": "numbat termites"}, timeout=30).json()["hits"][0]
        assert "dense:text" in hit["retrievers"] and "numbat" in hit["text"]  # the vector index has the new text
        (docs / "old.md").unlink()
        assert wait_until(lambda: sources_found(server.url, "aardvark") == set())
        status = httpx.get(f"{server.url}mmrag/api/status", timeout=30).json()
        assert status["sources"] == {"ok": 1} and status["spaces"]["text"]["vectors"] == 1, status
    finally:
        watch.send_signal(signal.SIGINT)
        try:
            _, err = watch.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            watch.kill()
            err = watch.communicate()[1]
        server.close()
    assert watch.returncode == 0, err
