"""Synthetic pairs: which records the LLM asks about, and round-trip filtering with the real 0.5B."""
from __future__ import annotations

import pytest

from mmrag import Library
from mmrag.tune.synthetic import MIN_CHARS, candidates, synthetic_pairs

PASSAGE = ("The ferry to the island of Halden leaves the north pier at 07:40 every weekday and returns at 16:10; "
           "an adult return ticket costs nine crowns and bicycles travel free of charge.")
ROWS = "\n".join(f"Stage {i},Rider {i},{['Italy', 'Spain', 'Denmark'][i % 3]},{i * 17} s" for i in range(1, 13))


@pytest.fixture
def library(tmp_path, minilm):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ferry.txt").write_text(PASSAGE)
    (folder / "note.txt").write_text("Too short to ask about.")
    (folder / "stages.csv").write_text("Stage,Rider,Country,Gap\n" + ROWS + "\n")
    with Library(tmp_path / "lib", text_encoder="minilm") as lib:
        lib.ingest(folder, progress=False)
        yield lib


def test_candidates_are_passages_and_table_records_long_enough_to_ask_about(library):
    space = library.core.space("text")
    ids = candidates(library.core, space.modalities, n=100)
    recs = library.store.get_records(ids)
    assert {getattr(r.modality, "value", r.modality) for r in recs.values()} == {"text", "table"}  # tables: new
    assert all(len(r.text) >= MIN_CHARS for r in recs.values())
    assert not any("Too short" in r.text for r in recs.values())
    assert candidates(library.core, space.modalities, n=2) == ids[:2]  # the same seed samples the same records


@pytest.mark.slow
def test_round_trip_keeps_only_questions_that_retrieve_their_record(library, llm):
    space = library.core.space("text")
    pairs, counts = synthetic_pairs(library.core, space.modalities, n=3, generator=llm, progress=False)
    assert counts["passages"] == 3 and counts["written"] >= 1 and counts["kept"] == len(pairs) <= counts["written"]
    for p in pairs:
        assert p.query.endswith("?") and p.origin == "synthetic"
        hits = library.search(p.query, k=5, modality=space.modalities)
        assert p.id in [int(h.record.id) for h in hits]
