"""Moments in one video through the app: a generated video with speech at known times, real Whisper."""
from __future__ import annotations

import re
import shutil

import httpx
import pytest

from .test_app_client import ASK_OUT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def speech_video(folder_root):
    """12 s of scenes with "The purple elephant is dancing on the old bridge." spoken from 7 s."""
    pytest.importorskip("av")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng; listed in scripts/apt-packages.txt)")
    from tests.mmrag.video import media
    media.whisper_or_skip()
    audio, spans = media.place_speech(12.0, [(7.0, media.espeak("The purple elephant is dancing on the old bridge."))])
    folder = folder_root / "videos"
    folder.mkdir(exist_ok=True)
    path = media.write_video(folder / "meeting.mp4", media.scenes(4, 3.0, 10.0), fps=10.0, audio=audio)
    return path, spans[0]


def test_moments_view_plays_the_matching_span(client, app, speech_video):
    path, (t0, t1) = speech_video
    result, *_ = client.predict(str(path.parent), api_name="/ingest_folder")
    assert "1 ok" in result, result
    html, moments = client.predict(str(path), "elephant dancing on a bridge", 3, api_name="/moments")
    top = moments[0]
    assert top["source"] == str(path.resolve()) and top["t_start"] < t1 and top["t_end"] > t0, (moments, t0, t1)
    m = re.search(r'<video class="ev-video"[^>]* src="([^"#]+)#t=([\d.]+),([\d.]+)"', html)
    assert m and float(m.group(2)) == pytest.approx(top["t_start"], abs=0.01)
    assert "<mark>elephant</mark>" in html
    served = httpx.get(app.url + m.group(1))  # a copy inside the library, not the source path
    assert served.status_code == 200 and served.content == path.read_bytes()
    assert m.group(1).startswith("mmrag/media/media/") and str(app.service.root) not in html

    answer = dict(zip(ASK_OUT, client.predict({"text": "Where is the purple elephant dancing?", "files": []}, 6,
                                              api_name="/ask")))
    data, ask_html = answer["data"], answer["evidence"]
    video = [e for e in data["evidence"] if e["modality"] == "video"]
    assert video and "elephant" in data["answer"].lower(), data
    search_html = client.predict({"text": "purple elephant dancing", "files": []}, ["video"], 5, "", False,
                                 api_name="/search")[0]
    for html in (ask_html, search_html):  # the evidence panel plays the moment too
        m = re.search(r'<video class="ev-video"[^>]* src="[^"#]+#t=([\d.]+),([\d.]+)"', html)
        assert m and float(m.group(1)) < t1 and float(m.group(2)) > t0, html[:500]
    assert "Video moments (" in ask_html

def test_moments_refuses_paths_that_are_not_library_videos(client):
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError, match="library's videos"):
        client.predict("/etc/passwd", "root", 3, api_name="/moments")
