"""Video files through the ingest pipeline: records, thumbnails, bad files, search returning moments,
and the visual signal with CLIP (real ViT-B-32 architecture, random weights)."""
import json
import os

import numpy as np
import pytest

from mmrag import Ingestor, Library
from mmrag.video import find_moments
from mmrag.video.keyframes import frame_at
from mmrag.video.proposals import tiou
from tests.conftest import EVALPACK
from tests.mmrag.video import media

RANDOM_CLIP = {"allow_random": True}


@pytest.fixture(scope="module")
def clip_random():
    from encoders import create_encoder
    return create_encoder("clip-vit-b-32", **RANDOM_CLIP)


@pytest.fixture
def video_lib(tmp_path, clip_random):
    with Library(tmp_path / "lib", text_encoder="hash", image_encoder="clip-vit-b-32",
                 image_encoder_params=RANDOM_CLIP) as lib:
        yield lib


def _records(lib, source):
    ids = [i for (i,) in lib.store.db.execute("SELECT id FROM records WHERE source=?", (str(source),))]
    return list(lib.store.get_records(ids).values())


def test_records_thumbnails_and_clip_vectors(video_lib, scene_video, clip_random):
    report = Ingestor(video_lib).run([scene_video])
    assert report.count("ok") == 1, report.to_dict()
    recs = _records(video_lib, scene_video)
    kinds = sorted(r.meta["kind"] for r in recs)
    assert kinds == ["keyframe"] * 4 + ["segment"] * 4
    for r in recs:
        assert r.modality == "video" and r.meta["duration"] == pytest.approx(12.0)
        assert (video_lib.root / r.meta["thumbnail"]).is_file()
    segs = sorted((r for r in recs if r.meta["kind"] == "segment"), key=lambda r: r.locator["t_start"])
    assert [(s.locator["t_start"], s.locator["t_end"]) for s in segs] == [(0, 3), (3, 6), (6, 9), (9, 12)]
    assert segs[0].meta["video"]["fps"] == pytest.approx(10.0) and segs[0].meta["video"]["has_audio"] is False
    vecs = video_lib.store.get_vectors("clip", [r.id for r in recs], 512)
    assert len(vecs) == 8  # keyframes and segments are in the CLIP space
    for r in recs:
        t = r.locator.get("t", r.meta.get("frame_t"))
        np.testing.assert_allclose(vecs[r.id], clip_random.encode([frame_at(scene_video, t)])[0], atol=1e-5)


def test_image_query_finds_its_scene_and_search_returns_moments(video_lib, scene_video):
    Ingestor(video_lib).run([scene_video])
    query = frame_at(scene_video, 7.0)  # scene 2 spans 6-9 s
    moments = video_lib.moments(str(scene_video), "", image=query, k=3)
    assert tiou((moments[0].t_start, moments[0].t_end), (6.0, 9.0)) >= 0.5
    assert moments[0].evidence[0]["kind"] == "keyframe" and moments[0].evidence[0]["t"] == pytest.approx(6.0)
    assert all(a.score >= b.score for a, b in zip(moments, moments[1:]))
    hits = video_lib.search(image=query, k=5, modality="video")
    spans = [(h.record.locator["t_start"], h.record.locator["t_end"]) for h in hits]
    assert all("t" not in h.record.locator for h in hits) and len(set(spans)) == len(spans)
    assert tiou(spans[0], (6.0, 9.0)) >= 0.5 and hits[0].record.meta["kind"] == "moment"
    assert hits[0].to_dict()["thumbnail"].startswith("thumbs/")
    assert len(hits) <= 4  # one hit per moment: 8 video records collapse to at most 4 windows


def test_text_query_uses_clip_when_available(video_lib, scene_video):
    Ingestor(video_lib).run([scene_video])
    from mmrag.video import relevance_curve
    _, curve = relevance_curve(video_lib, str(scene_video), "a green room")
    assert set(curve.signals) == {"visual"} and len(curve.signals["visual"].spans) == 4
    assert len(curve.values) == 12 and curve.values.max() > 0


