"""The web app under load: N concurrent clients asking for S seconds on loopback, vs one client.

Starts `mmrag serve` in its own process over a library (by default samples/corpus ingested with
MiniLM into a temporary folder), then, in the same run:
  1. baseline: one client asking questions back to back for --baseline-seconds;
  2. load: --clients clients (one gradio_client each, in threads) asking back to back for --seconds.
Each request is a full /ask (retrieval, generation, evidence rendering), timed from submit to the
final answer. Requests started before the deadline are waited for and counted. Prints latency
p50/p95/max, throughput and errors for both, and the load/baseline ratios.

    nice -n 10 .venv/bin/python benchmarks/bench_ui.py                  # extractive answers
    nice -n 10 .venv/bin/python benchmarks/bench_ui.py --generator auto # the installed LLM
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "How long should the bread bake with the lid on?",
    "How much was the espresso at the harbour cafe?",
    "Which country had the most riders in the top 10?",
    "When did the keeper turn the light on?",
    "What was the revenue in the third quarter?",
    "How does an approximate nearest neighbour index work?",
]


def build_library(path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "mmrag", "ingest", str(ROOT / "samples" / "corpus"), "--library",
                    str(path)], check=True, env=env, capture_output=True)


def start_server(library: Path, port: int, generator: str, concurrency: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    proc = subprocess.Popen([sys.executable, "-m", "mmrag", "serve", "--library", str(library), "--port", str(port),
                             "--generator", generator, "--concurrency", str(concurrency)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "http://" in line:
            return proc, "http://" + line.split("http://", 1)[1].split()[0]
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("the app did not start (run `mmrag serve` by hand to see why)")


def client_loop(url: str, until: float, offset: int, out: list, errors: list) -> None:
    from gradio_client import Client
    client = Client(url, verbose=False)
    i = offset
    while time.monotonic() < until:
        q = QUESTIONS[i % len(QUESTIONS)]
        i += 1
        t0 = time.perf_counter()
        try:
            result = client.predict({"text": q, "files": []}, 6, api_name="/ask")
            if not result[-1].get("answer"):
                raise ValueError(f"empty answer for {q!r}")
            out.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            errors.append(f"{type(exc).__name__}: {exc}")


def warm_up(url: str) -> None:
    """Ask every question once, so the timed runs see loaded models and warm caches."""
    from gradio_client import Client
    client = Client(url, verbose=False)
    for q in QUESTIONS:
        client.predict({"text": q, "files": []}, 6, api_name="/ask")


def run(url: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    start = time.monotonic()
    threads = [threading.Thread(target=client_loop, args=(url, start + seconds, i, latencies, errors))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {"clients": clients, "requests": len(latencies), "errors": len(errors), "error_samples": errors[:3],
            "wall_s": round(wall, 1), "throughput_rps": round(len(latencies) / wall, 2),
            "p50_s": round(float(np.percentile(lat, 50)), 3), "p95_s": round(float(np.percentile(lat, 95)), 3),
            "max_s": round(float(lat.max()), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", default=None, help="library folder (default: samples/corpus with MiniLM)")
    ap.add_argument("--generator", default="extractive")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--baseline-seconds", type=float, default=20)
    ap.add_argument("--concurrency", type=int, default=4, help="the app's --concurrency")
    ap.add_argument("--port", type=int, default=7877)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-ui-")
    library = Path(args.library) if args.library else Path(tmp.name) / "lib"
    if not args.library:
        build_library(library)
    proc, url = start_server(library, args.port, args.generator, args.concurrency)
    try:
        warm_up(url)
        single = run(url, 1, args.baseline_seconds)
        load = run(url, args.clients, args.seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        tmp.cleanup()
    out = {"generator": args.generator, "concurrency": args.concurrency, "single": single, "load": load,
           "p50_ratio": round(load["p50_s"] / single["p50_s"], 2),
           "p95_ratio": round(load["p95_s"] / single["p95_s"], 2),
           "throughput_ratio": round(load["throughput_rps"] / single["throughput_rps"], 2), "cpus": os.cpu_count(),
           "load_avg_at_end": [round(x, 2) for x in os.getloadavg()]}
    if args.json:
        print(json.dumps(out))
        return
    for name in ("single", "load"):
        r = out[name]
        print(f"{name:>6}: {r['clients']:>2} clients, {r['requests']} answers in {r['wall_s']} s "
              f"({r['throughput_rps']} /s), errors {r['errors']}, p50 {r['p50_s']} s, p95 {r['p95_s']} s, "
              f"max {r['max_s']} s")
    print(f"load vs single: p50 x{out['p50_ratio']}, p95 x{out['p95_ratio']}, throughput x{out['throughput_ratio']}"
          f" (generator {args.generator}, app concurrency {args.concurrency}, {out['cpus']} CPUs,"
          f" load average {out['load_avg_at_end']})")
    if load["errors"] or single["errors"]:
        print("errors:", single["error_samples"] + load["error_samples"])
        sys.exit(1)


if __name__ == "__main__":
    main()
