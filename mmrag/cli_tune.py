"""`mmrag tune`: fine-tune a space's encoder on the library's own data; `--list` and `--restore V`."""
from __future__ import annotations

import argparse
import sys

from encoders.tuning import TrainConfig

from .cli import _emit, command
from .errors import ConfigError
from .library import Library


def _show_versions(args: argparse.Namespace, lib: Library) -> int:
    from .tune import version_table
    rows = version_table(lib.core, args.space)
    text = "\n".join(f"{'*' if r['serving'] else ' '} v{r['version']}  {r['model']}" for r in rows)
    _emit(args, {"space": args.space, "versions": rows}, text)
    return 0


@command
def cmd_tune(args: argparse.Namespace) -> int:
    with Library(args.library) as lib:
        if args.list:
            return _show_versions(args, lib)
        if args.restore is not None:
            n = lib.restore(args.restore, args.space, progress=None)
            _emit(args, {"space": args.space, "version": args.restore, "embedded": n},
                  f"space {args.space}: version {args.restore} serves ({n} records embedded)")
            return 0
        if not args.pairs and not args.synthetic and not lib.core.store.feedback():
            raise ConfigError("nothing to learn from: give --pairs FILE.jsonl, --synthetic N, "
                              "or mark hits in the app first")
        cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          max_seconds=args.max_minutes * 60 if args.max_minutes else None)
        report = lib.tune(args.pairs, args.space, args.synthetic, args.generator, not args.no_feedback,
                          not args.no_distill, cfg, progress=None)
    d = report.to_dict()
    t = d["train"]
    print(f"pairs: {d['pairs']}" + (f"; synthetic {d['synthetic']}" if d["synthetic"] else ""), file=sys.stderr)
    _emit(args, d, f"space {d['space']}: version {d['version']} serves; {t['steps']} steps on {d['examples']} "
                   f"examples in {t['seconds']} s (loss {t['first_loss']} -> {t['last_loss']}); "
                   f"{d['embedded']} records embedded; `mmrag tune --restore {d['version'] - 1}` goes back")
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("tune", parents=[common], help="fine-tune the retriever on this library's data")
    s.add_argument("--pairs", default=None, metavar="FILE.jsonl",
                   help='(query, positive) lines: {"query", "positive"|"id"|"image", "negatives"?}')
    s.add_argument("--synthetic", type=int, default=0, metavar="N",
                   help="also let the LLM write questions for N passages (kept if they retrieve their passage)")
    s.add_argument("--generator", default=None, help="the LLM for --synthetic (default: the installed one)")
    s.add_argument("--space", default="text", help="the space to tune (default text; clip takes image pairs)")
    s.add_argument("--epochs", type=int, default=1)
    s.add_argument("--batch-size", type=int, default=16)
    s.add_argument("--lr", type=float, default=2e-5)
    s.add_argument("--max-minutes", type=float, default=None, help="stop training after this long")
    s.add_argument("--no-feedback", action="store_true", help="ignore hits marked in the app")
    s.add_argument("--no-distill", action="store_true", help="contrastive loss only (no margin distillation)")
    s.add_argument("--list", action="store_true", help="list the space's versions (* serves)")
    s.add_argument("--restore", type=int, default=None, metavar="V", help="make version V serve again")
    s.set_defaults(handler=cmd_tune)
