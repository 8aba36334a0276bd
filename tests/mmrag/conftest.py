"""Fixtures shared by the mmrag tests."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def llm():
    """The real offline 0.5B GGUF model through llama.cpp (one thread: robust on a busy machine)."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from mmrag.generate import SMALL_MODEL, load_llm
    from mmrag.generate.models import REGISTRY, locate_pieces
    try:
        locate_pieces(REGISTRY[SMALL_MODEL])
    except FileNotFoundError as exc:
        pytest.skip(f"model pieces not installed: {exc}")
    return load_llm(SMALL_MODEL, n_ctx=2048, n_threads=1)
