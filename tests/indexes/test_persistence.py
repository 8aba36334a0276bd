"""Save/load round trips and crash safety of FaissIndex.save."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from indexes import FaissIndex, load_index

DIM = 16


def build(unit_vectors, kind: str, n: int = 600, removed: int = 40, **params) -> FaissIndex:
    index = FaissIndex(DIM, kind=kind, **params)
    index.add(unit_vectors(n, DIM, seed=7), np.arange(n, dtype=np.int64) * 2 + 1)
    index.remove(np.arange(removed, dtype=np.int64) * 2 + 1)
    return index


def assert_same(a: FaissIndex, b: FaissIndex, q: np.ndarray) -> None:
    assert (a.name, a.structure, a.ntotal, a.n_tombstones, a.config()) == (
        b.name, b.structure, b.ntotal, b.n_tombstones, b.config())
    np.testing.assert_array_equal(a.ids(), b.ids())
    for allowed in (None, a.ids()[::3]):
        sa, ia = a.search(q, 10, allowed_ids=allowed)
        sb, ib = b.search(q, 10, allowed_ids=allowed)
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(sa, sb)


CASES = {
    "flat": {"kind": "flat"},
    "auto-flat": {"kind": "auto"},
    "auto-hnsw": {"kind": "auto", "switch_at": 300},
    "hnsw": {"kind": "hnsw"},
    "ivf": {"kind": "ivf", "train_at": 300, "nprobe": 4},
}
EXPECTED_STRUCTURE = {"flat": "flat", "auto-flat": "flat", "auto-hnsw": "hnsw", "hnsw": "hnsw", "ivf": "ivf"}


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip(case, unit_vectors, tmp_path):
    index = build(unit_vectors, **CASES[case])
    assert index.structure == EXPECTED_STRUCTURE[case]
    assert index.n_tombstones == (40 if index.structure != "flat" else 0)
    index.save(tmp_path / "idx", meta={"generation": 3, "encoder": "minilm"})
    for loaded in (FaissIndex.load(tmp_path / "idx"), load_index(tmp_path / "idx")):
        assert isinstance(loaded, FaissIndex) and loaded.meta == {"generation": 3, "encoder": "minilm"}
        assert_same(index, loaded, unit_vectors(5, DIM, seed=8))
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["n_tombstones"] == index.n_tombstones and manifest["faiss_version"]
    assert manifest["ntotal"] == 560 and manifest["dim"] == DIM


def test_resave_replaces_old_generation(unit_vectors, tmp_path):
    index = build(unit_vectors, "hnsw")
    index.save(tmp_path)
    index.add(unit_vectors(1, DIM, seed=9), np.array([10_000]))
    index.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index-2.faiss", "manifest.json", "tombstones-2.npy"]
    assert FaissIndex.load(tmp_path).ntotal == 561


def test_crash_before_manifest_keeps_previous_save(unit_vectors, tmp_path, monkeypatch):
    index = build(unit_vectors, "hnsw")
    index.save(tmp_path, meta={"generation": 1})
    saved = FaissIndex.load(tmp_path)
    index.add(unit_vectors(50, DIM, seed=10), np.arange(50, dtype=np.int64) + 10_000)
    assert index.remove(np.array([201, 203])) == 2

    real_replace = os.replace

    def crash_on_manifest(src, dst):
        if str(dst).endswith("manifest.json"):
            raise OSError("simulated crash")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_manifest)
    with pytest.raises(OSError, match="simulated crash"):
        index.save(tmp_path, meta={"generation": 2})
    monkeypatch.setattr(os, "replace", real_replace)
    assert (tmp_path / "index-2.faiss").exists()  # new data written, but not committed
    after_crash = FaissIndex.load(tmp_path)
    assert after_crash.meta == {"generation": 1}
    assert_same(saved, after_crash, unit_vectors(5, DIM, seed=8))

    index.save(tmp_path, meta={"generation": 2})
    assert FaissIndex.load(tmp_path).ntotal == 560 + 50 - 2


def test_leftover_temp_files_do_not_break_load(unit_vectors, tmp_path):
    index = build(unit_vectors, "ivf", train_at=300)
    index.save(tmp_path)
    (tmp_path / ".tmp-abc-index-2.faiss").write_bytes(b"half a file")
    (tmp_path / "index-7.faiss").write_bytes(b"orphan of a crashed save")
    loaded = FaissIndex.load(tmp_path)
    assert_same(index, loaded, unit_vectors(3, DIM, seed=8))
    loaded.save(tmp_path)  # the next successful save sweeps the debris
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index-2.faiss", "manifest.json", "tombstones-2.npy"]


def test_load_errors(unit_vectors, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        FaissIndex.load(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="manifest.json is missing"):
        load_index(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"corrupt index manifest .*manifest\.json"):
        FaissIndex.load(tmp_path)
    build(unit_vectors, "flat").save(tmp_path)
    (tmp_path / "index-1.faiss").unlink()
    with pytest.raises(FileNotFoundError, match="index-1.faiss"):
        load_index(tmp_path)


def test_meta_must_be_json(unit_vectors, tmp_path):
    with pytest.raises(TypeError):
        build(unit_vectors, "flat").save(tmp_path, meta={"bad": object()})
    assert not any(tmp_path.iterdir())
