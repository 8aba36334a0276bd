"""Shared fixtures: a real MiniLM encoder (loaded once), libraries in temporary folders."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "corpus"
EVALPACK = ROOT.parent / "shared" / "evalpack"
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _llm_states(tmp_path_factory):
    """Saved prompt-prefix states (`mmrag.generate.prefix_states`) go to a folder of this test run, not the
    user's cache, so every run starts without them."""
    os.environ["MMRAG_LLM_STATES"] = str(tmp_path_factory.mktemp("llm-states"))


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 encoder, shared by every test that needs it."""
    from encoders import create_encoder
    return create_encoder("minilm")


@pytest.fixture
def hash_library(tmp_path):
    """A library that embeds text with the deterministic hash encoder (plumbing tests)."""
    from mmrag import Library
    with Library(tmp_path / "lib", text_encoder="hash") as lib:
        yield lib


@pytest.fixture
def minilm_library(tmp_path, minilm):
    from mmrag import Library
    with Library(tmp_path / "lib", text_encoder="minilm") as lib:
        yield lib
