"""Search results with video hits turned into moments: one hit per moment, not one per frame.

A video hit (a keyframe or a segment) becomes the moment of its video that contains it: with a text or
image query, the best find_moments window containing the hit's time; otherwise (or when no moment
contains it) the hit's own segment. Transcript lines become moments the same way (their own span when
no moment contains them), unless the search was restricted to modalities without "video". Later hits
inside a moment already listed are merged into it (their retriever ranks added). The moment hit keeps
the fused score and id of its best record; its record has locator {"t_start", "t_end"}, the transcript
spoken in the window as text, and meta kind "moment" with the thumbnail and evidence.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..core import Collection, SearchRequest, hooks
from ..core.hooks import Fused
from ..kinds import Modality, RecordKind
from ..records import Hit, Moment, Record
from .data import VideoRecords, load_video
from .moments import moment_evidence, moments_from_curve, relevance_curve

BATCH = 64


class _Videos:
    """Per-source moments and records, computed once per search."""

    def __init__(self, lib: Collection, query: str, image: Any, qvecs: dict[str, np.ndarray] | None) -> None:
        self.lib, self.query, self.image, self.qvecs = lib, query, image, qvecs
        self.cache: dict[str, tuple[VideoRecords, list[Moment], Any]] = {}

    def get(self, source: str) -> tuple[VideoRecords, list[Moment], Any]:
        if source not in self.cache:
            if self.query.strip() or self.image is not None:
                vr, curve = relevance_curve(self.lib, source, self.query, self.image, self.qvecs)
                moments = moments_from_curve(vr, curve, k=10) if curve.signals else []
            else:
                vr, curve, moments = load_video(self.lib, source), None, []
            self.cache[source] = (vr, moments, curve)
        return self.cache[source]

    def window(self, rec: Record) -> tuple[float, float, Moment | None]:
        vr, moments, _ = self.get(rec.source)
        t = rec.locator.get("t")
        if t is None:
            t = (rec.locator["t_start"] + rec.locator["t_end"]) / 2
        inside = [m for m in moments if m.t_start <= t <= m.t_end]
        if inside:
            best = max(inside, key=lambda m: m.score)
            return best.t_start, best.t_end, best
        if "t_start" in rec.locator:
            return rec.locator["t_start"], rec.locator["t_end"], None
        seg = vr.segment_at(t)
        return (seg.locator["t_start"], seg.locator["t_end"], None) if seg else (t, t, None)


def _moment_record(rec: Record, vr: VideoRecords, t0: float, t1: float, moment: Moment | None,
                   curve: Any) -> Record:
    evidence = moment.evidence if moment else (moment_evidence(vr, curve, t0, t1) if curve else [])
    lines = [r.text for r in vr.transcript if min(t1, r.locator["t_end"]) > max(t0, r.locator["t_start"])]
    thumb = next((e["thumbnail"] for e in evidence if e["kind"] == "keyframe" and e.get("thumbnail")),
                 rec.meta.get("thumbnail"))
    meta = {"kind": RecordKind.MOMENT, "thumbnail": thumb, "evidence": evidence, "duration": vr.duration}
    if moment:
        meta["moment_score"] = round(moment.score, 6)
    return Record(Modality.VIDEO, rec.source, {"t_start": t0, "t_end": t1}, " ".join(lines), meta=meta, uid=rec.uid,
                  id=rec.id)


def _is_video(rec: Record, lines_too: bool) -> bool:
    return rec.modality == Modality.VIDEO or (lines_too and rec.meta.get("view_of") == Modality.VIDEO
                                              and "t_start" in rec.locator)


def moment_hits(lib: Collection, query: str, fused: Sequence[Fused], k: int,
                image: Any = None, qvecs: dict[str, np.ndarray] | None = None,
                modality: Sequence[str] | None = None) -> list[Hit]:
    """The top k hits of a fused list, video hits grouped into moments (see the module docstring)."""
    videos = _Videos(lib, query, image, qvecs)
    lines_too = not modality or Modality.VIDEO in modality
    out: list[Hit] = []
    by_window: dict[tuple[str, float, float], Hit] = {}
    for start in range(0, len(fused), BATCH):
        batch = fused[start:start + BATCH]
        records = lib.store.get_records(d for d, _, _ in batch)
        for d, score, ranks in batch:
            rec = records.get(d)
            if rec is None:
                continue
            if not _is_video(rec, lines_too):
                out.append(Hit(rec, score, dict(ranks)))
            else:
                t0, t1, moment = videos.window(rec)
                key = (rec.source, t0, t1)
                if key in by_window:
                    merged = by_window[key].retrievers
                    for name, rank in ranks.items():
                        merged[name] = min(merged.get(name, rank), rank)
                    continue
                vr, _, curve = videos.get(rec.source)
                by_window[key] = Hit(_moment_record(rec, vr, t0, t1, moment, curve), score, dict(ranks))
                out.append(by_window[key])
            if len(out) >= k:
                return out
    return out


@hooks.register_hit_processor
def video_moments(lib: Collection, request: SearchRequest, fused: Sequence[Fused], hits: list[Hit]) -> list[Hit]:
    """The search hook: when any top hit is a keyframe, segment or transcript line, hits become moments."""
    if not any(h.record.modality == Modality.VIDEO or h.record.meta.get("view_of") == Modality.VIDEO for h in hits):
        return hits
    return moment_hits(lib, request.query, fused, request.k, image=request.image, qvecs=request.qvecs,
                       modality=request.modality)
