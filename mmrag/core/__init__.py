"""The core layer: the store (the only module that runs SQL on it), the collection of spaces, indexes
and encoders, the file-reader registry and the hooks capability packages plug into.

Nothing here imports a capability package (ingest, retrieval, tables, video, generate, answer) or the
facade (`mmrag.Library`).
"""
from .collection import IMAGE_WEIGHT, Collection, HasCollection, as_collection
from .config import LibraryConfig, SpaceConfig, default_library
from .hooks import SearchRequest
from .readers import Document, ReadContext, Section, register_reader
from .store import Store

__all__ = ["IMAGE_WEIGHT", "Collection", "Document", "HasCollection", "LibraryConfig", "ReadContext",
           "SearchRequest", "Section", "SpaceConfig", "Store", "as_collection", "default_library",
           "register_reader"]
