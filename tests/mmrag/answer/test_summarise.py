"""Summaries by map-reduce: batches that fit, partial summaries combined, citations kept valid."""
from __future__ import annotations

import pytest

from mmrag import Ingestor
from mmrag.answer import parse_citations, summarise
from mmrag.generate import ExtractiveGenerator

TOPICS = ["harbour", "lighthouse", "bakery", "orchard", "railway", "library", "market", "bridge"]


def _long_doc(tmp_path, reps: int = 4):
    paras = [f"The {t} of Kerrow was rebuilt in {1900 + 7 * i}. Visitors praise the {t} for its calm. "
             f"Every year the {t} hosts a fair with {10 + i} stalls. " * reps for i, t in enumerate(TOPICS)]
    path = tmp_path / "kerrow.md"
    path.write_text("# Kerrow\n\n" + "\n\n".join(paras), encoding="utf-8")
    return path


def test_map_reduce_over_a_source_with_the_extractive_backend(docs_library, tmp_path):
    path = _long_doc(tmp_path)
    Ingestor(docs_library, progress=False).run([path])
    gen = ExtractiveGenerator(max_sentences=2, n_ctx=400, relative=0.0, min_score=0.0)
    answer = summarise(docs_library, str(path), generator=gen)
    n_records = len(answer.evidence)
    assert n_records >= 4 and answer.meta["map_batches"] >= 2 and answer.meta["reduce_rounds"] >= 1
    assert [e.n for e in answer.evidence] == list(range(1, n_records + 1))
    assert all(e.source == str(path.resolve()) for e in answer.evidence)
    cited = parse_citations(answer.text)
    assert cited and set(cited) <= set(range(1, n_records + 1)) and len(set(cited)) >= 2
    with pytest.raises(ValueError, match="is not in the library"):
        summarise(docs_library, "/nowhere.txt", generator=gen)
    with pytest.raises(ValueError, match="one of them"):
        summarise(docs_library, generator=gen)


@pytest.mark.slow
def test_map_reduce_with_the_real_llm(docs_library, tmp_path, small_ctx_llm):
    path = _long_doc(tmp_path, reps=2)  # about 600 tokens: two map batches in a 768-token context
    Ingestor(docs_library, progress=False).run([path])
    llm = small_ctx_llm
    answer = summarise(docs_library, str(path), generator=llm, max_tokens=40)
    assert answer.meta["map_batches"] >= 2 and answer.meta["reduce_rounds"] >= 1, answer.meta
    assert answer.text and set(parse_citations(answer.text)) <= {e.n for e in answer.evidence}
    assert answer.model == llm.name
