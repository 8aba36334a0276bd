"""Adaptive fusion: every candidate scored by every retriever, on scales that mean the same across queries.

Rank fusion (RRF) rewards a document that both lists name, however weakly one of them names it, and
cannot see that a document missing from one list would score well there. Here:

1. the candidates are the union of each retriever's top list;
2. each candidate gets every retriever's score: its cosine in each dense space (from its stored vector
   when the index did not return it) and its BM25 score (FTS5, restricted to the candidates);
3. scores are put on absolute scales: cosine as it is (an image space's, whose cosines run about half as
   high, doubled); BM25 as the share of the query's idf mass the document matches (`lexical`);
4. score = w_dense x best dense score + w_lex x lexical share, with `w_lex` growing with how much the
   lexical match carries: an exact match of a rare token (an identifier: a term with digits, or found in
   at most `rare_df` documents) adds `rare_boost` per unit of idf share.

A strong semantic match thus beats a single common-word match (that word's share of the idf mass is
small), and an exact identifier match comes first even when the dense list missed it. Weights were
chosen on TAT-QA dev (context R@1; benchmarks/RESULTS.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..core import Collection
from ..kinds import SpaceInput
from .lexical import LexicalQuery, normalised

Scored = list[tuple[int, float]]
Fused = tuple[int, float, dict[str, int]]


@dataclass(frozen=True)
class Weights:
    dense: float = 1.0
    lexical: float = 1.0
    rare_boost: float = 0.5
    rare_df: int = 3
    image_scale: float = 2.0  # an image space's cosines run about half as high as a text space's


DEFAULT = Weights()
RARE_MIN_DOCS = 200  # in a smaller index every word is rare


def _dense_scores(lib: Collection, space: str, qvec: np.ndarray, ids: list[int], have: Scored) -> dict[int, float]:
    out = dict(have)
    missing = [i for i in ids if i not in out]
    if missing:
        vecs = lib.store.get_vectors(space, missing, qvec.shape[1])
        q = qvec.reshape(-1)
        out.update({i: float(v @ q) for i, v in vecs.items()})
    scale = DEFAULT.image_scale if lib.spaces[space].input == SpaceInput.IMAGE else 1.0
    return {i: s * scale for i, s in out.items()}


def _rare_share(q: LexicalQuery, rare_df: int) -> float:
    """Share of the query's idf mass held by rare tokens the index holds: identifiers (with digits), or
    terms in at most rare_df documents of an index of at least RARE_MIN_DOCS documents."""
    big = q.n >= RARE_MIN_DOCS
    rare = [t for t in q.idf if q.df.get(t, 0) and (any(c.isdigit() for c in t) or (big and q.df[t] <= rare_df))]
    return sum(q.idf[t] for t in rare) / q.mass


def fuse_adaptive(lib: Collection, lists: Mapping[str, Scored], qvecs: Mapping[str, np.ndarray],
                  lexq: LexicalQuery | None, weights: Weights = DEFAULT) -> list[Fused]:
    """Fused (id, score, {retriever: rank}) best first, from each retriever's top list (see the docstring)."""
    ranks: dict[int, dict[str, int]] = {}
    for name, items in lists.items():
        for r, (d, _) in enumerate(items, 1):
            ranks.setdefault(d, {})[name] = r
    ids = list(ranks)
    if not ids:
        return []
    dense = np.zeros(len(ids))
    for space, qvec in qvecs.items():
        got = _dense_scores(lib, space, qvec, ids, lists.get(f"dense:{space}", []))
        dense = np.maximum(dense, np.array([got.get(i, 0.0) for i in ids]))
    lex = np.zeros(len(ids))
    w_lex = weights.lexical
    if lexq is not None and lexq.idf:
        bm = dict(lists.get("bm25", []))  # BM25's own list carries its scores; score the others
        bm.update(lexq.scores_of(lib, [i for i in ids if i not in bm]))
        share = normalised(bm, lexq)
        lex = np.array([share.get(i, 0.0) for i in ids])
        w_lex += weights.rare_boost * _rare_share(lexq, weights.rare_df)
    total = weights.dense * dense + w_lex * lex
    order = np.lexsort((np.array(ids), -total))
    return [(ids[j], float(total[j]), ranks[ids[j]]) for j in order]


def group_best(fused: Sequence[Fused], source_of: Mapping[int, str]) -> list[Fused]:
    """Each source once, at its best record's place and score (document-level ranking)."""
    seen: set[str] = set()
    out = []
    for item in fused:
        src = source_of.get(item[0])
        if src not in seen:
            seen.add(src)
            out.append(item)
    return out
