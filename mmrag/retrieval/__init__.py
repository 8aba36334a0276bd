"""Retrieval: hybrid search, fusion and diversity."""
from .fusion import RRF_K, convex, mmr, rrf
from .options import SearchOptions, search_options
from .search import FUSIONS, RETRIEVERS, search

__all__ = ["FUSIONS", "RETRIEVERS", "RRF_K", "SearchOptions", "convex", "mmr", "rrf", "search", "search_options"]
