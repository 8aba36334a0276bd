"""The `mmrag` command line. Every command takes --library DIR; --json prints one JSON object.

Errors mmrag raises on purpose (`MmragError`) print as one line with exit code 2; anything else is a bug
and keeps its traceback. Other packages add subcommands through the `mmrag.commands` entry point group
(the web app's `mmrag serve` comes from `ui`).
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sqlite3
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable

from . import __version__
from .core import default_library
from .errors import BadQueryError, IngestError, MmragError
from .images import open_image
from .ingest import Ingestor
from .kinds import Engine
from .library import Library
from .records import Hit

log = logging.getLogger("mmrag")
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}
MAX_LISTED = 50  # problem files listed after an ingest
# Feature modules that add their own subcommands: each has `register(sub, common)`, which adds its
# parsers, and decorates its handlers with `@command` (handler name `cmd_<subcommand>`).
EXTENSIONS: tuple[str, ...] = ("cli_video", "cli_ask", "cli_watch", "cli_tune", "cli_archive")
ENTRY_POINTS = "mmrag.commands"  # other packages' `register(sub, common)` functions


def command(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    COMMANDS[fn.__name__.removeprefix("cmd_")] = fn
    return fn


def _emit(args: argparse.Namespace, obj: dict, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False) if args.json else text)


@command
def cmd_ingest(args: argparse.Namespace) -> int:
    with Library(args.library, text_encoder=args.text_encoder) as lib:
        report = _ingestor(args, lib).run(args.paths, prune=args.prune)
    d = report.to_dict()
    lines = report.summary()
    shown = d["problems"][:MAX_LISTED]
    lines += [f"  {p['status']}: {p['path']}: {p['message']}" for p in shown]
    if len(d["problems"]) > len(shown):
        lines.append(f"  ... and {len(d['problems']) - len(shown)} more (mmrag status lists them all)")
    _emit(args, d, "\n".join(lines))
    return 1 if report.nothing_ingested else 0


def _ingestor(args: argparse.Namespace, lib: Library) -> Ingestor:
    kw = {"progress": None if not args.json else False, "follow_links": True if args.follow_links else None}
    if args.engine == Engine.RAY:
        from .distributed import RayIngestor  # Ray itself is imported only when the run starts
        return RayIngestor(lib, address=args.address, **kw)
    return Ingestor(lib, **kw)


@command
def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import doctor
    out = doctor(args.library or default_library(), repair=args.repair)
    hint = "" if out["ok"] or args.repair else "\nrun `mmrag doctor --repair` to mend what is BAD"
    _emit(args, out, out["text"] + hint)
    return 0 if out["ok"] else 1


def format_hit(rank: int, hit: Hit, width: int = 100) -> str:
    r = hit.record
    loc = ", ".join(f"{k}={v}" if not isinstance(v, list) else f"{k}=[{len(v)} items]"
                    for k, v in r.locator.items())
    found = " ".join(f"{k}#{v}" for k, v in hit.retrievers.items())
    snippet = " ".join(r.text.split())
    snippet = snippet[:width] + ("…" if len(snippet) > width else "")
    return f"{rank:>2}. {hit.score:.4f} {r.modality:<5} {_short(r.source)} [{loc}] ({found})\n    {snippet}"


def _short(source: str) -> str:
    """A source path relative to the working directory when it lies below it."""
    rel = os.path.relpath(source) if os.path.isabs(source) else source
    return source if rel.startswith("..") else rel


@command
def cmd_search(args: argparse.Namespace) -> int:
    image = _load_query_image(args.image) if args.image else None
    if not args.query and image is None:
        raise BadQueryError("give a QUERY, an --image FILE, or both")
    with Library(args.library) as lib:
        hits = lib.search(args.query or "", k=args.k, modality=args.modality, source=args.source,
                          diversity=args.diverse, expand=args.expand, image=image, rerank=args.rerank)
    text = "\n".join(format_hit(i, h) for i, h in enumerate(hits, 1)) or "no results"
    _emit(args, {"query": args.query, "hits": [h.to_dict() for h in hits]}, text)
    return 0


def _load_query_image(path: str):  # noqa: ANN202 - PIL type
    try:
        return open_image(Path(path).read_bytes(), 100_000_000)
    except (IngestError, OSError) as exc:
        raise BadQueryError(f"--image {path}: {exc}") from exc


@command
def cmd_reindex(args: argparse.Namespace) -> int:
    from .ingest import reindex
    with Library(args.library) as lib:
        out = reindex(lib, args.space, progress=None if not args.json else False)
    _emit(args, out, f"space {out['space']}: embedded {out['embedded']} records"
          f" ({out['already']} already had vectors, {len(out['failed'])} failed)")
    return 1 if out["failed"] and not out["embedded"] else 0


@command
def cmd_models(args: argparse.Namespace) -> int:
    with Library(args.library) as lib:
        rows = lib.models()
    lines = []
    for name, r in rows.items():
        state = "available" if r["available"] else "UNAVAILABLE"
        lines.append(f"{name}: {r['encoder']} — {state} ({r.get('source') or r.get('reason', '')})")
        lines += [f"    looked in {p}" for p in r.get("looked_in", [])]
        if not r["available"] and r.get("hint"):
            lines.append(f"    to fix: {r['hint']}")
    _emit(args, {"models": rows}, "\n".join(lines))
    return 0


@command
def cmd_remove(args: argparse.Namespace) -> int:
    with Library(args.library) as lib:
        removed = lib.remove(args.paths)
    gone = set(removed)
    unknown = [p for p in args.paths if str(p) not in gone and str(Path(p).resolve()) not in gone]
    text = "\n".join([f"removed {k} ({n} records)" for k, n in removed.items()] +
                     [f"not in library: {p}" for p in unknown])
    _emit(args, {"removed": removed, "unknown": unknown}, text)
    return 1 if unknown and not removed else 0


@command
def cmd_status(args: argparse.Namespace) -> int:
    with Library(args.library) as lib:
        st = lib.status()
    lines = [f"library: {st['library']}",
             "records: " + (", ".join(f"{k}={v}" for k, v in st["records"].items()) or "none"),
             "sources: " + (", ".join(f"{k}={v}" for k, v in st["sources"].items()) or "none")]
    for n, sp in st["spaces"].items():
        state = "" if sp.get("available", True) else f" UNAVAILABLE: {sp.get('reason', '')}"
        pending = f", {sp['pending']} pending (mmrag reindex --space {n})" if sp["pending"] else ""
        tuned = f", tuned version {sp['version']} of {max(sp['versions'])}" if max(sp["versions"]) > 1 else ""
        lines.append(f"space {n}: {sp['vectors']} vectors ({sp['encoder']}{tuned}, modalities {sp['modalities']}"
                     f"{pending}){state}")
    lex = st["lexical"]
    lines.append(f"lexical: tantivy, {lex['documents']} documents" if lex["backend"] == "tantivy"
                 else f"lexical: SQLite FTS5 ({lex['reason']})")
    lines += [f"  {f['status']}: {f['path']}: {f['error']}" for f in st["failed"]]
    _emit(args, st, "\n".join(lines))
    return 0


@command
def cmd_eval(args: argparse.Namespace) -> int:
    from .evals import run_eval
    result = run_eval(args.name, limit=args.limit, split=args.split, library=args.library, offset=args.offset,
                      dataset=args.dataset, retrieve=args.retrieve, model=args.model, predictions=args.predictions,
                      modes=args.modes)
    _emit(args, result, "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mmrag", description=__doc__)
    p.add_argument("--version", action="version", version=f"mmrag {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--library", default=None, help=f"library folder (default {default_library()})")
    common.add_argument("--json", action="store_true", help="print one JSON object")
    common.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("ingest", parents=[common], help="add files and folders")
    s.add_argument("paths", nargs="+")
    s.add_argument("--prune", action="store_true", help="remove sources whose files disappeared")
    s.add_argument("--text-encoder", default=None, help="text encoder for a new library: minilm (default), hash, or"
                   " st:<hub id or folder> for any sentence-transformers model, e.g. st:BAAI/bge-small-en-v1.5")
    s.add_argument("--follow-links", action="store_true",
                   help="follow symlinks whose target is outside the folders being ingested")
    s.add_argument("--engine", choices=[e.value for e in Engine], default=Engine.LOCAL,
                   help="read and embed here (local) or on a Ray cluster (ray: pip install 'mmrag[ray]')")
    s.add_argument("--address", default=None, help="--engine ray: the Ray cluster to join (default: start one here)")
    s = sub.add_parser("doctor", parents=[common], help="check the library's parts agree; --repair mends them")
    s.add_argument("--repair", action="store_true", help="rebuild indexes, drop orphans, re-read damaged sources")
    s = sub.add_parser("search", parents=[common], help="hybrid search")
    s.add_argument("query", nargs="?", default="")
    s.add_argument("--image", default=None, help="query image: alone (image-to-image) or with QUERY (composed)")
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--modality", action="append", choices=["text", "image", "video", "table"])
    s.add_argument("--source", default=None, help="glob over source paths, e.g. '*/reports/*'")
    s.add_argument("--diverse", action="store_true", help="maximal marginal relevance re-ranking")
    s.add_argument("--expand", action="store_true", help="pseudo-relevance feedback query expansion")
    s.add_argument("--rerank", default=None, metavar="SPEC",
                   help="reorder the top hits: ce:<cross-encoder hub id or folder>, llm or llm:<generator>")
    s = sub.add_parser("remove", parents=[common], help="remove sources (files may already be gone)")
    s.add_argument("paths", nargs="+")
    sub.add_parser("status", parents=[common], help="counts and failed files")
    sub.add_parser("models", parents=[common], help="each model, where it looked, whether it is available")
    s = sub.add_parser("reindex", parents=[common], help="embed records still missing from a space")
    s.add_argument("--space", required=True)
    s = sub.add_parser("eval", parents=[common], help="run an evaluation")
    s.add_argument("name")
    s.add_argument("--limit", type=int, default=None)
    s.add_argument("--split", default=None)
    s.add_argument("--offset", type=int, default=None, help="skip this many examples first")
    s.add_argument("--dataset", default=None, help="which dataset, for evals with several (e.g. moments)")
    s.add_argument("--retrieve", action="store_true", default=None,
                   help="retrieve over the whole collection instead of each example's own context")
    s.add_argument("--model", default=None, help="model name or path, for evals that generate")
    s.add_argument("--predictions", default=None, help="write per-example predictions (JSON Lines) here")
    s.add_argument("--mode", dest="modes", action="append", default=None,
                   help="retrieval evals: a mode to run (repeatable; default: every mode but the slow ones)")
    for name in EXTENSIONS:
        importlib.import_module(f"mmrag.{name}").register(sub, common)
    for ep in entry_points(group=ENTRY_POINTS):
        ep.load()(sub, common)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    handler = getattr(args, "handler", None) or COMMANDS[args.command]
    try:
        return handler(args)
    except MmragError as exc:
        print(f"mmrag {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # the store broke under us (a disk error, a file changed outside mmrag)
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise
        where = args.library or default_library()
        print(f"mmrag {args.command}: error: the library's store ({where}/store.sqlite) failed: {exc}; run "
              f"`mmrag doctor --library {where}`", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
