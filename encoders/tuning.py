"""Contrastive fine-tuning of a two-tower embedder (text-text, or CLIP image-text), in plain torch.

Examples are (query, positive, hard negatives..., optional teacher margin). Each step embeds a batch of
queries and of documents (positives, then the hard negatives) with gradients and minimises:

* **in-batch contrastive loss** (InfoNCE, what sentence-transformers' MultipleNegativesRankingLoss is):
  cross-entropy of `scale * cos(q_i, d_j)` over every document in the batch, the target being q_i's own
  positive; the other positives and every hard negative are the negatives;
* **margin distillation** (MarginMSE, Hofstätter et al. 2020) when examples carry a teacher margin: the
  squared difference between the student's `cos(q, pos) - cos(q, neg_1)` and the teacher's margin for the
  same pair (a stronger, slower scorer's judgment, scaled to cosine units), weighted by `distill_weight`.

The towers come from the encoder (`Towers`): torch modules and functions that embed a list of inputs with
gradients. The model is changed in place (callers train a copy) and saved by `Towers.save`. Arrays and
strings in, a folder out: nothing here knows about mmrag.
"""
from __future__ import annotations

import logging
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .base import torch_threads

log = logging.getLogger(__name__)


@dataclass
class Example:
    """One training example: a query, its positive, hard negatives, and an optional teacher margin."""

    query: Any
    positive: Any
    negatives: list[Any] = field(default_factory=list)
    margin: float | None = None  # teacher's score(q, positive) - score(q, negatives[0]), in cosine units


@dataclass
class Towers:
    """What an encoder lends to training: its parameters, differentiable embedders, and how to save."""

    module: Any  # torch.nn.Module holding every trainable parameter
    embed_query: Callable[[Sequence[Any]], Any]  # inputs -> (n, dim) tensor, L2-normalised, with grad
    embed_document: Callable[[Sequence[Any]], Any]
    save: Callable[[Path], None]


@dataclass
class TrainConfig:
    epochs: int = 1
    batch_size: int = 16
    lr: float = 2e-5
    warmup: float = 0.1  # share of steps with a linear warm-up
    scale: float = 20.0  # inverse temperature of the contrastive loss (sentence-transformers' default)
    hard_negatives: int = 1  # per example, at most
    distill_weight: float = 1.0
    seed: int = 0
    threads: int | None = None
    max_seconds: float | None = None  # stop early (after a whole step) when training runs longer
    max_length: int = 128  # tokens per text while training (encoding keeps the model's own limit)


@dataclass
class TrainReport:
    steps: int
    examples: int
    seconds: float
    first_loss: float
    last_loss: float
    stopped_early: bool = False

    def to_dict(self) -> dict:
        return {"steps": self.steps, "examples": self.examples, "seconds": round(self.seconds, 1),
                "first_loss": round(self.first_loss, 4), "last_loss": round(self.last_loss, 4),
                "stopped_early": self.stopped_early}


def _loss(towers: Towers, batch: list[Example], cfg: TrainConfig) -> Any:
    import torch
    import torch.nn.functional as F
    negs = [ex.negatives[:cfg.hard_negatives] for ex in batch]
    docs = [ex.positive for ex in batch] + [n for ns in negs for n in ns]
    q, d = towers.embed_query([ex.query for ex in batch]), towers.embed_document(docs)
    sims = cfg.scale * q @ d.T
    loss = F.cross_entropy(sims, torch.arange(len(batch), device=sims.device))
    marg = [(i, ex.margin) for i, ex in enumerate(batch) if ex.margin is not None and negs[i]]
    if marg and cfg.distill_weight > 0:
        first_neg, pos = {}, len(batch)
        for i, ns in enumerate(negs):
            first_neg[i] = pos
            pos += len(ns)
        rows = torch.tensor([i for i, _ in marg], device=sims.device)
        cols = torch.tensor([first_neg[i] for i, _ in marg], device=sims.device)
        cos = q @ d.T
        student = cos[rows, rows] - cos[rows, cols]
        teacher = torch.tensor([m for _, m in marg], dtype=student.dtype, device=sims.device)
        loss = loss + cfg.distill_weight * F.mse_loss(student, teacher)
    return loss


def _schedule(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then linear decay to zero (the usual schedule for fine-tuning)."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def train(towers: Towers, examples: Sequence[Example], cfg: TrainConfig | None = None,
          progress: bool | None = None) -> TrainReport:
    """Fine-tune `towers.module` in place on `examples`; returns the loss before and after."""
    import torch
    from tqdm import tqdm
    cfg = cfg or TrainConfig()
    if len(examples) < 2:
        raise ValueError(f"contrastive training needs at least 2 examples, got {len(examples)}")
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total = per_epoch * cfg.epochs
    params = [p for p in towers.module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _schedule(s, total, int(cfg.warmup * total)))
    bar = tqdm(total=total, desc="tune", unit="step", disable=not (sys.stderr.isatty() if progress is None
                                                                    else progress))
    losses: list[float] = []
    t0, step, early = time.perf_counter(), 0, False
    towers.module.train()
    with torch_threads(cfg.threads):
        for _ in range(cfg.epochs):
            order = list(examples)
            rng.shuffle(order)
            for start in range(0, len(order), cfg.batch_size):
                batch = order[start:start + cfg.batch_size]
                if len(batch) < 2:
                    continue
                loss = _loss(towers, batch, cfg)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
                if cfg.max_seconds and time.perf_counter() - t0 > cfg.max_seconds:
                    early = True
                    break
            if early:
                break
    bar.close()
    towers.module.eval()
    window = max(1, min(10, len(losses) // 4))
    report = TrainReport(steps=step, examples=len(examples), seconds=time.perf_counter() - t0,
                         first_loss=sum(losses[:window]) / window, last_loss=sum(losses[-window:]) / window,
                         stopped_early=early)
    log.info("tuned %d steps on %d examples in %.1f s: loss %.3f -> %.3f", report.steps, report.examples,
             report.seconds, report.first_loss, report.last_loss)
    return report
