"""Fixtures for the app tests: a small library from samples/corpus and the real app on a free port."""
from __future__ import annotations

import shutil
import socket
from pathlib import Path

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
