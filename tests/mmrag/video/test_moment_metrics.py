"""Moment metrics: the Moment-DETR predictions reproduce the authors' metrics file; small hand-checked cases."""
import json

import numpy as np
import pytest

from mmrag.evals.moment_metrics import average_precision_ranking, detection_ap, eval_moments, iou_matrix, mr_metrics
from tests.conftest import EVALPACK

VIDEO = EVALPACK / "video"


def _jsonl(name):
    return [json.loads(line) for line in (VIDEO / name).read_text().splitlines()]


def _leaves(d, path=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _leaves(v, f"{path}/{k}")
        else:
            yield f"{path}/{k}", v


@pytest.mark.skipif(not VIDEO.is_dir(), reason=f"evalpack not found at {VIDEO}")
def test_moment_detr_predictions_reproduce_authors_metrics():
    preds = _jsonl("inference_hl_val_test_code_preds.jsonl")
    ours = eval_moments(preds, _jsonl("highlight_val_release.jsonl"))
    theirs = json.loads((VIDEO / "inference_hl_val_test_code_preds_metrics.json").read_text())
    ours_flat = dict(_leaves(ours))
    compared = 0
    for path, value in _leaves(theirs):
        assert ours_flat[path] == pytest.approx(value, abs=0.005), path
        compared += 1
    assert compared == 104  # brief (14) + 4 buckets x (11 mAP + 10 R1) + 3 HL levels x 2
    assert ours["full"]["mIoU"] == pytest.approx(48.52, abs=0.005)  # the evalpack README's sanity check


def test_iou_and_r1_by_hand():
    assert iou_matrix(np.array([[0, 10]]), np.array([[5, 15], [20, 30], [0, 10]])).tolist() == [[1 / 3, 0, 1]]
    gt = [{"qid": 1, "relevant_windows": [[0, 10], [20, 30]]}, {"qid": 2, "relevant_windows": [[0, 4]]}]
    preds = [{"qid": 1, "pred_relevant_windows": [[21, 30, 0.9], [0, 10, 0.5]]},  # tIoU 0.9 with the 2nd GT
             {"qid": 2, "pred_relevant_windows": [[0, 8, 0.9]]}]  # tIoU 0.5
    res = mr_metrics(preds, gt)
    assert res["MR-R1"]["0.5"] == 100.0 and res["MR-R1"]["0.7"] == 50.0 and res["MR-R1"]["0.95"] == 0.0
    assert res["mIoU"] == 70.0


def test_detection_ap_by_hand():
    gt = [[0, 10], [20, 30]]
    # a miss ranked first, then both hits: precision 0, 1/2, 2/3 at recall 0, .5, 1 -> AP = .5*(2/3) + .5*(2/3)
    preds = [[40, 50, 0.9], [0, 10, 0.8], [20, 30, 0.7]]
    assert detection_ap(gt, preds, [0.5])[0] == pytest.approx(2 / 3)
    # a duplicate of a matched window is a false positive; the second GT is never found: AP = 0.5
    assert detection_ap(gt, [[0, 10, 0.9], [0, 10, 0.8]], [0.5])[0] == pytest.approx(0.5)
    assert detection_ap(gt, [], [0.5])[0] == 0.0
    # tIoU 0.6 counts at 0.5, not at 0.7
    assert detection_ap([[0, 10]], [[0, 6, 1.0]], [0.5, 0.7]).tolist() == [1.0, 0.0]


def test_ranking_ap_matches_sklearn_definition():
    rng = np.random.default_rng(0)
    for _ in range(50):
        y = (rng.random(30) < 0.3).astype(float)
        s = np.round(rng.random(30), 1)  # ties
        ours = average_precision_ranking(y, s)
        if y.min() == y.max():
            assert ours == float(y[0] > 0)
            continue
        # the highlight AP: precision at each new recall level, made non-decreasing towards low recall
        order = np.argsort(-s, kind="stable")
        cuts = [i for i in range(30) if i == 29 or s[order][i] != s[order][i + 1]]
        prec = [y[order][: i + 1].sum() / (i + 1) for i in cuts]
        rec = [y[order][: i + 1].sum() / y.sum() for i in cuts]
        best, vals = 0.0, []
        for p, r, r_prev in reversed(list(zip(prec, rec, [0.0] + rec[:-1]))):
            best = max(best, p)
            if r != r_prev:
                vals.append(best)
        assert ours == pytest.approx(np.mean(vals))
    sklearn = pytest.importorskip("sklearn.metrics")
    y, s = np.array([1, 0, 1, 1, 0, 0, 1.0]), np.array([0.9, 0.8, 0.7, 0.7, 0.3, 0.2, 0.1])
    p, r, _ = sklearn.precision_recall_curve(y, s)
    p = np.maximum.accumulate(p)
    assert average_precision_ranking(y, s) == pytest.approx(np.mean(p[np.flatnonzero(np.diff(r.astype(np.float32)))]))
