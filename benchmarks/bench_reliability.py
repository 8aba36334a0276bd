"""Reliability of ingest on real processes: a hostile corpus, kill -9 at random moments, a full disk.

    python benchmarks/bench_reliability.py [--kills 10] [--seed 5]

Prints one table: hostile cases tried and survived (the run went on and the file got the expected
status, good files searchable), kill -9 rounds survived (`mmrag doctor` finds the library whole after
each, and the next ingest finishes), the time to recover (the doctor run, which sweeps what the killed
run left, and the ingest that finishes the job), and the full-disk run. Run it alone on a quiet machine.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.mmrag.ingest import hostile  # noqa: E402
from tests.mmrag.ingest.test_faults import _kill_during, mixed_corpus  # noqa: E402
from tests.mmrag.ingest.test_hostile import PLUGIN, mmrag, new_library  # noqa: E402


def hostile_round(tmp: Path) -> dict:
    cases = hostile.build(tmp / "corpus", tmp / "outside")
    lib = new_library(tmp / "lib", plugins=[PLUGIN], read_timeout_s=15.0, max_reader_mb=2500.0)
    t0 = time.monotonic()
    out = mmrag("ingest", str(tmp / "corpus"), "--library", str(lib), "--json")
    seconds = time.monotonic() - t0
    report = json.loads(out.stdout)
    listed = {Path(p["path"]).name: p for p in report["problems"] + report["skipped"]}
    survived = 0
    for c in cases:
        got = listed.get(Path(c.name).name)
        survived += (got is None) if c.status == "ok" else bool(
            got and got["status"] == c.status and re.search(c.reason, got["message"]))
    return {"cases": len(cases), "survived": survived, "seconds": round(seconds, 1), "exit_code": out.returncode}


def kill_rounds(tmp: Path, kills: int, seed: int) -> dict:
    import os
    import subprocess
    corpus = mixed_corpus(tmp / "corpus")
    lib = tmp / "lib"
    env = {**os.environ}
    cmd = [sys.executable, "-m", "mmrag", "ingest", str(corpus), "--library", str(lib), "--text-encoder", "minilm"]
    t0 = time.monotonic()
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    clean_s = time.monotonic() - t0
    shutil.rmtree(lib)
    rng, survived, doctor_s, finish_s = random.Random(seed), 0, [], []
    for _ in range(kills):
        _kill_during(cmd, rng.uniform(1.0, clean_s * 0.9))
        t1 = time.monotonic()
        doc = mmrag("doctor", "--library", str(lib), "--json") if (lib / "store.sqlite").exists() else None
        doctor_s.append(time.monotonic() - t1)
        t2 = time.monotonic()
        fin = mmrag("ingest", str(corpus), "--library", str(lib))
        finish_s.append(time.monotonic() - t2)
        whole = mmrag("doctor", "--library", str(lib), "--json")
        survived += (doc is None or json.loads(doc.stdout)["ok"]) and fin.returncode == 0 and \
            json.loads(whole.stdout)["ok"]
        shutil.rmtree(lib)
    return {"kills": kills, "survived": survived, "clean_ingest_s": round(clean_s, 1),
            "doctor_after_kill_s": round(sum(doctor_s) / len(doctor_s), 1),
            "finish_after_kill_s": round(sum(finish_s) / len(finish_s), 1)}


def disk_full_round(tmp: Path) -> dict:
    corpus = mixed_corpus(tmp / "corpus", n_text=120, n_tables=2)
    lib = new_library(tmp / "lib")
    full = mmrag("ingest", str(corpus), "--library", str(lib), limit_fsize=1_500_000)
    doc = json.loads(mmrag("doctor", "--library", str(lib), "--json").stdout)
    again = mmrag("ingest", str(corpus), "--library", str(lib), "--json")
    return {"exit_code_when_full": full.returncode, "one_line_error": "Traceback" not in full.stderr,
            "doctor_ok_after": doc["ok"], "next_run_failed_files": json.loads(again.stdout)["counts"]["failed"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        out = {"hostile": hostile_round(tmp / "h"), "kill9": kill_rounds(tmp / "k", args.kills, args.seed),
               "disk_full": disk_full_round(tmp / "f")}
    h, k, f = out["hostile"], out["kill9"], out["disk_full"]
    print("| what | tried | survived | time |\n|---|---|---|---|")
    print(f"| hostile corpus cases (one `mmrag ingest`) | {h['cases']} | {h['survived']} | {h['seconds']} s |")
    print(f"| kill -9 during a mixed ingest | {k['kills']} | {k['survived']} | doctor {k['doctor_after_kill_s']} s"
          f" + finishing ingest {k['finish_after_kill_s']} s (clean ingest {k['clean_ingest_s']} s) |")
    print(f"| full disk (RLIMIT_FSIZE 1.5 MB) | 1 | {int(f['one_line_error'] and f['doctor_ok_after'])} | exit code"
          f" {f['exit_code_when_full']}, next run {f['next_run_failed_files']} failed files |")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
