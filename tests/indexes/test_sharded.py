"""ShardedIndex must answer exactly like one index holding all the data."""
from __future__ import annotations

import numpy as np
import pytest

from indexes import FaissIndex, ShardedIndex, VectorIndex, create_index, load_index

N, DIM, K = 900, 24, 10


@pytest.fixture
def pair(unit_vectors):
    x = unit_vectors(N, DIM, seed=11)
    ids = np.random.default_rng(12).choice(10**9, N, replace=False).astype(np.int64)
    single = FaissIndex(DIM, kind="flat")
    sharded = ShardedIndex([FaissIndex(DIM, kind="flat") for _ in range(3)])
    for index in (single, sharded):
        index.add(x, ids)
    return x, ids, single, sharded, unit_vectors(15, DIM, seed=13)


def assert_same_results(a: VectorIndex, b: VectorIndex, q: np.ndarray, allowed=None) -> None:
    sa, ia = a.search(q, K, allowed_ids=allowed)
    sb, ib = b.search(q, K, allowed_ids=allowed)
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_allclose(sa, sb, atol=1e-6)


def test_matches_single_index(pair):
    x, ids, single, sharded, q = pair
    assert isinstance(sharded, VectorIndex) and sharded.ntotal == N
    assert [s.ntotal for s in sharded.shards] == [int((ids % 3 == i).sum()) for i in range(3)]
    assert_same_results(single, sharded, q)
    assert_same_results(single, sharded, q, allowed=ids[::7])
    np.testing.assert_array_equal(np.sort(sharded.ids()), np.sort(ids))
    np.testing.assert_allclose(sharded.reconstruct(ids[[9, 2, 5]]), x[[9, 2, 5]], atol=1e-6)
    scores, found = sharded.search(q, K, allowed_ids=ids[:4])
    assert (found[:, 4:] == -1).all() and np.isneginf(scores[:, 4:]).all()


def test_remove(pair):
    _, ids, single, sharded, q = pair
    _, top = single.search(q, K)
    gone = np.unique(top[:, :4])
    assert sharded.remove(np.concatenate([gone, [-1, 5]])) == gone.size == single.remove(gone)
    assert sharded.ntotal == N - gone.size
    assert_same_results(single, sharded, q)
    _, found = sharded.search(q, K)
    assert not np.isin(found, gone).any()


def test_failed_add_rolls_back(pair, unit_vectors):
    _, ids, _, sharded, _ = pair
    new_ids = np.array([ids.max() + 1, ids.max() + 2, ids.max() + 3, ids[0]])
    with pytest.raises(ValueError, match="already in the index"):
        sharded.add(unit_vectors(4, DIM, seed=14), new_ids)
    assert sharded.ntotal == N and not np.isin(new_ids[:3], sharded.ids()).any()


def test_save_load(pair, tmp_path):
    _, _, single, sharded, q = pair
    sharded.save(tmp_path, meta={"generation": 5})
    sharded.save(tmp_path, meta={"generation": 6})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "shards-2"]
    loaded = load_index(tmp_path)
    assert isinstance(loaded, ShardedIndex) and len(loaded.shards) == 3
    assert loaded.meta == {"generation": 6} and loaded.ntotal == N
    assert_same_results(single, loaded, q)


def test_registry_builds_shards(unit_vectors):
    index = create_index("sharded", DIM, n_shards=4, shard="faiss-hnsw")
    assert isinstance(index, ShardedIndex) and [s.name for s in index.shards] == ["faiss-hnsw"] * 4
    with pytest.raises(ValueError, match="disagree on dim"):
        ShardedIndex([FaissIndex(4), FaissIndex(5)])
