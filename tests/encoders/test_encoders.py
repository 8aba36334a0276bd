import numpy as np
import pytest

from encoders import HashEncoder, ModelUnavailableError, available_encoders, create_encoder
from encoders.registry import TEXT_MODELS
from encoders.text_transformers import TransformersTextEncoder


def test_hash_encoder_is_deterministic_and_normalised():
    enc = HashEncoder(dim=32)
    a = enc.encode(["the red fox", "the red fox", "blue whale"])
    assert a.dtype == np.float32 and a.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(a[0], a[1])
    assert a[0] @ a[2] < 0.99


def test_registry_error_lists_names():
    with pytest.raises(KeyError) as err:
        create_encoder("no-such-encoder")
    for name in available_encoders():
        assert name in str(err.value)


def test_missing_weights_give_clear_error(tmp_path):
    with pytest.raises(ModelUnavailableError, match="config.json"):
        TransformersTextEncoder("minilm", TEXT_MODELS["minilm"], path=str(tmp_path))


def test_unreachable_hub_gives_install_hint(monkeypatch):
    from encoders import TextModelSpec
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("MMRAG_MODELS", raising=False)
    spec = TextModelSpec(hub_id="mmrag-tests/no-such-model", folder="no-such-model", dim=8, pip_name="some-pkg==1")
    with pytest.raises(ModelUnavailableError, match="pip install some-pkg==1"):
        TransformersTextEncoder("x", spec)


def test_minilm_matches_sentence_transformers_reference(minilm):
    """Our transformers pipeline equals the model's own reference implementation."""
    st = pytest.importorskip("sentence_transformers")
    texts = ["A man is eating food.", "Quarterly revenue grew by twelve percent.", "short", "x " * 400]
    ref = st.SentenceTransformer(minilm.source, device="cpu").encode(texts, normalize_embeddings=True)
    ours = minilm.encode(texts, batch_size=2)
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_minilm_ranks_paraphrase_above_unrelated(minilm):
    q, para, other = minilm.encode(["How do I bake bread?", "A recipe for baking a loaf", "Stock market news"])
    assert q @ para > q @ other + 0.2
