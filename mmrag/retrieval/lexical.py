"""BM25 with scores a fusion can compare across queries: tantivy when its index is current, else FTS5.

The library's tantivy index (`mmrag.core.lexical_index`) serves when it reflects the store and no source
glob is given (its filters are modalities); SQLite FTS5 otherwise. Both rank with BM25 (k1 = 1.2,
b = 0.75): the sum over matched terms of idf(t) x a tf/length factor, where idf(t) is
log((N - n_t + 0.5) / (n_t + 0.5)) in FTS5 and ln(1 + (N - n_t + 0.5) / (n_t + 0.5)) in tantivy, and the
factor is 1 for a term found once in a document of average length. Dividing a document's score by the
query's **idf mass** (the sum of the backend's idf over the query's terms, including those no document
holds) gives the share of the query's lexical evidence the document matches: about 1 when it holds every
term, small when it matches only a common word. FTS5's document frequencies are counted once per store
generation; tantivy keeps its own.

Very common terms (in more than `COMMON_SHARE` of the rows, when the query has other terms) are left out
of the query, with either backend so that both rank alike: FTS5 scores every row that matches any term of
an OR query, so one such term makes a query scan most of the index, while its idf adds almost nothing to
any ranking.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from indexes.lexical import LexicalIndex

from ..core import Collection
from ..core.text import STOPWORDS, tokens

COMMON_SHARE = 0.2
# Postings one FTS5 query may read, most common terms left out first (0: no limit). Off by default: at 240k
# records it cut BM25 p95 4x but lost R@1 (benchmarks/RESULTS.md, "Lexical search at scale").
MAX_POSTINGS = 0
_CACHE_TERMS = 20_000


@dataclass
class LexicalQuery:
    """A query's terms as FTS5 will score them."""

    terms: list[str]
    idf: dict[str, float] = field(default_factory=dict)
    df: dict[str, int] = field(default_factory=dict)  # documents holding each term
    n: int = 0  # documents in the index
    dropped: list[str] = field(default_factory=list)  # too common to be worth scanning for
    index: LexicalIndex | None = None  # tantivy (terms are its tokens), or None: FTS5

    @property
    def mass(self) -> float:
        return sum(self.idf.values()) or 1.0

    @property
    def kept(self) -> list[str]:
        return [t for t in self.terms if t not in self.dropped]

    def fts(self) -> str:
        return " OR ".join(f'"{t}"' for t in self.kept)

    def top(self, lib: Collection, k: int, modality: Sequence[str] | None = None,
            source: str | None = None) -> list[tuple[int, float]]:
        """Top-k (id, BM25) of the library's records (a query with a `source` glob has no tantivy index)."""
        if self.index is not None:
            return self.index.search(self.kept, k, modality)
        return lib.store.bm25(self.fts(), k, modality, source)

    def scores_of(self, lib: Collection, ids: Sequence[int]) -> dict[int, float]:
        """BM25 of the given records (as `top` scores them); unmatched ids are left out."""
        if self.index is not None:
            return self.index.scores_of(self.kept, ids)
        return lib.store.bm25_of(self.fts(), ids)


class DocFreqs:
    """Document frequencies per term, cached for one store generation."""

    def __init__(self) -> None:
        self._gen = -1
        self._n = 0
        self._df: dict[str, int] = {}

    def stats(self, lib: Collection, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        gen = lib.store.generation
        if gen != self._gen or len(self._df) > _CACHE_TERMS:
            self._gen, self._n, self._df = gen, lib.store.fts_count(), {}
        for t in terms:
            if t not in self._df:
                self._df[t] = lib.store.doc_freq(t)
        return self._n, {t: self._df[t] for t in terms}


_FREQS: dict[str, DocFreqs] = {}


def lexical_query(lib: Collection, text: str, extra_terms: Sequence[str] = (), source: str | None = None
                  ) -> LexicalQuery:
    """The query's terms (stopwords out, unless nothing else is left) with their idf: tantivy's tokens when
    its index is current (and no `source` glob is asked for, which only FTS5 filters), else FTS5's words."""
    words = tokens(text)
    terms = [t for t in dict.fromkeys(words) if t not in STOPWORDS] or list(dict.fromkeys(words))
    terms += [t for t in extra_terms if t not in terms]
    ix = lib.lexical_index() if source is None and terms else None
    if ix is not None:
        terms = list(dict.fromkeys(tok for t in terms for tok in ix.analyze(t)))
    q = LexicalQuery(terms, index=ix)
    if not terms:
        return q
    if ix is not None:
        q.n, q.df = ix.ntotal, ix.doc_freqs(terms)
        q.idf = {t: math.log(1 + (q.n - d + 0.5) / (d + 0.5)) for t, d in q.df.items()}  # tantivy's idf
    else:
        freqs = _FREQS.setdefault(str(lib.root), DocFreqs())
        q.n, q.df = freqs.stats(lib, terms)
        q.idf = {t: max(math.log((q.n - d + 0.5) / (d + 0.5)), 1e-6) for t, d in q.df.items()}  # unmatched too
    df, n = q.df, q.n
    common = [t for t in terms if df[t] > COMMON_SHARE * n]
    if len(common) < len([t for t in terms if df[t]]):
        q.dropped = common
    q.dropped += over_budget([t for t in terms if t not in q.dropped and df[t]], df)
    return q


def over_budget(terms: Sequence[str], df: dict[str, int], budget: int | None = None) -> list[str]:
    """The most common of `terms` to leave out so that FTS5 reads at most `budget` postings (the rarest term is
    always kept). FTS5 scores every row that holds any term of an OR query, so its time grows with the
    postings read. Dropping terms changes the ranking: it is a trade of quality for time."""
    budget = MAX_POSTINGS if budget is None else budget
    if budget <= 0:
        return []
    kept = sorted(terms, key=lambda t: df[t])
    total = sum(df[t] for t in kept)
    dropped = []
    while len(kept) > 1 and total > budget:
        t = kept.pop()
        total -= df[t]
        dropped.append(t)
    return dropped


def normalised(scores: Sequence[tuple[int, float]] | dict[int, float], q: LexicalQuery) -> dict[int, float]:
    """BM25 scores divided by the query's idf mass (see the module docstring)."""
    items = scores.items() if isinstance(scores, dict) else scores
    return {d: x / q.mass for d, x in items}
