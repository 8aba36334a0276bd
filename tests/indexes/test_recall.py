"""Approximate structures at their documented defaults vs exact search on clustered data."""
from __future__ import annotations

import json

import numpy as np
import pytest

from indexes import SWITCH_AT, FaissIndex
from indexes.faiss_index import EF_CONSTRUCTION, EF_SEARCH, HNSW_M, IVF_TRAIN_AT, NPROBE, ivf_nlist

K = 10


@pytest.fixture(scope="module")
def corpus(clustered_384):
    x, q = clustered_384
    ids = np.arange(x.shape[0], dtype=np.int64) * 3 + 11
    true_ids = ids[np.argsort(-(q @ x.T), axis=1)[:, :K]]
    return x, ids, q, true_ids


def test_documented_defaults():
    assert (SWITCH_AT, HNSW_M, EF_CONSTRUCTION, EF_SEARCH, NPROBE, IVF_TRAIN_AT) == (
        50_000, 32, 200, 128, 16, 10_000)
    index = FaissIndex(8)
    assert index.kind == "auto" and index.structure == "flat" and index.switch_at == SWITCH_AT
    assert ivf_nlist(1_000_000) == 4000 and ivf_nlist(20_000) == 20_000 // 39


def test_auto_switches_to_hnsw_with_high_recall(corpus, tmp_path, recall_at):
    x, ids, q, true_ids = corpus
    index = FaissIndex(384, switch_at=2_000)
    index.add(x[:2_000], ids[:2_000])
    assert index.structure == "flat"
    index.add(x[2_000:], ids[2_000:])
    assert index.structure == "hnsw" and index.ntotal == x.shape[0]
    np.testing.assert_array_equal(index.ids(), ids)
    np.testing.assert_allclose(index.reconstruct(ids[[0, 1_999, 19_999]]), x[[0, 1_999, 19_999]], atol=1e-6)
    _, found = index.search(q, K)
    assert recall_at(found, true_ids) >= 0.95
    index.save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["structure"] == "hnsw" and manifest["kind"] == "auto"
    assert manifest["config"]["switch_at"] == 2_000
    assert (manifest["config"]["M"], manifest["config"]["ef_construction"],
            manifest["config"]["ef_search"]) == (32, 200, 128)


def test_ivf_trains_then_has_high_recall(corpus, tmp_path, recall_at):
    x, ids, q, true_ids = corpus
    index = FaissIndex(384, kind="ivf")
    index.add(x[:5_000], ids[:5_000])
    assert index.structure == "flat"  # below IVF_TRAIN_AT: exact until there is enough to train
    index.add(x[5_000:], ids[5_000:])
    assert index.structure == "ivf" and index.nprobe == 16
    index.save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["structure"] == "ivf" and manifest["trained_nlist"] == ivf_nlist(x.shape[0])
    _, found = index.search(q, K)
    assert recall_at(found, true_ids) >= 0.95
