"""Retrieval: hybrid search, fusion, reranking and diversity."""
from .fusion import RRF_K, convex, mmr, rrf
from .options import SearchOptions, search_options
from .rerank import RERANKERS, get_reranker, register_reranker, rerank
from .search import FUSIONS, RETRIEVERS, search

__all__ = ["FUSIONS", "RERANKERS", "RETRIEVERS", "RRF_K", "SearchOptions", "convex", "get_reranker", "mmr", "register_reranker",
           "rerank", "rrf", "search", "search_options"]
