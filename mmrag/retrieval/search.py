"""Hybrid search: dense per embedding space + FTS5 BM25, fused by RRF, with filters, MMR and PRF."""
from __future__ import annotations

import logging
import math
import re
from collections import Counter
from typing import TYPE_CHECKING, Sequence

import numpy as np

from encoders import l2_normalise

from ..records import Hit
from ..store import STOPWORDS, fts_query
from .fusion import RRF_K, mmr, rrf

if TYPE_CHECKING:
    from ..library import Library

log = logging.getLogger(__name__)
_WORD = re.compile(r"[^\W\d_][\w'-]{2,}", re.UNICODE)
RETRIEVERS = ("dense", "bm25")
PRF_DOCS, PRF_TERMS, PRF_BETA, PRF_WEIGHT = 3, 10, 0.5, 0.5


def _as_list(modality: str | Sequence[str] | None) -> list[str] | None:
    if modality is None:
        return None
    return [modality] if isinstance(modality, str) else list(modality)


def _dense(lib: "Library", space: str, qvec: np.ndarray, n: int, allowed: np.ndarray | None) -> list[int]:
    scores, ids = lib.index(space).search(qvec, n, allowed_ids=allowed)
    return [int(i) for i in ids[0] if i >= 0]


def search(lib: "Library", query: str, k: int = 10, modality: str | Sequence[str] | None = None,
           source: str | None = None, diversity: bool = False, mmr_lambda: float = 0.7,
           expand: bool = False, retrievers: Sequence[str] = RETRIEVERS, candidates: int | None = None,
           weights: dict[str, float] | None = None, rrf_k: int = RRF_K, group_by_source: bool = False
           ) -> list[Hit]:
    """Top-k hits for `query`. `source` is a glob over source paths; `diversity` turns on MMR;
    `group_by_source` fuses per source (document-level ranking) and returns each source's best record."""
    unknown = set(retrievers) - set(RETRIEVERS)
    if unknown:
        raise ValueError(f"unknown retrievers {sorted(unknown)}; valid: {list(RETRIEVERS)}")
    n = candidates or max(50, 5 * k)
    mods = _as_list(modality)
    allowed = lib.store.filter_ids(mods, source) if (mods or source) else None
    if allowed is not None and len(allowed) == 0:
        return []
    qvecs = {s: lib.encoder(s).encode([query]) for s in lib.spaces if "dense" in retrievers
             and "text" in lib.encoder(s).modalities}
    rankings = {f"dense:{s}": _dense(lib, s, q, n, allowed) for s, q in qvecs.items()}
    if "bm25" in retrievers:
        rankings["bm25"] = [i for i, _ in lib.store.bm25(fts_query(query), n, mods, source)]
    fused = rrf(rankings, k=rrf_k, weights=weights)
    if expand and fused:
        rankings.update(_feedback(lib, query, [d for d, _, _ in fused[:PRF_DOCS]], qvecs, n, mods, source,
                                  allowed, "bm25" in retrievers))
        fused = rrf(rankings, k=rrf_k, weights={"bm25:prf": PRF_WEIGHT, **(weights or {})})
    if group_by_source:
        fused = _group_by_source(lib, rankings, fused, rrf_k, weights)
    if diversity:
        fused = _diversify(lib, fused[:n], k, mmr_lambda)
    top = fused[:k]
    records = lib.store.get_records(d for d, _, _ in top)
    return [Hit(records[d], s, r) for d, s, r in top if d in records]


def _group_by_source(lib: "Library", rankings: dict[str, list[int]], fused: list, rrf_k: int,
                     weights: dict[str, float] | None) -> list:
    """RRF over sources: each retriever's list collapsed to its sources in first-seen order."""
    sources = {i: r.source for i, r in lib.store.get_records(d for d, _, _ in fused).items()}
    best: dict[str, int] = {}
    for d, _, _ in fused:
        best.setdefault(sources[d], d)
    grouped = {name: list(dict.fromkeys(sources[i] for i in ids)) for name, ids in rankings.items()}
    return [(best[src], score, ranks) for src, score, ranks in rrf(grouped, k=rrf_k, weights=weights)]


def _feedback(lib: "Library", query: str, fb_ids: list[int], qvecs: dict[str, np.ndarray], n: int,
              mods: list[str] | None, source: str | None, allowed: np.ndarray | None,
              lexical: bool) -> dict[str, list[int]]:
    """Pseudo-relevance feedback: Rocchio on dense queries, expansion terms for BM25."""
    out: dict[str, list[int]] = {}
    for space, q in qvecs.items():
        fb = lib.store.get_vectors(space, fb_ids, q.shape[1])
        if fb:
            q2 = l2_normalise(q + PRF_BETA * np.mean(list(fb.values()), axis=0, keepdims=True))
            out[f"dense:{space}"] = _dense(lib, space, q2, n, allowed)
    if lexical:
        terms = expansion_terms(lib, query, [r.text for r in lib.store.get_records(fb_ids).values()])
        if terms:
            out["bm25:prf"] = [i for i, _ in lib.store.bm25(fts_query("", terms), n, mods, source)]
    return out


def expansion_terms(lib: "Library", query: str, texts: list[str], n_terms: int = PRF_TERMS) -> list[str]:
    """Top tf-idf terms of the feedback texts that are not already in the query."""
    seen = set(re.findall(r"\w+", query.lower()))
    tf = Counter(w for t in texts for w in _WORD.findall(t.lower()) if w not in STOPWORDS and w not in seen)
    total = lib.store.fts_count()
    scored = []
    for term, f in tf.most_common(4 * n_terms):
        df = lib.store.doc_freq(term)
        if 0 < df < total:
            scored.append((f * math.log(total / df), term))
    return [t for _, t in sorted(scored, reverse=True)[:n_terms]]


def _diversify(lib: "Library", fused: list, k: int, lam: float) -> list:
    space = next(iter(lib.spaces))
    dim = lib.index(space).dim
    vecs = lib.store.get_vectors(space, [d for d, _, _ in fused], dim)
    keep = [f for f in fused if f[0] in vecs]
    if not keep:
        return fused
    order = mmr(np.array([s for _, s, _ in keep]), np.stack([vecs[d] for d, _, _ in keep]), k, lam)
    return [keep[i] for i in order] + [f for f in fused if f[0] not in vecs]
