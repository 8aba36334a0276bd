"""Retrieval: hybrid search, fusion and diversity."""
from .fusion import RRF_K, mmr, rrf
from .search import RETRIEVERS, search

__all__ = ["RETRIEVERS", "RRF_K", "mmr", "rrf", "search"]
