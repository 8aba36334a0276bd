"""The llama.cpp backend with the real offline 0.5B model (slow; skipped when it is not installed)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_complete_stream_and_count(llm):
    from mmrag.generate import LLM, load_llm
    assert isinstance(llm, LLM) and llm.n_ctx == 2048
    msgs = [{"role": "user", "content": "What is 2 + 3? Reply with the number only."}]
    assert llm.complete(msgs, max_tokens=8).strip().startswith("5")
    assert "".join(llm.stream(msgs, max_tokens=8)).strip().startswith("5")
    assert llm.complete("The capital of France is", max_tokens=4).strip().lower().startswith("paris")
    assert 0 < llm.count_tokens("hello world") <= 3
    assert llm.usage.calls == 3 and llm.usage.completion_tokens > 0
    assert load_llm(llm.name, n_ctx=2048, n_threads=1)._llama is llm._llama  # loaded once per (path, n_ctx)


def test_a_prompt_prefix_read_before_is_restored_not_read_again(llm, monkeypatch):
    """The RAM prefix cache: after an unrelated prompt, a prompt sharing a long prefix with an earlier
    one restores that state (the cache holds it) and gives the same reply as when read cold."""
    cache = llm._llama.cache
    assert cache is not None, "load_llm sets llama.cpp's RAM prefix cache ($MMRAG_LLM_CACHE_MB)"
    prefix = "Facts: " + " ".join(f"Item {i} costs {i * 3} euros." for i in range(40))
    first = [{"role": "system", "content": prefix}, {"role": "user", "content": "What does item 7 cost?"}]
    other = [{"role": "user", "content": "Name a colour."}]
    again = [{"role": "system", "content": prefix}, {"role": "user", "content": "What does item 12 cost?"}]
    llm._llama.reset()
    cache.cache_state.clear()
    cold = llm.complete(again, max_tokens=12)
    llm.complete(first, max_tokens=12)
    llm.complete(other, max_tokens=4)
    assert len(cache.cache_state) >= 2
    restored = []
    real_load = llm._llama.load_state  # a spy: the real load still runs
    monkeypatch.setattr(llm._llama, "load_state", lambda state: restored.append(len(state.input_ids)) or real_load(state))
    assert llm.complete(again, max_tokens=12) == cold
    assert restored and restored[0] > llm.count_tokens(prefix), "the state holding the prefix was restored"
    assert llm._llama.n_tokens > llm.count_tokens(prefix)  # the context holds the long prompt again


def test_the_prefix_cache_stays_within_its_capacity(llm):
    """Every byte a saved state holds counts against the capacity, and the logits copy of every prompt
    token (up to 311 MB a state) is cut to the last row, so many prompts stay within the capacity."""
    from mmrag.generate.llm import _bounded_cache, state_bytes
    before = llm._llama.cache
    try:
        llm._llama.set_cache(_bounded_cache(1 << 40))
        llm.complete([{"role": "user", "content": "Say the number 1 twice."}], max_tokens=4)
        (first,) = llm._llama.cache.cache_state.values()
        assert first.scores.shape[0] == 1 and state_bytes(first) < 64 << 20
        cache = _bounded_cache(int(2.5 * state_bytes(first)))
        llm._llama.set_cache(cache)
        for i in range(6):
            llm.complete([{"role": "user", "content": f"Say the number {i} and {i * 7} twice."}], max_tokens=4)
        states = list(cache.cache_state.values())
        assert 1 <= len(states) <= 2 and cache.cache_size == sum(map(state_bytes, states)) <= cache.capacity_bytes
    finally:
        llm._llama.set_cache(before)
