"""Rerankers: the plumbing with a deterministic reranker, a real cross-encoder architecture with
random weights, and the real offline LLM picking the passage that answers."""
from __future__ import annotations

import pytest

from mmrag.errors import MmragError, ModelMissingError, UnknownNameError
from mmrag.records import Hit, Record
from mmrag.retrieval import get_reranker, rerank
from mmrag.retrieval.rerank import LLMReranker


class ByLength:
    """Longest text first: easy to predict."""

    name = "by-length"

    def order(self, query, texts):
        return sorted(range(len(texts)), key=lambda i: -len(texts[i]))


def _hits(texts):
    return [Hit(Record("text" if t else "image", f"s{i}", {}, t), 1.0 - i / 10, {"dense:text": i + 1})
            for i, t in enumerate(texts)]


def test_rerank_reorders_text_hits_and_keeps_scores_descending():
    hits = _hits(["a", "", "ccc", "bb", "dddd"])
    out = rerank("q", hits, ByLength(), depth=4)
    assert [h.record.text for h in out] == ["ccc", "", "bb", "a", "dddd"]  # the image keeps its place; depth 4
    assert [h.score for h in out] == [h.score for h in hits]
    assert [h.retrievers.get("rerank") for h in out] == [1, None, 2, 3, None]
    assert out[0].retrievers["dense:text"] == 3  # the fused ranks are kept


class FirstOnly:
    name = "first-only"

    def order(self, query, texts):
        return [2, 2, 9]  # a partial, repeated, out-of-range order


def test_a_partial_order_keeps_every_hit():
    out = rerank("q", _hits(["a", "b", "c", "d"]), FirstOnly())
    assert [h.record.text for h in out] == ["c", "a", "b", "d"]


def test_unknown_and_incomplete_specs_name_the_valid_ones():
    with pytest.raises(UnknownNameError, match="valid: ce:<...>, llm"):
        get_reranker("colbert")
    with pytest.raises(MmragError, match="ce:<hub id or folder>"):
        get_reranker("ce")


def test_a_missing_cross_encoder_names_the_hub_id_and_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelMissingError, match=r"(?s)cross-encoder 'cross-encoder/no-such-model'.*CrossEncoder\("):
        get_reranker("ce:cross-encoder/no-such-model")


@pytest.fixture(scope="module")
def random_cross_encoder(tmp_path_factory, minilm):
    """A BERT cross-encoder of the real architecture with random weights and MiniLM's tokenizer."""
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("ce")
    pytest.importorskip("torch").manual_seed(0)  # random weights, but the same ones every run
    cfg = transformers.BertConfig(vocab_size=minilm.tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=128, num_labels=1)
    transformers.BertForSequenceClassification(cfg).save_pretrained(folder)
    minilm.tokenizer.save_pretrained(folder)
    return folder


def test_cross_encoder_reranker_orders_by_its_scores(random_cross_encoder):
    reranker = get_reranker(f"ce:{random_cross_encoder}")
    texts = ["the keeper left in 1968", "apples ripen in autumn", "the ferry leaves at nine", "bread bakes"]
    scores = reranker.scorer.score("when did the keeper leave?", texts)
    assert scores.shape == (4,) and len(set(scores.round(6))) == 4
    out = rerank("when did the keeper leave?", _hits(texts), reranker)
    assert [h.record.text for h in out] == [texts[i] for i in (-scores).argsort()]


def test_search_reranks_its_top_hits(hash_library):
    hash_library.add_records([Record("text", f"doc{i}.txt", {"i": i}, "lamp " + "x" * i).with_uid(f"d{i}")
                              for i in range(6)])
    hash_library.flush()
    plain = hash_library.search("lamp", k=3)
    reranked = hash_library.search("lamp", k=3, rerank=ByLength(), rerank_depth=6)
    assert len(reranked) == 3 and reranked[0].record.source == "doc5.txt" != plain[0].record.source
    assert all(h.retrievers.get("rerank") for h in reranked)


TEXTS = ["The orchard grows twelve kinds of apple and presses cider every October.",
         "The ferry to the island leaves at 9:15 and returns at 17:40 on weekdays.",
         "The last lighthouse keeper left the station in 1968, when the light was automated.",
         "Sourdough bakes for twenty minutes with the lid on."]
QUESTION = "In which year did the last lighthouse keeper leave?"


def test_the_llm_reranker_reorders_with_the_real_small_model(llm):
    """The 0.5B (installed by make demo) replies and its reply becomes an order of every passage."""
    reranker = LLMReranker(llm)
    order = reranker.order(QUESTION, TEXTS)
    assert sorted(order) == [0, 1, 2, 3]
    out = rerank(QUESTION, _hits(TEXTS), reranker)
    assert sorted(h.record.text for h in out) == sorted(TEXTS) and out[0].retrievers["rerank"] == 1


def test_the_default_llm_picks_the_passage_that_answers(default_llm):
    """The 1.5B (`make models`), which `llm` picks when installed, names the passage that answers."""
    out = rerank(QUESTION, _hits(TEXTS), LLMReranker(default_llm))
    assert out[0].record.text == TEXTS[2]
