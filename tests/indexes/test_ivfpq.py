"""IvfPqIndex: shards searched memory-mapped answer exactly like one index; deletes, filters, persistence."""
from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from indexes import IvfPqIndex, create_index, load_index
from indexes.ivfpq_build import choose_nlist, fill_shard, merge_shard_data, serialize
from tests.indexes.conftest import brute_force, clustered

DIM, N, K = 32, 4000, 10
FACTORY = "IVF{nlist},PQ8x4"  # 4-bit codes: trains on a few thousand points


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, q = clustered(N, DIM, n_centres=60, sigma=0.2, seed=3)
    ids = np.random.default_rng(4).choice(10**9, N, replace=False).astype(np.int64)
    return x, ids, np.concatenate([q, x[:20]])


@pytest.fixture(scope="module")
def template(data) -> np.ndarray:
    x, _, _ = data
    return serialize(IvfPqIndex.train(x, factory=FACTORY, nlist=32).template)


def build(template: np.ndarray, x: np.ndarray, ids: np.ndarray, shards: int, **params) -> IvfPqIndex:
    index = IvfPqIndex(DIM, faiss.deserialize_index(template), factory=FACTORY, **params)
    index.add_shards([fill_shard(template, x[p], ids[p], index.refine) for p in np.array_split(np.arange(len(ids)),
                                                                                                shards)])
    return index


def assert_same(a: IvfPqIndex, b: IvfPqIndex, q: np.ndarray, allowed=None) -> None:
    sa, ia = a.search(q, K, allowed_ids=allowed)
    sb, ib = b.search(q, K, allowed_ids=allowed)
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_allclose(sa, sb, atol=1e-5)


@pytest.mark.parametrize("refine", ["fp16", "none"])
def test_shards_answer_like_one_index(data, template, refine):
    x, ids, q = data
    one = build(template, x, ids, 1, refine=refine, nprobe=4)
    five = build(template, x, ids, 5, refine=refine, nprobe=4)
    assert five.n_shards == 5 and five.ntotal == one.ntotal == N
    assert_same(one, five, q)
    added = IvfPqIndex(DIM, faiss.deserialize_index(template), factory=FACTORY, refine=refine, nprobe=4)
    added.add(x, ids)  # the in-memory delta path
    assert_same(one, added, q)


def test_merged_shard_answers_like_the_shards(data, template):
    x, ids, q = data
    parts = [fill_shard(template, x[p], ids[p]) for p in np.array_split(np.arange(N), 3)]
    merged = IvfPqIndex(DIM, faiss.deserialize_index(template), factory=FACTORY, nprobe=4)
    merged.add_shards([merge_shard_data(parts, faiss.deserialize_index(template))])
    assert merged.n_shards == 1
    assert_same(build(template, x, ids, 3, nprobe=4), merged, q)


def test_memory_mapped_after_load_and_same_results(data, template, tmp_path):
    x, ids, q = data
    index = build(template, x, ids, 3, nprobe=4)
    index.save(tmp_path / "ix", meta={"generation": 7})
    loaded = load_index(tmp_path / "ix")
    assert isinstance(loaded, IvfPqIndex) and loaded.meta == {"generation": 7}
    assert_same(index, loaded, q)
    maps = Path("/proc/self/maps").read_text()
    shard_files = sorted((tmp_path / "ix").glob("shard-*.faiss"))
    assert len(shard_files) == 3 and all(str(f) in maps for f in shard_files)
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert manifest["name"] == "ivfpq" and len(manifest["shards"]) == 3
    assert manifest["quantizer"]["nlist"] == 32 and manifest["quantizer"]["code_size"] == 4
    assert manifest["bytes_per_vector"] == {"ram": 12, "disk": 12 + 8 + 2 * DIM}
    assert manifest["config"]["factory"] == FACTORY and (tmp_path / "ix" / manifest["template_file"]).is_file()


def test_recall_against_exact_search(data, template):
    x, ids, q = data
    index = build(template, x, ids, 2, nprobe=32, k_factor=20)
    _, found = index.search(q, K)
    _, truth = brute_force(x, ids, q, K)
    recall = np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)])
    assert recall >= 0.95
    np.testing.assert_allclose(index.reconstruct(ids[:5]), x[:5], atol=5e-3)


def test_removed_ids_never_come_back_and_persist(data, template, tmp_path):
    x, ids, q = data
    index = build(template, x, ids, 2, nprobe=32)
    _, top = index.search(q, K)
    gone = np.unique(top[:, :3])
    assert index.remove(gone) == gone.size and index.remove(gone) == 0
    assert index.ntotal == N - gone.size and not np.isin(gone, index.ids()).any()
    assert not np.isin(index.search(q, K)[1], gone).any()
    back = int(gone[0])
    row = int(np.flatnonzero(ids == back)[0])
    index.add(x[row:row + 1], np.array([back]))  # a removed id added again lives in the delta
    index.save(tmp_path / "ix")
    for ix in (index, load_index(tmp_path / "ix")):
        assert ix.ntotal == N - gone.size + 1 and int(np.sum(ix.ids() == back)) == 1
        assert ix.search(x[row:row + 1], 1)[1][0, 0] == back
        assert not np.isin(ix.search(q, K)[1], gone[1:]).any()
    with pytest.raises(ValueError, match="already in the index"):
        index.add(x[row:row + 1], np.array([back]))


def test_compaction_drops_tombstones_and_merges_small_shards(data, template, tmp_path):
    x, ids, q = data
    index = build(template, x, ids, 4, nprobe=8, max_shards=2, compact_fraction=0.2)
    index.remove(ids[:N // 8])  # half of the first shard
    before = index.search(q, K)
    index.save(tmp_path / "ix")
    loaded = load_index(tmp_path / "ix")
    assert loaded.n_shards == 2 and loaded._tombstones.size == 0 and loaded.ntotal == N - N // 8
    np.testing.assert_array_equal(loaded.search(q, K)[1], before[1])
    assert len(list((tmp_path / "ix").glob("shard-*.faiss"))) == 2  # superseded files removed


def test_small_filter_scans_every_list(data, template):
    x, ids, q = data
    index = build(template, x, ids, 2, nprobe=1)
    allowed = ids[::400]  # 10 ids, most far from the queries
    _, got = index.search(q, K, allowed_ids=allowed)
    assert all(set(row) == set(allowed) for row in got)
    assert (index.search(q, K, allowed_ids=np.array([], np.int64))[1] == -1).all()


def test_opq_template_and_registry(data):
    x, ids, q = data
    index = create_index("ivfpq", DIM, sample=x, factory="OPQ8,IVF{nlist},PQ8x4", nlist=16, nprobe=16,
                         k_factor=20)
    index.add(x, ids)
    _, found = index.search(q, K)
    _, truth = brute_force(x, ids, q, K)
    assert np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)]) >= 0.9
    with pytest.raises(ValueError, match="trained on a sample"):
        create_index("ivfpq", DIM)


def test_choose_nlist():
    assert choose_nlist(100) == 16 and choose_nlist(1_000_000) == 4096
    assert choose_nlist(10**8) == 32768 and choose_nlist(10**10) == 262_144
