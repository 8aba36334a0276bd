"""Benchmark: a large CSV streamed into DuckDB (peak memory, rows/s) vs loading it whole with pandas.

Writes a CSV of about --mb megabytes in a temporary folder (ints, '1,234.50' amounts, dates,
percentages, text), then, each in a fresh subprocess so its peak RSS (`ru_maxrss`) is its own:
  * baseline: the interpreter with pandas + duckdb imported (nothing read),
  * whole:    `pandas.read_csv(path, dtype=str)` (the file held in memory once, as strings),
  * stream:   `TableDB.add_file` (chunked read, type inference, raw + typed copies into DuckDB),
  * ingest:   the library pipeline on the same file (`Ingestor.run`, hash encoder; the table reader is streamed),
    which also hashes the file in chunks and writes `table_row_records` row records.
Prints one JSON object; ratios are against the whole-file pandas load of the same file.
Usage: python benchmarks/bench_tables.py [--mb 200] [--chunk-rows N] [--skip-ingest]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHILD = {
    "baseline": "import pandas, duckdb",
    "whole": "import pandas, duckdb; df = pandas.read_csv({path!r}, dtype=str); n = len(df)",
    "stream": "from mmrag.tables import TableDB\n"
              "db = TableDB({work!r} + '/t.duckdb'); [tid] = db.add_file({path!r}, chunk_rows={chunk})\n"
              "n = db.info(tid).n_rows; db.close()",
    "ingest": "from mmrag import Ingestor, Library\nfrom mmrag import LibraryConfig\n"
              "cfg = LibraryConfig.default('hash')\n"
              "lib = Library({work!r} + '/lib', config=cfg)\n"
              "r = Ingestor(lib, progress=False).run([{path!r}]); n = r.results[0].n_records\n"
              "assert r.results[0].status == 'ok', r.results[0].message; lib.close()",
}
WRAP = ("import resource, time, json\nt0 = time.perf_counter()\n{body}\n"
        "print(json.dumps({{'seconds': time.perf_counter() - t0, 'n': n if 'n' in dir() else 0,"
        " 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))")


def write_csv(path: Path, mb: float, seed: int = 0) -> int:
    """A CSV of about `mb` MB; returns its row count."""
    rng = random.Random(seed)
    words = ["north", "south", "harbour", "valley", "river", "alpha", "beta", "gamma", "delta", "omega"]
    target, n = mb * 1e6, 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("id,amount,date,share,region,note\n")
        while fh.tell() < target:
            lines = []
            for _ in range(10_000):
                n += 1
                amount = f'"{rng.uniform(0, 99999):,.2f}"'
                date = f"20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                note = " ".join(rng.choice(words) for _ in range(rng.randint(2, 6)))
                lines.append(f"{n},{amount},{date},{rng.randint(0, 100)}%,{rng.choice(words).title()},{note}\n")
            fh.write("".join(lines))
    return n


def run_child(kind: str, path: Path, work: Path, chunk: int) -> dict:
    body = CHILD[kind].format(path=str(path), work=str(work), chunk=chunk)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", WRAP.format(body=body)], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=False)
    if out.returncode:
        raise RuntimeError(f"{kind} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=200)
    ap.add_argument("--chunk-rows", type=int, default=None, help="default: mmrag.tables.load.CHUNK_ROWS")
    ap.add_argument("--skip-ingest", action="store_true")
    args = ap.parse_args()
    if args.chunk_rows is None:
        from mmrag.tables.load import CHUNK_ROWS
        args.chunk_rows = CHUNK_ROWS
    with tempfile.TemporaryDirectory(prefix="mmrag-bench-tables-") as tmp:
        work = Path(tmp)
        path = work / "big.csv"
        t0 = time.perf_counter()
        rows = write_csv(path, args.mb)
        result = {"file_mb": round(path.stat().st_size / 1e6, 1), "rows": rows,
                  "write_s": round(time.perf_counter() - t0, 1), "chunk_rows": args.chunk_rows,
                  "machine": f"{platform.machine()} {os.cpu_count()} cpu", "load_avg": os.getloadavg()[0]}
        kinds = ["baseline", "whole", "stream"] + ([] if args.skip_ingest else ["ingest"])
        for kind in kinds:
            result[kind] = {k: round(v, 1) for k, v in run_child(kind, path, work, args.chunk_rows).items()}
        whole, stream = result["whole"], result["stream"]
        result["stream_rows_per_s"] = round(rows / stream["seconds"])
        result["stream_peak_over_whole_peak"] = round(stream["peak_rss_mb"] / whole["peak_rss_mb"], 2)
        result["stream_extra_mb_over_baseline"] = round(stream["peak_rss_mb"] - result["baseline"]["peak_rss_mb"])
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
