"""Moment retrieval: the time windows of one ingested video that match a query.

find_moments builds the relevance curve (mmrag.video.curve) from CLIP keyframe similarity (when a CLIP
space is available and holds the keyframes) and the transcript (dense + BM25), proposes windows by
multi-level thresholding, scores them, and applies temporal NMS (mmrag.video.proposals). Each moment
carries its evidence: the transcript lines and keyframes inside it, with their signal scores.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core import Collection, HasCollection, as_collection
from ..errors import BadQueryError
from ..kinds import Modality, SpaceInput
from ..records import Moment
from .curve import Curve, build_curve, space_for
from .data import VideoRecords, load_video, resolve_source
from .proposals import LEVELS, scored_windows, temporal_nms

if TYPE_CHECKING:
    from PIL import Image


log = logging.getLogger(__name__)
_WARNED: set[str] = set()  # videos already warned about (once per process)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def moment_evidence(vr: VideoRecords, curve: Curve, t0: float, t1: float, n_lines: int = 5,
                    n_frames: int = 3) -> list[dict[str, Any]]:
    """Transcript lines and keyframes inside [t0, t1], the best-scoring first."""
    line_scores: dict[int, float] = {}
    for name in ("dense", "bm25"):
        for _, _, score, rid in curve.signals[name].spans if name in curve.signals else []:
            line_scores[rid] = max(line_scores.get(rid, 0.0), score)
    lines = [r for r in vr.transcript if _overlap(t0, t1, r.locator["t_start"], r.locator["t_end"]) > 0]
    lines.sort(key=lambda r: (-line_scores.get(r.id, 0.0), r.locator["t_start"]))
    out: list[dict[str, Any]] = [
        {"kind": "transcript", "id": r.id, "t_start": r.locator["t_start"], "t_end": r.locator["t_end"],
         "text": r.text, "score": round(line_scores.get(r.id, 0.0), 4)} for r in lines[:n_lines]]
    frame_scores = {rid: s for _, _, s, rid in curve.signals["visual"].spans} if "visual" in curve.signals else {}
    frames = [r for r in vr.keyframes if t0 <= r.locator["t"] < t1] or [
        r for r in vr.keyframes if r.locator["t"] <= t0][-1:]
    mid = (t0 + t1) / 2
    frames.sort(key=lambda r: (-frame_scores.get(r.id, 0.0), abs(r.locator["t"] - mid)))
    out += [{"kind": "keyframe", "id": r.id, "t": r.locator["t"], "score": round(frame_scores.get(r.id, 0.0), 4),
             "thumbnail": r.meta.get("thumbnail")} for r in frames[:n_frames]]
    return out


def moments_from_curve(vr: VideoRecords, curve: Curve, k: int = 5, nms_iou: float = 0.5,
                       levels: tuple[float, ...] = LEVELS) -> list[Moment]:
    windows = temporal_nms(scored_windows(curve.values, curve.step, vr.duration, levels, score_curve=curve.raw),
                           nms_iou, k)
    return [Moment(vr.source, a, b, float(score), moment_evidence(vr, curve, a, b)) for a, b, score in windows]


def relevance_curve(library: Collection | HasCollection, video: str, query: str = "", image: "Image.Image | None" = None,
                    qvecs: dict[str, np.ndarray] | None = None, **opts: Any) -> tuple[VideoRecords, Curve]:
    """The video's records and its smoothed relevance curve for the query (see mmrag.video.curve)."""
    lib = as_collection(library)
    vr = load_video(lib, resolve_source(lib, video))
    if qvecs is None:
        qvecs = lib.query_vectors(query, image) if (query.strip() or image is not None) else {}
    return vr, build_curve(lib, vr, query, qvecs, **opts)


def find_moments(lib: Collection | HasCollection, video: str, query: str = "", k: int = 5, *, image: "Image.Image | None" = None,
                 nms_iou: float = 0.5, step: float = 1.0, smooth_s: float = 1.0,
                 weights: dict[str, float] | None = None, signals: tuple[str, ...] = ("visual", "dense", "bm25"),
                 levels: tuple[float, ...] = LEVELS, qvecs: dict[str, np.ndarray] | None = None) -> list[Moment]:
    """Up to k moments of `video` (a path or an ingested file's name) for a text query, a query image, or
    both; best first. [] when the video has nothing to match with (no CLIP vectors, no transcript) or
    nothing stands out."""
    if not query.strip() and image is None:
        raise BadQueryError("find_moments needs a query text, an image, or both")
    lib = as_collection(lib)
    vr, curve = relevance_curve(lib, video, query, image, qvecs, step=step, smooth_s=smooth_s, weights=weights,
                                signals=signals)
    if not curve.signals:
        (log.info if vr.source in _WARNED else log.warning)(
            "%s: no signal to rank moments with (no CLIP vectors for its keyframes and no transcript);"
            " `mmrag models` says which models are missing", vr.source)
        _WARNED.add(vr.source)
        return []
    return moments_from_curve(vr, curve, k, nms_iou, levels)


def available_signals(lib: Collection | HasCollection, video: str) -> list[str]:
    """Which signals a query on this video can use (without a query: checks stored vectors and lines)."""
    lib = as_collection(lib)
    vr = load_video(lib, resolve_source(lib, video))
    out = []
    space = space_for(lib, Modality.VIDEO, SpaceInput.IMAGE)
    if space and vr.keyframes and lib.store.get_vectors(space, [vr.keyframes[0].id], lib.index(space).dim):
        out.append("visual")
    if vr.transcript:
        out += ["dense", "bm25"] if space_for(lib, Modality.TEXT, SpaceInput.TEXT) else ["bm25"]
    return out
