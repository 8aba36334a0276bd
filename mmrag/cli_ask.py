"""`mmrag ask "QUESTION" [--image FILE]` and `mmrag summarise SOURCE|--query Q`: answers with citations.

`--json` prints {"answer", "citations": [{"n", "id", "modality", "source", "locator", ...}], "hits",
"model", "timings", "meta"}; table results in citations add "sql", "columns" and "rows".
"""
from __future__ import annotations

import argparse

from .cli import _emit, _load_query_image, _short, command
from .errors import BadQueryError
from .library import Library
from .records import Answer, Evidence


def _cite_line(ev: Evidence) -> str:
    loc = ", ".join(f"{k}={v}" if not isinstance(v, list) or len(v) <= 6 else f"{k}=[{len(v)} items]"
                    for k, v in ev.locator.items())
    line = f"[{ev.n}] {ev.modality} {_short(ev.source)}" + (f" ({loc})" if loc else "")
    if ev.sql:
        line += f"\n    SQL: {ev.sql}"
    return line


def format_answer(ans: Answer) -> str:
    """The answer, its sources, and which model answered in how long."""
    lines = [ans.text, ""]
    lines += [_cite_line(e) for e in ans.citations] or ["(no sources cited)"]
    lines.append(f"-- {ans.model}, {ans.timings.get('total_s', 0):.1f} s")
    return "\n".join(lines)


def _options(args: argparse.Namespace) -> dict:
    return {"k": args.k, "generator": args.generator, "max_tokens": args.max_tokens, "steps": args.steps,
            "table_qa": not args.no_table_qa, "strict": args.strict}


@command
def cmd_ask(args: argparse.Namespace) -> int:
    image = _load_query_image(args.image) if args.image else None
    if not args.question and image is None:
        raise BadQueryError("give a QUESTION, an --image FILE, or both")
    with Library(args.library) as lib:
        if args.stream and not args.json:
            answer, streamed = None, []
            for ev in lib.ask_stream(args.question, image=image, **_options(args)):
                if ev.kind == "token":
                    streamed.append(ev.text)
                    print(ev.text, end="", flush=True)
                elif ev.kind == "answer":
                    answer = ev.answer
            assert answer is not None
            print("" if "".join(streamed).strip() == answer.text else f"\n=> {answer.text}")
            print("\n".join(format_answer(answer).split("\n")[2:]))
            return 0
        answer = lib.ask(args.question, image=image, **_options(args))
    _emit(args, answer.to_dict(), format_answer(answer))
    return 0


@command
def cmd_summarise(args: argparse.Namespace) -> int:
    from .answer import summarise
    if (args.source is None) == (args.query is None):
        raise BadQueryError("give a SOURCE file or --query QUERY (one of them)")
    with Library(args.library) as lib:
        answer = summarise(lib, args.source, args.query, generator=args.generator, k=args.k,
                           max_tokens=args.max_tokens)
    _emit(args, answer.to_dict(), format_answer(answer))
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    gen_help = ("auto (default: the offline 1.5B, 0.5B on low memory, else extractive), extractive, llama, "
                "a GGUF model name or .gguf file, vlm:<hub id or folder>, or openai:MODEL for an OpenAI-compatible "
                "server (Ollama, vLLM, llama.cpp; OPENAI_BASE_URL, OPENAI_API_KEY; it also writes the SQL)")
    s = sub.add_parser("ask", parents=[common], help="answer a question from the library, with citations")
    s.add_argument("question", nargs="?", default="")
    s.add_argument("--image", default=None, help="an image that comes with the question")
    s.add_argument("--k", type=int, default=8, help="hits to retrieve (evidence blocks)")
    s.add_argument("--generator", default=None, help=gen_help)
    s.add_argument("--max-tokens", type=int, default=256)
    s.add_argument("--steps", type=int, default=1, help="retrieval steps: >1 lets the model ask follow-up queries")
    s.add_argument("--no-table-qa", action="store_true", help="do not run SQL on retrieved tables")
    s.add_argument("--strict", action="store_true", help="refuse when no evidence supports the answer")
    s.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    s = sub.add_parser("summarise", parents=[common], help="summarise a source or a query's evidence (map-reduce)")
    s.add_argument("source", nargs="?", default=None)
    s.add_argument("--query", default=None, help="summarise the evidence retrieved for this query instead")
    s.add_argument("--k", type=int, default=20, help="hits to summarise with --query")
    s.add_argument("--generator", default=None, help=gen_help)
    s.add_argument("--max-tokens", type=int, default=200)
