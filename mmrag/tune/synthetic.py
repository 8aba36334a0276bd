"""Synthetic training pairs: the LLM writes a question for passages of the library, and a question is
kept only when the passage retrieves it back (round-trip filtering, as in Promptagator and InPars):
in the top `keep_top` of the library's own search. No labels are needed: the user's data teaches.
"""
from __future__ import annotations

import logging
import random
import re
import sys
from typing import Any

from tqdm import tqdm

from ..core import Collection
from ..errors import ConfigError
from ..generate.registry import create_generator
from ..retrieval import search
from .pairs import Pair

log = logging.getLogger(__name__)
MIN_CHARS = 120  # passages shorter than this rarely hold a question's answer
PASSAGE_CHARS = 1200
SYSTEM = ("You write search questions. Given a passage, write one short question that a person would ask "
          "and that only this passage answers. Use the passage's own names and numbers. Reply with the "
          "question only.")


def _question(gen: Any, text: str) -> str:
    msgs = [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Passage:\n{text[:PASSAGE_CHARS]}\n\nQuestion:"}]
    out = gen.complete(msgs, max_tokens=48, temperature=0.0, stop=["\n"]).strip()
    out = re.sub(r"^(question|q)\s*[:.]\s*", "", out, flags=re.I).strip(" \"'")
    return out if 8 <= len(out) <= 300 and out.endswith("?") else ""


def candidates(c: Collection, modalities: list[str], n: int, seed: int = 0) -> list[int]:
    """Up to `n` record ids long enough to ask about, sampled evenly over the library's records of the space's
    modalities: passages and table row groups alike, since users ask about both."""
    ids = c.store.filter_ids(modalities).tolist()
    random.Random(seed).shuffle(ids)
    out: list[int] = []
    for start in range(0, len(ids), 256):
        recs = c.store.get_records(ids[start:start + 256])
        out += [i for i in ids[start:start + 256] if i in recs and len(recs[i].text) >= MIN_CHARS]
        if len(out) >= n:
            break
    return out[:n]


def synthetic_pairs(c: Collection, modalities: list[str], n: int, generator: str | None = None,
                    keep_top: int = 5, progress: bool | None = None, seed: int = 0) -> tuple[list[Pair], dict]:
    """Pairs (question, record id) for up to `n` passages, and counts (asked, written, kept)."""
    gen = create_generator(generator)
    if getattr(gen, "kind", "") not in ("chat", "vision"):
        raise ConfigError(f"synthetic pairs need an LLM to write questions, and the generator is {gen.name!r}; "
                          "install one (`make models`) or pass --generator")
    ids = candidates(c, modalities, n, seed)
    pairs: list[Pair] = []
    written = 0
    bar = tqdm(ids, desc="synthetic questions", unit="q",
               disable=not (sys.stderr.isatty() if progress is None else progress))
    for rid in bar:
        rec = c.store.get_records([rid]).get(rid)
        if rec is None or not (q := _question(gen, rec.text)):
            continue
        written += 1
        hits = search(c, q, k=keep_top, modality=modalities)
        if any(int(h.record.id) == rid for h in hits):
            pairs.append(Pair(query=q, id=rid, origin="synthetic"))
        bar.set_postfix(kept=len(pairs))
    log.info("synthetic pairs: %d passages, %d questions written, %d kept (retrieve their passage in the top %d)",
             len(ids), written, len(pairs), keep_top)
    return pairs, {"passages": len(ids), "written": written, "kept": len(pairs)}
