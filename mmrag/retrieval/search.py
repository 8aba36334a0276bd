"""Hybrid search: dense per embedding space + FTS5 BM25, fused adaptively (or by RRF / convex), with filters,
MMR and PRF."""
from __future__ import annotations

import logging
import math
import re
from collections import Counter
from typing import TYPE_CHECKING, Sequence

import numpy as np

from encoders import l2_normalise

from ..core import IMAGE_WEIGHT, Collection, HasCollection, SearchRequest, as_collection, hooks
from ..core.text import STOPWORDS, fts_query
from ..errors import BadQueryError, ConfigError
from ..kinds import Fusion
from ..records import Hit
from .adaptive import Weights, fuse_adaptive, group_best
from .fusion import RRF_K, convex, mmr, rrf
from .lexical import LexicalQuery, lexical_query
from .options import RETRIEVERS
from .rerank import RERANK_DEPTH
from .rerank import rerank as rerank_hits

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)
_WORD = re.compile(r"[^\W\d_][\w'-]{2,}", re.UNICODE)
FUSIONS = tuple(f.value for f in Fusion)
PRF_DOCS, PRF_TERMS, PRF_BETA, PRF_WEIGHT = 3, 10, 0.5, 0.5
MAX_K = 1000  # hits one search returns at most (a larger k is clamped)
MAX_CANDIDATES = 5000  # candidates per retriever at most
MAX_QUERY_CHARS = 10_000


def check_query(k: int, query: str) -> tuple[int, str]:
    """k clamped to 1..MAX_K; a query longer than MAX_QUERY_CHARS is refused (BadQueryError)."""
    if len(query) > MAX_QUERY_CHARS:
        raise BadQueryError(f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}")
    return max(1, min(int(k), MAX_K)), query


def _as_list(modality: str | Sequence[str] | None) -> list[str] | None:
    if modality is None:
        return None
    return [modality] if isinstance(modality, str) else list(modality)


Scored = list[tuple[int, float]]


def _dense(lib: Collection, space: str, qvec: np.ndarray, n: int, allowed: np.ndarray | None) -> Scored:
    scores, ids = lib.search_index(space, qvec, n, allowed)
    return [(int(i), float(x)) for i, x in zip(ids[0], scores[0]) if i >= 0]


def fuse(scored: dict[str, Scored], fusion: Fusion | str = Fusion.RRF, weights: dict[str, float] | None = None,
         rrf_k: int = RRF_K) -> list[tuple]:
    """Fuse per-retriever (id, score) lists by rank: "rrf" (ranks only) or "convex" (normalised scores)."""
    if fusion == Fusion.RRF:
        return rrf({name: [d for d, _ in items] for name, items in scored.items()}, k=rrf_k, weights=weights)
    if fusion == Fusion.CONVEX:
        return convex(scored, weights)
    raise ConfigError(f"unknown fusion {fusion!r}; valid: {list(FUSIONS)}")


def adaptive_weights(weights: dict[str, float] | None) -> Weights:
    fields = set(Weights.__dataclass_fields__)
    if weights and (bad := set(weights) - fields):
        raise ConfigError(f"adaptive fusion takes weights {sorted(fields)}, not {sorted(bad)}")
    return Weights(**(weights or {}))


def search(lib: Collection | HasCollection, query: str = "", k: int = 10, modality: str | Sequence[str] | None = None,
           source: str | None = None, diversity: bool = False, mmr_lambda: float = 0.7,
           expand: bool = False, retrievers: Sequence[str] = RETRIEVERS, candidates: int | None = None,
           fusion: Fusion | str = Fusion.ADAPTIVE, weights: dict[str, float] | None = None, rrf_k: int = RRF_K,
           group_by_source: bool = False, image: "Image.Image | None" = None,
           image_weight: float = IMAGE_WEIGHT, rerank: str | None = None,
           rerank_depth: int = RERANK_DEPTH) -> list[Hit]:
    """Top-k hits for `query`. `source` is a glob over source paths; `diversity` turns on MMR;
    `group_by_source` ranks sources (each source's best record). The default fusion is adaptive
    (`mmrag.retrieval.adaptive`); "rrf" and "convex" fuse the retrievers' lists by rank or by normalised
    score. Hit processors registered in `mmrag.core.hooks` may rewrite the hits (video hits become moments).
    With `image`, spaces that embed pixels are searched with the image embedding, or with the composed
    query normalise(image_weight * e_image + (1 - image_weight) * e_text) when there is text too.
    `rerank` (a spec of `mmrag.retrieval.rerank`, off by default) reorders the top `rerank_depth` hits."""
    if unknown := set(retrievers) - set(RETRIEVERS):
        raise ConfigError(f"unknown retrievers {sorted(unknown)}; valid: {list(RETRIEVERS)}")
    if fusion not in FUSIONS:
        raise ConfigError(f"unknown fusion {fusion!r}; valid: {list(FUSIONS)}")
    lib = as_collection(lib)
    k, query = check_query(k, query)
    n, mods = min(candidates or max(50, 5 * k), MAX_CANDIDATES), _as_list(modality)
    allowed = lib.store.filter_ids(mods, source) if (mods or source) else None
    if allowed is not None and len(allowed) == 0:
        return []
    if image is not None and not query and not lib.image_spaces():
        query = _ocr_query(image)  # no pixel space available: fall back to the words in the image
    qvecs = lib.query_vectors(query, image, image_weight) if "dense" in retrievers else {}
    lexq = lexical_query(lib, query, source=source) if "bm25" in retrievers and query.strip() else None
    scored = {f"dense:{s}": _dense(lib, s, q, n, allowed) for s, q in qvecs.items()}
    if lexq is not None:
        scored["bm25"] = lexq.top(lib, n, mods, source)
    fused = _fused(lib, scored, qvecs, lexq, fusion, weights, rrf_k)
    if expand and fused:
        scored.update(_feedback(lib, query, [d for d, _, _ in fused[:PRF_DOCS]], qvecs, n, mods, source,
                                allowed, lexq is not None))
        fused = _fused(lib, scored, qvecs, lexq, fusion, {"bm25:prf": PRF_WEIGHT, **(weights or {})}
                       if fusion != Fusion.ADAPTIVE else weights, rrf_k)
    if group_by_source:
        fused = _group_by_source(lib, scored, fused, fusion, weights, rrf_k)
    if diversity:
        fused = _diversify(lib, fused[:n], k, mmr_lambda)
    kk = max(k, rerank_depth) if rerank else k
    records = lib.store.get_records(d for d, _, _ in fused[:kk])
    hits = [Hit(records[d], sc, r) for d, sc, r in fused[:kk] if d in records]
    hits = hooks.process_hits(lib, SearchRequest(query, kk, image, qvecs, mods), fused, hits)
    return rerank_hits(query, hits, rerank, rerank_depth)[:k] if rerank else hits


