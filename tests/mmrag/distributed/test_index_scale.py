"""A space above `ivfpq_above` gets an IVF-PQ index; its shards filled in Ray tasks equal local ones."""
from __future__ import annotations

import json

import numpy as np
import pytest

from indexes import IvfPqIndex, load_index
from mmrag.core import Collection, LibraryConfig
from mmrag.core.indexing import index_dir
from mmrag.doctor import doctor
from mmrag.kinds import SourceStatus
from mmrag.records import Record
from tests.indexes.conftest import clustered

N, DIM = 1200, 64  # the hash encoder's dimension


def library(root, above: int = 500) -> Collection:
    cfg = LibraryConfig.default("hash")
    cfg.ivfpq_above, cfg.ivfpq_shard_size = above, 300
    cfg.ivfpq = {"factory": "IVF{nlist},PQ8x4", "nlist": 16, "nprobe": 16, "k_factor": 16}
    return Collection(root, config=cfg)


def fill(c: Collection, x: np.ndarray, start: int = 0) -> None:
    records = [Record(modality="text", source=f"/doc/{i}", locator={"n": i}, text=f"passage {i}").with_uid(str(i))
               for i in range(start, start + len(x))]
    with c.writing(), c.transaction():
        for r in records:  # each record's source, as an ingest stores it
            c.store.put_source(r.source, status=SourceStatus.OK, kind="text", n_records=1)
        c.add_records(records, {"text": (list(range(len(records))), x)})


@pytest.fixture(scope="module")
def vectors():
    return clustered(N, DIM, n_centres=40, sigma=0.15, seed=5)


def test_a_space_that_outgrows_the_threshold_becomes_ivfpq(tmp_path, vectors):
    x, q = vectors
    with library(tmp_path / "lib") as c:
        fill(c, x[:400])
        assert not isinstance(c.index("text"), IvfPqIndex)  # below ivfpq_above
        fill(c, x[400:], start=400)
        assert isinstance(c.index("text"), IvfPqIndex)  # converted when saved
        manifest = json.loads((index_dir(c.root, "text") / "manifest.json").read_text())
        assert manifest["name"] == "ivfpq" and len(manifest["shards"]) == 4
        assert manifest["build"]["n"] == N and manifest["meta"]["generation"] == c.store.generation
        _, ids = c.search_index("text", q[:3], 5)
        exact = c.store.filter_ids()[np.argsort(-(x @ q[:3].T), axis=0)[:5].T]
        assert np.mean([len(set(a) & set(b)) for a, b in zip(ids, exact)]) >= 4
        with c.writing():
            c.remove_records_of("/doc/7")  # deletes: tombstones
            c.store.delete_source("/doc/7")
        assert c.index("text").ntotal == N - 1
    verdict = doctor(tmp_path / "lib")
    assert verdict["ok"], [f for f in verdict["findings"] if not f["ok"]]
    assert load_index(index_dir(tmp_path / "lib", "text")).ntotal == N - 1


def test_shards_filled_in_ray_tasks_equal_local_ones(tmp_path, vectors, cluster):
    import ray

    from mmrag.distributed import ray_session, ray_shard_filler
    x, q = vectors
    with library(tmp_path / "local", above=10**9) as c:
        fill(c, x)
    for name in ("local", "ray"):
        if name == "ray":
            (tmp_path / "ray").mkdir()
            import shutil
            shutil.copy(tmp_path / "local" / "store.sqlite", tmp_path / "ray" / "store.sqlite")
        cfg = LibraryConfig.load(tmp_path / "local" / "library.json")
        cfg.ivfpq_above = 500
        cfg.save(tmp_path / name / "library.json")
        for f in index_dir(tmp_path / name, "text").glob("*"):
            f.unlink()  # the index is built from the store when next opened
    with library(tmp_path / "local") as c:
        local = c.search_index("text", q, 10)
    with ray_session(cluster["address"]), ray_shard_filler():
        assert ray.is_initialized()
        with library(tmp_path / "ray") as c:
            built = c.search_index("text", q, 10)
            index = c.index("text")
    assert isinstance(index, IvfPqIndex) and index.n_shards == 4
    np.testing.assert_array_equal(built[1], local[1])
    np.testing.assert_allclose(built[0], local[0], atol=1e-6)
