"""`mmrag ingest --engine ray` on a real two-node local Ray cluster gives the library a local ingest gives."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from mmrag import Library
from mmrag.doctor import doctor
from tests.mmrag.distributed.conftest import mixed_folder, mmrag_cli, start_cli

QUERIES = ["how do I feed a sourdough starter", "revenue in the third quarter", "lighthouse keeper", "planets"]
SOURCE_FIELDS = ("path", "sha256", "size", "mtime", "status", "error", "kind", "n_records")


def snapshot(root: Path) -> dict:
    """What a library holds, independent of the order records were stored in (their ids)."""
    with Library(root) as lib:
        store = lib.store
        records = store.get_records(store.filter_ids().tolist())
        by_uid = {r.uid: (r.modality, r.source, json.dumps(r.locator, sort_keys=True), r.text,
                          json.dumps(r.meta, sort_keys=True)) for r in records.values()}
        vectors = {}
        for space in lib.spaces:
            dim = store.vector_dim(space)
            if dim:
                got = store.get_vectors(space, list(records), dim)
                vectors[space] = {records[i].uid: v for i, v in got.items()}
        hits = {q: [h.record.uid for h in lib.search(q, k=5)] for q in QUERIES}
        sources = [tuple(s[f] for f in SOURCE_FIELDS) for s in store.sources()]
    verdict = doctor(root)
    return {"records": by_uid, "vectors": vectors, "hits": hits, "sources": sources,
            "doctor": (verdict["ok"], [(f["check"], f["ok"]) for f in verdict["findings"]])}


def assert_same_library(a: dict, b: dict) -> None:
    assert a["sources"] == b["sources"]
    assert a["records"] == b["records"]
    assert a["vectors"].keys() == b["vectors"].keys()
    for space, va in a["vectors"].items():
        assert va.keys() == b["vectors"][space].keys()
        for uid, v in va.items():  # embedded in other batches: equal up to float noise
            np.testing.assert_allclose(v, b["vectors"][space][uid], atol=2e-5)
    assert a["hits"] == b["hits"]
    assert a["doctor"] == b["doctor"]


@pytest.fixture(scope="module")
def local_library(tmp_path_factory):
    folder = mixed_folder(tmp_path_factory.mktemp("corpus") / "mixed")
    root = tmp_path_factory.mktemp("local") / "lib"
    with Library(root) as lib:
        report = lib.ingest(folder)
    return folder, root, report.to_dict()


def test_ray_ingest_is_a_local_ingest(cluster, local_library, tmp_path):
    folder, local_root, local_report = local_library
    out = mmrag_cli("ingest", str(folder), "--library", str(tmp_path / "lib"), "--engine", "ray",
                    "--address", cluster["address"], "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["counts"] == local_report["counts"] and report["records"] == local_report["records"]
    assert report["counts"]["failed"] == 1 and report["counts"]["duplicate"] == 1  # broken.pdf, the copy
    local, ray_lib = snapshot(local_root), snapshot(tmp_path / "lib")
    assert local["doctor"][0] is True and len(local["records"]) > 10
    assert {r[0] for r in local["records"].values()} >= {"text", "image", "table"}
    assert_same_library(local, ray_lib)
    again = mmrag_cli("ingest", str(folder), "--library", str(tmp_path / "lib"), "--engine", "ray",
                      "--address", cluster["address"], "--json")
    assert json.loads(again.stdout)["counts"]["ok"] == 0  # nothing changed: nothing read again
    assert snapshot(tmp_path / "lib")["records"] == ray_lib["records"]


def _committed(root: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{root / 'store.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM sources WHERE status='ok'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def many_files(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    words = "keeper lamp harbour storm ledger tide beacon rope gull fog".split()
    for i in range(n):
        body = "\n\n".join(" ".join(words[(i + j + k) % 10] for k in range(60)) + f" note {i}-{j}." for j in range(6))
        (folder / f"note-{i:03d}.txt").write_text(body)
    return folder


def test_killing_a_worker_node_mid_ingest_ends_complete(cluster, tmp_path):
    folder = many_files(tmp_path / "notes", 160)
    lib = tmp_path / "lib"
    proc = start_cli("ingest", str(folder), "--library", str(lib), "--engine", "ray", "--address",
                     cluster["address"], "--json")
    try:
        deadline = time.monotonic() + 240
        while _committed(lib) == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the ingest ended before the worker could be killed"
        cluster["cluster"].remove_node(cluster["worker"], allow_graceful=False)  # kill -9 its processes
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        cluster["worker"] = cluster["cluster"].add_node(num_cpus=1)
    assert proc.returncode == 0 and stdout.strip(), stderr[-3000:]
    report = json.loads(stdout)
    assert report["counts"]["ok"] == 160 and report["counts"]["failed"] == 0
    with Library(tmp_path / "local") as local:
        expected = local.ingest(folder).to_dict()["records"]
    after = snapshot(lib)
    assert report["records"] == expected == len(after["records"])  # no file lost, none twice
    assert after["doctor"][0] is True
    assert all(s[4] == "ok" for s in after["sources"])
