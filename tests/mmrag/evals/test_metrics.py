"""Metric code checked on hand-made similarity matrices with known answers."""
import numpy as np

from mmrag.evals.images import i2t_recall, t2i_recall, topk_accuracy
from mmrag.evals.metrics import first_rank, ranking_metrics


def test_t2i_and_i2t_recall_known_answers():
    # 3 images, 2 captions each (texts 0,1 -> img0; 2,3 -> img1; 4,5 -> img2)
    gold = [0, 0, 1, 1, 2, 2]
    sim = np.array([
        [0.9, 0.1, 0.0],   # rank 0 for img0
        [0.2, 0.8, 0.1],   # img0 at rank 1
        [0.1, 0.7, 0.3],   # rank 0
        [0.5, 0.4, 0.6],   # img1 at rank 2
        [0.3, 0.2, 0.1],   # img2 at rank 2
        [0.0, 0.9, 0.8],   # img2 at rank 1
    ])
    assert t2i_recall(sim, gold, ks=(1, 2, 3)) == {"R@1": 33.33, "R@2": 66.67, "R@3": 100.0}
    # image->text: per image, best rank among own captions over the 6 texts
    # img0 column [.9,.2,.1,.5,.3,0]: text0 rank 0 -> hit@1
    # img1 column [.1,.8,.7,.4,.2,.9]: best own (text2=.7) rank 2
    # img2 column [0,.1,.3,.6,.1,.8]: text5=.8 rank 0
    assert i2t_recall(sim, gold, ks=(1, 3)) == {"R@1": 66.67, "R@3": 100.0}


def test_topk_accuracy():
    logits = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.7], [0.2, 0.3, 0.1]])
    assert topk_accuracy(logits, [1, 2, 0], ks=(1, 2)) == {"top1": 33.33, "top2": 100.0}
    assert topk_accuracy(logits, [0, 1, 2], ks=(1, 2)) == {"top1": 0.0, "top2": 33.33}


def test_ranking_metrics():
    assert first_rank(["a", "b", "c"], "b") == 2 and first_rank(["a"], "z") is None
    m = ranking_metrics([1, 2, None, 5], ks=(1, 5))
    assert m == {"R@1": 25.0, "R@5": 75.0, "MRR": round(100 * (1 + 0.5 + 0.2) / 4, 2)}
