"""mmrag: multimodal retrieval-augmented generation over a folder of files.

Public API: `Library` (open a library folder), `Ingestor` (add files), `Library.search`,
and the records `Record`, `Hit`, `Evidence`, `Answer`.
"""
from .config import LibraryConfig, SpaceConfig, default_library
from .ingest import Ingestor, IngestReport
from .library import Library, LibraryBusyError
from .records import Answer, AnswerEvent, Evidence, Hit, Record

__version__ = "0.1.0"
__all__ = ["Answer", "AnswerEvent", "Evidence", "Hit", "Ingestor", "IngestReport", "Library", "LibraryBusyError",
           "LibraryConfig", "Record", "SpaceConfig", "default_library", "__version__"]
