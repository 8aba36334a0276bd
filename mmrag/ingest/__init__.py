"""Ingestion: readers by file type, chunking, and the batched pipeline."""
from .chunking import ChunkSpec, chunk_spans
from .pipeline import FileResult, Ingestor, IngestReport, discover
from .readers import IngestError, register_reader

__all__ = ["ChunkSpec", "FileResult", "IngestError", "IngestReport", "Ingestor", "chunk_spans", "discover",
           "register_reader"]
from . import images as _images  # noqa: E402,F401  (registers the image reader)
from . import tables as _tables  # noqa: E402,F401  (registers the table reader)
from . import video as _video  # noqa: E402,F401  (registers the video reader)
