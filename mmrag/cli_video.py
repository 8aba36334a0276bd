"""`mmrag moments VIDEO "QUERY" [--k N] [--image FILE] [--json]`: time windows of one video matching a query."""
from __future__ import annotations

import argparse

from .cli import _emit, _load_query_image, _short, command
from .errors import BadQueryError
from .library import Library


def _fmt_t(t: float) -> str:
    m, s = divmod(t, 60.0)
    return f"{int(m)}:{s:05.2f}"


def format_moment(rank: int, m: dict, width: int = 90) -> str:
    lines = [e for e in m["evidence"] if e["kind"] == "transcript"]
    said = " / ".join(e["text"] for e in lines[:2])
    said = (said[:width] + "…") if len(said) > width else said
    frames = [e for e in m["evidence"] if e["kind"] == "keyframe"]
    frame = f"  frame {frames[0]['thumbnail']}" if frames and frames[0].get("thumbnail") else ""
    head = f"{rank:>2}. {m['score']:.4f}  {_fmt_t(m['t_start'])}–{_fmt_t(m['t_end'])}{frame}"
    return head + (f"\n    “{said}”" if said else "")


@command
def cmd_moments(args: argparse.Namespace) -> int:
    from .video import available_signals
    image = _load_query_image(args.image) if args.image else None
    if not args.query and image is None:
        raise BadQueryError("give a QUERY, an --image FILE, or both")
    with Library(args.library) as lib:
        moments = lib.moments(args.video, args.query or "", k=args.k, image=image)
        signals = available_signals(lib, args.video)
    out = {"video": moments[0].source if moments else args.video, "query": args.query, "signals": signals,
           "moments": [m.to_dict() for m in moments]}
    if not signals:
        out["note"] = ("no signal to rank with: no CLIP vectors for the keyframes and no transcript"
                       " (`mmrag models` says which models are missing)")
    text = "\n".join(format_moment(i, m) for i, m in enumerate(out["moments"], 1)) or out.get("note", "no moments")
    _emit(args, out, f"{_short(out['video'])} (signals: {', '.join(signals) or 'none'})\n{text}")
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("moments", parents=[common], help="time windows of one ingested video that match a query")
    s.add_argument("video", help="the video's path (or the file name of an ingested video)")
    s.add_argument("query", nargs="?", default="")
    s.add_argument("--k", type=int, default=5, help="how many moments (default 5)")
    s.add_argument("--image", default=None, help="query image: alone or with QUERY (needs a CLIP space)")
