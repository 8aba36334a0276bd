"""The transformers VLM backend with tiny randomly initialised LLaVA and Qwen2-VL models (the real
architectures, built offline from configs, with tokenizers trained here).

Checks that each image evidence reaches `generate` as pixels (in evidence order, through the
vision tower), that the output becomes an `Answer`, and that missing weights fail clearly.
"""
from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TEMPLATE = ("{% for m in messages %}{{ m['role'] }}: {% for p in m['content'] %}{% if p['type'] == 'image' %}<image>"
            "{% else %}{{ p['text'] }}{% endif %}{% endfor %}{{ '\\n' }}{% endfor %}"
            "{% if add_generation_prompt %}assistant: {% endif %}")
COLOURS = {"red": (230, 20, 20), "blue": (20, 20, 230)}


def tiny_llava() -> tuple[object, object]:
    """A 2-layer CLIP vision tower + 2-layer Llama, and a processor with a tokenizer built here."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )
    corpus = ["Evidence image text question answer table video red blue square photo [ ] 1 2 3 4 5 6 7 8 9 0 ."] * 5
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["<pad>", "<unk>", "<s>", "</s>", "<image>"]))
    ptok = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", extra_special_tokens={"image_token": "<image>"})
    image_proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    proc = LlavaProcessor(image_processor=image_proc, tokenizer=ptok, patch_size=8, chat_template=TEMPLATE,
                          vision_feature_select_strategy="default", num_additional_image_tokens=1)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              image_size=32, patch_size=8)
    text = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                       num_key_value_heads=2, vocab_size=len(ptok), max_position_embeddings=1024)
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(LlavaConfig(vision_config=vision, text_config=text,
                                                      image_token_id=ptok.convert_tokens_to_ids("<image>")))
    return model.eval(), proc


QWEN_TEMPLATE = TEMPLATE.replace("<image>", "<|vision_start|><|image_pad|><|vision_end|>")


def tiny_qwen2_vl() -> tuple[object, object]:
    """A 1-layer Qwen2-VL (vision transformer + M-RoPE text model) and its processor, built here."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )
    specials = ["<pad>", "<unk>", "<|im_end|>", "<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>"]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["Evidence image text question red blue square photo [ ] 1 2 3 ."] * 3,
                            trainers.WordLevelTrainer(special_tokens=specials))
    ptok = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<|im_end|>")
    image_proc = Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=56 * 56, patch_size=14, merge_size=2,
                                       temporal_patch_size=2)
    proc = Qwen2VLProcessor(image_processor=image_proc, tokenizer=ptok, video_processor=Qwen2VLVideoProcessor(),
                            chat_template=QWEN_TEMPLATE)
    ids = {t: ptok.convert_tokens_to_ids(t) for t in specials}
    text = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                vocab_size=len(ptok), max_position_embeddings=1024, eos_token_id=ids["<|im_end|>"],
                rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0})
    vision = dict(depth=1, embed_dim=32, hidden_size=32, num_heads=2, patch_size=14, spatial_merge_size=2,
                  temporal_patch_size=2)
    cfg = Qwen2VLConfig(vision_config=vision, text_config=text, image_token_id=ids["<|image_pad|>"],
                        video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
                        vision_end_token_id=ids["<|vision_end|>"])
    torch.manual_seed(0)
    return Qwen2VLForConditionalGeneration(cfg).eval(), proc


def colour_means(kw: dict) -> list[tuple[float, float]]:
    """(red, blue) channel means of each image given to generate(), for either architecture."""
    px = kw["pixel_values"]
    if "image_grid_thw" not in kw:  # LLaVA: one (3, H, W) tensor per image
        return [(float(p[0].mean()), float(p[2].mean())) for p in px]
    sizes = [int(t * h * w) for t, h, w in kw["image_grid_thw"]]  # Qwen2-VL: flattened (C, T, 14, 14) patches
    third = px.shape[1] // 3
    return [(float(p[:, :third].mean()), float(p[:, 2 * third:].mean())) for p in px.split(sizes)]


@pytest.fixture(scope="module", params=["llava", "qwen2-vl"])
def vlm(request):
    from mmrag.generate.vlm import TransformersVLM
    model, proc = tiny_llava() if request.param == "llava" else tiny_qwen2_vl()
    return TransformersVLM(model, proc, name=f"tiny-{request.param}")


