"""Chunks measured in the text encoder's tokens (MiniLM's real WordPiece tokenizer)."""
import json

import pytest

from mmrag import Ingestor, Library
from mmrag.errors import ConfigError
from mmrag.ingest import ChunkSpec, chunk_spans

TEXT = "\n\n".join(
    " ".join(f"Paragraph {p}, sentence {s}: the quartermaster's unbelievably idiosyncratic inventory of"
             f" 1{p}{s}.75 kilograms (antidisestablishmentarianism!) was recounted." for s in range(6))
    for p in range(12))


def test_every_chunk_within_the_token_limit_with_exact_offsets(minilm):
    spec = ChunkSpec(max_tokens=64, count_tokens=minilm.count_tokens)
    spans = chunk_spans(TEXT, spec)
    counts = [minilm.count_tokens(TEXT[s:e]) for s, e in spans]
    assert max(counts) <= 64 and min(counts[:-1]) > 20, counts
    assert spans[0][0] == 0 and spans[-1][1] == len(TEXT)
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s1 < s2 < e1 <= e2, "progress, with overlap"
    for s, e in spans:
        assert TEXT[s:e] == TEXT[s:e].strip() and not TEXT[s - 1:s].isalnum()
        assert TEXT[e - 1] in ".!)" or e == len(TEXT) or TEXT[e].isspace(), "ends at a sentence or a word"
    assert chunk_spans(TEXT, ChunkSpec(max_tokens=10_000, count_tokens=minilm.count_tokens)) == [(0, len(TEXT))]


def test_ingest_cuts_chunks_by_the_text_encoders_tokens(tmp_path, minilm):
    (tmp_path / "inventory.txt").write_text(TEXT)
    with Library(tmp_path / "lib", text_encoder="minilm") as lib:
        cfg = json.loads((lib.root / "library.json").read_text())
    cfg["chunk_tokens"] = 48
    (tmp_path / "lib" / "library.json").write_text(json.dumps(cfg))
    with Library(tmp_path / "lib") as lib:
        assert lib.ingest(tmp_path / "inventory.txt").count("ok") == 1
        recs = list(lib.store.get_records(lib.store.filter_ids(["text"]).tolist()).values())
        assert len(recs) > len(TEXT) // 1000 + 5, "more, shorter chunks than the 1000-character default"
        for r in recs:
            assert minilm.count_tokens(r.text) <= 48
            assert TEXT[r.locator["char_start"]:r.locator["char_end"]] == r.text


def test_default_is_characters_and_a_counter_is_required(hash_library):
    spec = Ingestor(hash_library).chunk_spec
    assert spec.max_tokens == 0 and spec.count_tokens is None and spec.max_chars == 1000
    hash_library.config.chunk_tokens = 100
    with pytest.raises(ConfigError, match="chunk_tokens=100 needs a text encoder that counts tokens"):
        Ingestor(hash_library)
    with pytest.raises(ConfigError, match="max_tokens=5"):
        ChunkSpec(max_tokens=5)
