"""Moment retrieval and highlight detection metrics, as QVHighlights (Lei et al., NeurIPS 2021) defines them.

Inputs are the QVHighlights formats: predictions {"qid", "pred_relevant_windows": [[st, ed, score], ...]
best first, optionally "pred_saliency_scores": one per 2-second clip}; ground truth {"qid", "duration",
"relevant_windows": [[st, ed], ...], "relevant_clip_ids", "saliency_scores": [[a1, a2, a3], ...]}.

* **R1@t**: the top-1 window is paired with the ground-truth window it overlaps most; the share (%) of
  queries whose pair has tIoU >= t. **mIoU**: the mean of that tIoU (%).
* **mAP@t**: per query, detection average precision of its first 10 windows against its ground-truth
  windows (by decreasing score, each GT window matched at most once, a window matches the unmatched GT
  with the highest tIoU if that tIoU >= t; precision made monotone from the right; area under the
  precision/recall steps), averaged over queries; "average" is the mean over t = 0.5, 0.55, ..., 0.95.
* Length buckets: short (0, 10], middle (10, 30], long (30, 150] seconds keep only the GT windows of that
  length (and the queries that still have one).
* **HL mAP / Hit@1** at "Fair" (score >= 2), "Good" (>= 3), "VeryGood" (>= 4): per annotator, clips are
  relevant when their score reaches the level; Hit@1 is whether the top-saliency clip is relevant for
  the most favourable annotator; mAP is the average precision of the saliency ranking (precision at each
  new recall level, made monotone from the high-recall end), averaged over annotators and queries.

Numbers are percentages rounded to 2 decimals, as the authors report them.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
LENGTH_RANGES = {"short": (0.0, 10.0), "middle": (10.0, 30.0), "long": (30.0, 150.0)}
HL_LEVELS = {"Fair": 2, "Good": 3, "VeryGood": 4}
MAX_PRED_WINDOWS = 10


def _pct(x: float) -> float:
    return float(f"{100 * x:.2f}")


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """tIoU between each window of a (N, 2) and each of b (M, 2)."""
    a, b = np.asarray(a, dtype=float).reshape(-1, 2), np.asarray(b, dtype=float).reshape(-1, 2)
    inter = np.clip(np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def top1_ious(preds: dict[Any, list], gts: dict[Any, list]) -> np.ndarray:
    """Per query (in gts order): tIoU of the top-1 window with its best-overlapping GT window (0 if none)."""
    out = []
    for qid, windows in gts.items():
        pred = preds.get(qid) or []
        if not pred or not windows:
            out.append(0.0)
            continue
        out.append(float(iou_matrix(np.array([pred[0][:2]]), np.array(windows)).max()))
    return np.array(out)


def detection_ap(gt_windows: Sequence[Sequence[float]], pred_windows: Sequence[Sequence[float]],
                 thresholds: Sequence[float] = IOU_THRESHOLDS) -> np.ndarray:
    """Average precision at each tIoU threshold for one query (pred rows: start, end, score)."""
    ap = np.zeros(len(thresholds))
    if not len(pred_windows) or not len(gt_windows):
        return ap
    order = sorted(range(len(pred_windows)), key=lambda i: -pred_windows[i][2])  # stable
    preds = np.array([pred_windows[i][:2] for i in order], dtype=float)
    ious = iou_matrix(preds, np.array(gt_windows, dtype=float))
    for ti, thr in enumerate(thresholds):
        matched = np.zeros(len(gt_windows), dtype=bool)
        tp = np.zeros(len(preds))
        for pi in range(len(preds)):
            for gi in np.argsort(ious[pi], kind="stable")[::-1]:  # best tIoU first, ties: later GT first
                if ious[pi, gi] < thr:
                    break
                if not matched[gi]:
                    matched[gi], tp[pi] = True, 1.0
                    break
        ap[ti] = _step_ap(np.cumsum(tp) / (np.arange(len(preds)) + 1), np.cumsum(tp) / len(gt_windows))
    return ap


def _step_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the precision/recall steps, precision made non-increasing (VOC 2010+ style)."""
    p = np.concatenate([[0.0], precision, [0.0]])
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    changed = np.flatnonzero(r[1:] != r[:-1]) + 1
    return float(np.sum((r[changed] - r[changed - 1]) * p[changed]))


def _in_range(gt: list[dict], lo: float, hi: float) -> list[dict]:
    out = []
    for d in gt:
        kept = [w for w in d["relevant_windows"] if lo < w[1] - w[0] <= hi]
        if kept:
            out.append({**d, "relevant_windows": kept})
    return out


