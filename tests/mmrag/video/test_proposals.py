"""Relevance curve, window proposals, scores and temporal NMS on known curves."""
import numpy as np
import pytest

from mmrag.video.curve import Signal, gaussian_smooth, place, rescale
from mmrag.video.proposals import propose, runs, scored_windows, temporal_nms, tiou


def test_place_weights_partial_bins_and_keeps_the_max():
    sig = Signal("dense", [(2.5, 5.0, 1.0, 1), (4.0, 6.0, 0.4, 2)])
    np.testing.assert_allclose(place(sig, 8, 1.0), [0, 0, 0.5, 1, 1, 0.4, 0, 0])


def test_rescale():
    np.testing.assert_allclose(rescale(np.array([0.1, 0.45, 0.7]), floor=0.2), [0, 0.5, 1])
    assert rescale(np.array([0.1, 0.15]), floor=0.2).tolist() == [0, 0]  # nothing above unrelated text
    np.testing.assert_allclose(rescale(np.array([0.8, 0.9, 1.0, 0.8, 0.8])), [0, 0.5, 1, 0, 0])  # median base


def test_smoothing_keeps_mass_and_edges():
    box = np.zeros(30)
    box[10:15] = 1.0
    sm = gaussian_smooth(box, 1.0)
    assert sm.sum() == pytest.approx(5.0, rel=1e-3) and sm.argmax() in (12,)
    assert [(a, b) for a, b in runs(sm >= 0.5)] == [(10, 15)]  # a blurred box still crosses 1/2 at its edges


def test_runs_and_merge_gap():
    mask = np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=bool)
    assert runs(mask) == [(1, 3), (4, 5), (7, 8)]
    assert runs(mask, merge_gap=1) == [(1, 5), (7, 8)]


def test_proposals_find_the_bump_best():
    curve = np.full(40, 0.05)
    curve[20:26] = 1.0
    curve[5:8] = 0.4  # a weaker bump
    curve = gaussian_smooth(curve, 1.0)
    assert propose(np.zeros(40)) == []
    windows = temporal_nms(scored_windows(curve, 1.0, 40.0), iou=0.5)
    best = windows[0]
    assert tiou(best[:2], (20, 26)) >= 0.7
    assert any(tiou(w[:2], (5, 8)) >= 0.5 for w in windows[1:])
    assert all(a[2] >= b[2] for a, b in zip(windows, windows[1:]))


def test_tiou_and_nms():
    assert tiou((0, 10), (5, 15)) == pytest.approx(1 / 3)
    assert tiou((0, 1), (2, 3)) == 0.0
    kept = temporal_nms([(0, 10, 0.9), (1, 10, 0.8), (20, 30, 0.5), (0, 9, 0.95)], iou=0.5)
    assert kept == [(0, 9, 0.95), (20, 30, 0.5)]
    assert temporal_nms([(0, 10, 0.9), (20, 30, 0.5)], k=1) == [(0, 10, 0.9)]


def test_transcript_segments_split_at_pauses_and_length():
    from mmrag.video.transcripts import split_segment
    words = [(0.6, 0.9, "Good"), (0.9, 1.2, "morning."), (1.3, 2.0, "Welcome."), (8.0, 8.4, "The"), (8.4, 9.0, "end")]
    assert split_segment(0.6, 9.0, "whole", words, 10.0) == [(0.6, 2.0, "Good morning. Welcome."),
                                                              (8.0, 9.0, "The end")]
    assert split_segment(0.6, 9.0, "whole", [], 10.0) == [(0.6, 9.0, "whole")]
    long = [(i * 0.5, i * 0.5 + 0.4, f"w{i}" + ("." if i % 4 == 3 else "")) for i in range(40)]
    pieces = split_segment(0.0, 19.9, "x", long, 10.0)
    assert [(a, b) for a, b, _ in pieces] == [(0.0, 5.9), (6.0, 11.9), (12.0, 17.9), (18.0, 19.9)]
    assert " ".join(t for _, _, t in pieces).split() == [w for _, _, w in long]
