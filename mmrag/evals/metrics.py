"""Ranking metrics."""
from __future__ import annotations

from typing import Hashable, Sequence


def first_rank(ranked: Sequence[Hashable], gold: Hashable) -> int | None:
    """1-based rank of `gold` in `ranked`, or None."""
    for i, item in enumerate(ranked, 1):
        if item == gold:
            return i
    return None


def ranking_metrics(ranks: Sequence[int | None], ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Recall@k and MRR (in %) from the gold item's rank per query (None = not retrieved)."""
    n = len(ranks)
    if n == 0:
        return {**{f"R@{k}": 0.0 for k in ks}, "MRR": 0.0}
    out = {f"R@{k}": 100.0 * sum(r is not None and r <= k for r in ranks) / n for k in ks}
    out["MRR"] = 100.0 * sum(1.0 / r for r in ranks if r) / n
    return {k: round(v, 2) for k, v in out.items()}


def unique_in_order(items: Sequence[Hashable]) -> list[Hashable]:
    return list(dict.fromkeys(items))
