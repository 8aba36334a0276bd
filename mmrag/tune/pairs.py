"""Training pairs for `mmrag tune`: (query, positive) from a JSONL file, from feedback in the app, or
written by the LLM (`mmrag.tune.synthetic`).

A JSONL line is one object: `{"query": "...", "positive": "passage text"}`, `{"query": "...", "id": 42}`
(a record of the library), or for an image space `{"query": "a caption", "image": "photo.jpg"}`; an
optional `"negatives": ["...", ...]` adds hard negatives of the user's own. Bad lines are errors naming
the file, the line and what is wrong.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..core import Collection
from ..errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class Pair:
    """A query and what should be found for it: a passage, a record of the library, or an image file."""

    query: str
    positive: str | None = None
    id: int | None = None
    image: str | None = None
    negatives: list[str] = field(default_factory=list)
    origin: str = "file"  # file, feedback, synthetic


def _pair(obj: object, where: str) -> Pair:
    if not isinstance(obj, dict) or not isinstance(obj.get("query"), str) or not obj["query"].strip():
        raise ConfigError(f"{where}: expected an object with a non-empty \"query\"")
    given = [k for k in ("positive", "id", "image") if obj.get(k) is not None]
    if len(given) != 1:
        raise ConfigError(f"{where}: give exactly one of \"positive\", \"id\", \"image\" (got {given or 'none'})")
    negs = obj.get("negatives") or []
    if not isinstance(negs, list) or not all(isinstance(n, str) for n in negs):
        raise ConfigError(f"{where}: \"negatives\" must be a list of strings")
    rid = obj.get("id")
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, int)):
        raise ConfigError(f"{where}: \"id\" must be an integer record id, got {rid!r}")
    return Pair(query=obj["query"].strip(), positive=obj.get("positive"), id=rid, image=obj.get("image"),
                negatives=negs)


def load_pairs(path: str | Path) -> list[Pair]:
    """Read a JSONL file of pairs (blank lines are skipped)."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read pairs file {p}: {exc}") from exc
    pairs = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}:{n}: not JSON ({exc.msg})") from exc
        pairs.append(_pair(obj, f"{p}:{n}"))
    if not pairs:
        raise ConfigError(f"pairs file {p} holds no pairs")
    return pairs


def feedback_pairs(c: Collection) -> tuple[list[Pair], dict[str, set[int]]]:
    """Pairs from hits marked useful in the app, and per query the ids marked wrong (hard negatives)."""
    pairs, wrong = [], {}
    for query, rid, useful in c.store.feedback():
        if useful:
            pairs.append(Pair(query=query, id=rid, origin="feedback"))
        else:
            wrong.setdefault(query, set()).add(rid)
    return pairs, wrong
