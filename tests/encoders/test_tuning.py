"""encoders.tuning: contrastive fine-tuning of real towers (MiniLM; OpenCLIP ViT-B-32 with random weights)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from encoders.clip import OpenCLIPEncoder
from encoders.text_transformers import TransformersTextEncoder
from encoders.tuning import Example, TrainConfig, train

PAIRS = [("when did the last keeper leave?", "The last lighthouse keeper left the station in 1968."),
         ("how many apple varieties grow?", "The orchard grows forty apple varieties on the hill."),
         ("when does the first ferry leave?", "The first ferry to the island leaves at 7:15 on weekdays."),
         ("how long does the loaf bake?", "The sourdough loaf bakes for 45 minutes at 230 degrees."),
         ("when does the museum open?", "The maritime museum opens at ten in the morning."),
         ("what does a return ticket cost?", "A return ticket for the ferry costs twelve euros.")]


def _contrastive_accuracy(embed, pairs) -> float:
    with torch.no_grad():
        q = embed([p[0] for p in pairs]).numpy()
        d = embed([p[1] for p in pairs]).numpy()
    return float(np.mean((q @ d.T).argmax(1) == np.arange(len(pairs))))


def test_minilm_towers_learn_and_save_what_they_learned(minilm, tmp_path):
    towers = minilm.towers()
    # swap the documents: the model must learn a mapping it does not know (each query -> the next passage)
    shifted = [(q, PAIRS[(i + 1) % len(PAIRS)][1]) for i, (q, _) in enumerate(PAIRS)]
    before = _contrastive_accuracy(towers.embed_query, shifted)
    report = train(towers, [Example(q, d) for q, d in shifted],
                   TrainConfig(epochs=12, batch_size=6, lr=1e-4, warmup=0.0), progress=False)
    after = _contrastive_accuracy(towers.embed_query, shifted)
    assert before <= 0.34 and after >= 0.83, (before, after)
    assert report.steps == 12 and report.last_loss < report.first_loss
    towers.save(tmp_path / "v2")
    reloaded = TransformersTextEncoder("tuned", minilm.spec, path=str(tmp_path / "v2"))
    with torch.no_grad():
        want = towers.embed_query([q for q, _ in shifted]).numpy()
    assert np.allclose(reloaded.encode([q for q, _ in shifted]), want, atol=1e-5)
    # the serving encoder was not touched
    assert np.allclose(minilm.encode([PAIRS[0][0]]), TransformersTextEncoder("again", minilm.spec).encode([PAIRS[0][0]]),
                       atol=1e-6)


def test_margin_distillation_moves_the_student_margin_towards_the_teacher(minilm):
    towers = minilm.towers()
    ex = [Example(q, d, negatives=[PAIRS[(i + 1) % len(PAIRS)][1]], margin=0.9) for i, (q, d) in enumerate(PAIRS)]

    def margin() -> float:
        with torch.no_grad():
            q = towers.embed_query([e.query for e in ex])
            pos, neg = towers.embed_document([e.positive for e in ex]), towers.embed_document([e.negatives[0] for e in ex])
            return float(((q * pos).sum(1) - (q * neg).sum(1)).mean())

    start = margin()
    train(towers, ex, TrainConfig(epochs=6, batch_size=6, lr=1e-4, warmup=0.0, distill_weight=10.0), progress=False)
    assert margin() > start + 0.05


def test_training_refuses_one_example(minilm):
    with pytest.raises(ValueError, match="at least 2"):
        train(minilm.towers(), [Example("q", "d")])


def test_clip_towers_train_on_image_caption_pairs_and_reload(tmp_path):
    """The same training code on OpenCLIP's real ViT-B-32 architecture (random weights: none offline)."""
    from PIL import Image
    enc = OpenCLIPEncoder("clip-test", model="ViT-B-32", pretrained=None, allow_random=True, threads=2)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)) for _ in range(4)]
    captions = ["a red square", "a blue circle", "a green line", "a yellow star"]
    towers = enc.towers()
    report = train(towers, [Example(c, im) for c, im in zip(captions, images)],
                   TrainConfig(epochs=3, batch_size=4, lr=1e-5, warmup=0.0), progress=False)
    assert report.steps == 3 and np.isfinite(report.last_loss)
    towers.save(tmp_path / "clip-v2")
    reloaded = OpenCLIPEncoder("clip-tuned", model="ViT-B-32", pretrained=None, path=tmp_path / "clip-v2", threads=2)
    towers.module.eval()
    with torch.no_grad():
        want = towers.embed_document(images).numpy()
    assert np.allclose(reloaded.encode_images(images), want, atol=1e-4)
    assert not np.allclose(enc.encode_images(images), want, atol=1e-4)  # training changed the weights
