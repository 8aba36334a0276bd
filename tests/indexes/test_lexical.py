"""The tantivy BM25 index: ids and texts in, (id, score) out; top-k pruning returns the exhaustive top k."""
from __future__ import annotations

import random

import pytest

pytest.importorskip("tantivy")
from indexes.lexical import LexicalIndex  # noqa: E402

WORDS = "lamp keeper tower ferry apple orchard bread stage rider country noon harbour storm light".split()


@pytest.fixture
def corpus(tmp_path):
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30))) for _ in range(3000)]
    ix = LexicalIndex(tmp_path / "lx")
    ix.add(range(1000, 4000), texts, [["text"] if i % 3 else ["image"] for i in range(3000)])
    ix.commit({"generation": 7})
    yield ix
    ix.close()


def test_the_pruned_top_k_is_the_exhaustive_ranking(corpus):
    for query in ["lamp storm", "keeper", "apple orchard bread rider", "noon"]:
        tokens = corpus.analyze(query)
        every = corpus.scores_of(tokens, list(range(1000, 4000)))
        best = sorted(every.items(), key=lambda kv: -kv[1])[:10]
        got = corpus.search(tokens, 10)
        assert [round(s, 4) for _, s in got] == [round(s, 4) for _, s in best]
        assert all(abs(every[i] - s) < 1e-5 for i, s in got)


def test_tags_filter_and_stemming(tmp_path):
    ix = LexicalIndex(tmp_path / "lx")
    ix.add([5, 7, 9], ["The lighthouse keepers left in 1968", "apples in the orchard", "ferry to the lighthouse"],
           [["text"], ["text"], ["text", "video"]])
    ix.commit()
    assert [i for i, _ in ix.search(ix.analyze("keeper"), 5)] == [5], "stemmed: keepers ~ keeper"
    assert [i for i, _ in ix.search(ix.analyze("lighthouse"), 5, ["video"])] == [9]
    assert ix.search(ix.analyze("zebra"), 5) == [] and ix.doc_freqs(["lighthous", "zebra"]) == {"lighthous": 2,
                                                                                                 "zebra": 0}
    ix.close()


def test_remove_reopen_and_meta_survive(tmp_path, corpus):
    corpus.remove([1000, 1001])
    corpus.commit({"generation": 8})
    assert corpus.ntotal == 2998 and 1000 not in set(corpus.ids().tolist())
    other = LexicalIndex(corpus.directory)
    assert other.meta == {"generation": 8} and other.ntotal == 2998


def test_one_writer_at_a_time(tmp_path):
    a, b = LexicalIndex(tmp_path / "lx"), LexicalIndex(tmp_path / "lx")
    a.add([1], ["one"], [["text"]])
    with pytest.raises(ValueError, match="LockBusy"):
        b.add([2], ["two"], [["text"]])
    a.commit()
    a.close()  # releases the lock
    b.add([2], ["two"], [["text"]])
    b.commit()
    a.refresh()
    assert a.ids().tolist() == [1, 2]
    b.close()
