"""A hostile folder through the real CLI: every readable file is searchable after one `mmrag ingest`,
every other one is failed or skipped with its reason, nothing hangs, nothing outside the folder is read,
and `mmrag doctor` finds the library whole."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT
from tests.mmrag.ingest import hostile

pytestmark = pytest.mark.slow
PLUGIN = "tests.mmrag.ingest.stuck_readers"


def mmrag(*args: str, timeout: float = 600, limit_fsize: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "mmrag", *args]
    pre = (lambda: __import__("resource").setrlimit(__import__("resource").RLIMIT_FSIZE, (limit_fsize,) * 2)) \
        if limit_fsize else None
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, preexec_fn=pre)


def new_library(root: Path, **settings: object) -> Path:
    from mmrag import LibraryConfig
    cfg = LibraryConfig.default("minilm")
    for k, v in settings.items():
        setattr(cfg, k, v)
    root.mkdir(parents=True)
    cfg.save(root / "library.json")
    return root


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    cases = hostile.build(tmp / "corpus", tmp / "outside")
    lib = new_library(tmp / "lib", plugins=[PLUGIN], read_timeout_s=15.0, max_reader_mb=2500.0)
    t0 = time.monotonic()
    out = mmrag("ingest", str(tmp / "corpus"), "--library", str(lib), "--json")
    return cases, lib, out, time.monotonic() - t0, tmp


def test_the_run_finishes_and_reports_every_file(hostile_run):
    cases, lib, out, seconds, tmp = hostile_run
    assert len(cases) >= 25
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    report = json.loads(out.stdout)
    by_name = {str(Path(p["path"]).relative_to(tmp / "corpus")) if str(p["path"]).startswith(str(tmp / "corpus"))
               else p["path"]: p for p in report["problems"] + report["skipped"]}
    for case in cases:
        if case.status == "ok":
            assert case.name not in by_name, (case.name, by_name.get(case.name))
            continue
        got = by_name.get(case.name)
        assert got is not None, f"{case.name} was not reported"
        assert got["status"] == case.status and re.search(case.reason, got["message"]), (case.name, got)
    assert report["counts"]["ok"] == sum(c.status == "ok" for c in cases)


def test_every_readable_file_is_searchable_and_nothing_outside_is(hostile_run):
    from mmrag import Library
    cases, lib, _, _, _ = hostile_run
    with Library(lib) as library:
        for case in cases:
            if case.word:
                hits = library.search(case.word, k=3, retrievers=["bm25"])
                assert hits and Path(hits[0].record.source).name == Path(case.name).name, case.name
        assert library.search("zebrawhisper", k=5, retrievers=["bm25"]) == []  # the symlinked secret
        assert library.search("hunter2", k=5, retrievers=["bm25"]) == []
        notes = {Path(s["path"]).name: s["error"] or "" for s in library.sources()}
    assert any(n.endswith(".mp4") for n in notes), "the good video was ingested"


def test_limits_are_said_in_the_records(hostile_run):
    from mmrag import Library
    _, lib, _, _, _ = hostile_run
    with Library(lib) as library:
        texts = {Path(h.record.source).name: h.record.text for q in ("basaltorb", "cinderfox")
                 for h in library.search(q, k=10, retrievers=["bm25"]) if h.record.locator.get("part") == "table"}
    assert "1 cells were cut" in texts["longfield.csv"]  # 200,000 characters > max_cell_chars
    assert "over-long lines were skipped" in texts["longline.jsonl"]


def test_doctor_finds_the_library_whole(hostile_run):
    _, lib, _, _, _ = hostile_run
    out = mmrag("doctor", "--library", str(lib))
    assert out.returncode == 0 and "BAD" not in out.stdout, out.stdout + out.stderr


def _peak_rss_mb(cmd_args: list[str]) -> tuple[float, subprocess.Popen]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mmrag", *cmd_args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [ps, *ps.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree) / 1e6)
        except psutil.Error:
            pass
        time.sleep(0.02)
    return peak, proc


BOMBS = ["bomb.xlsx", "bomb.png", "longline.jsonl", "longfield.csv", "hugecell.xlsx", "huge.txt", "hog.hog"]


@pytest.mark.parametrize("name", BOMBS)
def test_peak_memory_stays_bounded_on_each_bomb(hostile_run, tmp_path, name):
    """The whole process tree (CLI + reader process) stays under 3.5 GB on each bomb alone (the hog is
    stopped at its 2.5 GB cap); the other bombs are refused or cut long before that."""
    _, _, _, _, tmp = hostile_run
    lib = new_library(tmp_path / "lib", plugins=[PLUGIN], max_reader_mb=2500.0)
    peak, proc = _peak_rss_mb(["ingest", str(tmp / "corpus" / name), "--library", str(lib)])
    assert proc.returncode in (0, 1), proc.stderr.read()[-2000:]
    assert peak < (3500 if name == "hog.hog" else 1800), f"{name}: peak {peak:.0f} MB"
