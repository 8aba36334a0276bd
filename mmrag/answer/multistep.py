"""Multi-step retrieval: the model notes what the evidence says and may ask for one more search.

Each step shows the model the evidence so far and asks for `NOTE: ...` (an intermediate answer,
cited) and `SEARCH: <query>` or `DONE`. A new query's hits that are not already evidence are
appended with the next numbers (earlier numbers never change, so notes stay valid). It stops at
`steps` - 1 follow-ups, on DONE, on a repeated query, or when a search adds nothing new.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Sequence

from ..core import Collection
from ..records import Evidence
from ..retrieval import search
from .citations import clean_citations
from .evidence import dedupe_hits, number_evidence
from .generation import build_prompt, render_blocks
from .prompts import follow_up_messages

log = logging.getLogger(__name__)
_NOTE = re.compile(r"NOTE\s*:\s*(.*?)(?=\n\s*(?:SEARCH|DONE)\b|\Z)", re.S | re.I)
_SEARCH = re.compile(r"SEARCH\s*:\s*(.+)", re.I)
STEP_TOKENS = 120


def parse_follow_up(reply: str) -> tuple[str, str | None]:
    """(note, follow-up query or None) from a step reply."""
    note = m.group(1).strip() if (m := _NOTE.search(reply)) else ""
    query = None
    if (s := _SEARCH.search(reply)) and not re.match(r"\s*(none|n/?a|done)\b", s.group(1), re.I):
        query = s.group(1).strip().strip('"').splitlines()[0].strip()[:200] or None
    if not note and query is None and not re.search(r"\bDONE\b", reply):
        note = reply.strip()
    return note, query


def _record_ids(evidence: Sequence[Evidence]) -> set[int]:
    return {e.hit.record.id for e in evidence if e.hit.record.id is not None}


def gather(lib: Collection, gen: Any, question: str, evidence: list[Evidence], *, steps: int = 2, k: int = 8,
           search_options: dict[str, Any] | None = None) -> tuple[list[Evidence], list[str], list[str]]:
    """(evidence with follow-up hits appended, the notes, the follow-up queries)."""
    evidence, notes, queries = list(evidence), [], []
    for _ in range(max(steps - 1, 0)):
        blocks = render_blocks(evidence, lib, gen)
        prompt = build_prompt(gen, blocks, lambda b, note: follow_up_messages(question, b, note), STEP_TOKENS)
        kw = {"images": prompt.images} if gen.kind == "vision" else {}
        reply = gen.complete(prompt.messages, max_tokens=STEP_TOKENS, temperature=0.0, **kw)
        note, query = parse_follow_up(reply)
        if note:
            notes.append(clean_citations(note, [b.n for b in prompt.packed.blocks])[0])
        if query is None or query.lower() in (q.lower() for q in [question, *queries]):
            break
        queries.append(query)
        have = _record_ids(evidence)
        new = [h for h in dedupe_hits(search(lib, query, k=k, **(search_options or {})))
               if h.record.id not in have]
        log.info("follow-up %r added %d hits", query, len(new))
        if not new:
            break
        evidence += number_evidence(new, start=len(evidence) + 1)
    return evidence, notes, queries
