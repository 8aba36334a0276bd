"""FaissIndex behaviour on small data: exact search, filters, removal, validation."""
from __future__ import annotations

import numpy as np
import pytest

from indexes import FaissIndex, VectorIndex

N, DIM, K = 1000, 32, 10
# IVF probes every list here so small-data answers are exact; default nprobe is
# checked for recall on clustered data in test_recall.py.
KINDS = {"flat": {}, "auto": {}, "hnsw": {}, "ivf": {"train_at": 500, "nprobe": 64}}


def build(kind: str, x: np.ndarray, ids: np.ndarray, **params) -> FaissIndex:
    index = FaissIndex(x.shape[1], kind=kind, **{**KINDS[kind], **params})
    index.add(x, ids)
    return index


@pytest.fixture
def data(unit_vectors):
    x = unit_vectors(N, DIM, seed=1)
    ids = np.random.default_rng(2).choice(10**12, N, replace=False).astype(np.int64)
    q = unit_vectors(20, DIM, seed=3)
    return x, ids, q


@pytest.mark.parametrize("kind", ["flat", "auto"])
def test_search_matches_brute_force(kind, data, exact):
    x, ids, q = data
    index = build(kind, x, ids)
    assert isinstance(index, VectorIndex) and index.structure == "flat"
    scores, found = index.search(q, K)
    true_scores, true_ids = exact(x, ids, q, K)
    assert scores.dtype == np.float32 and found.dtype == np.int64 and found.shape == (20, K)
    np.testing.assert_array_equal(found, true_ids)
    np.testing.assert_allclose(scores, true_scores, atol=1e-5)


@pytest.mark.parametrize("kind", list(KINDS))
def test_ids_round_trip(kind, data):
    x, ids, _ = data
    index = build(kind, x, ids)
    assert index.ntotal == N
    np.testing.assert_array_equal(np.sort(index.ids()), np.sort(ids))
    np.testing.assert_allclose(index.reconstruct(ids[[5, 0, 77]]), x[[5, 0, 77]], atol=1e-6)
    _, found = index.search(x[:5], 1)
    np.testing.assert_array_equal(found[:, 0], ids[:5])


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_padding_when_k_exceeds_ntotal(kind, unit_vectors):
    x = unit_vectors(5, DIM)
    index = build(kind, x, np.arange(5) + 100)
    scores, found = index.search(x[:2], 8)
    assert np.all(found[:, 5:] == -1) and np.all(np.isneginf(scores[:, 5:]))
    assert set(found[0, :5]) == set(range(100, 105)) and np.all(np.isfinite(scores[:, :5]))
    empty = FaissIndex(DIM)
    scores, found = empty.search(x[:1], 3)
    assert np.all(found == -1) and np.all(np.isneginf(scores))


def test_add_normalises_a_copy(unit_vectors):
    x = unit_vectors(10, DIM) * 5.0
    before = x.copy()
    index = FaissIndex(DIM)
    index.add(x, np.arange(10))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(np.linalg.norm(index.reconstruct(np.arange(10)), axis=1), 1.0, atol=1e-5)
    scores, _ = index.search(x[:1] * 3, 1)
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_add_rejects_bad_input(unit_vectors):
    index = FaissIndex(DIM, kind="hnsw")
    index.add(unit_vectors(3, DIM), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"shape \(n, 32\)"):
        index.add(unit_vectors(2, DIM + 1), np.array([4, 5]))
    with pytest.raises(ValueError, match="2 vectors but 3 ids"):
        index.add(unit_vectors(2, DIM), np.array([4, 5, 6]))
    with pytest.raises(ValueError, match=r"already in the index: \[2\]"):
        index.add(unit_vectors(2, DIM), np.array([4, 2]))
    with pytest.raises(ValueError, match="duplicate ids within the batch"):
        index.add(unit_vectors(2, DIM), np.array([7, 7]))
    with pytest.raises(ValueError, match="queries must have shape"):
        index.search(np.zeros((1, 5), np.float32), 1)
    with pytest.raises(ValueError, match="unknown kind 'lsh'"):
        FaissIndex(DIM, kind="lsh")
    assert index.ntotal == 3


