"""What a media file holds, read from the container with PyAV (no frame decoding)."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import VideoError

log = logging.getLogger(__name__)


@dataclass
class VideoInfo:
    """Container facts: durations in seconds, None when the container does not say."""

    duration: float | None = None  # the container's duration
    has_video: bool = False
    has_audio: bool = False
    fps: float | None = None  # average frame rate of the first video stream
    frames: int | None = None  # frame count the container declares (0/None: unknown)
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    video_start: float = 0.0  # first timestamp of the video stream
    audio_start: float = 0.0

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def probe(path: str | Path) -> VideoInfo:
    """Read the container's streams and durations; raise VideoError for empty or unreadable files."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise VideoError("empty file (0 bytes)")
    try:
        import av
    except ImportError as exc:  # pragma: no cover - install error
        raise VideoError("video support needs PyAV: pip install 'mmrag[video]'") from exc
    quiet_ffmpeg(av)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        reason = f"{exc.__class__.__name__}: {exc}".replace(f": '{path}'", "")
        if fmt := container_format(path):
            raise VideoError(f"truncated or corrupt {fmt} file: FFmpeg cannot read its index ({reason});"
                             " re-download or re-export it") from exc
        raise VideoError(f"not a video FFmpeg can read ({reason}); check the file or its extension") from exc
    with container:
        info = VideoInfo(has_video=bool(container.streams.video), has_audio=bool(container.streams.audio))
        if container.duration is not None:
            info.duration = container.duration / 1_000_000
        if info.has_video:
            vs = container.streams.video[0]
            info.fps = float(vs.average_rate) if vs.average_rate else None
            info.frames = int(vs.frames or 0) or None
            info.width, info.height = vs.codec_context.width, vs.codec_context.height
            info.codec = vs.codec_context.name
            info.video_start = _start(vs)
        if info.has_audio:
            info.audio_start = _start(container.streams.audio[0])
    return info


def quiet_ffmpeg(av: object) -> None:
    """Keep FFmpeg's own messages ("partial file", "Error at MB") off stderr: mmrag reports what it could
    not read itself. Only when nobody configured PyAV's logging (level None)."""
    if av.logging.get_level() is None:  # type: ignore[attr-defined]
        av.logging.set_level(av.logging.PANIC)  # type: ignore[attr-defined]


def container_format(path: Path) -> str | None:
    """The container a file's first bytes announce (MP4/MOV, Matroska/WebM, AVI, MPEG-PS/TS), or None."""
    with open(path, "rb") as f:
        head = f.read(189)
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        return "MP4/MOV"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "Matroska/WebM"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "AVI"
    if head.startswith(b"\x00\x00\x01\xba") or (len(head) > 188 and head[0] == head[188] == 0x47):
        return "MPEG"
    return None


def _start(stream: object) -> float:
    start, base = getattr(stream, "start_time", None), getattr(stream, "time_base", None)
    return float(start * base) if start is not None and base is not None else 0.0
