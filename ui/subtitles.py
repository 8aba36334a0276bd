"""A video's transcript as WebVTT subtitles for the player (`<track>`).

The cues are the video's transcript records (Whisper lines with `t_start`/`t_end`). The .vtt file is
written into `<library>/media/`, named by the video's path and the transcript's content, so the app's
media route serves it like the video copies (same rules: only files under thumbs/ and media/, sent as
attachments with nosniff; a `<track>` loads it all the same) and it is dropped with the video's copies
when the source changes or is removed.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any, Sequence

from . import paths

MAX_CUE_CHARS = 300


def vtt_time(seconds: float) -> str:
    """12.5 -> '00:00:12.500'."""
    ms = max(0, int(round(float(seconds) * 1000)))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def cue_text(text: str) -> str:
    """Transcript text safe inside a cue: one line, no markup, no cue-timing arrow."""
    one = " ".join(str(text).split())[:MAX_CUE_CHARS]
    return one.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("--&gt;", "-&gt;")


def vtt(lines: Sequence[dict[str, Any]]) -> str:
    """The WebVTT document for transcript lines [{"t_start", "t_end", "text"}] (sorted, empty ones skipped)."""
    out = ["WEBVTT", ""]
    cues = sorted((ln for ln in lines if str(ln.get("text", "")).strip()), key=lambda ln: float(ln["t_start"]))
    for i, ln in enumerate(cues, 1):
        start = float(ln["t_start"])
        end = max(float(ln.get("t_end", start)), start + 0.5)
        out += [str(i), f"{vtt_time(start)} --> {vtt_time(end)}", cue_text(ln["text"]), ""]
    return "\n".join(out)


def write_vtt(library: Path, source: str | Path, lines: Sequence[dict[str, Any]]) -> Path | None:
    """The .vtt for `source` under media/ (written once per transcript), or None without transcript."""
    if not lines:
        return None
    body = vtt(lines)
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    target = paths.subtitle_path(library, source, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, target)
        for old in target.parent.glob(target.name.rsplit("-", 1)[0] + "-*.vtt"):  # an earlier transcript
            if old != target:
                old.unlink(missing_ok=True)
    return target
