"""Window proposals on a relevance curve, their scores, and temporal non-maximum suppression.

Proposals: the curve is cut at several levels (LEVELS x its maximum); every maximal run of bins at or
above a level is a window (temporal actionness grouping, as in Zhao et al., "Temporal Action Detection
with Structured Segment Networks", ICCV 2017). Runs closer than `merge_gap` bins at the same level are
joined. Score: the mean inside minus the mean just outside (a margin of a quarter of the window's
length, at least one bin, on each side) - a window scores high when it is strong *and* its edges sit on
the curve's flanks (scored on the unsmoothed curve, whose edges are where the evidence ends).
NMS keeps the best window and drops those overlapping it by tIoU > `nms_iou`.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

LEVELS = (0.2, 0.35, 0.5, 0.65, 0.8)
MIN_PEAK = 0.05  # a curve whose maximum is below this has no moments


def runs(mask: np.ndarray, merge_gap: int = 0) -> list[tuple[int, int]]:
    """[start, end) index ranges where mask is True, gaps of <= merge_gap bins joined."""
    out: list[tuple[int, int]] = []
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return out
    start = prev = int(idx[0])
    for i in idx[1:]:
        i = int(i)
        if i - prev - 1 > merge_gap:
            out.append((start, prev + 1))
            start = i
        prev = i
    out.append((start, prev + 1))
    return out


def propose(curve: np.ndarray, levels: Iterable[float] = LEVELS, merge_gap: int = 0) -> list[tuple[int, int]]:
    """Distinct [start, end) bin windows from thresholding the curve at each level x max."""
    top = float(curve.max(initial=0.0))
    if top < MIN_PEAK:
        return []
    found: dict[tuple[int, int], None] = {}
    for level in levels:
        for w in runs(curve >= level * top, merge_gap):
            found[w] = None
    return list(found)


def window_score(curve: np.ndarray, start: int, end: int) -> float:
    inner = float(curve[start:end].mean())
    margin = max(1, round(0.25 * (end - start)))
    outside = np.concatenate([curve[max(0, start - margin):start], curve[end:end + margin]])
    return inner - (float(outside.mean()) if outside.size else 0.0)


def tiou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Temporal intersection over union of two [start, end] windows."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0]) if inter > 0 else (a[1] - a[0]) + (b[1] - b[0])
    return inter / union if union > 0 else 0.0


def temporal_nms(windows: list[tuple[float, float, float]], iou: float = 0.5,
                 k: int | None = None) -> list[tuple[float, float, float]]:
    """(start, end, score) windows, best first, none overlapping a better kept one by tIoU > iou."""
    kept: list[tuple[float, float, float]] = []
    for w in sorted(windows, key=lambda x: (-x[2], x[0], x[1])):
        if all(tiou(w[:2], x[:2]) <= iou for x in kept):
            kept.append(w)
            if k is not None and len(kept) >= k:
                break
    return kept


def scored_windows(curve: np.ndarray, step: float, duration: float, levels: Iterable[float] = LEVELS,
                   merge_gap: int = 0, score_curve: np.ndarray | None = None) -> list[tuple[float, float, float]]:
    """Proposals on `curve`, in seconds, scored on `score_curve` (default: the same curve); negative
    scores dropped."""
    out = []
    score_curve = curve if score_curve is None else score_curve
    for start, end in propose(curve, levels, merge_gap):
        score = window_score(score_curve, start, end)
        if score > 0:
            out.append((round(start * step, 3), round(min(end * step, duration), 3), score))
    return out