def mr_metrics(preds: list[dict], gt: list[dict], thresholds: Sequence[float] = IOU_THRESHOLDS) -> dict[str, Any]:
    """R1 and mAP at each threshold, mAP average and mIoU, for queries in both lists."""
    pred_by = {d["qid"]: d.get("pred_relevant_windows") or [] for d in preds}
    gt_by = {d["qid"]: d["relevant_windows"] for d in gt if d["qid"] in pred_by}
    ious = top1_ious(pred_by, gt_by)
    aps = np.array([detection_ap(gt_by[q], pred_by[q][:MAX_PRED_WINDOWS], thresholds) for q in gt_by])
    ap_t = aps.mean(0) if len(aps) else np.zeros(len(thresholds))
    return {"n": len(gt_by),
            "MR-R1": {str(t): _pct(float(np.mean(ious >= t)) if len(ious) else 0.0) for t in thresholds},
            "MR-mAP": {**{str(t): _pct(float(v)) for t, v in zip(thresholds, ap_t)},
                       "average": _pct(float(ap_t.mean()))},
            "mIoU": _pct(float(ious.mean()) if len(ious) else 0.0)}


def average_precision_ranking(y_true: np.ndarray, scores: np.ndarray) -> float:
    """AP of a ranking of binary labels: mean precision at each new recall level (ties share a cut),
    precision made non-decreasing towards low recall; 1 for all-positive, 0 for all-negative labels."""
    y_true, scores = np.asarray(y_true, dtype=float), np.asarray(scores, dtype=float)
    if np.all(y_true == y_true[0]):
        return float(y_true[0] > 0)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], y_true[order]
    cuts = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct score
    tps = np.cumsum(y)[cuts]
    precision = tps / (cuts + 1)
    recall = (tps / tps[-1]).astype(np.float32)
    precision, recall = np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0]  # high recall first
    precision = np.maximum.accumulate(precision)
    return float(np.mean(precision[np.flatnonzero(np.diff(recall))]))


def _clip_labels(d: dict, clip_s: float = 2.0) -> np.ndarray:
    labels = np.zeros((int(d["duration"] / clip_s), 3))
    labels[np.array(d["relevant_clip_ids"], dtype=int)] = np.array(d["saliency_scores"])
    return labels


def hl_metrics(preds: list[dict], gt: list[dict]) -> dict[str, dict[str, float]]:
    """HL-mAP and HL-Hit1 at each saliency level, for predictions with pred_saliency_scores."""
    gt_by = {d["qid"]: _clip_labels(d) for d in gt}
    out = {}
    for name, level in HL_LEVELS.items():
        hits, aps = [], []
        for d in preds:
            labels = (gt_by[d["qid"]] >= level).astype(float)
            sal = np.asarray(d["pred_saliency_scores"], dtype=float)
            top = int(np.argmax(sal))
            hits.append(labels[top].max() if top < len(labels) else 0.0)
            sal = np.pad(sal, (0, max(0, len(labels) - len(sal))))[:len(labels)]
            aps += [average_precision_ranking(labels[:, w], sal) for w in range(3)]
        out[f"HL-min-{name}"] = {"HL-mAP": _pct(float(np.mean(aps))), "HL-Hit1": _pct(float(np.mean(hits)))}
    return out


def eval_moments(preds: list[dict], gt: list[dict], buckets: bool = True) -> dict[str, Any]:
    """Authors' layout: {"brief": {...}, "full"/"short"/"middle"/"long": {"MR-mAP", "MR-R1"}, "HL-min-*"}."""
    qids = {d["qid"] for d in preds} & {d["qid"] for d in gt}
    preds, gt = [d for d in preds if d["qid"] in qids], [d for d in gt if d["qid"] in qids]
    out: dict[str, Any] = {"full": mr_metrics(preds, gt)}
    if buckets:
        for name, (lo, hi) in LENGTH_RANGES.items():
            sub = _in_range(gt, lo, hi)
            out[name] = mr_metrics(preds, sub)
    full = out["full"]
    brief = {"MR-full-R1@0.5": full["MR-R1"]["0.5"], "MR-full-R1@0.7": full["MR-R1"]["0.7"],
             "MR-full-mIoU": full["mIoU"], "MR-full-mAP": full["MR-mAP"]["average"],
             "MR-full-mAP@0.5": full["MR-mAP"]["0.5"], "MR-full-mAP@0.75": full["MR-mAP"]["0.75"]}
    brief.update({f"MR-{b}-mAP": out[b]["MR-mAP"]["average"] for b in LENGTH_RANGES if b in out})
    if preds and all("pred_saliency_scores" in d for d in preds) and all("saliency_scores" in d for d in gt):
        hl = hl_metrics(preds, gt)
        out.update(hl)
        brief.update({f"{k}-{m.split('-')[1]}": v for k, d in hl.items() for m, v in d.items()})
    return {"brief": brief, **out}
