"""`mmrag watch PATH... [--poll] [--debounce S]`: keep a library current while its files change (`mmrag.watch`)."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Callable

from .cli import command
from .library import Library
from .watch import Batch, Watcher


def _printer(as_json: bool) -> Callable[[Batch], None]:
    def show(batch: Batch) -> None:
        if as_json:
            print(json.dumps({"paths": batch.paths, "report": batch.report, "removed": batch.removed,
                              "error": batch.error or None}, ensure_ascii=False), flush=True)
            return
        print(f"{time.strftime('%H:%M:%S')} {batch.summary()}", flush=True)
        for p in (batch.report or {}).get("problems", []):
            print(f"  {p['status']}: {p['path']}: {p['message']}", flush=True)
        for path, n in batch.removed.items():
            print(f"  removed: {path} ({n} records)", flush=True)
    return show


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@command
def cmd_watch(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # stop between batches, as on Ctrl+C
    # Ctrl+C stops it even when started with SIGINT ignored (a parent that ignored it, a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with Library(args.library) as lib:
        watcher = Watcher(lib, args.paths, debounce_s=args.debounce, poll=args.poll, poll_s=args.interval,
                          catch_up=not args.no_catch_up, on_batch=_printer(args.json)).start()
        if not args.json:
            how = "polling" if watcher.mode == "poll" else "file events"
            print(f"watching {', '.join(map(str, watcher.roots))} ({how}) for library {lib.root}; Ctrl+C stops",
                  file=sys.stderr, flush=True)
        watcher.wait()
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("watch", parents=[common], help="keep the library current while files change")
    s.add_argument("paths", nargs="+", help="files and folders to watch (folders recursively)")
    s.add_argument("--poll", action="store_true", help="poll instead of file-system events (network drives)")
    s.add_argument("--interval", type=float, default=2.0, help="seconds between polls (default 2)")
    s.add_argument("--debounce", type=float, default=1.0,
                   help="seconds a changed file must stay quiet before it is read (default 1)")
    s.add_argument("--no-catch-up", action="store_true", help="skip the first ingest of PATHs at start")
