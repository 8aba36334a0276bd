"""mmrag: multimodal retrieval-augmented generation over a folder of files.

Public API: `Library` (open a library folder; `ingest`, `remove`, `search`, `ask`, `moments`), their typed
options `SearchOptions` and `AskOptions`,
`Ingestor` (the ingest pipeline), the records `Record`, `Hit`, `Evidence`, `Answer`, `Moment`,
the enums of `mmrag.kinds`, and the errors of `mmrag.errors` (all subclasses of `MmragError`).
"""
from .answer import AskOptions
from .core import LibraryConfig, SpaceConfig, default_library
from .core.readers import supported_extensions
from .core.rwlock import RWLock
from .core.text import QUERY_STOPWORDS
from .errors import (
                     ArchiveError,
                     BadOptionError,
                     BadQueryError,
                     ConfigError,
                     DependencyMissingError,
                     IngestError,
                     LibraryBusyError,
                     LibraryDamagedError,
                     MmragError,
                     ModelMissingError,
                     UnknownNameError,
)
from .ingest import Ingestor, IngestReport
from .kinds import EventKind, Fusion, Modality, RecordKind, SourceStatus
from .library import Library
from .records import Answer, AnswerEvent, Evidence, Hit, Moment, Record
from .retrieval import SearchOptions

__version__ = "0.1.0"
__all__ = ["Answer", "AnswerEvent", "ArchiveError", "AskOptions", "BadOptionError", "SearchOptions", "BadQueryError", "ConfigError", "DependencyMissingError", "EventKind", "Evidence", "Fusion", "Hit",
           "IngestError", "Ingestor", "IngestReport", "Library", "LibraryBusyError", "LibraryConfig",
           "LibraryDamagedError", "MmragError", "Modality", "ModelMissingError", "Moment", "QUERY_STOPWORDS",
           "Record", "RecordKind", "RWLock", "SourceStatus", "SpaceConfig", "UnknownNameError", "default_library",
           "supported_extensions", "__version__"]