@pytest.fixture
def image_library(tmp_path):
    from PIL import Image, ImageDraw

    from mmrag import Ingestor, Library
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, rgb in COLOURS.items():
        img = Image.new("RGB", (96, 64), (250, 250, 250))
        ImageDraw.Draw(img).rectangle([8, 8, 88, 56], fill=rgb)
        img.save(folder / f"{name}-square-photo.png")
    with Library(tmp_path / "lib", text_encoder="hash") as lib:
        Ingestor(lib, progress=False).run([folder])
        yield lib


class GenerateSpy:
    """Records what reaches the model: generate()'s pixel_values, and the vision tower's inputs."""

    def __init__(self, model) -> None:
        self.calls: list[dict] = []
        self.outputs: list = []
        self.tower_batches: list[int] = []
        original = model.generate

        def generate(**kw):
            self.calls.append(kw)
            self.outputs.append(original(**kw))
            return self.outputs[-1]
        model.generate = generate
        tower = getattr(model.model, "vision_tower", None) or model.model.visual
        tower.register_forward_hook(self._seen, with_kwargs=True)

    def _seen(self, module, args, kwargs, out) -> None:
        grid = kwargs.get("grid_thw")
        self.tower_batches.append(int(grid.shape[0]) if grid is not None else int(args[0].shape[0]))


def test_each_image_evidence_reaches_generate_as_pixels(image_library, vlm):
    from mmrag.answer import parse_citations
    spy = GenerateSpy(vlm.model)
    answer = image_library.ask("red square photo blue square photo", generator=vlm, k=4, max_tokens=8)
    images = [e for e in answer.evidence if e.modality == "image"]
    assert len(images) == 2 and answer.model == vlm.name
    means = colour_means(spy.calls[-1])
    assert len(means) == len(images) == spy.tower_batches[-1]  # one image input each, through the vision tower
    for ev, (red, blue) in zip(images, means):  # in evidence order, and really that image (red vs blue pixels)
        assert (red > blue) == ("red" in ev.source), (ev.source, red, blue)
    new_tokens = spy.outputs[-1][0, spy.calls[-1]["input_ids"].shape[1]:]
    assert answer.meta["raw"] == vlm.tokenizer.decode(new_tokens, skip_special_tokens=True)  # what the model wrote
    assert answer.text  # ... parsed into the answer (citations cleaned, or the refusal when it is empty)
    assert set(parse_citations(answer.text)) <= {e.n for e in answer.evidence}
    assert answer.timings["generate_s"] > 0 and answer.meta["prompt_tokens"] <= vlm.n_ctx - 8


def test_the_question_image_is_sent_too(image_library, vlm):
    from PIL import Image
    spy = GenerateSpy(vlm.model)
    query = Image.new("RGB", (40, 40), COLOURS["blue"])
    answer = image_library.ask("red square photo", image=query, generator=vlm, k=1, max_tokens=4)
    n_evidence_images = sum(e.modality == "image" for e in answer.evidence)
    means = colour_means(spy.calls[-1])
    assert len(means) == n_evidence_images + 1
    assert means[-1][1] > means[-1][0]  # the blue question image comes last


def test_prompt_budget_counts_image_tokens(vlm):
    from PIL import Image
    expected = 16 if "llava" in vlm.name else 6  # (32/8)^2 + CLS - 1; Qwen2-VL: 4x4 patches / 2x2 merge + 2 markers
    assert vlm.image_tokens(Image.new("RGB", (50, 50))) == expected
    assert vlm.count_tokens("red square photo") == 3


def test_hub_id_offline_fails_clearly(monkeypatch):
    from encoders import ModelUnavailableError
    from mmrag.generate import create_generator
    from mmrag.generate.vlm import TransformersVLM
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match=r"weights not found in the local Hugging Face cache.*"
                                                    r"huggingface-cli download HuggingFaceTB/SmolVLM-256M-Instruct"):
        TransformersVLM("HuggingFaceTB/SmolVLM-256M-Instruct")
    with pytest.raises(ModelUnavailableError, match="VLM folder './no/such/vlm' does not exist"):
        create_generator("vlm:./no/such/vlm")


@pytest.mark.needs_weights
@pytest.mark.skipif(not os.environ.get("MMRAG_VLM"), reason="no VLM weights on this machine: set MMRAG_VLM to a "
                    "downloaded SmolVLM / Qwen2-VL / LLaVA folder to run this test")
def test_real_vlm_describes_an_image_evidence(image_library):
    answer = image_library.ask("What colour is the square in the photo?", generator=f"vlm:{os.environ['MMRAG_VLM']}",
                               k=1, max_tokens=32)
    assert "red" in answer.text.lower() or "blue" in answer.text.lower()
