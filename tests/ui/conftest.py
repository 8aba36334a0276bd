"""Fixtures for the app tests: a small library from samples/corpus and the real app on a free port."""
from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SAMPLES

ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_only_config(encoder: str):  # noqa: ANN201 - mmrag.LibraryConfig
    """A library with only the text space: no CLIP (whose weights are absent here), OCR on."""
    from mmrag import LibraryConfig, SpaceConfig
    return LibraryConfig(spaces={"text": SpaceConfig(encoder=encoder, modalities=["text", "table"])})


@pytest.fixture(scope="session")
def corpus_library(tmp_path_factory) -> Path:
    """samples/corpus ingested with the hash encoder (plumbing); OCR reads the two pictures."""
    from mmrag import Ingestor, Library
    root = tmp_path_factory.mktemp("ui") / "lib"
    with Library(root, config=text_only_config("hash")) as lib:
        report = Ingestor(lib, progress=False).run([SAMPLES])
    assert report.count("ok") == len(list(SAMPLES.iterdir())), report.to_dict()
    return root


@pytest.fixture(scope="session")
def folder_root(tmp_path_factory) -> Path:
    """The server folder the app may ingest from (--folder-root), with two sample files in it."""
    root = tmp_path_factory.mktemp("server-files")
    (root / "docs").mkdir()
    for name in ("sourdough.txt", "lighthouse.txt"):
        shutil.copy(SAMPLES / name, root / "docs" / name)
    return root


@pytest.fixture(scope="session")
def app(corpus_library, folder_root):
    """The real app (extractive answers) serving the corpus library on 127.0.0.1."""
    from ui import Settings, launch
    settings = Settings(library=corpus_library, generator="extractive", k=6, folder_roots=[folder_root],
                        max_upload_mb=1)
    server = launch(settings, host="127.0.0.1", port=free_port())
    yield server
    server.close()


@pytest.fixture(scope="session")
def client(app):
    from gradio_client import Client
    return Client(app.url, verbose=False)


@pytest.fixture(scope="session")
def minilm_corpus(tmp_path_factory, minilm) -> Path:
    """A small real library: MiniLM text space, four documents and a table, and the video (Whisper)."""
    from mmrag import Library
    base = tmp_path_factory.mktemp("minilm-corpus")
    docs = base / "docs"
    docs.mkdir()
    for name in ("sourdough.txt", "tour-results.md", "stage14-top10.csv", "quarterly-report.md",
                 "lighthouse-keeper.mp4"):
        shutil.copy(SAMPLES / name, docs / name)
    with Library(base / "lib", config=text_only_config("minilm")) as lib:
        report = lib.ingest([docs])
    assert report.count("ok") == 5, report.to_dict()
    return base / "lib"


class SlowChat:
    """A generator that streams one word every 50 ms for 20 s (plumbing for the stop button: a real LLM is
    too slow to wait for here); `closed` is set when its stream is closed, finished or not."""

    name, kind, n_ctx = "slow-test", "chat", 4096

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started, self.closed = threading.Event(), threading.Event()
        self.finished = False

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages: Any, **kw: Any):  # noqa: ANN201 - an iterator of words
        self.started.set()
        try:
            for i in range(400):
                time.sleep(0.05)
                yield f"word{i} "
            self.finished = True
        finally:
            self.closed.set()


@pytest.fixture(scope="session")
def slow_server(corpus_library):
    """The app over the corpus library answering with `SlowChat`: (server, the generator)."""
    from mmrag.generate.registry import register_generator
    from ui import Settings, launch
    slow = SlowChat()
    register_generator(slow.name)(lambda **kw: slow)
    server = launch(Settings(library=corpus_library, generator=slow.name, warm_up=False), port=free_port())
    yield server, slow
    server.close()


@pytest.fixture
def slow_app(slow_server):
    slow_server[1].reset()
    return slow_server
