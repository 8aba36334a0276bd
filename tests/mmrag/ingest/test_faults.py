"""Fault injection with real processes: kill -9 at random moments of a mixed ingest (text, images, a
video, CSV and Excel), a full disk (RLIMIT_FSIZE), and a reader process searching and asking table
questions while a writer ingests and removes. After each fault `mmrag doctor` finds the library whole,
and the next `mmrag ingest` finishes the job."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, SAMPLES
from tests.mmrag.ingest.test_hostile import mmrag, new_library

pytestmark = pytest.mark.slow
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def mixed_corpus(folder: Path, n_text: int = 60, n_tables: int = 6) -> Path:
    """samples/corpus (text, two images, a video, a CSV) plus text files, CSVs and Excel workbooks."""
    from openpyxl import Workbook
    shutil.copytree(SAMPLES, folder)
    rng = random.Random(3)
    words = "harbour lantern copper meadow violin glacier pepper falcon ember willow".split()
    for i in range(n_text):
        body = " ".join(rng.choice(words) for _ in range(400))
        (folder / f"note{i:03d}.txt").write_text(f"marker{i:03d} {body}.")
    for i in range(n_tables):
        rows = [["city", "visitors", "year"]] + [[f"town{i}x{j}", rng.randint(1, 999), 2000 + j] for j in range(300)]
        (folder / f"visits{i}.csv").write_text("\n".join(",".join(map(str, r)) for r in rows))
        wb = Workbook()
        for r in rows:
            wb.active.append(r)
        wb.create_sheet("second").append(["k", "v"])
        wb["second"].append([f"sheetkey{i}", 1])
        wb.save(folder / f"visits{i}.xlsx")
    return folder


def doctor_ok(lib: Path) -> str:
    out = mmrag("doctor", "--library", str(lib), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] and all(f["ok"] for f in report["findings"]), report["text"]
    return report["text"]


def _kill_during(cmd: list[str], after: float) -> bool:
    """Start `cmd`, SIGKILL it `after` seconds in (only the CLI process, as a crash would); True if it was
    still running. Its reader process must then exit by itself."""
    proc = subprocess.Popen(cmd, env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after)
    children = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
    alive = proc.poll() is None
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended between the poll and the kill: not a kill
        alive = False
    proc.wait()
    gone, still = psutil.wait_procs(children, timeout=10)
    assert not still, f"the reader process outlived its parent: {still}"
    return alive


def test_kill_9_at_random_moments_of_a_mixed_ingest(tmp_path):
    corpus = mixed_corpus(tmp_path / "corpus")
    lib = tmp_path / "lib"
    cmd = [sys.executable, "-m", "mmrag", "ingest", str(corpus), "--library", str(lib), "--text-encoder", "minilm"]
    rng = random.Random(11)
    kills = 0
    # each run goes on from the last one's work, so the moments stay short of a quiet machine's whole ingest
    for moment in (3.0, *(rng.uniform(4.0, 12.0) for _ in range(3))):
        kills += _kill_during(cmd, moment)
        if (lib / "store.sqlite").exists():
            doctor_ok(lib)
    assert kills >= 3, "the ingest ended before most kills: make the corpus bigger"
    final = mmrag("ingest", str(corpus), "--library", str(lib), "--json")
    assert final.returncode == 0, final.stderr[-2000:]
    doctor_ok(lib)
    reference = tmp_path / "reference"
    assert mmrag("ingest", str(corpus), "--library", str(reference), "--text-encoder", "minilm").returncode == 0
    from mmrag import Library
    with Library(lib) as a, Library(reference) as b:
        assert {Path(s["path"]).name: (s["status"], s["n_records"]) for s in a.sources()} == \
            {Path(s["path"]).name: (s["status"], s["n_records"]) for s in b.sources()}
        assert a.store.counts()["records"] == b.store.counts()["records"]
        assert a.search("sheetkey4", k=1, retrievers=["bm25"])[0].record.source.endswith("visits4.xlsx")


def test_a_full_disk_stops_the_run_cleanly_and_the_next_run_finishes(tmp_path):
    corpus = mixed_corpus(tmp_path / "corpus", n_text=120, n_tables=2)
    lib = new_library(tmp_path / "lib")
    full = mmrag("ingest", str(corpus), "--library", str(lib), limit_fsize=1_500_000)
    assert full.returncode == 2 and "disk full" in full.stderr, full.stderr[-3000:]
    assert "Traceback" not in full.stderr
    doctor_ok(lib)
    again = mmrag("ingest", str(corpus), "--library", str(lib), "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["counts"]["failed"] == 0
    doctor_ok(lib)


READER = r"""
import json, sys, time
from mmrag import Library
from mmrag.generate import SMALL_MODEL, load_llm
lib_dir, stop_file, out = sys.argv[1:4]
llm = load_llm(SMALL_MODEL, n_ctx=2048, n_threads=1)
errors, searches, tables = [], 0, 0
lib = Library(lib_dir)
while True:
    stop = __import__("os").path.exists(stop_file)
    try:
        lib.search("harbour lantern", k=5)
        searches += 1
        ans = lib.ask("Which city had the most visitors?", k=4, generator=llm, max_tokens=24)
        tables += bool(ans.meta.get("sql"))
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    if stop:
        break
final = [h.record.source for h in lib.search("zzlatecomer", k=3, retrievers=["bm25"])]
gone = [h.record.source for h in lib.search("marker005", k=3, retrievers=["bm25"])]
json.dump({"errors": errors, "searches": searches, "tables": tables, "final": final, "gone": gone}, open(out, "w"))
"""


def test_a_reader_process_works_while_a_writer_ingests_and_removes(tmp_path, llm):
    corpus = mixed_corpus(tmp_path / "corpus", n_text=30, n_tables=3)
    lib = tmp_path / "lib"
    assert mmrag("ingest", str(corpus / "visits0.csv"), "--library", str(lib), "--text-encoder", "minilm"
                 ).returncode == 0
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(lib), str(stop), str(out)], env=ENV, cwd=ROOT,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert mmrag("ingest", str(corpus), "--library", str(lib)).returncode == 0
        assert mmrag("remove", str(corpus / "note005.txt"), "--library", str(lib)).returncode == 0
        (corpus / "late.txt").write_text("zzlatecomer arrives after the others.")
        assert mmrag("ingest", str(corpus / "late.txt"), "--library", str(lib)).returncode == 0
    finally:
        stop.write_text("")
        reader.wait(timeout=600)
    result = json.loads(out.read_text())
    assert result["errors"] == [], result["errors"]
    assert result["searches"] >= 2 and result["tables"] >= 1, result
    assert any(s.endswith("late.txt") for s in result["final"])
    assert not any(s.endswith("note005.txt") for s in result["gone"])
    doctor_ok(lib)