@pytest.mark.parametrize("kind, params", [("flat", {}), ("hnsw", {}), ("hnsw", {"exact_filter_max": 0})])
def test_allowed_ids_restrict_to_top_k_among_them(kind, params, data, exact, recall_at):
    x, ids, q = data
    index = build(kind, x, ids, **params)
    rng = np.random.default_rng(4)
    for n_allowed in (30, 400):
        pick = rng.choice(N, n_allowed, replace=False)
        scores, found = index.search(q, K, allowed_ids=ids[pick])
        assert np.isin(found, ids[pick]).all()
        true_scores, true_ids = exact(x[pick], ids[pick], q, K)
        if kind == "flat" or "exact_filter_max" not in params:
            np.testing.assert_array_equal(found, true_ids)
            np.testing.assert_allclose(scores, true_scores, atol=1e-5)
        else:  # the FAISS selector path through HNSW
            assert (found != -1).all() and recall_at(found, true_ids) >= 0.95
    _, found = index.search(q, K, allowed_ids=np.array([ids[0], -5, 123]))  # unknown ids ignored
    assert np.isin(found, [ids[0], -1]).all() and (found[:, 1:] == -1).all()
    if "exact_filter_max" not in params:  # HNSW's own filtered search can miss a lone id
        assert (found[:, 0] == ids[0]).all()


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_remove(kind, data, exact, recall_at):
    x, ids, q = data
    index = build(kind, x, ids)
    _, top = index.search(q, K)
    gone = np.unique(np.concatenate([top[:, :3].ravel(), ids[:50]]))
    assert index.remove(np.concatenate([gone, gone[:5], [-7, 3]])) == gone.size
    assert index.remove(gone) == 0
    assert index.ntotal == N - gone.size and index.structure == ("flat" if kind == "flat" else kind)
    assert index.n_tombstones == (0 if kind == "flat" else gone.size)  # below the 20% threshold
    keep = ~np.isin(ids, gone)
    scores, found = index.search(q, K)
    assert not np.isin(found, gone).any() and (found != -1).all()
    true_scores, true_ids = exact(x[keep], ids[keep], q, K)
    assert recall_at(found, true_ids) >= (0.95 if kind == "hnsw" else 1.0)
    assert set(index.ids().tolist()) == set(ids[keep].tolist())
    with pytest.raises(KeyError, match="not in the index"):
        index.reconstruct(gone[:1])


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_tombstones_respected_with_filter(kind, data):
    x, ids, q = data
    index = build(kind, x, ids, exact_filter_max=0)
    allowed = ids[:300]
    index.remove(allowed[:100])
    for limit in (0, 4096):  # selector path (IDSelectorAnd) and exact path
        index.exact_filter_max = limit
        _, found = index.search(q, K, allowed_ids=allowed)
        assert np.isin(found, allowed[100:]).all() and (found != -1).all()


def test_hnsw_compaction_past_threshold(data, exact):
    x, ids, q = data
    index = build("hnsw", x, ids)
    assert index.remove(ids[:150]) == 150 and index.n_tombstones == 150  # 15% < 20%
    assert index.remove(ids[150:250]) == 100  # 25% > 20%: rebuilt from live vectors
    assert index.n_tombstones == 0 and index.ntotal == N - 250 and index.structure == "hnsw"
    np.testing.assert_array_equal(np.sort(index.ids()), np.sort(ids[250:]))
    np.testing.assert_allclose(index.reconstruct(ids[250:260]), x[250:260], atol=1e-6)
    scores, found = index.search(q, K)
    true_scores, true_ids = exact(x[250:], ids[250:], q, K)
    np.testing.assert_array_equal(found, true_ids)  # 750 points, efSearch=128: exact in practice
    np.testing.assert_allclose(scores, true_scores, atol=1e-5)


def test_readding_a_tombstoned_id_replaces_it(unit_vectors):
    x = unit_vectors(100, DIM)
    index = build("hnsw", x, np.arange(100))
    index.remove(np.array([7]))
    new = unit_vectors(1, DIM, seed=9)
    index.add(new, np.array([7]))
    assert index.ntotal == 100 and index.n_tombstones == 0
    np.testing.assert_allclose(index.reconstruct(np.array([7])), new, atol=1e-6)
    _, found = index.search(x[7:8], 100)
    assert (found[0] == 7).sum() == 1


def test_auto_does_not_switch_below_threshold(unit_vectors):
    index = FaissIndex(DIM, switch_at=100)
    index.add(unit_vectors(100, DIM), np.arange(100))
    assert index.structure == "flat"
    index.add(unit_vectors(1, DIM, seed=5), np.array([100]))
    assert index.structure == "hnsw" and index.ntotal == 101
