"""A video's transcript as WebVTT subtitles: the cues, where the file goes, and the track the app serves
with the player (the browser test checks that Chromium loads its cues)."""
from __future__ import annotations

import re

import httpx

from ui import paths
from ui.subtitles import vtt, vtt_time, write_vtt


def test_cues_are_timed_sorted_and_inert():
    doc = vtt([{"t_start": 75.5, "t_end": 80.25, "text": "second <b>bold</b> --> & more"},
               {"t_start": 3661.0, "t_end": 3661.1, "text": "  third\n line  "},
               {"t_start": 1.0, "t_end": 2.0, "text": "first"}, {"t_start": 5.0, "t_end": 6.0, "text": "   "}])
    assert vtt_time(3661.0) == "01:01:01.000"
    blocks = doc.split("\n\n")
    assert blocks[0] == "WEBVTT"
    assert blocks[1] == "1\n00:00:01.000 --> 00:00:02.000\nfirst"
    assert blocks[2] == "2\n00:01:15.500 --> 00:01:20.250\nsecond &lt;b&gt;bold&lt;/b&gt; -&gt; &amp; more"
    assert blocks[3].rstrip() == "3\n01:01:01.000 --> 01:01:01.500\nthird line"  # at least half a second on screen
    assert doc.count("-->") == 3  # the text can never add a cue timing


def test_the_file_lives_in_media_and_follows_the_transcript(tmp_path):
    lib, video = tmp_path / "lib", tmp_path / "talk.mp4"
    assert write_vtt(lib, video, []) is None
    one = write_vtt(lib, video, [{"t_start": 0.0, "t_end": 1.0, "text": "hello"}])
    assert one.parent == (lib / paths.MEDIA).resolve() and paths.servable(lib, one)
    assert write_vtt(lib, video, [{"t_start": 0.0, "t_end": 1.0, "text": "hello"}]) == one  # written once
    two = write_vtt(lib, video, [{"t_start": 0.0, "t_end": 1.0, "text": "hello again"}])
    assert two != one and two.is_file() and not one.exists()  # a new transcript replaces the old file
    assert paths.drop_media_copy(lib, video) == 1 and not two.exists()  # removed with the video's copies


def test_video_results_carry_the_transcript_track(app, client):
    html, _, hits = client.predict({"text": "when does the keeper turn the light on", "files": []}, ["video"], 3, "",
                                   False, api_name="/search")
    assert hits and hits[0]["source"].endswith("lighthouse-keeper.mp4")
    m = re.search(r'<video class="ev-video"[^>]*><track kind="subtitles" label="transcript" srclang="en" '
                  r'src="([^"]+\.vtt)" default></video>', html)
    assert m and m.group(1).startswith("mmrag/media/media/") and str(app.service.root) not in html, html[:600]
    r = httpx.get(app.url + m.group(1))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/vtt")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.text.startswith("WEBVTT") and re.search(r"00:00:1\d\.\d{3} --> 00:00:1\d\.\d{3}\n.*light on", r.text)
    moments_html, _ = client.predict(hits[0]["source"], "the keeper turns the light on", 2, api_name="/moments")
    assert '<track kind="subtitles"' in moments_html  # the moments view plays with subtitles too
