"""The index registry: names, errors, custom entries, load dispatch."""
from __future__ import annotations

import numpy as np
import pytest

import indexes
from indexes import FaissIndex, VectorIndex, available_indexes, create_index, load_index, register_index, registry


def test_builtin_names_build_the_right_kind():
    assert {"faiss", "faiss-flat", "faiss-hnsw", "faiss-ivf"} <= set(available_indexes())
    for name, kind in [("faiss", "auto"), ("faiss-flat", "flat"), ("faiss-hnsw", "hnsw"), ("faiss-ivf", "ivf")]:
        index = create_index(name, 8, nprobe=4)
        assert isinstance(index, FaissIndex) and isinstance(index, VectorIndex)
        assert (index.name, index.kind, index.dim, index.nprobe) == (name, kind, 8, 4)


def test_unknown_name_lists_available():
    with pytest.raises(KeyError) as err:
        create_index("annoy", 8)
    message = str(err.value)
    assert "annoy" in message and all(name in message for name in available_indexes())


def test_register_custom_index(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    monkeypatch.setattr(registry, "_LOADERS", dict(registry._LOADERS))

    def factory(dim: int, **params) -> FaissIndex:
        index = FaissIndex(dim, kind="flat", **params)
        index.name = "mine"
        return index

    register_index("mine", factory, loader=FaissIndex.load)
    assert "mine" in available_indexes()
    index = create_index("mine", 4)
    index.add(np.eye(4, dtype=np.float32), np.arange(4))
    index.save(tmp_path)
    assert load_index(tmp_path).ntotal == 4


def test_load_index_rejects_unknown_manifest_name(tmp_path):
    FaissIndex(4).save(tmp_path)
    text = (tmp_path / "manifest.json").read_text().replace('"name": "faiss"', '"name": "gone"')
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ValueError, match="no loader for index 'gone'"):
        load_index(tmp_path)


def test_exports():
    assert indexes.SWITCH_AT == 50_000
    assert set(indexes.__all__) == {"VectorIndex", "FaissIndex", "ShardedIndex", "create_index", "load_index",
                                    "register_index", "available_indexes", "SWITCH_AT", "IvfPqIndex"}
