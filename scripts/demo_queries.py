"""Run a few real queries against the demo library and print the ranked results."""
from __future__ import annotations

import argparse

from mmrag import Library
from mmrag.cli import format_hit

QUERIES = [
    "which country had the most riders in the top 10?",
    "how does an approximate nearest neighbour index work?",
    "how long should the bread bake with the lid on?",
    "when did the keeper turn the light on?",
    "how much was the espresso at the harbour cafe?",  # found through the OCR text of a receipt photo
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", required=True)
    ap.add_argument("--k", type=int, default=3)
    args = ap.parse_args()
    with Library(args.library) as lib:
        for q in QUERIES:
            print(f"\n> {q}")
            for i, hit in enumerate(lib.search(q, k=args.k), 1):
                print(format_hit(i, hit))


if __name__ == "__main__":
    main()
