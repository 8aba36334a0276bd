"""The extractive generator: no LLM, the answer is the evidence sentences that best match the question.

Each numbered passage is split into sentences (and table lines); a sentence scores by the
idf-weighted share of the question's content words it contains, blended with the cosine
similarity of sentence embeddings when an encoder is given (`encode(texts) -> unit vectors`).
The best sentences above a threshold are returned in score order, each followed by its [n].
A passage that carries a computed answer (a table query's result) is quoted first.
When nothing matches, it says the evidence does not answer the question.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..core.text import QUERY_STOPWORDS

NOT_FOUND = "The evidence does not answer this question."
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n+")
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
Encode = Callable[[Sequence[str]], np.ndarray]


@dataclass
class Passage:
    """One numbered piece of evidence as text; `answer` is set for a computed result (table query)."""

    n: int
    text: str
    answer: str | None = None


def content_words(text: str) -> list[str]:
    """Lowercase words minus stopwords, with a crude plural/verb suffix strip."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in QUERY_STOPWORDS:
            continue
        if len(w) > 4 and w.isalpha():
            for suf in ("ing", "ed", "es", "s"):
                if w.endswith(suf):
                    w = w[: -len(suf)]
                    break
        out.append(w)
    return out


def split_sentences(text: str, max_chars: int = 400) -> list[str]:
    """Sentences and lines of `text`, long ones cut at `max_chars`."""
    out = []
    for s in _SENT.split(text):
        s = " ".join(s.split())
        while len(s) > max_chars:
            cut = s.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            out.append(s[:cut])
            s = s[cut:].strip()
        if len(s) > 2:
            out.append(s)
    return out


def cite(sentence: str, n: int) -> str:
    """`sentence` with ` [n]` before its final punctuation."""
    s = sentence.rstrip()
    end = len(s) - len(s.rstrip(".!?"))
    return f"{s[:len(s) - end]} [{n}]{s[len(s) - end:]}" if end else f"{s} [{n}]"


class ExtractiveGenerator:
    """Answers by quoting the best-matching evidence sentences, each cited."""

    kind = "extractive"
    name = "extractive"

    def __init__(self, max_sentences: int = 3, min_score: float = 0.25, relative: float = 0.6,
                 encode: Encode | None = None, dense_weight: float = 0.5, n_ctx: int = 1 << 20) -> None:
        self.max_sentences, self.min_score, self.relative = max_sentences, min_score, relative
        self.encode, self.dense_weight = encode, dense_weight
        self.n_ctx = n_ctx  # words; large by default (no model context), small to force map-reduce batches

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def score(self, question: str, sentences: list[str], encode: Encode | None = None) -> np.ndarray:
        """Per-sentence match in [0, 1]: weighted word overlap, blended with embedding cosine."""
        encode = encode or self.encode
        q = list(dict.fromkeys(content_words(question)))
        if not sentences:
            return np.zeros(0)
        bags = [set(content_words(s)) for s in sentences]
        df = {w: sum(w in b for b in bags) for w in q}
        idf = {w: math.log(1 + len(bags) / (1 + df[w])) + 0.1 for w in q}
        total = sum(idf.values()) or 1.0
        lex = np.array([sum(idf[w] for w in q if w in b) / total for b in bags])
        if encode is None:
            return lex
        vecs = np.asarray(encode([question, *sentences]), dtype=np.float32)
        cos = np.clip(vecs[1:] @ vecs[0], 0.0, 1.0)
        return (1 - self.dense_weight) * lex + self.dense_weight * cos

    def select(self, question: str, passages: Sequence[Passage],
               encode: Encode | None = None) -> list[tuple[float, int, str]]:
        """(score, n, sentence) of the chosen sentences, best first."""
        cands = [(p.n, s) for p in passages if p.answer is None for s in split_sentences(p.text)]
        scores = self.score(question, [s for _, s in cands], encode)
        order = np.argsort(-scores, kind="stable") if len(cands) else []
        best = float(scores[order[0]]) if len(cands) else 0.0
        chosen: list[tuple[float, int, str]] = []
        seen: set[str] = set()
        for i in order:
            sc, (n, s) = float(scores[i]), cands[i]
            if sc < self.min_score or sc < self.relative * best or len(chosen) >= self.max_sentences:
                break
            if s.lower() not in seen:
                seen.add(s.lower())
                chosen.append((sc, n, s))
        return chosen

    def answer_stream(self, question: str, passages: Sequence[Passage], encode: Encode | None = None,
                      **_: Any) -> Iterator[str]:
        """The answer, sentence by sentence, each with its [n] (`encode` overrides the instance's)."""
        computed = [p for p in passages if p.answer]
        pieces = [f"{p.answer} [{p.n}]" for p in computed]
        pieces += [cite(s, n) for _, n, s in self.select(question, passages, encode)]
        if not pieces:
            yield NOT_FOUND
            return
        for i, piece in enumerate(pieces):
            yield ("" if i == 0 else "\n") + piece

    def answer(self, question: str, passages: Sequence[Passage], **options: Any) -> str:
        return "".join(self.answer_stream(question, passages, **options))