def _fused(lib: Collection, scored: dict[str, Scored], qvecs: dict[str, np.ndarray], lexq: LexicalQuery | None,
           fusion: Fusion | str, weights: dict[str, float] | None, rrf_k: int) -> list:
    if fusion == Fusion.ADAPTIVE:
        return fuse_adaptive(lib, scored, qvecs, lexq, adaptive_weights(weights))
    return fuse(scored, fusion, weights, rrf_k)


def _ocr_query(image: "Image.Image") -> str:
    from encoders.ocr import OcrEngine
    words = " ".join(line.text for line in OcrEngine().read(image))
    log.info("no image space available; searching with the image's OCR text %r", words[:80])
    return words


def _group_by_source(lib: Collection, scored: dict[str, Scored], fused: list, fusion: str,
                     weights: dict[str, float] | None, rrf_k: int) -> list:
    """Fuse per source: each retriever's list collapsed to its sources (best score, first-seen order);
    adaptive fusion already scores records on one scale: each source at its best record."""
    ids = {d for items in scored.values() for d, _ in items} | {d for d, _, _ in fused}
    sources = {i: r.source for i, r in lib.store.get_records(ids).items()}
    if fusion == Fusion.ADAPTIVE:
        return group_best(fused, sources)
    best: dict[str, int] = {}
    for d, _, _ in fused:
        best.setdefault(sources[d], d)
    grouped: dict[str, Scored] = {}
    for name, items in scored.items():
        first: dict[str, float] = {}
        for d, x in items:  # best first, so the first hit of a source carries its best score
            first.setdefault(sources[d], x)
        grouped[name] = list(first.items())
    return [(best[src], sc, ranks) for src, sc, ranks in fuse(grouped, fusion, weights, rrf_k)]


def _feedback(lib: Collection, query: str, fb_ids: list[int], qvecs: dict[str, np.ndarray], n: int,
              mods: list[str] | None, source: str | None, allowed: np.ndarray | None,
              lexical: bool) -> dict[str, Scored]:
    """Pseudo-relevance feedback: Rocchio on dense queries, expansion terms for BM25."""
    out: dict[str, Scored] = {}
    for space, q in qvecs.items():
        fb = lib.store.get_vectors(space, fb_ids, q.shape[1])
        if fb:
            q2 = l2_normalise(q + PRF_BETA * np.mean(list(fb.values()), axis=0, keepdims=True))
            out[f"dense:{space}"] = _dense(lib, space, q2, n, allowed)
    if lexical:
        terms = expansion_terms(lib, query, [r.text for r in lib.store.get_records(fb_ids).values()])
        if terms:
            out["bm25:prf"] = lib.store.bm25(fts_query("", terms), n, mods, source)
    return out


def expansion_terms(lib: Collection, query: str, texts: list[str], n_terms: int = PRF_TERMS) -> list[str]:
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


def _diversify(lib: Collection, fused: list, k: int, lam: float) -> list:
    space = next((s for s in lib.spaces if lib.available(s)), None)
    if space is None:
        return fused
    dim = lib.index(space).dim
    vecs = lib.store.get_vectors(space, [d for d, _, _ in fused], dim)
    keep = [f for f in fused if f[0] in vecs]
    if not keep:
        return fused
    order = mmr(np.array([s for _, s, _ in keep]), np.stack([vecs[d] for d, _, _ in keep]), k, lam)
    return [keep[i] for i in order] + [f for f in fused if f[0] not in vecs]
