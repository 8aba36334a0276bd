"""Prompt-prefix states kept on disk, with the real offline 0.5B (slow; skipped when it is not installed)."""
from __future__ import annotations

import logging

import pytest

from mmrag.generate.prefix_states import prime, state_key, states_dir

pytestmark = pytest.mark.slow
PREFIX = [{"role": "system", "content": "Facts: " + " ".join(f"Item {i} costs {i * 3} euros." for i in range(40))},
          {"role": "user", "content": "Question"}]


def _ask(item: int) -> list[dict[str, str]]:
    return [PREFIX[0], {"role": "user", "content": f"Question: what does item {item} cost? Reply with the number."}]


def test_a_prefix_is_read_once_then_comes_from_ram_or_disk(llm, monkeypatch, tmp_path):
    monkeypatch.setenv("MMRAG_LLM_STATES", str(tmp_path))
    cache = llm._llama.cache
    llm._llama.reset()
    cache.cache_state.clear()
    cold = llm.complete(_ask(12), max_tokens=8)
    assert prime(llm, PREFIX) == "read"
    path = states_dir() / f"{state_key(llm.path, llm.n_ctx, PREFIX)}.npz"
    assert path.exists() and path.stat().st_size > 1 << 20  # the KV state of ~400 tokens
    assert prime(llm, PREFIX) == "ram"
    llm._llama.reset()
    cache.cache_state.clear()  # as in a new process: only the file is left
    assert prime(llm, PREFIX) == "disk"
    restored = []
    real_load = llm._llama.load_state
    monkeypatch.setattr(llm._llama, "load_state", lambda s: restored.append(s.n_tokens) or real_load(s))
    llm.complete([{"role": "user", "content": "Name a colour."}], max_tokens=4)
    assert llm.complete(_ask(12), max_tokens=8) == cold  # the state from disk gives the cold reply
    assert restored and restored[-1] >= llm.count_tokens(PREFIX[0]["content"])


def test_a_damaged_state_file_is_read_again(llm, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("MMRAG_LLM_STATES", str(tmp_path))
    assert prime(llm, PREFIX) in ("read", "ram", "disk")
    path = states_dir() / f"{state_key(llm.path, llm.n_ctx, PREFIX)}.npz"
    if not path.exists():  # primed in RAM by the test before, in another folder
        llm._llama.cache.cache_state.clear()
        assert prime(llm, PREFIX) == "read"
    path.write_bytes(b"not a numpy archive")
    llm._llama.cache.cache_state.clear()
    with caplog.at_level(logging.WARNING, logger="mmrag.generate.prefix_states"):
        assert prime(llm, PREFIX) == "read"
    assert "could not be loaded" in caplog.text and path.stat().st_size > 1 << 20
    assert llm.complete(_ask(7), max_tokens=8).strip().startswith("21")


def test_without_a_prefix_cache_nothing_is_primed(llm):
    cache = llm._llama.cache
    llm._llama.set_cache(None)
    try:
        assert prime(llm, PREFIX) == "none"
    finally:
        llm._llama.set_cache(cache)
