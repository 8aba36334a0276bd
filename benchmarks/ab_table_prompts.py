"""A/B of the table-QA prompt's "most <things>" examples and the "top N" hint fix, on WTQ train only.

Arm `before` takes the two contrasting few-shot examples out of `prompts.FEW_SHOT` and restores the
first/last hint's old pattern (which fired on "top 10"); arm `after` is the prompt as shipped. Both arms
run in one process on the first N train questions that say "the most/fewest <things>" (of the first
3,000) and on the first N train questions, with the default model. Prints accuracy per group, seconds
per question, and the questions whose result changed.

    python benchmarks/ab_table_prompts.py [--n 60] [--model NAME] [--threads 2]
"""
from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import mmrag.tables.prompts as P
from mmrag.evals.wtq import build_db, load_examples
from mmrag.evals.wtq_metric import is_correct
from mmrag.generate import load_llm
from mmrag.tables import answer_table_question

MOST = re.compile(r"\b(most|fewest|least|(?:highest|largest|greatest|biggest|lowest|smallest) number of)\s+"
                  r"([a-z]+s)\b", re.I)
OLD_TOP = r"\b(first|last|top|bottom)\b(?!\s+(place|position|round|half|quarter))"
NEW_EXAMPLES = ("which nation had the most athletes in the top 5?", "which nation won the most medals?")


def arms() -> dict[str, tuple[list, list]]:
    """(few-shot examples, hints) of each arm."""
    after = (list(P.FEW_SHOT), list(P.HINTS))
    shots = [s for s in P.FEW_SHOT if not s[0].endswith(NEW_EXAMPLES)]
    assert len(shots) == len(P.FEW_SHOT) - 2, "the two examples were not found in prompts.FEW_SHOT"
    hints = [(OLD_TOP, text) if "first/last" in text else (pat, text) for pat, text in P.HINTS]
    return {"before": (shots, hints), "after": after}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--model", default=None)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    most = [e for e in load_examples("train", 3000) if MOST.search(e.question)][:args.n]
    ids_most = {e.id for e in most}
    examples = most + [e for e in load_examples("train", args.n) if e.id not in ids_most]
    db, ids = build_db(examples, Path(tempfile.mkdtemp(prefix="ab-table-")) / "wtq.duckdb")
    llm = load_llm(args.model, n_threads=args.threads)
    right: dict[str, list[bool]] = {}
    for arm, (shots, hints) in arms().items():
        P.FEW_SHOT[:], P.HINTS[:] = shots, hints  # messages() reads these lists (bound as defaults)
        t0 = time.perf_counter()
        right[arm] = [is_correct(answer_table_question(e.question, [ids[e.context]], llm, db).answer,
                                 e.targets, e.canons) for e in examples]
        secs = (time.perf_counter() - t0) / len(examples)
        m, g = right[arm][:len(most)], right[arm][len(most):]
        print(f"{arm}: most {sum(m)}/{len(m)}, general {sum(g)}/{len(g)}, all {sum(right[arm])}/{len(examples)};"
              f" {secs:.1f} s/question", flush=True)
    for i, e in enumerate(examples):
        if right["after"][i] != right["before"][i]:
            print(("+ " if right["after"][i] else "- ") + e.question)


if __name__ == "__main__":
    main()
