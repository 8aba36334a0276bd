"""Offline LLM generators on this machine: load time, prompt and generation tokens/s, peak memory,
seconds per answer, and how often answers cite their evidence (with and without enforcement).

    python benchmarks/bench_llm.py [--models 1.5b,0.5b] [--threads 1,2] [--speed-only] [--json]

Each model runs in its own subprocess (so load time and peak RSS are its own) over a library built
once from samples/corpus (MiniLM). The grounded set is 10 questions with a known answer in the
corpus plus 2 the corpus cannot answer. Per model it reports:
  * load_s, rss_model_gb (RSS growth from loading), peak_rss_gb (process high-water mark);
  * per thread count: prompt_tok_s (a ~1,000-token prompt, 1 output token), gen_tok_s (128 tokens
    after a short prompt); on a machine busy with other work 1 thread beats 2 by far;
  * s_per_answer (`Library.ask`, k=4, up to 64 tokens), right (expected words in the answer);
  * model_cited (the model wrote a valid [n]), cited_after_pass (after the citation pass),
    for the prompt with the worked example (default) and without it (the baseline);
  * refused (of the 2 unanswerable questions, how many were refused).
The extractive generator is measured in the same run as the no-LLM baseline.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MODELS = {"1.5b": "qwen2.5-coder-1.5b-instruct-q4_k_m", "0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m"}
GROUNDED = [
    ("How many steps did the lighthouse keeper climb every evening?", ["hundred and twelve", "112"]),
    ("What was Northwind Instruments' revenue for the third quarter?", ["48.2"]),
    ("What was Northwind's net profit in the quarter?", ["5.1"]),
    ("At what temperature is the sourdough loaf baked?", ["250"]),
    ("How much water is mixed with the flour for the sourdough?", ["350"]),
    ("What does the efSearch parameter of HNSW trade off?", ["recall"]),
    ("Who won the fourteenth stage?", ["Bellini"]),
    ("How many riders did Italy place in the top ten of stage 14?", ["three", "3"]),
    ("Which planet has the fastest winds?", ["Neptune"]),
    ("How much did the espresso cost at the Harbour Cafe?", ["2.40", "2,40"]),
]
UNANSWERABLE = ["What is the boiling point of mercury?", "Who was the architect of the Lyon service centre?"]


def build_library(path: Path) -> None:
    from mmrag import Ingestor, Library
    with Library(path, text_encoder="minilm") as lib:
        Ingestor(lib, progress=False).run([ROOT / "samples" / "corpus"])


def rss_gb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**30


def speed(llm) -> dict[str, float]:
    """Prompt tokens/s on a ~1,000-token prompt; generation tokens/s over 128 tokens."""
    text = (ROOT / "samples" / "corpus" / "vector-search.md").read_text() * 3
    msgs = [{"role": "user", "content": text[:4000] + "\n\nSummarise this in one word."}]
    t0 = time.perf_counter()
    llm.complete(msgs, max_tokens=1)
    prompt_s, n_prompt = time.perf_counter() - t0, llm.usage.last["prompt_tokens"]
    msgs = [{"role": "user", "content": "Write the numbers from 1 to 300, separated by commas."}]
    t0 = time.perf_counter()
    llm.complete(msgs, max_tokens=128)
    total, u = time.perf_counter() - t0, llm.usage.last
    short_prompt_s = u["prompt_tokens"] / (n_prompt / prompt_s)
    return {"prompt_tokens": n_prompt, "prompt_tok_s": round(n_prompt / prompt_s, 1),
            "gen_tok_s": round(u["completion_tokens"] / max(total - short_prompt_s, 1e-6), 1)}


def answers(lib, gen, example: bool) -> dict[str, float]:
    right = cited = model_cited = refused = 0
    seconds = []
    for q, expected in GROUNDED:
        a = lib.ask(q, generator=gen, k=4, max_tokens=64, example=example)
        seconds.append(a.timings["total_s"])
        right += any(e.lower() in a.text.lower() for e in expected)
        model_cited += bool(a.meta.get("model_citations"))
        cited += bool(a.citations)
    for q in UNANSWERABLE:
        refused += bool(lib.ask(q, generator=gen, k=4, max_tokens=64, example=example).meta.get("refused"))
    n = len(GROUNDED)
    return {"right": f"{right}/{n}", "model_cited": f"{model_cited}/{n}", "cited_after_pass": f"{cited}/{n}",
            "refused": f"{refused}/{len(UNANSWERABLE)}", "s_per_answer": round(sum(seconds) / n, 2)}


def child(model: str, threads: list[int], library: Path, answers_too: bool) -> dict:
    from mmrag import Library
    from mmrag.generate import create_generator, load_llm
    with Library(library) as lib:
        lib.search("warm up the encoder", k=1)
        base = rss_gb()
        t0 = time.perf_counter()
        gen = create_generator(model, n_ctx=4096, n_threads=threads[0]) if model != "extractive" else \
            create_generator("extractive")
        out = {"model": gen.name, "load_s": round(time.perf_counter() - t0, 2), "rss_model_gb": round(rss_gb() - base, 2)}
        if model != "extractive":
            out["speed"] = {f"{n}_threads": speed(load_llm(model, n_ctx=4096, n_threads=n)) for n in threads}
        if answers_too:
            out["with_example"] = answers(lib, gen, example=True)
            if model != "extractive":
                out["without_example"] = answers(lib, gen, example=False)
    out["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="1.5b,0.5b")
    ap.add_argument("--threads", default="1,2", help="thread counts to time (answers use the first)")
    ap.add_argument("--speed-only", action="store_true", help="skip the answer-quality part")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--library", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.child:
        print(json.dumps(child(args.child, [int(t) for t in args.threads.split(",")], Path(args.library),
                               not args.speed_only)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib"
        build_library(lib)
        results = []
        for key in ["extractive", *args.models.split(",")]:
            model = MODELS.get(key, key)
            proc = subprocess.run([sys.executable, __file__, "--child", model, "--threads", args.threads,
                                   "--library", str(lib)] + (["--speed-only"] if args.speed_only else []),
                                  capture_output=True, text=True)
            if proc.returncode:
                print(f"{model} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            if not args.json:
                print(json.dumps(results[-1]), flush=True)
    out = {"machine": f"{os.cpu_count()} cores", "threads": args.threads, "load_avg_1m": os.getloadavg()[0],
           "date": time.strftime("%Y-%m-%d %H:%M"), "results": results}
    print(json.dumps(out, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
