"""Test media made here: scene videos (numpy frames), speech from espeak-ng, muxed with PyAV."""
from __future__ import annotations

import shutil
import subprocess
import wave
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

SR = 16_000
SCENE_COLOURS = [(200, 40, 40), (40, 160, 60), (40, 60, 200), (220, 200, 40), (150, 40, 170), (30, 30, 30)]


def scene_frame(scene: int, i: int, size: tuple[int, int] = (320, 180)) -> np.ndarray:
    """An RGB frame of scene `scene`: its own colour and shapes, a small square drifting with i."""
    w, h = size
    rng = np.random.default_rng(scene)
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:] = SCENE_COLOURS[scene % len(SCENE_COLOURS)]
    for _ in range(6):
        x, y = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        img[y:y + int(rng.integers(10, 40)), x:x + int(rng.integers(10, 40))] = rng.integers(0, 256, 3)
    x = 10 + (i % 40)
    img[h - 30:h - 20, x:x + 10] = 255
    return img


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float = 10.0, audio: np.ndarray | None = None,
                times: Sequence[float] | None = None, faststart: bool = False, codec: str = "mpeg4") -> Path:
    """Encode RGB frames (constant rate, or at `times` seconds for variable frame rate) and mono audio."""
    import av
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        vs = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        vs.height, vs.width = frames[0].shape[:2]
        vs.pix_fmt = "yuv420p"
        a_s = _audio_stream(out) if audio is not None else None  # every stream before the first packet
        if times is not None:
            vs.codec_context.time_base = Fraction(1, 1000)
        for i, f in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(f, format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = int(round(times[i] * 1000)), Fraction(1, 1000)
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        if a_s is not None:
            _write_audio(out, a_s, audio)
    return path


def _audio_stream(out):  # noqa: ANN001, ANN202 - av types
    a_s = out.add_stream("aac", rate=SR)
    a_s.layout = "mono"
    return a_s


def _write_audio(out, a_s, audio: np.ndarray) -> None:  # noqa: ANN001 - av container and stream
    import av
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    for start in range(0, len(pcm), 1024):
        frame = av.AudioFrame.from_ndarray(pcm[None, start:start + 1024], format="s16", layout="mono")
        frame.sample_rate, frame.pts = SR, start
        out.mux(a_s.encode(frame))
    out.mux(a_s.encode(None))


def write_audio_only(path: Path, audio: np.ndarray) -> Path:
    import av
    with av.open(str(path), "w") as out:
        _write_audio(out, _audio_stream(out), audio)
    return path


def espeak(text: str, wpm: int = 150) -> np.ndarray:
    """Speech for `text` from espeak-ng, as 16 kHz mono float32, leading/trailing silence trimmed."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng)")
    raw = subprocess.run([exe, "-s", str(wpm), "--stdout", text], capture_output=True, check=True).stdout
    import io
    with wave.open(io.BytesIO(raw)) as w:
        rate, data = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    x = data.astype(np.float32) / 32768.0
    if rate != SR:
        idx = np.arange(0, len(x), rate / SR)
        x = np.interp(idx, np.arange(len(x)), x).astype(np.float32)
    loud = np.flatnonzero(np.abs(x) > 0.02)
    return x[loud[0]:loud[-1] + 1] if loud.size else x


def place_speech(total_s: float, phrases: Sequence[tuple[float, np.ndarray]]) -> tuple[np.ndarray, list]:
    """A track of `total_s` seconds with each phrase starting at its time; returns (audio, [(t0, t1)])."""
    track = np.zeros(int(total_s * SR), dtype=np.float32)
    spans = []
    for t0, x in phrases:
        i = int(t0 * SR)
        x = x[: len(track) - i]
        track[i:i + len(x)] += 0.8 * x / max(float(np.abs(x).max()), 1e-6)
        spans.append((t0, t0 + len(x) / SR))
    return track, spans


def scenes(n_scenes: int, scene_s: float, fps: float, size: tuple[int, int] = (320, 180)) -> list[np.ndarray]:
    per = int(round(scene_s * fps))
    return [scene_frame(s, i, size) for s in range(n_scenes) for i in range(per)]


def whisper_or_skip():  # noqa: ANN201 - returns encoders.speech.SpeechRecognizer
    """The real Whisper tiny.en, loaded (once per process: encoders.speech caches models); skip if absent."""
    import pytest

    from encoders.speech import SpeechRecognizer, speech_model_status
    status = speech_model_status("tiny.en")
    if not status["available"]:
        pytest.skip(f"Whisper tiny.en not on this machine: {status['reason']}; {status['hint']}")
    rec = SpeechRecognizer("tiny.en")
    rec.model  # noqa: B018 - load now
    return rec
