"""Typed options: `SearchOptions` / `AskOptions` give the same results as keywords; unknown names are refused."""
from __future__ import annotations

import pytest

from mmrag import AskOptions, BadOptionError, Fusion, SearchOptions
from mmrag.retrieval import search_options


@pytest.fixture
def lib(hash_library, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(["apples grow in the orchard", "the ferry leaves at noon", "the lighthouse lamp"]):
        (docs / f"d{i}.txt").write_text(text)
    hash_library.ingest([docs])
    return hash_library


def test_search_options_equal_keywords(lib):
    typed = lib.search("ferry noon", k=2, options=SearchOptions(retrievers=["bm25"]))
    keywords = lib.search("ferry noon", k=2, retrievers=["bm25"])
    assert [h.record.source for h in typed] == [h.record.source for h in keywords]
    assert typed[0].record.source.endswith("d1.txt")


def test_overrides_win_over_options():
    opts = search_options(SearchOptions(fusion=Fusion.RRF, diversity=True), diversity=False)
    assert opts.fusion == Fusion.RRF and opts.diversity is False
    assert SearchOptions().fusion == Fusion.ADAPTIVE  # the default a user gets


def test_unknown_options_name_the_valid_ones(lib):
    with pytest.raises(BadOptionError, match="fusoin.*valid"):
        lib.search("ferry", fusoin="rrf")
    with pytest.raises(BadOptionError, match="kk.*ask takes"):
        lib.ask("when does the ferry leave?", kk=3)


def test_ask_options(lib):
    answer = lib.ask("when does the ferry leave?", AskOptions(k=2, generator="extractive",
                                                             search_options=SearchOptions(retrievers=["bm25"])))
    assert answer.hits and answer.hits[0].record.source.endswith("d1.txt")
    assert len(answer.hits) <= 2
