"""open_clip encoder: our batched pipeline equals open_clip's own calls (real architecture, random
weights: no CLIP weights can be had on CI), weight resolution and its error messages, presets."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from encoders import ModelUnavailableError, available_encoders, create_encoder
from encoders.clip import CHECKPOINT_FILES, CLIP_PRESETS, PRESET_DIR, ClipSpec, OpenCLIPEncoder, clip_weights_status

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")


def needs_weights(preset: str):
    """Skip unless the preset's real weights are on this machine (checked without loading)."""
    status = clip_weights_status(preset)
    return pytest.mark.skipif(
        not status["available"],
        reason=f"{preset} weights not on this machine ({status['reason']}). {status['hint']}")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a 2-core machine shared with other jobs, 2 OpenMP threads run ~5x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def b32():
    """Real ViT-B-32 architecture with random weights, loaded once for the module."""
    return OpenCLIPEncoder("clip-test", model="ViT-B-32", pretrained=None, allow_random=True, threads=1)


@pytest.fixture
def no_weights_anywhere(tmp_path, monkeypatch):
    """Hub unreachable, $MMRAG_MODELS empty, Hugging Face cache empty."""
    import huggingface_hub.constants as hf_constants
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MMRAG_MODELS", str(models))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    return models


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (180, 260, 3), dtype=np.uint8), "RGB")
    square = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(square).rectangle((100, 50, 200, 150), fill=(220, 20, 20))
    grey = Image.fromarray(rng.integers(0, 256, (64, 48), dtype=np.uint8), "L")
    rgba = Image.new("RGBA", (500, 120), (0, 128, 255, 128))
    palette = square.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return [noise, square, grey, rgba, palette]


TEXTS = ["a red square", "a blue circle", "", "café ☕ naïve façade",
         " ".join(["a very long caption that goes past the context length"] * 20)]


def _reference_images(enc: OpenCLIPEncoder, images: list[Image.Image]) -> np.ndarray:
    with torch.no_grad():
        rows = [enc.model.encode_image(enc.preprocess(img).unsqueeze(0), normalize=True)[0] for img in images]
    return torch.stack(rows).numpy()


def _reference_texts(enc: OpenCLIPEncoder, texts: list[str]) -> np.ndarray:
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    with torch.no_grad():
        return enc.model.encode_text(tokenizer(texts), normalize=True).numpy()


def test_images_match_open_clip_reference(b32):
    images = _images()
    ours = b32.encode_images(images, batch_size=2)
    assert ours.shape == (len(images), 512) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(ours, _reference_images(b32, images), atol=1e-5)


def test_texts_match_open_clip_reference(b32):
    ours = b32.encode_texts(TEXTS, batch_size=2)
    assert ours.shape == (len(TEXTS), 512) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, _reference_texts(b32, TEXTS), atol=1e-5)


def test_batch_size_does_not_change_embeddings(b32):
    images = _images()
    one, many = b32.encode(images, batch_size=1), b32.encode(images, batch_size=16)
    np.testing.assert_allclose(one, many, atol=1e-5)
    np.testing.assert_allclose(b32.encode(TEXTS, batch_size=1), b32.encode(TEXTS, batch_size=3), atol=1e-5)


def test_encode_dispatches_by_type_and_rejects_mixes(b32):
    assert b32.dim == 512 and b32.modalities == ("image", "text") and b32.random_weights
    np.testing.assert_array_equal(b32.encode(["a red square"]), b32.encode_texts(["a red square"]))
    assert b32.encode([]).shape == (0, 512)
    with pytest.raises(TypeError, match="not a mix"):
        b32.encode(["a red square", Image.new("RGB", (8, 8))])
    with pytest.raises(TypeError):
        b32.encode([np.zeros((8, 8, 3))])


def test_presets_are_registered_and_agree_with_open_clip():
    names = set(available_encoders())
    assert {"clip", "minilm", "hash"} <= names and set(CLIP_PRESETS) <= names
    assert {"clip-vit-b-32", "clip-vit-b-16", "siglip-vit-b-16"} <= set(CLIP_PRESETS)
    for name, spec in CLIP_PRESETS.items():
        raw = json.loads((PRESET_DIR / f"{name}.json").read_text())
        assert raw["model"] == spec.model and raw["dim"] == spec.dim
        cfg = open_clip.get_pretrained_cfg(spec.model, spec.pretrained)
        assert cfg, f"open_clip has no tag {spec.pretrained} for {spec.model}"
        assert cfg["hf_hub"].rstrip("/") == spec.hub_id
        assert open_clip.get_model_config(spec.model)["embed_dim"] == spec.dim


def test_missing_weights_name_where_it_looked(no_weights_anywhere):
    with pytest.raises(ModelUnavailableError) as err:
        create_encoder("clip-vit-b-32", cache=False)
    msg = str(err.value)
    folder = no_weights_anywhere / "CLIP-ViT-B-32-laion2B-s34B-b79K"
    assert str(folder) in msg and "Hugging Face cache" in msg and "open_clip_model.safetensors" in msg
    assert "HF_HUB_OFFLINE" in msg and "MMRAG_MODELS" in msg and "path=" in msg


