import pytest

from mmrag.ingest import ChunkSpec, chunk_spans


def test_spans_cover_text_with_overlap_and_exact_offsets():
    text = " ".join(f"Sentence number {i} is here." for i in range(300))
    spec = ChunkSpec(max_chars=400, overlap=80, min_chars=150)
    spans = chunk_spans(text, spec)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert e1 - s1 <= 400
        assert s2 < e1, "consecutive chunks overlap"
        assert s2 > s1, "progress"
    for s, e in spans:
        assert text[s:e] == text[s:e].strip()
        assert text[s].isalnum(), "chunks start on a word"


def test_prefers_paragraph_breaks():
    text = ("a" * 50 + " ") * 5 + "\n\n" + ("b" * 50 + " ") * 10
    spans = chunk_spans(text, ChunkSpec(max_chars=400, overlap=0, min_chars=100))
    assert text[spans[0][0]:spans[0][1]].endswith("a")


def test_short_and_blank_text():
    assert chunk_spans("hello") == [(0, 5)]
    assert chunk_spans("   \n ") == []


def test_word_longer_than_chunk_is_split():
    text = "x" * 2500
    spans = chunk_spans(text, ChunkSpec(max_chars=1000, overlap=100, min_chars=200))
    assert spans[0] == (0, 1000) and spans[-1][1] == 2500


def test_invalid_spec():
    with pytest.raises(ValueError):
        ChunkSpec(max_chars=100, overlap=200, min_chars=50)
