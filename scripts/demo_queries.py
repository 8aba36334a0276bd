"""The demo: real queries and answers over the demo library, then the web app's URL.

`python scripts/demo_queries.py --library DIR` prints ranked search results and cited answers, then
starts the app over the same library and prints its URL last (Ctrl+C stops it). `--no-serve` (or
`NO_SERVE=1 make demo`) only prints the results.
"""
from __future__ import annotations

import argparse
import os
import textwrap

from mmrag import Library
from mmrag.cli import format_hit

QUERIES = [
    "which country had the most riders in the top 10?",
    "how does an approximate nearest neighbour index work?",
    "how long should the bread bake with the lid on?",
    "when did the keeper turn the light on?",
    "how much was the espresso at the harbour cafe?",  # found through the OCR text of a receipt photo
]
QUESTIONS = [
    "Which country had the most riders in the top 10 of stage 14?",  # a table question: SQL over the CSV
    "How long should the bread bake with the lid on?",
    "How much was the espresso at the harbour cafe?",
]


def show_searches(lib: Library, k: int) -> None:
    for q in QUERIES:
        print(f"\n> {q}")
        for i, hit in enumerate(lib.search(q, k=k), 1):
            print(format_hit(i, hit))


MOMENTS = [("lighthouse-keeper.mp4", "when does the keeper turn the light on?")]


def show_moments(lib: Library, k: int) -> None:
    videos = {os.path.basename(s["path"]): s["path"] for s in lib.sources("ok") if s.get("kind") == "video"}
    for name, query in MOMENTS:
        if name not in videos:
            continue
        print(f"\n> {name}: {query}")
        for m in lib.moments(videos[name], query, k=k):
            lines = " / ".join(e["text"].strip() for e in m.evidence if e.get("kind") == "transcript")
            print(f"  [{m.t_start:5.1f} s, {m.t_end:5.1f} s] score {m.score:.3f}  {lines}")


def show_answers(lib: Library, n: int, generator: str | None) -> None:
    options = {"generator": generator} if generator else {}
    for q in QUESTIONS[:n]:
        answer = lib.ask(q, **options)
        print(f"\n? {q}\n" + textwrap.fill(answer.text, 100, initial_indent="  ", subsequent_indent="  "))
        for ev in answer.citations:
            where = ev.locator if ev.modality in ("video", "table") else ""
            print(f"  [{ev.n}] {os.path.relpath(ev.source)} {where}".rstrip() + (f"  SQL: {ev.sql}" if ev.sql else ""))
        for ev in answer.evidence:
            if ev.sql and ev.n not in {c.n for c in answer.citations}:
                print(f"  [{ev.n}] (evidence, not cited) SQL: {ev.sql} -> {ev.rows[:3]}")
        print(f"  (model {answer.model}, {answer.timings.get('total_s', 0):.1f} s)")


def serve(library: str, host: str, port: int | None, generator: str | None) -> None:
    from ui import Settings, launch
    server = launch(Settings(library=library, generator=generator), host=host, port=port)
    print(f"\nThe app is running over the sample corpus: {server.url}  (Ctrl+C stops it)", flush=True)
    server.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", required=True)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--ask", type=int, default=len(QUESTIONS), help="how many questions to answer (0: none)")
    ap.add_argument("--generator", default=None, help="answer generator (default: best installed)")
    ap.add_argument("--no-serve", action="store_true", default=bool(os.environ.get("NO_SERVE")),
                    help="only print results; do not start the app (also NO_SERVE=1)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=None)
    args = ap.parse_args()
    with Library(args.library) as lib:
        show_searches(lib, args.k)
        show_moments(lib, args.k)
        if args.ask:
            show_answers(lib, args.ask, args.generator)
    if not args.no_serve:
        serve(args.library, args.host, args.port, args.generator)


if __name__ == "__main__":
    main()
