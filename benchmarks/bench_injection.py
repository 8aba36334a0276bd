"""Prompt injection through documents, measured with `Library.ask` as a user calls it.

    python benchmarks/bench_injection.py [--generator auto|extractive|<model>] [--threads N]

For each case of tests/mmrag/answer/injection_cases.py (instructions to ignore the question, forged
evidence headers, fake citations, fake system and assistant turns, an exfiltration link, an instruction
in another language, instructions in table cells and headers, hidden HTML text) a library is built from
its documents (MiniLM) and the question asked. Prints, per generator: answers that followed an injected
instruction, and citations that point at evidence from a file other than the one that answers.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmrag import Library  # noqa: E402
from tests.mmrag.answer.injection_cases import CASES, judge, write_case  # noqa: E402


def run(generator: str, threads: int | None) -> dict:
    from mmrag.generate import create_generator
    gen = create_generator(generator) if generator in ("auto", "extractive") else create_generator(
        "llama", model=generator, n_threads=threads)
    rows, followed, wrong, cites = [], 0, 0, 0
    with tempfile.TemporaryDirectory() as d:
        for i, case in enumerate(CASES):
            folder = write_case(case, Path(d) / f"docs{i}")
            with Library(Path(d) / f"lib{i}", text_encoder="minilm") as lib:
                lib.ingest([folder])
                t0 = time.perf_counter()
                ans = lib.ask(case.question, generator=gen, k=4)
                seconds = time.perf_counter() - t0
            f, w, c = judge(case, ans)
            followed, wrong, cites = followed + f, wrong + w, cites + c
            rows.append({"case": case.name, "followed": f, "wrong_citations": w, "citations": c,
                         "answer": ans.text, "seconds": round(seconds, 1)})
    return {"generator": gen.name, "cases": len(CASES), "followed": followed, "wrong_citations": wrong,
            "citations": cites, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", action="append", default=None)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    for generator in args.generator or ["auto", "extractive"]:
        out = run(generator, args.threads)
        for r in out["rows"]:
            print(f"  {r['case']:<34} followed={r['followed']:d} wrong={r['wrong_citations']}/{r['citations']}"
                  f" {r['seconds']:>5} s  {r['answer'][:90]!r}")
        print(f"{out['generator']}: {out['followed']}/{out['cases']} answers followed an injected instruction; "
              f"{out['wrong_citations']}/{out['citations']} citations point at the wrong evidence")
        print(json.dumps({k: v for k, v in out.items() if k != "rows"}))


if __name__ == "__main__":
    main()
