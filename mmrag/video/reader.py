"""Video files: keyframes (OpenCV), shot/window segments and the transcript (faster-whisper).

Records made from one video (all with the video's path as source):

* keyframe: modality "video", locator {"t"}, no text, the frame's pixels as payload (CLIP space),
  meta {"kind": "keyframe", "thumbnail", "shot", "reason": "sample"|"shot", "duration"};
* segment: modality "video", locator {"t_start", "t_end"}: each shot, cut into windows of at most
  `segment_s`; payload = the keyframe nearest its middle (so a CLIP hit can land on a span), meta
  {"kind": "segment", "frame_t", "thumbnail", "shot", "duration", "video": {container facts}};
* transcript line: modality "text", locator {"t_start", "t_end"}, meta {"kind": "transcript",
  "view_of": "video"} (text space + FTS5).

Unreadable files raise IngestError; a file that stops early keeps what was read, with a note.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from ..core import hooks
from ..core.readers import Document, ReadContext, register_reader
from ..errors import IngestError, VideoError
from ..images.thumbs import save_thumbnail
from ..kinds import Modality, RecordKind
from ..records import Record
from .keyframes import Keyframe, KeyframeOptions, KeyframeResult, extract_keyframes, record_image
from .probe import VideoInfo, probe
from .transcripts import Transcript, transcribe, transcript_records

log = logging.getLogger(__name__)
VIDEO_EXTS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts")


def keyframe_options(config: Any) -> KeyframeOptions:
    return KeyframeOptions(fps=config.keyframe_fps, shot_threshold=config.shot_threshold,
                           dedupe=config.keyframe_dedupe, max_keyframes=config.max_keyframes,
                           frame_px=max(KeyframeOptions.frame_px, config.thumbnail_px))


def video_duration(info: VideoInfo, kf: KeyframeResult | None, transcript: Transcript) -> float:
    """Seconds of the timeline that was read: the container's length, or less when decoding stopped early."""
    if kf is not None:
        frame_s = 1.0 / info.fps if info.fps else 0.0
        read = kf.last_t + frame_s
        full = (info.duration or 0.0) - info.video_start
        return round(read if kf.errors or full <= 0 else max(full, read), 3)
    ends = [b for _, b, _ in transcript.lines]
    return round(max([(info.duration or 0.0) - info.audio_start, *ends]), 3)


def segment_spans(shots: list[tuple[float, float]], max_s: float) -> list[tuple[int, float, float]]:
    """(shot, t_start, t_end): each shot cut into equal windows of at most max_s seconds."""
    out = []
    for i, (a, b) in enumerate(shots):
        n = max(1, math.ceil((b - a) / max_s - 1e-9))
        step = (b - a) / n
        out += [(i, round(a + j * step, 3), round(a + (j + 1) * step if j < n - 1 else b, 3)) for j in range(n)]
    return out


def _nearest(keyframes: list[Keyframe], t: float, a: float, b: float) -> Keyframe:
    inside = [k for k in keyframes if a <= k.t < b] or [k for k in keyframes if k.t <= t] or keyframes
    return min(inside, key=lambda k: abs(k.t - t))


def visual_records(kf: KeyframeResult, duration: float, ctx: ReadContext, video_meta: dict) -> list[Record]:
    thumbs = {k.index: save_thumbnail(k.image, ctx.root, f"{ctx.sha256}-{k.index:07d}", ctx.config.thumbnail_px)
              for k in kf.keyframes}
    records = [Record(Modality.VIDEO, "", {"t": k.t}, "", payload=k.image,
                      meta={"kind": RecordKind.KEYFRAME, "thumbnail": thumbs[k.index], "shot": k.shot, "reason": k.reason,
                            "duration": duration})
               for k in kf.keyframes]
    for shot, a, b in segment_spans(kf.shots(duration), ctx.config.segment_s):
        rep = _nearest(kf.keyframes, (a + b) / 2, a, b)
        records.append(Record(Modality.VIDEO, "", {"t_start": a, "t_end": b}, "", payload=rep.image,
                              meta={"kind": RecordKind.SEGMENT, "frame_t": rep.t, "thumbnail": thumbs[rep.index],
                                    "shot": shot, "duration": duration, "video": video_meta}))
    return records


def _keyframes(path: Path, info: VideoInfo, ctx: ReadContext) -> KeyframeResult | None:
    if not info.has_video:
        return None
    try:
        return extract_keyframes(path, info, keyframe_options(ctx.config))
    except VideoError as exc:
        if not info.has_audio:
            raise
        log.warning("%s: %s; trying the audio track alone", path, exc)
        return None


def _transcript(path: Path, info: VideoInfo, ctx: ReadContext) -> Transcript:
    if not (ctx.config.asr and info.has_audio):
        return Transcript(has_audio=info.has_audio)
    return transcribe(path, ctx.tools, ctx.config.asr_model, offset=info.audio_start - info.video_start,
                      max_s=ctx.config.segment_s)


@hooks.register_record_input(Modality.VIDEO)
def _frame_input(collection: Any, record: Record) -> Any:
    """`mmrag reindex`: a keyframe's or segment's frame, decoded again from the video."""
    return record_image(record)


@register_reader(VIDEO_EXTS, Modality.VIDEO, streamed=True, max_mb_field="max_video_mb")
def read_video(path: Path, data: bytes, ctx: ReadContext) -> Document:
    try:
        info = probe(path)
        if not info.has_video and not info.has_audio:
            raise VideoError("the file has neither a video nor an audio stream")
        kf = _keyframes(path, info, ctx)
    except VideoError as exc:
        raise IngestError(str(exc)) from exc
    transcript = _transcript(path, info, ctx)
    notes = (kf.errors + kf.notes if kf else []) + transcript.notes
    if kf is None:
        if not transcript.lines:
            why = "no speech found" if ctx.config.asr else "speech-to-text is off (asr=false)"
            raise IngestError(f"no readable video stream (audio only) and {why}; nothing to index")
        notes.insert(0, "no video stream (audio only): indexed the transcript only")
    duration = video_duration(info, kf, transcript)
    video_meta = {**info.to_dict(), "rotation": kf.rotation if kf else 0, "frames_read": kf.frames_read if kf else 0,
                  "asr_model": ctx.config.asr_model if ctx.config.asr else None,
                  "transcript_lines": len(transcript.lines)}
    records = visual_records(kf, duration, ctx, video_meta) if kf else []
    for rec in transcript_records(transcript):
        rec.meta["duration"] = duration
        records.append(rec)
    return Document(Modality.VIDEO, records=records, notes=notes)
