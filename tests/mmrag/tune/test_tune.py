"""mmrag tune: pairs, versions of a space, swap and restore, readers that follow, feedback (real MiniLM)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mmrag import Library
from mmrag.core import versions
from mmrag.errors import ConfigError
from mmrag.tune import Pair, feedback_pairs, load_pairs
from encoders.tuning import TrainConfig

DOCS = {"lighthouse": "The last keeper of the northern lighthouse left the station in 1968, after forty years.",
        "orchard": "The orchard on the hill grows forty apple varieties; cider is pressed in October.",
        "ferry": "The ferry to the island leaves the harbour at 7:15 and at 16:40; a return costs 12 euros.",
        "bakery": "The sourdough loaf bakes for 45 minutes at 230 degrees after a cold proof overnight.",
        "museum": "The maritime museum opens at ten and keeps ship models from the eighteenth century."}
# questions whose passage is the *next* document: learnable only from the pairs
ORDER = list(DOCS)
QUESTIONS = ["when did the last keeper go?", "how many kinds of apples?", "what time is the boat?",
             "how long in the oven?", "when can I visit the ship models?"]
FAST = TrainConfig(epochs=10, batch_size=5, lr=1e-4, warmup=0.0)


@pytest.fixture
def library(tmp_path, minilm):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / f"{name}.txt").write_text(text)
    with Library(tmp_path / "lib", text_encoder="minilm") as lib:
        lib.ingest(folder)
        yield lib


def shifted_pairs(lib: Library) -> list[Pair]:
    ids = {r["path"].rsplit("/", 1)[1][:-4]: lib.store.record_ids_of(r["path"])[0] for r in lib.sources()}
    return [Pair(q, id=ids[ORDER[(i + 1) % len(ORDER)]]) for i, q in enumerate(QUESTIONS)]


def dense_top(lib: Library, query: str) -> int:
    return int(lib.search(query, k=1, retrievers=["dense"], modality="text")[0].record.id)


def test_pairs_file_errors_name_the_line(tmp_path):
    f = tmp_path / "pairs.jsonl"
    f.write_text(json.dumps({"query": "q", "positive": "p"}) + "\n\n" + json.dumps({"query": "q2", "id": 3}) + "\n")
    assert [(p.query, p.positive, p.id) for p in load_pairs(f)] == [("q", "p", None), ("q2", None, 3)]
    f.write_text(json.dumps({"query": "q", "positive": "p"}) + "\n{not json\n")
    with pytest.raises(ConfigError, match=r"pairs.jsonl:2: not JSON"):
        load_pairs(f)
    f.write_text(json.dumps({"query": "q", "positive": "p", "id": 1}) + "\n")
    with pytest.raises(ConfigError, match=r":1: give exactly one of"):
        load_pairs(f)


def test_tune_makes_a_version_that_serves_and_restore_switches_back(library, tmp_path):
    lib = library
    pairs = shifted_pairs(lib)
    assert sum(dense_top(lib, p.query) == p.id for p in pairs) <= 1  # v1 does not know the mapping
    ids = lib.store.vector_ids("text")
    v1 = lib.store.get_vectors("text", ids.tolist(), 384)
    report = lib.tune(pairs, config=FAST)
    assert report.version == 2 and report.embedded == len(ids) and report.pairs == {"file": 5}
    assert (tmp_path / "lib" / "models" / "text" / "v2" / "config.json").is_file()
    assert sum(dense_top(lib, p.query) == p.id for p in pairs) >= 4  # v2 learned it
    v2 = lib.store.get_vectors("text", ids.tolist(), 384)
    assert not np.allclose(v1[int(ids[0])], v2[int(ids[0])])
    st = lib.status()["spaces"]["text"]
    assert (st["version"], st["versions"], st["vectors"]) == (2, [1, 2], len(ids))
    assert lib.doctor()["ok"]

    assert lib.restore(1) == 0  # v1's vectors were kept: switching back re-embeds nothing
    back = lib.store.get_vectors("text", ids.tolist(), 384)
    assert all(np.array_equal(back[i], v1[i]) for i in v1)
    assert sum(dense_top(lib, p.query) == p.id for p in pairs) <= 1
    assert lib.status()["spaces"]["text"]["version"] == 1


def test_a_file_added_while_v2_served_gets_a_v1_vector_on_restore(library, tmp_path):
    lib = library
    lib.tune(shifted_pairs(lib), config=TrainConfig(epochs=1, batch_size=5))
    (tmp_path / "docs" / "late.txt").write_text("A late note about the harbour master and the tide tables.")
    lib.ingest(tmp_path / "docs")
    assert lib.restore(1) == 1
    late = lib.store.record_ids_of(str((tmp_path / "docs" / "late.txt").resolve()))[0]
    stored = lib.store.get_vectors("text", [late], 384)[late]
    assert np.allclose(stored, lib.encoder("text").encode([lib.store.get_records([late])[late].text])[0],
                       atol=1e-5)
    assert lib.doctor()["ok"]


def test_a_reader_opened_before_the_swap_searches_with_the_new_vectors(library, tmp_path):
    lib = library
    pairs = shifted_pairs(lib)
    with Library(tmp_path / "lib") as reader:
        before = reader.search(pairs[0].query, k=1, retrievers=["dense"])[0].score
        lib.tune(pairs, config=FAST)
        after = reader.search(pairs[0].query, k=1, retrievers=["dense"])
        mine = lib.search(pairs[0].query, k=1, retrievers=["dense"])
        assert after[0].record.id == mine[0].record.id and after[0].score == pytest.approx(mine[0].score, abs=1e-5)
        assert after[0].score != pytest.approx(before, abs=1e-4)


def test_feedback_becomes_pairs_and_negatives(library):
    lib = library
    a, b = [lib.store.record_ids_of(s["path"])[0] for s in lib.sources()[:2]]
    lib.feedback("which record?", a, useful=True)
    lib.feedback("which record?", b, useful=False)
    pairs, wrong = feedback_pairs(lib.core)
    assert [(p.query, p.id, p.origin) for p in pairs] == [("which record?", a, "feedback")]
    assert wrong == {"which record?": {b}}
    with pytest.raises(ConfigError, match="at least 2 usable pairs"):
        lib.tune([])  # one feedback pair is not enough to train on


def test_unknown_version_and_untunable_encoder_are_clear(library, tmp_path):
    with pytest.raises(ConfigError, match=r"no version 7; saved: \[1\]"):
        library.restore(7)
    with Library(tmp_path / "hashlib", text_encoder="hash") as lib:
        with pytest.raises(ConfigError, match="cannot be tuned"):
            lib.tune([Pair("a", positive="b"), Pair("c", positive="d")])
    assert versions.serving(library.store, "text") == 1
