"""Where the seconds of an answer go: `Library.ask` with the defaults, per question, against a bare LLM call.

    python benchmarks/bench_ask.py [--generator auto|NAME] [--library DIR] [--whole-evidence] [--no-warm] [--json]

Over a library of samples/corpus (built in a temp folder unless --library names one), it asks the demo's
questions (text, OCR, video transcript, table) with the defaults a user gets and prints, per question:
retrieval, table QA, packing, time to first token, generation and total seconds, prompt tokens, and the
answer. Baseline in the same process: the same answer prompt sent straight to the same loaded model
(`complete`, same max_tokens), once with llama.cpp's prompt cache cleared (cold) and once right after
(warm); `ratio` is ask's total over the cold bare call. As `mmrag serve` does at start, `Library.warm`
loads the generator and reads the shared prompt prefixes (answer and table prompts; `--no-warm` leaves
this out, as a one-off `mmrag ask` has it), then a warm-up question (not reported) loads the encoders;
each question is then asked once, as a user would (asking the same question again reuses llama.cpp's
cached prompt, which a user does not get).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUESTIONS = [
    ("text", "How long should the bread bake with the lid on?"),
    ("ocr", "How much was the espresso at the harbour cafe?"),
    ("video", "When does the keeper turn the light on?"),
    ("text", "How many steps did the lighthouse keeper climb every evening?"),
    ("table", "Which country had the most riders in the top 10 of stage 14?"),
]
WARM_UP = "What is in this library?"


class PromptRecorder:
    """Wraps a generator's `stream` to keep the last prompt and max_tokens it was called with."""

    def __init__(self, gen: Any) -> None:
        self.prompt, self.max_tokens = None, 256
        self._stream = gen.stream
        gen.stream = self.stream

    def stream(self, prompt: Any, max_tokens: int = 256, **kw: Any) -> Any:
        self.prompt, self.max_tokens = prompt, max_tokens
        return self._stream(prompt, max_tokens=max_tokens, **kw)


def bare_call(gen: Any, prompt: Any, max_tokens: int, cold: bool) -> float:
    """Seconds for the same prompt sent straight to the loaded model (prompt cache cleared when `cold`)."""
    llama = getattr(gen, "_llama", None)
    cache = getattr(llama, "cache", None)
    if cold and llama is not None:
        llama.reset()
        llama.set_cache(None)
    try:
        t0 = time.perf_counter()
        gen.complete(prompt, max_tokens=max_tokens)
        return time.perf_counter() - t0
    finally:
        if cold and llama is not None:
            llama.set_cache(cache)  # the prefix cache is back for the questions that follow


WHOLE = {"focus_chars": 0, "min_score_ratio": 0.0}  # --whole-evidence: every hit, whole (the earlier default)


def one(lib: Any, gen: Any, rec: PromptRecorder, kind: str, question: str, options: dict) -> dict[str, Any]:
    rec.prompt = None
    answer = lib.ask(question, generator=gen, **options)
    t = answer.timings
    row: dict[str, Any] = {"kind": kind, "question": question, "model": answer.model,
                           "prompt_tokens": answer.meta.get("prompt_tokens"),
                           "sql": next((e.sql for e in answer.evidence if e.sql), None),
                           "answer": answer.text.replace("\n", " ")[:160]}
    for key in ("retrieve_s", "table_qa_s", "pack_s", "first_token_s", "generate_s", "total_s"):
        row[key] = round(t.get(key, 0.0), 2)
    if rec.prompt is not None and gen.kind == "chat":
        row["bare_cold_s"] = round(bare_call(gen, rec.prompt, rec.max_tokens, cold=True), 2)
        row["bare_warm_s"] = round(bare_call(gen, rec.prompt, rec.max_tokens, cold=False), 2)
        row["ratio"] = round(row["total_s"] / max(row["bare_cold_s"], 1e-6), 2)
    return row


def build_library(path: Path) -> None:
    from mmrag import Library
    with Library(path) as lib:
        lib.ingest([ROOT / "samples" / "corpus"], progress=False)


def run(library: Path, generator: str | None, options: dict, warm: bool = True) -> dict[str, Any]:
    from mmrag import Library
    from mmrag.generate import create_generator
    gen = create_generator(generator)
    rec = PromptRecorder(gen)
    rows = []
    with Library(library) as lib:
        warmed = lib.warm(gen) if warm else {}
        lib.ask(WARM_UP, generator=gen, **options)
        for kind, q in QUESTIONS:
            rows.append(row := one(lib, gen, rec, kind, q, options))
            print(json.dumps(row), file=sys.stderr, flush=True)
    totals = [r["total_s"] for r in rows if r["kind"] != "table"]
    return {"model": gen.name, "threads": getattr(gen, "n_threads", None), "rows": rows,
            "warm_s": {k: round(v, 2) for k, v in warmed.items()},
            "p50_total_s_non_table": round(statistics.median(totals), 2),
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def show(result: dict[str, Any]) -> None:
    cols = ["kind", "retrieve_s", "table_qa_s", "pack_s", "first_token_s", "generate_s", "total_s",
            "prompt_tokens", "bare_cold_s", "bare_warm_s", "ratio"]
    print(f"model {result['model']}, threads {result['threads']}, load {result['load_avg_1m']}, "
          f"warm-up {result['warm_s'] or 'none'}")
    print("| " + " | ".join(cols) + " | answer |")
    print("|" + "---|" * (len(cols) + 1))
    for r in result["rows"]:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + f" | {r['answer'][:70]} |")
    print(f"p50 total (text, OCR, video): {result['p50_total_s_non_table']} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", default=None, help="generator name (default: what a user gets, 'auto')")
    ap.add_argument("--library", default=None, help="an existing library of samples/corpus")
    ap.add_argument("--whole-evidence", action="store_true", help="baseline: every hit given whole to the model")
    ap.add_argument("--no-warm", action="store_true", help="baseline: no Library.warm before the questions")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(args.library) if args.library else Path(tmp) / "lib"
        if not args.library:
            build_library(library)
        result = run(library, args.generator, WHOLE if args.whole_evidence else {}, warm=not args.no_warm)
    print(json.dumps(result) if args.json else "", end="\n" if args.json else "")
    if not args.json:
        show(result)


if __name__ == "__main__":
    main()
