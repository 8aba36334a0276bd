"""Retrieval: hybrid search, fusion and diversity."""
from .fusion import RRF_K, convex, mmr, rrf
from .search import FUSIONS, RETRIEVERS, search

__all__ = ["FUSIONS", "RETRIEVERS", "RRF_K", "convex", "mmr", "rrf", "search"]
