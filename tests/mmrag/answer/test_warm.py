"""`Library.warm`: the generator loaded and the shared prompt prefixes read before the first question."""
from __future__ import annotations

import pytest

from mmrag.answer.warm import warm


def test_an_extractive_generator_is_only_loaded(docs_library):
    timings = warm(docs_library.core, "extractive")
    assert set(timings) == {"load_s"}


@pytest.mark.slow
def test_the_table_prefix_is_read_only_when_the_library_holds_tables(docs_library, llm):
    assert "table_prefix_s" not in warm(docs_library.core, llm)
    assert {"load_s", "answer_prefix_s"} <= set(warm(docs_library.core, llm))


@pytest.mark.slow
def test_the_first_table_question_restores_the_warmed_prefix(minilm_docs_library, llm, monkeypatch):
    """After `warm`, and an unrelated prompt in between, the SQL prompt of a table question starts from the
    cached state of the worked examples instead of reading them again."""
    from mmrag.tables.prompts import sql_prefix_messages
    cache = llm._llama.cache
    llm._llama.reset()
    cache.cache_state.clear()
    timings = minilm_docs_library.warm(llm)
    assert timings["table_prefix_s"] > 0 and timings["answer_prefix_s"] > 0
    llm.complete([{"role": "user", "content": "Name a colour."}], max_tokens=4)
    restored: list[int] = []
    real_load = llm._llama.load_state
    monkeypatch.setattr(llm._llama, "load_state", lambda s: restored.append(len(s.input_ids)) or real_load(s))
    answer = minilm_docs_library.ask("What is the population of Norway in millions?", generator=llm, k=4,
                                     max_tokens=16)
    assert answer.meta["table_question"] and answer.evidence[0].sql
    prefix_tokens = sum(llm.count_tokens(m["content"]) for m in sql_prefix_messages())
    assert restored and restored[0] >= prefix_tokens, (restored, prefix_tokens)
