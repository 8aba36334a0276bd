"""`Library.ask` / `ask_stream`: the event contract, citations, refusals, and the real models."""
from __future__ import annotations

import threading

import pytest

from mmrag.answer import NOTHING, parse_citations
from mmrag.generate import NOT_FOUND, ExtractiveGenerator


def _check_contract(events):
    kinds = [e.kind for e in events]
    assert kinds[0] == "evidence" and kinds[-1] == "answer" and set(kinds[1:-1]) <= {"token"}
    answer = events[-1].answer
    shown = {e.n for e in events[0].evidence}
    assert set(parse_citations(answer.text)) <= shown
    assert [e.n for e in answer.citations] == parse_citations(answer.text)
    assert answer.evidence == events[0].evidence
    return answer


def test_stream_contract_with_the_extractive_generator(docs_library):
    events = list(docs_library.ask_stream("How tall is the Kerrow lighthouse?", generator="extractive", k=4))
    answer = _check_contract(events)
    assert answer.model == "extractive"
    assert "42 metres" in answer.text and answer.citations
    assert answer.citations[0].source.endswith("lighthouse.txt")
    assert "".join(e.text for e in events if e.kind == "token") == answer.text
    assert {"retrieve_s", "generate_s", "total_s"} <= answer.timings.keys()


def test_extractive_refuses_when_nothing_matches(docs_library):
    answer = docs_library.ask("What is the airspeed of an unladen swallow?", generator="extractive", k=3)
    assert answer.text == NOT_FOUND and answer.citations == [] and answer.meta["refused"]


def test_empty_library_says_so(hash_library):
    events = list(hash_library.ask_stream("Anything at all?", generator="extractive"))
    assert events[0].evidence == [] and events[-1].answer.text == NOTHING


def test_bad_options_are_named(docs_library):
    with pytest.raises(TypeError, match="ask takes: image, k, generator"):
        docs_library.ask("x", kk=3)
    with pytest.raises(ValueError, match="unknown generator 'nope'; valid: auto, extractive"):
        docs_library.ask("x", generator="nope")


def test_extractive_with_real_minilm_embeddings(minilm_docs_library, minilm):
    gen = ExtractiveGenerator(max_sentences=1)
    answer = minilm_docs_library.ask("Who kept the lamp of the lighthouse burning?", generator=gen, k=5)
    assert "Ada Quill" in answer.text and answer.citations[0].source.endswith("lighthouse.txt")


@pytest.mark.slow
def test_grounded_answer_with_the_real_llm(minilm_docs_library, llm):
    events = list(minilm_docs_library.ask_stream("How long does the sourdough loaf bake?", generator=llm, k=4,
                                                 max_tokens=48, table_qa=False))
    answer = _check_contract(events)
    assert answer.model == llm.name
    assert "45" in answer.text
    assert any(e.source.endswith("bakery.txt") for e in answer.citations)
    assert answer.meta["prompt_tokens"] <= llm.n_ctx - 48


@pytest.mark.slow
def test_concurrent_asks_share_one_model(minilm_docs_library, llm):
    """The UI asks from several threads: calls on one llama.cpp instance are serialised, none fail."""
    questions = ["How tall is the Kerrow lighthouse?", "What was revenue in the third quarter?"]
    results: dict[int, object] = {}

    def run(i: int) -> None:
        try:
            results[i] = minilm_docs_library.ask(questions[i], generator=llm, k=3, max_tokens=24, table_qa=False)
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert all(not isinstance(r, Exception) for r in results.values()), results
    assert len(results) == 2 and all(r.text for r in results.values())


def test_reading_order_groups_sources_and_keeps_record_order():
    from mmrag.answer.ask import order_hits
    from mmrag.records import Hit, Record
    hits = [Hit(Record("text", src, {}, "x", id=rid), 1.0) for src, rid in
            [("/b", 7), ("/a", 3), ("/b", 5), ("/a", 1), ("/c", 2)]]
    assert [(h.record.source, h.record.id) for h in order_hits(hits, "reading")] == \
        [("/b", 5), ("/b", 7), ("/a", 1), ("/a", 3), ("/c", 2)]
    assert order_hits(hits, "score") == hits
    with pytest.raises(ValueError, match="valid: score, reading"):
        order_hits(hits, "random")
