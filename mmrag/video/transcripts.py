"""Transcripts: speech-to-text segments of a video's audio track as text records.

Each Whisper segment becomes one `text` record (text space + FTS5) with locator {"t_start", "t_end"} in
seconds of the video's timeline (the audio stream's start offset is applied) and meta
{"kind": "transcript", "view_of": "video"}. Whisper segments are cut into lines at pauses, at `max_s`
seconds and at sentence ends past half of that, using its word timings (Whisper often runs two separate
utterances into one segment).
Files without an audio track or without speech simply have no transcript records.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from encoders import ModelUnavailableError
from encoders.speech import AudioError, SpeechRecognizer  # also registers the "whisper" status check

from ..kinds import Modality, RecordKind
from ..records import Record

log = logging.getLogger(__name__)
PAUSE_S = 0.8  # a silence this long between two words starts a new transcript line


@dataclass
class Transcript:
    lines: list[tuple[float, float, str]] = field(default_factory=list)  # (t_start, t_end, text)
    has_audio: bool = False
    model: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def split_segment(start: float, end: float, text: str, words: Sequence[tuple[float, float, str]],
                  max_s: float, pause_s: float = PAUSE_S) -> list[tuple[float, float, str]]:
    """A Whisper segment cut into lines at pauses of `pause_s` or more, before a line would pass `max_s`
    seconds, and at a sentence end once a line is `max_s / 2` long (needs word timings; without them
    the segment stays whole)."""
    if not words:
        return [(start, end, text)]
    pieces: list[list[tuple[float, float, str]]] = [[]]
    for w in words:
        cur = pieces[-1]
        if cur and (w[0] - cur[-1][1] >= pause_s or w[1] - cur[0][0] > max_s):
            pieces.append(cur := [])
        cur.append(w)
        if w[2].endswith((".", "?", "!")) and w[1] - cur[0][0] >= max_s / 2:
            pieces.append([])
    return [(p[0][0], p[-1][1], " ".join(w[2] for w in p).strip()) for p in pieces if p]


def recognizer(tools: dict[str, Any], model: str) -> Any:
    """The run's shared SpeechRecognizer (the model itself is cached per process by encoders.speech)."""
    key = f"asr:{model}"
    if key not in tools:
        tools[key] = SpeechRecognizer(model)
    return tools[key]


def transcribe(path: str | Path, tools: dict[str, Any], model: str, offset: float = 0.0,
               max_s: float = 10.0) -> Transcript:
    """Speech in the file's first audio track; a missing model or bad audio is a note, not an error."""
    out = Transcript(model=model)
    if (err := tools.get(f"asr-error:{model}")) is not None:
        out.notes.append(err)
        return out
    t0 = time.perf_counter()
    try:
        segments, notes, out.has_audio = recognizer(tools, model).transcribe_file(path)
    except ModelUnavailableError as exc:
        msg = f"speech-to-text unavailable ({str(exc).splitlines()[0]}); indexed without a transcript"
        tools[f"asr-error:{model}"] = msg
        log.warning("%s", msg)
        out.notes.append(msg)
        return out
    except AudioError as exc:
        out.notes.append(f"audio track unreadable ({exc}); indexed without a transcript")
        return out
    out.notes += notes
    for s in segments:
        for a, b, text in split_segment(s.start, s.end, s.text, s.words, max_s):
            out.lines.append((round(a + offset, 3), round(b + offset, 3), text))
    out.seconds = time.perf_counter() - t0
    return out


def transcript_records(transcript: Transcript) -> list[Record]:
    return [Record(Modality.TEXT, "", {"t_start": a, "t_end": b}, text,
                   meta={"kind": RecordKind.TRANSCRIPT, "view_of": Modality.VIDEO, "asr_model": transcript.model})
            for a, b, text in transcript.lines]
