"""Tighter evidence: of a long text block, the LLM reads only the sentences that bear on the question.

A retrieved chunk holds up to ~1,000 characters, and the answer usually sits in one or two of its
sentences; prompt reading is most of an answer's time on a CPU. For each text block (passages and OCR
text) longer than `chars`, sentences are scored by the question's content words they hold (suffixes
stripped as the extractive backend does), each word weighted by how rare it is among the blocks
(log(1 + blocks / blocks holding it)). The best sentence is kept (and any that score as high), then the
sentence after it (answers often run on), then the next best while they fit in `chars`; kept sentences
stay in reading order and an elision reads "…". A block no question word reaches keeps its opening
sentences. Tables, query results and video transcripts are left whole. A weaker hit gets a share of
`chars` in proportion to its score against the best hit's (at least `MIN_CHARS`): a block scoring a
quarter of the best is read as its one best sentence, since it is there for context, not for the answer.
Citations are checked against the focused text, which is what the model read.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

from ..generate.extractive import content_words
from ..kinds import Modality
from .evidence import Block

FOCUS_CHARS = 420
MIN_CHARS = 100  # the least a weak hit's budget falls to: about one sentence
ELISION = "…"
_SPLIT = re.compile(r"(?<=[.!?])(?<!\b\d\.)(?<!\b\d\d\.)\s+(?=\S)|\n\s*\n")  # "3. Luca" is a list item, not an end


def sentences(text: str, chars: int = FOCUS_CHARS) -> list[str]:
    """The sentences of `text` (hard-wrapped lines joined), stripped; a piece with no sentence end that is
    longer than `chars` (OCR lines, lists) is split into its lines."""
    out = []
    for piece in _SPLIT.split(text):
        lines = [ln.strip() for ln in piece.splitlines() if ln.strip()]
        out += lines if len(piece) > chars else [" ".join(lines)] if lines else []
    return out


def _weights(question: str, blocks: Sequence[Block]) -> dict[str, float]:
    """Question words, each weighted by its rarity among the blocks."""
    words = set(content_words(question))
    df = Counter(w for b in blocks for w in words & set(content_words(b.body)))
    return {w: math.log(1 + len(blocks) / (1 + df[w])) for w in words}


def _chosen(scores: list[float], lengths: list[int], chars: int) -> list[int]:
    """Indices of the sentences to keep: the best (all that tie with it), the one after the first best, then
    the others that hold a question word, best first, while they fit; with no question word anywhere, the
    opening sentences."""
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    opening = scores[best] <= 0
    if opening:
        candidates = list(range(len(scores)))
    else:
        rest = sorted((i for i, x in enumerate(scores) if x > 0 and i != best), key=lambda i: (-scores[i], i))
        ties = [i for i in rest if scores[i] >= scores[best]]
        candidates = [best, *ties, *([best + 1] if best + 1 < len(scores) else []), *rest]
    keep: list[int] = []
    used = 0
    for i in candidates:
        if i in keep:
            continue
        if keep and used + lengths[i] > chars:
            if opening:
                break
            continue
        keep.append(i)
        used += lengths[i] + 1
    return sorted(keep)


def focus_text(text: str, weights: dict[str, float], chars: int = FOCUS_CHARS) -> str:
    """`text` cut to its sentences that bear on the question (unchanged when it is short already)."""
    if len(text) <= chars:
        return text
    sents = sentences(text, chars)
    if len(sents) < 2:
        return text
    scores = [sum(weights.get(w, 0.0) for w in set(content_words(s))) for s in sents]
    keep = _chosen(scores, [len(s) for s in sents], chars)
    out = [ELISION] if keep[0] > 0 else []
    for prev, i in zip([keep[0] - 1, *keep], keep):
        out += [ELISION, sents[i]] if i != prev + 1 else [sents[i]]
    return " ".join(out + ([ELISION] if keep[-1] < len(sents) - 1 else []))


def budget(score: float, best: float, chars: int) -> int:
    """A block's characters: `chars` for the best hit, its score's share of it for weaker ones."""
    if best <= 0 or score >= best:
        return chars
    return max(min(MIN_CHARS, chars), round(chars * max(score, 0.0) / best))


def focus_blocks(blocks: Sequence[Block], question: str, chars: int = FOCUS_CHARS) -> list[Block]:
    """The blocks with each long text body focused on `question` (chars <= 0: unchanged)."""
    if chars <= 0:
        return list(blocks)
    weights = _weights(question, blocks)
    best = max((b.ev.hit.score for b in blocks), default=0.0)
    for b in blocks:
        if b.ev.hit.record.modality == Modality.TEXT and not b.images and b.ev.sql is None:
            b.body = focus_text(b.body, weights, budget(b.ev.hit.score, best, chars))
    return list(blocks)
