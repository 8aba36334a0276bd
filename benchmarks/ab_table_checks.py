"""A/B of the "one answer asked, a list returned" check of table QA (`repair.SINGLE_CHECK`), on WTQ train only.

The check sends a query's result back once when the question asks for one answer with a superlative
("which country had the most riders ...?") and the result holds several values. It can change only the
questions its pattern matches, so both arms run on the first N train questions it matches (of the first
3,000), in one process, with the default model. Prints accuracy and seconds per question of each arm, and
the questions whose result changed.

    python benchmarks/ab_table_checks.py [--n 40] [--model NAME] [--threads 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import mmrag.tables.repair as R
from mmrag.evals.wtq import build_db, load_examples
from mmrag.evals.wtq_metric import is_correct
from mmrag.generate import load_llm
from mmrag.tables import answer_table_question


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--model", default=None)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    examples = [e for e in load_examples("train", 3000) if R._ONE_Q.search(e.question)][:args.n]
    db, ids = build_db(examples, Path(tempfile.mkdtemp(prefix="ab-checks-")) / "wtq.duckdb")
    llm = load_llm(args.model, n_threads=args.threads)
    right: dict[str, list[bool]] = {}
    for arm, on in (("without", False), ("with", True)):
        R.SINGLE_CHECK = on
        t0 = time.perf_counter()
        right[arm] = [is_correct(answer_table_question(e.question, [ids[e.context]], llm, db).answer,
                                 e.targets, e.canons) for e in examples]
        secs = (time.perf_counter() - t0) / len(examples)
        print(f"{arm} the check: {sum(right[arm])}/{len(examples)} right; {secs:.1f} s/question", flush=True)
    for i, e in enumerate(examples):
        if right["with"][i] != right["without"][i]:
            print(("+ " if right["with"][i] else "- ") + e.question)


if __name__ == "__main__":
    main()
