"""The per-second relevance curve of one video for one query.

Three signals, each rescaled to [0, 1] within the video, then placed on a grid of `step` seconds:

* **visual**: cosine between the CLIP query (text, image, or the composed image+text query) and each
  keyframe; rescaled as (s - median) / (max - median), clipped, so only frames that stand out from the
  video's typical frame count. A keyframe stands for the time until the next keyframe.
* **dense**: cosine between the text-space query and each transcript line, rescaled as
  (s - DENSE_FLOOR) / (max - DENSE_FLOOR): lines no closer than unrelated text (MiniLM cosines below
  ~0.2) score 0, and a video whose best line is below the floor gets no dense evidence.
* **bm25**: FTS5 BM25 over the video's transcript lines, divided by the best line's score.

A line or keyframe adds its score to the bins it covers, weighted by the share of the bin it covers.
The curve is the weighted mean over the signals this video has (a signal that exists but finds nothing
still counts, so weak evidence stays weak); windows are proposed on it smoothed with a Gaussian of
`smooth_s` seconds and scored on it unsmoothed.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import Collection
from ..core.text import fts_query
from ..errors import ConfigError
from ..kinds import Modality, SpaceInput
from .data import VideoRecords, glob_escape

log = logging.getLogger(__name__)
DENSE_FLOOR = 0.2
WEIGHTS = {"visual": 1.0, "dense": 1.0, "bm25": 0.5}


@dataclass
class Signal:
    """Per-record scores in [0, 1] for one signal, with each record's time span."""

    name: str
    spans: list[tuple[float, float, float, int]] = field(default_factory=list)  # (t_start, t_end, score, id)


@dataclass
class Curve:
    values: np.ndarray  # smoothed, one value per bin (window proposals)
    raw: np.ndarray  # before smoothing (window scores: sharp edges where the evidence ends)
    step: float
    signals: dict[str, Signal]
    duration: float


def rescale(scores: np.ndarray, floor: float | None = None) -> np.ndarray:
    """(s - base) / (max - base) clipped to [0, 1]; base = `floor` when given, else the median
    (the minimum for fewer than 3 scores). All zeros when nothing rises above the base."""
    if scores.size == 0:
        return scores
    if floor is not None:
        base = floor
    else:
        base = float(np.median(scores)) if scores.size >= 3 else float(scores.min())
    top = float(scores.max())
    if top <= base + 1e-9:
        return np.zeros_like(scores)
    return np.clip((scores - base) / (top - base), 0.0, 1.0)


def space_for(lib: Collection, modality: str, input_kind: str) -> str | None:
    """The first available space that embeds `modality` from `input_kind` (text or pixels)."""
    for name, cfg in lib.spaces.items():
        if modality in cfg.modalities and cfg.input == input_kind and lib.available(name):
            return name
    return None


def visual_signal(lib: Collection, vr: VideoRecords, qvecs: dict[str, np.ndarray]) -> Signal | None:
    space = space_for(lib, Modality.VIDEO, SpaceInput.IMAGE)
    if space is None or space not in qvecs or not vr.keyframes:
        return None
    q = qvecs[space].reshape(-1)
    vecs = lib.store.get_vectors(space, [r.id for r in vr.keyframes], q.shape[0])
    kept = [r for r in vr.keyframes if r.id in vecs]
    if not kept:
        return None
    sims = rescale(np.array([float(vecs[r.id] @ q) for r in kept]))
    ends = [r.locator["t"] for r in kept[1:]] + [vr.duration]
    return Signal("visual", [(r.locator["t"], max(e, r.locator["t"]), float(s), int(r.id))
                             for r, e, s in zip(kept, ends, sims)])


def dense_signal(lib: Collection, vr: VideoRecords, qvecs: dict[str, np.ndarray]) -> Signal | None:
    space = space_for(lib, Modality.TEXT, SpaceInput.TEXT)
    if space is None or space not in qvecs or not vr.transcript:
        return None
    q = qvecs[space].reshape(-1)
    vecs = lib.store.get_vectors(space, [r.id for r in vr.transcript], q.shape[0])
    kept = [r for r in vr.transcript if r.id in vecs]
    if not kept:
        return None
    sims = rescale(np.array([float(vecs[r.id] @ q) for r in kept]), floor=DENSE_FLOOR)
    return Signal("dense", [(r.locator["t_start"], r.locator["t_end"], float(s), int(r.id))
                            for r, s in zip(kept, sims)])


def bm25_signal(lib: Collection, vr: VideoRecords, query: str) -> Signal | None:
    if not vr.transcript or not query.strip():
        return None
    sig = Signal("bm25")
    scored = dict(lib.store.bm25(fts_query(query), len(vr.transcript), [Modality.TEXT], glob_escape(vr.source)))
    top = max(scored.values(), default=0.0)
    for r in vr.transcript:
        if scored.get(r.id, 0.0) > 0 and top > 0:
            sig.spans.append((r.locator["t_start"], r.locator["t_end"], scored[r.id] / top, int(r.id)))
    return sig


def place(signal: Signal, n_bins: int, step: float) -> np.ndarray:
    """Each span's score on the grid, weighted by how much of each bin it covers (max over spans)."""
    out = np.zeros(n_bins)
    for a, b, score, _ in signal.spans:
        i0, i1 = max(0, int(math.floor(a / step))), min(n_bins, int(math.ceil(b / step)))
        for i in range(i0, i1):
            cover = (min(b, (i + 1) * step) - max(a, i * step)) / step
            out[i] = max(out[i], score * max(cover, 0.0))
    return out


def gaussian_smooth(values: np.ndarray, sigma_bins: float) -> np.ndarray:
    if sigma_bins <= 0 or values.size < 2:
        return values
    radius = max(1, int(math.ceil(3 * sigma_bins)))
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (x / sigma_bins) ** 2)
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def build_curve(lib: Collection, vr: VideoRecords, query: str, qvecs: dict[str, np.ndarray], step: float = 1.0,
                smooth_s: float = 1.0, weights: dict[str, float] | None = None,
                signals: tuple[str, ...] = ("visual", "dense", "bm25")) -> Curve:
    w = {**WEIGHTS, **(weights or {})}
    makers: dict[str, Any] = {"visual": lambda: visual_signal(lib, vr, qvecs),
                              "dense": lambda: dense_signal(lib, vr, qvecs),
                              "bm25": lambda: bm25_signal(lib, vr, query)}
    if unknown := set(signals) - set(makers):
        raise ConfigError(f"unknown signals {sorted(unknown)}; valid: {list(makers)}")
    found = {name: sig for name in signals if (sig := makers[name]()) is not None}
    n_bins = max(1, int(math.ceil(vr.duration / step - 1e-9)))
    total, weight = np.zeros(n_bins), 0.0
    for name, sig in found.items():
        total += w[name] * place(sig, n_bins, step)
        weight += w[name]
    values = total / weight if weight else total
    return Curve(gaussian_smooth(values, smooth_s / step), values, step, found, vr.duration)
