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
