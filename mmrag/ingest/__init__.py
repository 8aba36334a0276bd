"""Ingestion: discover files, read them through the registered readers, chunk, embed, commit in batches."""
from ..core.readers import register_reader
from ..errors import IngestError
from .chunking import ChunkSpec, chunk_spans
from .pipeline import FileResult, Ingestor, IngestReport, discover
from .reindex import reindex

__all__ = ["ChunkSpec", "FileResult", "IngestError", "IngestReport", "Ingestor", "chunk_spans", "discover",
           "register_reader", "reindex"]
