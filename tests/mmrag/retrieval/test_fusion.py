import numpy as np

from mmrag.retrieval import RRF_K, mmr, rrf


def test_rrf_scores_and_ranks():
    fused = rrf({"dense": [1, 2, 3], "bm25": [3, 1]})
    ids = [d for d, _, _ in fused]
    assert ids == [1, 3, 2]
    d, score, ranks = fused[0]
    assert ranks == {"dense": 1, "bm25": 2}
    assert abs(score - (1 / (RRF_K + 1) + 1 / (RRF_K + 2))) < 1e-12


def test_rrf_weights_change_order():
    fused = rrf({"a": [1, 2], "b": [2, 1]}, weights={"a": 2.0})
    assert fused[0][0] == 1


def test_mmr_skips_near_duplicates():
    v = np.array([[1, 0], [0.999, 0.0447], [0, 1]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    rel = np.array([1.0, 0.95, 0.5])
    assert mmr(rel, v, 2, lam=0.5) == [0, 2]
    assert mmr(rel, v, 2, lam=1.0) == [0, 1]


def test_convex_uses_score_gaps():
    from mmrag.retrieval import convex
    # bm25 is confident about 1; dense barely prefers 2.
    fused = convex({"bm25": [(1, 10.0), (2, 1.0), (3, 0.0)], "dense": [(2, 0.51), (1, 0.50), (3, 0.1)]})
    assert [d for d, _, _ in fused][:2] == [1, 2]
    d, score, ranks = fused[0]
    assert abs(score - (1.0 + 0.4 / 0.41)) < 1e-9 and ranks == {"bm25": 1, "dense": 2}
    # the same lists under RRF tie 1 and 2 (ranks 1+2 each) and break the tie by id
    assert [d for d, _, _ in rrf({"bm25": [1, 2, 3], "dense": [2, 1, 3]})][:2] == [1, 2]
    assert convex({"a": []}) == []
