"""Vector indexes: float32 arrays and int64 ids in, scores and ids out. Never imports mmrag."""
from .base import VectorIndex
from .faiss_index import SWITCH_AT, FaissIndex
from .ivfpq import IvfPqIndex
from .registry import available_indexes, create_index, load_index, register_index
from .sharded import ShardedIndex

register_index("ivfpq", IvfPqIndex.empty, IvfPqIndex.load)

__all__ = ["SWITCH_AT", "FaissIndex", "IvfPqIndex", "ShardedIndex", "VectorIndex", "available_indexes", "create_index",
           "load_index", "register_index"]
