"""Rank fusion and diversity.

Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009): score(d) = sum_r w_r / (K + rank_r(d)),
with K = 60 as in the paper. Convex combination: score(d) = sum_r w_r * minmax_r(s_r(d)), each
retriever's scores rescaled to [0, 1] over its own candidate list (absent = 0); it uses the score
gaps RRF ignores, and wins when one retriever is much stronger (tune the weights on dev data). Maximal marginal relevance (Carbonell & Goldstein, 1998) re-ranks
for diversity: argmax  lambda * rel(d) - (1 - lambda) * max_{s in selected} sim(d, s).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

RRF_K = 60


def rrf(rankings: Mapping[str, Sequence[int]], k: int = RRF_K,
        weights: Mapping[str, float] | None = None) -> list[tuple[int, float, dict[str, int]]]:
    """Fuse ranked id lists; returns (id, score, {retriever: rank}) best first."""
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for name, ids in rankings.items():
        w = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, doc in enumerate(ids, start=1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + rank)
            ranks.setdefault(doc, {})[name] = rank
    order = sorted(scores, key=lambda d: (-scores[d], d))
    return [(d, scores[d], ranks[d]) for d in order]


def convex(scored: Mapping[str, Sequence[tuple[int, float]]],
           weights: Mapping[str, float] | None = None) -> list[tuple[int, float, dict[str, int]]]:
    """Fuse (id, score) lists by a weighted sum of min-max normalised scores."""
    total: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for name, items in scored.items():
        if not items:
            continue
        w = 1.0 if weights is None else weights.get(name, 1.0)
        xs = np.array([x for _, x in items], dtype=np.float64)
        lo, span = xs.min(), xs.max() - xs.min()
        for rank, (doc, x) in enumerate(items, start=1):
            total[doc] = total.get(doc, 0.0) + w * ((x - lo) / span if span > 0 else 1.0)
            ranks.setdefault(doc, {})[name] = rank
    order = sorted(total, key=lambda d: (-total[d], d))
    return [(d, total[d], ranks[d]) for d in order]


def mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, lam: float = 0.7) -> list[int]:
    """Indices of `k` items chosen by MMR; relevance is rescaled to [0, 1] first."""
    n = len(relevance)
    if n == 0:
        return []
    rel = np.asarray(relevance, dtype=np.float64)
    span = rel.max() - rel.min()
    rel = (rel - rel.min()) / span if span > 0 else np.ones(n)
    sims = vectors @ vectors.T
    chosen = [int(np.argmax(rel))]
    max_sim = sims[chosen[0]].copy()
    while len(chosen) < min(k, n):
        score = lam * rel - (1 - lam) * max_sim
        score[chosen] = -np.inf
        nxt = int(np.argmax(score))
        chosen.append(nxt)
        max_sim = np.maximum(max_sim, sims[nxt])
    return chosen
