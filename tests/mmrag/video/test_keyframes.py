"""Keyframes with OpenCV: the sampling grid, shot cuts, near-duplicates, real Charades timestamps,
variable frame rate and rotation metadata."""
import shutil
import subprocess

import numpy as np
import pytest

from mmrag.video.keyframes import KeyframeOptions, extract_keyframes, frame_at
from mmrag.video.probe import probe
from tests.conftest import EVALPACK
from tests.mmrag.video import media

av = pytest.importorskip("av")


def _pts(path):
    """Every frame's presentation time (s, from the stream start), read from the packets with PyAV."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        start = vs.start_time or 0
        return sorted(float((p.pts - start) * vs.time_base) for p in c.demux(vs) if p.pts is not None)


def test_scene_video_cuts_and_near_duplicates(scene_video):
    info = probe(scene_video)
    assert info.has_video and not info.has_audio and info.fps == pytest.approx(10.0)
    res = extract_keyframes(scene_video, info)
    assert res.cuts == pytest.approx([3.0, 6.0, 9.0], abs=0.31) and not res.errors
    # static scenes: one keyframe each (the drifting square is a near-duplicate change)
    assert [(k.reason, k.shot) for k in res.keyframes] == [("sample", 0), ("shot", 1), ("shot", 2), ("shot", 3)]
    assert res.shots(12.0) == [(0.0, res.cuts[0]), (res.cuts[0], res.cuts[1]), (res.cuts[1], res.cuts[2]),
                               (res.cuts[2], 12.0)]
    first = np.asarray(res.keyframes[0].image)
    assert first.shape == (180, 320, 3)
    assert np.abs(first.astype(int) - media.scene_frame(0, 0)).mean() < 8  # RGB order, upright, same pixels


def test_sampling_grid_without_dedupe(scene_video):
    res = extract_keyframes(scene_video, probe(scene_video), KeyframeOptions(dedupe=0))
    assert [k.t for k in res.keyframes] == pytest.approx(list(range(12)), abs=1e-6)
    assert sorted(k.t for k in res.keyframes if k.reason == "shot") == pytest.approx([3.0, 6.0, 9.0], abs=1e-6)
    assert [k.index for k in res.keyframes] == [10 * i for i in range(12)]


@pytest.mark.parametrize("vid,fps,frames,last,duration", [("3MSZA", 30.0, 930, 30.967, 31.068),
                                                          ("Y1HGC", 14.985, 460, 30.631, 30.720)])
def test_charades_keyframes_at_frame_times(vid, fps, frames, last, duration):
    path = EVALPACK / "video" / f"{vid}.mp4"
    if not path.exists():
        pytest.skip(f"{path} not found")
    info = probe(path)
    assert info.fps == pytest.approx(fps, abs=1e-3) and info.frames == frames
    assert info.duration == pytest.approx(duration, abs=1e-3) and (info.width, info.height) == (480, 270)
    pts = np.array(_pts(path))
    assert len(pts) == frames and pts[-1] == pytest.approx(last, abs=1e-3)
    res = extract_keyframes(path, info, KeyframeOptions(dedupe=0))
    assert res.frames_read == frames and res.last_t == pytest.approx(pts[-1], abs=1e-6) and not res.errors
    times = np.array([k.t for k in res.keyframes])
    assert np.abs(times[:, None] - pts[None, :]).min(1).max() < 1e-6  # every keyframe is a real frame
    samples = [k.t for k in res.keyframes if k.reason == "sample"]
    shots = {k.t for k in res.keyframes if k.reason == "shot"}
    grid = [float(pts[np.searchsorted(pts, s - 1e-6)]) for s in range(int(pts[-1]) + 1)]  # first frame >= s
    assert sorted(samples + [g for g in grid if g in shots]) == pytest.approx(grid, abs=1e-6)
    assert times.max() <= duration and all(np.asarray(k.image).shape == (270, 480, 3) for k in res.keyframes)


def test_variable_frame_rate_uses_frame_times(tmp_path):
    times = [0.0, 0.1, 0.2, 0.3, 1.5, 1.6, 3.7, 3.8, 5.2, 5.3]
    frames = [media.scene_frame(i % 3, i) for i in range(len(times))]
    path = media.write_video(tmp_path / "vfr.mp4", frames, fps=10.0, times=times)
    assert _pts(path) == pytest.approx(times, abs=1e-3)
    res = extract_keyframes(path, probe(path), KeyframeOptions(dedupe=0, shot_threshold=2.0))
    assert [k.t for k in res.keyframes] == pytest.approx([0.0, 1.5, 3.7, 5.2], abs=1e-3)
    assert [k.index for k in res.keyframes] == [0, 4, 6, 8]


def test_frame_at_returns_the_keyframe(scene_video):
    res = extract_keyframes(scene_video, probe(scene_video))
    for k in res.keyframes:
        np.testing.assert_array_equal(np.asarray(frame_at(scene_video, k.t)), np.asarray(k.image))


def _ffmpeg(*args):
    cmd = ["ffmpeg", "-nostdin", "-v", "error", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="Debian ffmpeg not installed (scripts/apt-packages.txt)")
def test_rotation_metadata_is_applied(scene_video, tmp_path):
    rotated = tmp_path / "rotated.mp4"
    try:  # FFmpeg >= 6 sets a display matrix with -display_rotation; 5.x with the legacy rotate tag
        _ffmpeg("-display_rotation", 90, "-i", scene_video, "-c", "copy", rotated)
    except subprocess.CalledProcessError:
        _ffmpeg("-i", scene_video, "-c", "copy", "-metadata:s:v:0", "rotate=90", "-y", rotated)
    res = extract_keyframes(rotated, probe(rotated))
    assert res.rotation in (90, 270) and not res.errors
    img = np.asarray(res.keyframes[0].image).astype(int)
    assert img.shape == (320, 180, 3)
    # the reference: the ffmpeg command line's own decoding, which applies the rotation (autorotate)
    ref = np.frombuffer(_ffmpeg("-i", rotated, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"),
                        dtype=np.uint8).reshape(320, 180, 3).astype(int)
    assert np.abs(img - ref).mean() < 3 < np.abs(img - ref[::-1, ::-1]).mean()
    # the fallback for OpenCV builds without auto-rotation turns the raw frame the same way
    import cv2

    from mmrag.video.keyframes import _rotate
    cap = cv2.VideoCapture(str(rotated), cv2.CAP_FFMPEG)
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    ok, raw = cap.read()
    cap.release()
    assert ok and raw.shape[:2] == (180, 320)
    turned = cv2.cvtColor(_rotate(raw, res.rotation), cv2.COLOR_BGR2RGB).astype(int)
    assert np.abs(turned - ref).mean() < 3
