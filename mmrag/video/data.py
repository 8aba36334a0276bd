"""One ingested video's records, read back from the library store."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core import Collection
from ..errors import BadQueryError
from ..kinds import Modality, RecordKind, SourceStatus
from ..records import Record


@dataclass
class VideoRecords:
    source: str
    duration: float
    keyframes: list[Record] = field(default_factory=list)  # sorted by t
    segments: list[Record] = field(default_factory=list)  # sorted by t_start
    transcript: list[Record] = field(default_factory=list)  # sorted by t_start

    def segment_at(self, t: float) -> Record | None:
        for seg in self.segments:
            if seg.locator["t_start"] <= t < seg.locator["t_end"]:
                return seg
        return self.segments[-1] if self.segments and t >= self.segments[-1].locator["t_start"] else None


def glob_escape(path: str) -> str:
    """A GLOB pattern matching exactly `path` (SQLite GLOB: * ? [ are special)."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def resolve_source(lib: Collection, video: str) -> str:
    """The library's source key for `video`: its absolute path, or a unique ingested file with that name."""
    key = str(Path(video).resolve())
    for cand in (key, video):
        src = lib.store.get_source(cand)
        if src is not None:
            if src["status"] == SourceStatus.DUPLICATE and src["error"]:
                return src["error"].removeprefix("same content as ")
            if src["status"] != SourceStatus.OK:
                raise BadQueryError(f"{video} was not indexed ({src['status']}: {src['error']})")
            return cand
    name = Path(video).name
    matches = [p for p in lib.store.source_paths(Modality.VIDEO, SourceStatus.OK) if Path(p).name == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise BadQueryError(f"{video} matches several videos in the library: {', '.join(matches)}; give the full path")
    raise BadQueryError(f"{video} is not in the library {lib.root}; ingest it first: mmrag ingest {video}")


def load_video(lib: Collection, source: str) -> VideoRecords:
    recs = list(lib.store.get_records(lib.store.record_ids_of(source)).values())
    kf = sorted((r for r in recs if r.meta.get("kind") == RecordKind.KEYFRAME), key=lambda r: r.locator["t"])
    seg = sorted((r for r in recs if r.meta.get("kind") == RecordKind.SEGMENT), key=lambda r: r.locator["t_start"])
    tr = sorted((r for r in recs if r.meta.get("kind") == RecordKind.TRANSCRIPT), key=lambda r: r.locator["t_start"])
    durations = [float(r.meta["duration"]) for r in kf[:1] + seg[:1] + tr[:1] if "duration" in r.meta]
    ends = [r.locator.get("t_end", r.locator.get("t", 0.0)) for r in seg + tr + kf]
    duration = max(durations + ends + [0.0])
    if not (kf or seg or tr):
        raise BadQueryError(f"{source} has no video records (is it a video file?)")
    return VideoRecords(source, duration, kf, seg, tr)
