"""`mmrag serve`: the web app (Gradio) over one library.

The subcommand is registered through the `mmrag.commands` entry point (pyproject.toml), so nothing under
`mmrag/` imports the app. Gradio is imported only when the command runs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mmrag import ConfigError, DependencyMissingError, default_library


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """"user:pass" -> (user, pass); None or "" -> no login."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError("--auth must look like USER:PASSWORD (or set MMRAG_AUTH)")
    return user, password


def cmd_serve(args: argparse.Namespace) -> int:
    auth = parse_auth(args.auth if args.auth is not None else os.environ.get("MMRAG_AUTH"))
    try:
        from .app import launch
        from .service import Settings
    except ImportError as exc:
        raise DependencyMissingError(f"the web app needs gradio ({exc}); install it with: "
                                     "pip install 'mmrag[ui]'") from exc
    library = Path(args.library) if args.library else default_library()
    if not (library / "library.json").exists():
        print(f"note: {library} is a new, empty library; add files in the Library tab or with `mmrag ingest`",
              file=sys.stderr)
    settings = Settings(library=library, generator=args.generator, k=args.k, concurrency=args.concurrency,
                        folder_roots=[Path(p).resolve() for p in (args.folder_root or [])],
                        max_upload_mb=args.max_upload_mb, allowed_hosts=list(args.allowed_host or []),
                        mcp=args.mcp, table_llm=args.table_llm, warm_up=not args.no_warm_up)
    server = launch(settings, host=args.host, port=args.port, auth=auth, insecure=args.insecure)
    login = f" (sign in as {auth[0]})" if auth else ""
    if args.json:
        print(json.dumps({"url": server.url, "library": str(server.service.root), "auth": bool(auth),
                          "api": f"{server.url}mmrag/api/", "mcp": server.mcp_url}))
    else:
        print(f"mmrag app for library {server.service.root}: {server.url}{login}  (Ctrl+C stops it)")
        print(f"  JSON API: {server.url}mmrag/api/ (search, ask, ingest, status)"
              + (f"; MCP (streamable HTTP): {server.mcp_url}" if server.mcp_url else ""))
    sys.stdout.flush()
    server.wait()
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `mmrag serve` to the mmrag command line (the `mmrag.commands` entry point)."""
    s = sub.add_parser("serve", parents=[common], help="the web app: ask, search, manage the library")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=None, help="port (default: 7860, or the next free one)")
    s.add_argument("--auth", default=None, metavar="USER:PASSWORD",
                   help="require this login (or set MMRAG_AUTH=USER:PASSWORD, which stays out of `ps`)")
    s.add_argument("--generator", default=None, help="answer generator, e.g. extractive (default: best installed)")
    s.add_argument("--k", type=int, default=8, help="pieces of evidence per answer (default 8)")
    s.add_argument("--concurrency", type=int, default=4, help="requests served at once (default 4)")
    s.add_argument("--folder-root", action="append", metavar="DIR",
                   help="server folders under DIR may be added from the app (repeatable; default: none, off)")
    s.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a Host/Origin name to accept besides the bound address and localhost (repeatable)")
    s.add_argument("--insecure", action="store_true",
                   help="allow a non-loopback --host without --auth (anyone who can reach it can use the library)")
    s.add_argument("--max-upload-mb", type=float, default=100.0, help="largest upload accepted (default 100)")
    s.add_argument("--mcp", action="store_true",
                   help="also serve the tools search, ask, moments, table_query, status over MCP at /gradio_api/mcp/")
    s.add_argument("--table-llm", default=None, metavar="NAME",
                   help="the LLM that writes SQL for table_query (default: --generator if an LLM, else the installed one)")
    s.add_argument("--no-warm-up", action="store_true",
                   help="do not load the encoders, the model and its prompt states at start (the first question waits)")
    s.set_defaults(handler=cmd_serve)