def test_weights_status_without_loading(no_weights_anywhere):
    status = clip_weights_status("clip-vit-b-32")
    assert status["available"] is False and status["reason"]
    assert str(no_weights_anywhere / "CLIP-ViT-B-32-laion2B-s34B-b79K") in status["looked_in"]
    folder = no_weights_anywhere / "CLIP-ViT-B-32-laion2B-s34B-b79K"
    folder.mkdir()
    (folder / CHECKPOINT_FILES[0]).write_bytes(b"not loaded by a status check")
    status = clip_weights_status({"model": "ViT-B-32", "pretrained": "laion2b_s34b_b79k"})
    assert status["available"] is True and status["checkpoint"] == str(folder / CHECKPOINT_FILES[0])


def test_explicit_bad_path_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        OpenCLIPEncoder("x", path=tmp_path / "nowhere.safetensors")
    with pytest.raises(ModelUnavailableError, match="holds no checkpoint.*open_clip_model.safetensors"):
        OpenCLIPEncoder("x", path=tmp_path)
    bad = tmp_path / "open_clip_model.safetensors"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelUnavailableError, match="cannot load CLIP checkpoint"):
        OpenCLIPEncoder("x", path=tmp_path)
    assert clip_weights_status({"model": "ViT-B-32", "path": tmp_path / "nowhere"})["available"] is False


def test_checkpoint_loads_from_mmrag_models(no_weights_anywhere):
    """The real loading path, with a small architecture whose random weights we save first."""
    safetensors_torch = pytest.importorskip("safetensors.torch")
    random_enc = OpenCLIPEncoder("tiny", model="ViT-S-32-alt", pretrained=None, allow_random=True)
    folder = no_weights_anywhere / "tiny-clip"
    folder.mkdir()
    state = {k: v.contiguous() for k, v in random_enc.model.state_dict().items()}
    safetensors_torch.save_file(state, str(folder / "open_clip_model.safetensors"))
    spec = ClipSpec(name="tiny", model="ViT-S-32-alt", folder="tiny-clip")
    assert clip_weights_status(spec)["available"]
    loaded = OpenCLIPEncoder("tiny", spec=spec)
    assert loaded.source == str(folder / "open_clip_model.safetensors") and not loaded.random_weights
    images, texts = _images()[:2], TEXTS[:2]
    np.testing.assert_allclose(loaded.encode(images), random_enc.encode(images), atol=1e-5)
    np.testing.assert_allclose(loaded.encode(texts), random_enc.encode(texts), atol=1e-5)


@pytest.mark.needs_weights
@needs_weights("clip-vit-b-32")
def test_pretrained_vit_b_32_zero_shot():
    enc = create_encoder("clip-vit-b-32")
    img = Image.new("RGB", (224, 224), "white")
    ImageDraw.Draw(img).rectangle((56, 56, 168, 168), fill=(230, 0, 0))
    image_vec = enc.encode([img])[0]
    red, blue = enc.encode(["a red square", "a blue circle"])
    assert image_vec @ red > image_vec @ blue


# -- transformers backend (encoders.hf_clip), with a tiny randomly initialised CLIPModel ------------

@pytest.fixture(scope="module")
def tiny_hf_clip(tmp_path_factory):
    """A tiny CLIP checkpoint folder in transformers format: config, weights, processor, byte-level BPE."""
    transformers = pytest.importorskip("transformers")
    from transformers.convert_slow_tokenizer import bytes_to_unicode
    chars = list(bytes_to_unicode().values())
    vocab = {tok: i for i, tok in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    tokenizer = transformers.CLIPTokenizer(vocab=vocab, merges=[])
    config = transformers.CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 40,
                     "bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"],
                     "pad_token_id": vocab["<|endoftext|>"]},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=24)
    torch.manual_seed(0)
    model = transformers.CLIPModel(config).eval()
    image_processor = transformers.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    folder = tmp_path_factory.mktemp("tiny-hf-clip")
    model.save_pretrained(folder)
    transformers.CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder, model


def test_hf_clip_matches_transformers_reference(tiny_hf_clip):
    from encoders.hf_clip import HFClipEncoder
    folder, model = tiny_hf_clip
    enc = HFClipEncoder("tiny-hf", path=folder, threads=1)
    assert enc.dim == 24 and enc.modalities == ("image", "text")
    images, texts = _images(), TEXTS[:4]
    proc = enc.processor
    with torch.no_grad():
        ref_img = model.get_image_features(**proc(images=[i.convert("RGB") for i in images], return_tensors="pt"))
        ref_txt = model.get_text_features(**proc.tokenizer(texts, padding=True, return_tensors="pt"))
    ref_img, ref_txt = (getattr(x, "pooler_output", x) for x in (ref_img, ref_txt))
    np.testing.assert_allclose(enc.encode(images, batch_size=2),
                               torch.nn.functional.normalize(ref_img, dim=-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(enc.encode(texts, batch_size=4),
                               torch.nn.functional.normalize(ref_txt, dim=-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(enc.encode(texts, batch_size=1), enc.encode(texts, batch_size=3), atol=1e-5)


def test_hf_clip_missing_weights(no_weights_anywhere, tmp_path):
    from encoders.hf_clip import HFClipEncoder
    with pytest.raises(ModelUnavailableError, match="hf-clip-vit-b-32|clip-vit-base-patch32") as err:
        create_encoder("hf-clip-vit-b-32", cache=False)
    assert str(no_weights_anywhere / "clip-vit-base-patch32") in str(err.value)
    with pytest.raises(ModelUnavailableError, match="config.json"):
        HFClipEncoder("x", path=tmp_path)
