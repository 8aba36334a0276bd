"""`mmrag eval coco` (image<->text retrieval R@1/5/10) and `mmrag eval imagenet` (zero-shot top-1/top-5).

COCO protocol (Karpathy style, on coco_mini's 159 images x 5 captions): text->image, a caption's
query is right at K when its image ranks in the top K; image->text, an image's query is right when
any of its 5 captions ranks in the top K. ImageNet: class prompts averaged over templates (CLIP's
7-template ensemble), top-1/top-5 over the 200 labels of imagenet200.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from encoders import ModelUnavailableError, create_encoder, l2_normalise

from ..errors import model_missing
from . import evalpack_dir, register_eval

TEMPLATES = ("itap of a {}.", "a bad photo of the {}.", "a origami {}.", "a photo of the large {}.",
             "a {} in a video game.", "art of the {}.", "a photo of the small {}.")


def t2i_recall(sim: np.ndarray, gold_image: Sequence[int], ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """sim: (n_texts, n_images). Recall@k (%) of each text's own image."""
    gold = np.asarray(gold_image)
    ranks = (sim > sim[np.arange(len(gold)), gold][:, None]).sum(1)  # 0-based rank of the gold image
    return {f"R@{k}": round(100.0 * float(np.mean(ranks < k)), 2) for k in ks}


def i2t_recall(sim: np.ndarray, gold_image: Sequence[int], ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """sim: (n_texts, n_images). Recall@k (%) of images whose best-ranked own caption is in the top k."""
    gold = np.asarray(gold_image)
    out = {}
    s = sim.T  # (n_images, n_texts)
    best = np.full(s.shape[0], np.iinfo(np.int64).max)
    for img in range(s.shape[0]):
        own = np.flatnonzero(gold == img)
        if len(own):
            best[img] = min(int((s[img] > s[img, t]).sum()) for t in own)
    for k in ks:
        out[f"R@{k}"] = round(100.0 * float(np.mean(best < k)), 2)
    return out


def topk_accuracy(logits: np.ndarray, labels: Sequence[int], ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """logits: (n_images, n_classes). Top-k accuracy (%)."""
    lab = np.asarray(labels)
    ranks = (logits > logits[np.arange(len(lab)), lab][:, None]).sum(1)
    return {f"top{k}": round(100.0 * float(np.mean(ranks < k)), 2) for k in ks}


def _images(paths: list[Path]) -> list:
    from ..images import open_image
    return [open_image(p.read_bytes(), 10**8) for p in paths]


def _encoder(encoder: str, allow_random: bool) -> Any:
    try:
        return create_encoder(encoder, **({"allow_random": True} if allow_random else {}))
    except ModelUnavailableError as exc:
        raise model_missing(exc) from exc


@register_eval("coco")
def coco(encoder: str = "clip-vit-b-32", limit: int | None = None, allow_random: bool = False,
         **_: Any) -> dict[str, Any]:
    enc = _encoder(encoder, allow_random)
    folder = evalpack_dir() / "images" / "coco_mini"
    rows = [json.loads(line) for line in (folder / "captions.jsonl").read_text().splitlines()][:limit]
    t0 = time.perf_counter()
    img = enc.encode(_images([folder / r["image"] for r in rows]))
    caps = [(c.strip(), i) for i, r in enumerate(rows) for c in r["captions"]]
    txt = enc.encode([c for c, _ in caps])
    sim = txt @ img.T
    gold = [i for _, i in caps]
    return {"eval": "coco", "encoder": encoder, "random_weights": allow_random, "images": len(rows),
            "captions": len(caps), "text_to_image": t2i_recall(sim, gold), "image_to_text": i2t_recall(sim, gold),
            "seconds": round(time.perf_counter() - t0, 1)}


@register_eval("imagenet")
def imagenet(encoder: str = "clip-vit-b-32", limit: int | None = None, allow_random: bool = False,
             **_: Any) -> dict[str, Any]:
    enc = _encoder(encoder, allow_random)
    folder = evalpack_dir() / "images" / "imagenet200"
    rows = [json.loads(line) for line in (folder / "labels.jsonl").read_text().splitlines()]
    classes = [r["label"] for r in rows]
    rows = rows[:limit]
    t0 = time.perf_counter()
    prompts = enc.encode([t.format(c) for c in classes for t in TEMPLATES])
    class_vecs = l2_normalise(prompts.reshape(len(classes), len(TEMPLATES), -1).mean(1))
    img = enc.encode(_images([folder / r["image"] for r in rows]))
    acc = topk_accuracy(img @ class_vecs.T, [classes.index(r["label"]) for r in rows])
    return {"eval": "imagenet", "encoder": encoder, "random_weights": allow_random, "n": len(rows),
            "classes": len(classes), "templates": len(TEMPLATES), **acc,
            "seconds": round(time.perf_counter() - t0, 1)}
