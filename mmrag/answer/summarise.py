"""Summaries of one source, or of a query's evidence, by map-reduce over chunks.

Map: the evidence (every record of the source in reading order, or the top-k hits of a query) is
numbered once, then cut into consecutive batches that fit the model's context; each batch is
summarised with `[n]` citations. Reduce: partial summaries are combined (in groups that fit, again
and again) into one, keeping the markers; the final text is cleaned against the real evidence.
The extractive backend picks each batch's most central sentences instead (no LLM).
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Sequence

from ..core import Collection, HasCollection, as_collection
from ..errors import BadQueryError
from ..generate.extractive import Passage
from ..generate.registry import create_generator
from ..records import Answer, Hit
from ..retrieval import search
from .evidence import Block, number_evidence
from .generation import build_prompt, finish, render_blocks
from .packing import messages_tokens
from .prompts import flatten, reduce_messages, summary_messages

log = logging.getLogger(__name__)
MAX_ROUNDS = 6


def _order_key(hit: Hit) -> tuple:
    loc = hit.record.locator
    rows = loc.get("rows") or [0]
    return (loc.get("page", 0), loc.get("char_start", 0), loc.get("t_start", loc.get("t", 0)), rows[0],
            hit.record.id or 0)


def source_hits(lib: Collection, source: str) -> list[Hit]:
    """Every record of `source` (a path as stored, or a path that resolves to it) in reading order."""
    from pathlib import Path
    ids = lib.store.record_ids_of(source)
    if not ids and Path(source).exists():
        ids = lib.store.record_ids_of(str(Path(source).resolve()))
    if not ids:
        raise BadQueryError(f"source {source!r} is not in the library {lib.root}; see `mmrag status`")
    recs = lib.store.get_records(ids)
    hits = [Hit(r, 1.0, {}) for r in recs.values() if r.text.strip()]
    return sorted(hits, key=_order_key)


def batches(blocks: Sequence[Block], gen: Any, max_tokens: int, focus: str) -> list[list[Block]]:
    """Consecutive blocks grouped so each group's summary prompt fits the context."""
    count = gen.count_tokens
    budget = gen.n_ctx - max_tokens - messages_tokens(count, summary_messages([], focus)) - 64
    out: list[list[Block]] = [[]]
    used = 0
    for b in blocks:
        cost = count(b.text()) + 2
        if out[-1] and used + cost > budget:
            out.append([])
            used = 0
        out[-1].append(b)
        used += cost
    return [g for g in out if g]


def _map(gen: Any, group: list[Block], max_tokens: int, focus: str) -> str:
    if gen.kind == "extractive":
        query = focus or " ".join(b.body for b in group)
        chosen = gen.select(query, [Passage(b.n, b.body) for b in group])
        return " ".join(f"{s} [{n}]" for _, n, s in chosen)
    prompt = build_prompt(gen, group, lambda b, note: summary_messages(b, focus), max_tokens)
    kw = {"images": prompt.images} if gen.kind == "vision" else {}
    return gen.complete(prompt.messages, max_tokens=max_tokens, temperature=0.0, **kw).strip()


def _reduce(gen: Any, partials: list[str], max_tokens: int, focus: str) -> list[str]:
    """One reduce round: partials grouped to fit, each group combined into one."""
    if gen.kind == "extractive":
        blocks = [Passage(i, p) for i, p in enumerate(partials)]
        chosen = gen.select(focus or " ".join(partials), blocks)
        return [" ".join(s for _, _, s in chosen)]
    count = gen.count_tokens
    budget = gen.n_ctx - max_tokens - messages_tokens(count, reduce_messages([], focus)) - 64
    groups: list[list[str]] = [[]]
    used = 0
    for p in partials:
        cost = count(p) + 8
        if groups[-1] and used + cost > budget:
            groups.append([])
            used = 0
        groups[-1].append(p)
        used += cost
    prep = (lambda m: m) if gen.kind == "vision" else flatten
    return [gen.complete(prep(reduce_messages(g, focus)), max_tokens=max_tokens, temperature=0.0).strip()
            if len(g) > 1 else g[0] for g in groups]


def summarise(library: Collection | HasCollection, source: str | None = None, query: str | None = None, *, generator: Any = None,
              k: int = 20, max_tokens: int = 200, focus: str = "") -> Answer:
    """Summarise a source (all its records) or the evidence for `query`, with [n] citations."""
    if (source is None) == (query is None):
        raise BadQueryError("summarise takes a source or a query (one of them)")
    lib = as_collection(library)
    t0 = time.perf_counter()
    gen = create_generator(generator)
    hits = source_hits(lib, source) if source is not None else search(lib, query or "", k=k)
    evidence = number_evidence(hits)
    blocks = render_blocks(evidence, lib, gen)
    focus = focus or (query or "")
    partials = [p for g in batches(blocks, gen, max_tokens, focus) if (p := _map(gen, g, max_tokens, focus))]
    rounds = 0
    while len(partials) > 1 and rounds < MAX_ROUNDS:
        partials, rounds = _reduce(gen, partials, max_tokens, focus), rounds + 1
    done = finish(partials[0] if partials else "", evidence, blocks)
    meta = {**done.meta, "map_batches": len(batches(blocks, gen, max_tokens, focus)), "reduce_rounds": rounds}
    log.info("summary of %s: %s", source or query, json.dumps({k: meta[k] for k in ("map_batches", "reduce_rounds")}))
    return Answer(done.text, citations=done.citations, hits=hits, model=gen.name, evidence=evidence, meta=meta,
                  timings={"total_s": time.perf_counter() - t0})
