"""Multi-step retrieval: follow-up queries from intermediate notes, bounded, numbering kept stable."""
from __future__ import annotations

import re
from typing import Iterator

import pytest

from mmrag.answer import parse_citations
from mmrag.answer.multistep import parse_follow_up

QUESTION = "Where is the Zorblax festival held, and who is that town's mayor?"


class ScriptedChat:
    """A stand-in chat model replaying fixed replies (plumbing only; the real model is tested below)."""

    kind, name, n_ctx = "chat", "scripted", 4096

    def __init__(self, replies: list[str]) -> None:
        self.replies, self.prompts = list(replies), []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def complete(self, prompt, max_tokens=256, temperature=0.0, stop=None, seed=None) -> str:
        self.prompts.append(prompt)
        return self.replies.pop(0)

    def stream(self, prompt, max_tokens=256, temperature=0.0, stop=None, seed=None) -> Iterator[str]:
        yield from re.findall(r"\S+\s*", self.complete(prompt))


def test_parse_follow_up():
    assert parse_follow_up("NOTE: It is in Plenkville [1].\nSEARCH: mayor of Plenkville") == \
        ("It is in Plenkville [1].", "mayor of Plenkville")
    assert parse_follow_up("NOTE: All known [1].\nDONE") == ("All known [1].", None)
    assert parse_follow_up("NOTE: x\nSEARCH: none") == ("x", None)
    assert parse_follow_up("Plenkville, I think.") == ("Plenkville, I think.", None)


def test_follow_up_hits_are_appended_and_cited(docs_library):
    gen = ScriptedChat(["NOTE: The festival is held in Plenkville [1].\nSEARCH: mayor of Plenkville",
                        "The festival is in Plenkville [1] and its mayor is Odile Varga [2] [7]."])
    answer = docs_library.ask(QUESTION, generator=gen, k=1, steps=2)
    assert answer.meta["follow_up_queries"] == ["mayor of Plenkville"] and answer.meta["steps"] == 2
    assert [e.n for e in answer.evidence] == [1, 2]
    assert answer.evidence[0].source.endswith("festival.md") and answer.evidence[1].source.endswith("plenkville.md")
    assert answer.meta["notes"] == ["The festival is held in Plenkville [1]."]
    assert "Notes from earlier steps" in gen.prompts[-1][-1]["content"]
    assert parse_citations(answer.text) == [1, 2] and answer.meta["invalid_citations"] == [7]


def test_steps_are_bounded(docs_library):
    gen = ScriptedChat(["NOTE: a [1]\nSEARCH: Plenkville mayor", "NOTE: b\nSEARCH: sourdough bake",
                        "Odile Varga [2]."])
    answer = docs_library.ask(QUESTION, generator=gen, k=1, steps=3)
    assert answer.meta["follow_up_queries"] == ["Plenkville mayor", "sourdough bake"] and answer.meta["steps"] == 3
    assert len(answer.evidence) == 3 and len(gen.prompts) == 3  # 2 follow-up prompts, then the answer
    assert answer.text == "Odile Varga [2]."


@pytest.mark.slow
def test_two_steps_with_the_real_llm(minilm_docs_library, llm):
    answer = minilm_docs_library.ask(QUESTION, generator=llm, k=2, steps=2, max_tokens=48, table_qa=False)
    assert 1 <= answer.meta["steps"] <= 2 and len(answer.meta["follow_up_queries"]) <= 1
    assert [e.n for e in answer.evidence] == list(range(1, len(answer.evidence) + 1))
    assert set(parse_citations(answer.text)) <= {e.n for e in answer.evidence}