@pytest.mark.slow  # loads Whisper (the audio-only file is transcribed: no speech)
def test_bad_files_are_reported_and_the_rest_indexed(video_lib, scene_video, tmp_path, whisper):
    d = tmp_path / "folder"
    d.mkdir()
    data = scene_video.read_bytes()
    (d / "good.mp4").write_bytes(data)
    (d / "half.mp4").write_bytes(data[: len(data) // 2])
    media.write_video(d / "fast.mp4", media.scenes(2, 3.0, 10.0), faststart=True)
    fast = (d / "fast.mp4").read_bytes()
    (d / "fast.mp4").write_bytes(fast[: len(fast) // 2])
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * media.SR) / media.SR).astype(np.float32)
    media.write_audio_only(d / "tone.mp4", tone)
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.avi").write_text("this is a text file, not a video\n" * 20)
    (d / "readme.txt").write_text("The rest of the folder is indexed as usual.")
    report = Ingestor(video_lib).run([d])
    by = {os.path.basename(r.path): r for r in report.results}
    assert by["good.mp4"].status == "ok" and by["readme.txt"].status == "ok"
    assert by["half.mp4"].status == "failed" and "truncated or corrupt" in by["half.mp4"].message
    assert by["fast.mp4"].status == "ok" and "truncated or corrupt" in by["fast.mp4"].message
    assert "audio only" in by["tone.mp4"].message and "no speech" in by["tone.mp4"].message
    assert by["empty.mp4"].status == "failed" and "empty file" in by["empty.mp4"].message
    assert by["notes.avi"].status == "failed" and "not a video" in by["notes.avi"].message
    status = {f["path"].rsplit("/", 1)[1]: f["error"] for f in video_lib.status()["failed"]}
    assert set(status) == {"half.mp4", "tone.mp4", "empty.mp4", "notes.avi"}
    fast_recs = _records(video_lib, d / "fast.mp4")
    assert fast_recs and max(r.locator.get("t", 0) for r in fast_recs) < 6.0  # what could be read
    assert video_lib.store.get_source(str(d / "fast.mp4"))["error"].startswith("video stream ended at")


def test_charades_videos_ingest(tmp_path):
    paths = [EVALPACK / "video" / f"{v}.mp4" for v in ("3MSZA", "Y1HGC")]
    if not all(p.exists() for p in paths):
        pytest.skip("Charades videos not in the evalpack")
    with Library(tmp_path / "lib", text_encoder="hash") as lib:  # default CLIP: no weights here
        lib.config.asr = False  # speech is covered elsewhere; keyframes are what this test checks
        report = Ingestor(lib).run(paths)
        assert report.count("ok") == 2 and not report.problems, report.to_dict()
        for p, duration in zip(paths, (31.068, 30.720)):
            recs = _records(lib, p.resolve())
            frames = sorted(r.locator["t"] for r in recs if r.meta["kind"] == "keyframe")
            segs = sorted((r.locator["t_start"], r.locator["t_end"]) for r in recs if r.meta["kind"] == "segment")
            assert frames[0] == 0.0 and frames[-1] < duration and len(frames) >= 4
            assert segs[0][0] == 0.0 and segs[-1][1] == pytest.approx(duration, abs=1e-3)
            assert all(b - a <= lib.config.segment_s + 1e-6 for a, b in segs)
            assert all(x[1] == pytest.approx(y[0]) for x, y in zip(segs, segs[1:]))  # contiguous
        assert find_moments(lib, str(paths[0]), "person turns on the light") == []  # no CLIP, no transcript


def test_old_library_config_loads_and_keeps_its_spaces(tmp_path, scene_video):
    with Library(tmp_path / "lib", text_encoder="hash"):
        pass
    cfg_path = tmp_path / "lib" / "library.json"
    cfg = json.loads(cfg_path.read_text())
    for key in ("keyframe_fps", "shot_threshold", "keyframe_dedupe", "segment_s", "max_keyframes", "asr", "asr_model"):
        cfg.pop(key)
    cfg["spaces"]["clip"]["modalities"] = ["image"]  # a library made before video support
    cfg_path.write_text(json.dumps(cfg))
    with Library(tmp_path / "lib") as lib:
        assert lib.config.keyframe_fps == 1.0 and lib.config.asr is True
        assert Ingestor(lib).run([scene_video]).count("ok") == 1


def test_reindex_embeds_video_records_when_clip_arrives(tmp_path, scene_video, clip_random, monkeypatch):
    from mmrag.ingest.reindex import reindex
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MMRAG_MODELS", str(tmp_path / "no-models"))
    lib_dir = tmp_path / "lib"
    with Library(lib_dir, text_encoder="hash") as lib:  # default CLIP preset: no weights here
        assert Ingestor(lib).run([scene_video]).count("ok") == 1
        assert lib.status()["spaces"]["clip"]["pending"] == 8
    cfg = json.loads((lib_dir / "library.json").read_text())
    cfg["spaces"]["clip"]["encoder_params"] = RANDOM_CLIP  # "the weights arrived"
    (lib_dir / "library.json").write_text(json.dumps(cfg))
    with Library(lib_dir) as lib:
        out = reindex(lib, "clip")
        assert out["embedded"] == 8 and out["failed"] == []
        recs = _records(lib, scene_video)
        vecs = lib.store.get_vectors("clip", [r.id for r in recs], 512)
        key = next(r for r in recs if r.meta["kind"] == "keyframe")
        np.testing.assert_allclose(vecs[key.id], clip_random.encode([frame_at(scene_video, key.locator["t"])])[0],
                                   atol=1e-5)


def test_videos_have_their_own_size_limit_and_are_hashed_in_blocks(tmp_path, scene_video):
    (tmp_path / "notes.txt").write_text("a note " * 400)  # ~2.8 kB
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(scene_video.read_bytes())
    with Library(tmp_path / "lib", text_encoder="hash") as lib:
        lib.config.max_file_mb = 0.001  # 1 kB for documents; videos keep max_video_mb
        report = Ingestor(lib).run([tmp_path / "notes.txt", clip])
        by_name = {r.path.rsplit("/", 1)[-1]: r for r in report.results}
        assert by_name["notes.txt"].status == "failed" and "max_file_mb" in by_name["notes.txt"].message
        assert by_name["clip.mp4"].status == "ok"
        import hashlib
        assert lib.store.get_source(str(clip.resolve()))["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
        lib.config.max_video_mb = clip.stat().st_size / 2e6
        clip.write_bytes(clip.read_bytes() + b"\0")  # changed: re-read, now over the video limit
        res = Ingestor(lib).run([clip]).results[0]
        assert res.status == "failed" and "max_video_mb" in res.message
