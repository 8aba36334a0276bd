"""Fixtures shared by the mmrag tests."""
from __future__ import annotations

import pytest


def _offline_llm(name: str, why_missing: str, **options):
    """The named offline GGUF model through llama.cpp, or a skip naming what is missing."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from mmrag.generate import load_llm
    from mmrag.generate.models import REGISTRY, locate_pieces
    try:
        locate_pieces(REGISTRY[name])
    except FileNotFoundError as exc:
        pytest.skip(f"{why_missing}: {exc}")
    return load_llm(name, **options)


@pytest.fixture(scope="module")
def llm():
    """The real offline 0.5B GGUF model through llama.cpp (one thread: robust on a busy machine)."""
    from mmrag.generate import SMALL_MODEL
    return _offline_llm(SMALL_MODEL, "model pieces not installed", n_ctx=2048, n_threads=1)


@pytest.fixture(scope="module")
def default_llm():
    """The 1.5B that `auto` picks when `make models` installed it (`make test` installs only the 0.5B)."""
    from mmrag.generate import DEFAULT_MODEL
    return _offline_llm(DEFAULT_MODEL, "the 1.5B is not installed (make models)", n_ctx=4096)
