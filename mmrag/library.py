"""`Library`: the facade over one library folder.

It composes the core (`mmrag.core.Collection`: store, spaces, indexes) with the capability packages
(ingest, retrieval, video, answer) and adds nothing of its own. Importing it registers the built-in
readers and hooks (documents, images, tables, video).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from encoders import Encoder
from indexes import VectorIndex

# The built-in capability packages register their readers and hooks when imported.
from . import documents as _documents  # noqa: F401
from . import images as _images  # noqa: F401
from . import tables as _tables  # noqa: F401
from . import video as _video  # noqa: F401
from .answer import ask as _ask
from .answer import ask_stream as _ask_stream
from .answer.ask import AskOptions
from .answer.warm import warm as _warm
from .core import Collection, LibraryConfig, SpaceConfig, Store
from .core.collection import Vectors
from .errors import LibraryBusyError
from .ingest import Ingestor, IngestReport
from .model_status import model_rows
from .records import Answer, AnswerEvent, Hit, Moment, Record
from .retrieval import SearchOptions, search_options
from .retrieval import search as _search
from .video import find_moments

if TYPE_CHECKING:
    from PIL import Image

    from encoders.tuning import TrainConfig

    from .core.archive import ArchiveReport
    from .tune import Pair, TuneReport

log = logging.getLogger(__name__)
__all__ = ["Library", "LibraryBusyError"]


class Library:
    """Opens (creating if needed) a library folder: add files, search, ask, find moments."""

    def __init__(self, root: str | Path | None = None, text_encoder: str | None = None,
                 image_encoder: str | None = None, image_encoder_params: dict | None = None,
                 config: LibraryConfig | None = None) -> None:
        """Open `root`; a new library takes `config`, or the default spaces with the named encoders."""
        self.core = Collection(root, text_encoder, image_encoder, image_encoder_params, config)

    # -- the core, as attributes ----------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.core.root

    @property
    def config(self) -> LibraryConfig:
        return self.core.config

    @property
    def store(self) -> Store:
        return self.core.store

    @property
    def spaces(self) -> dict[str, SpaceConfig]:
        return self.core.spaces

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.core.close()

    @contextmanager
    def writing(self) -> Iterator["Library"]:
        """Hold the library's write lock (one writer process at a time)."""
        with self.core.writing():
            yield self

    @contextmanager
    def transaction(self) -> Iterator["Library"]:
        """A store transaction; on failure the in-memory indexes are dropped so they cannot drift."""
        with self.core.transaction():
            yield self

    # -- adding and removing --------------------------------------------------------------------
    def ingest(self, paths: str | Path | Sequence[str | Path], prune: bool = False, progress: bool | None = False,
               follow_links: bool | None = None) -> IngestReport:
        """Add files and folders (unchanged files are skipped); `prune` drops sources whose files are gone;
        `follow_links` follows symlinks out of the given folders (default: library.json's follow_links)."""
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        return Ingestor(self.core, progress=progress, follow_links=follow_links).run(paths, prune=prune)

    def remove(self, paths: str | Path | Sequence[str | Path]) -> dict[str, int]:
        """Remove sources (the files may already be deleted): {source: records removed}; unknown paths
        are left out of the result."""
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        removed: dict[str, int] = {}
        with self.core.writing():
            for p in paths:
                key = next((k for k in (str(p), str(Path(p).resolve())) if self.store.get_source(k)), None)
                if key is not None:
                    removed[key] = self.core.remove_records_of(key, drop_source=True)
        return removed

    def add_records(self, records: Sequence[Record], vectors: Vectors | None = None) -> list[int]:
        """Store records (with uids) and index their vectors; returns the new int64 ids."""
        return self.core.add_records(records, vectors)

    def remove_records_of(self, source: str, drop_source: bool = False) -> int:
        """Remove a source's records (and with `drop_source` its entry, tables and thumbnails)."""
        return self.core.remove_records_of(source, drop_source)

    # -- reading --------------------------------------------------------------------------------
    def search(self, query: str = "", k: int = 10, options: SearchOptions | None = None, **overrides: Any) -> list[Hit]:
        """Hybrid search: `options` (a `SearchOptions`) and/or its fields as keywords."""
        return _search(self.core, query, k=k, **search_options(options, **overrides).kwargs())

    def ask(self, question: str, options: AskOptions | None = None, **overrides: Any) -> Answer:
        """Answer `question` from retrieved evidence with citations: `options` (an `AskOptions`) and/or its
        fields as keywords; see `mmrag.answer.ask`."""
        return _ask(self.core, question, options, **overrides)

    def ask_stream(self, question: str, options: AskOptions | None = None, **overrides: Any) -> Iterator[AnswerEvent]:
        """`ask`, as events (evidence, tokens, the final answer); see `mmrag.answer.ask_stream`."""
        return _ask_stream(self.core, question, options, **overrides)

    def warm(self, generator: "str | Any | None" = None, table_llm: "str | Any | None" = None) -> dict[str, float]:
        """Load `generator` (default "auto") and read the prompt prefixes every answer shares, so the first
        question (and the first table question) is as fast as later ones; see `mmrag.answer.warm`."""
        return _warm(self.core, generator, table_llm)

    def moments(self, video: str, query: str, k: int = 5, *, image: "Image.Image | None" = None,
                **options: Any) -> list[Moment]:
        """Time windows of one ingested video that match `query`; see `mmrag.video.find_moments`."""
        return find_moments(self.core, video, query, k=k, image=image, **options)

    def sources(self, status: str | None = None) -> list[dict]:
        """Ingested sources (path, sha256, size, mtime, status, error, kind, n_records), by path."""
        return self.core.sources(status)

    def doctor(self, repair: bool = False) -> dict[str, Any]:
        """Check that the library's parts agree (store, indexes, tables, thumbnails); `repair` mends them."""
        from .doctor import doctor
        self.core.discard_indexes()
        return doctor(self.root, repair)

    def export(self, archive: str | Path) -> "ArchiveReport":
        """Write the whole library to a checked `.tar.gz` (see `mmrag.core.archive`)."""
        from .core.archive import export_library
        return export_library(self.core, archive)

    @classmethod
    def import_archive(cls, archive: str | Path, root: str | Path) -> "Library":
        """Restore an export into the new or empty folder `root` and open it there."""
        from .core.archive import import_library
        import_library(archive, root)
        return cls(root)

    def tune(self, pairs: "str | Path | Sequence[Pair] | None" = None, space: str = "text",
             synthetic: int = 0, generator: str | None = None, feedback: bool = True, distill: bool = True,
             config: "TrainConfig | None" = None, progress: bool | None = False) -> "TuneReport":
        """Fine-tune the space's encoder on pairs (a JSONL file or `Pair`s), the app's feedback and
        `synthetic` LLM-written questions; the result is a new version of the space, now serving."""
        from .tune import load_pairs, synthetic_pairs, tune
        given = load_pairs(pairs) if isinstance(pairs, (str, Path)) else list(pairs or [])
        made, counts = synthetic_pairs(self.core, self.core.space(space).modalities, synthetic, generator,
                                       progress=progress) if synthetic else ([], {})
        return tune(self.core, [*given, *made], space, config, feedback, distill, progress, counts)

    def restore(self, version: int, space: str = "text", progress: bool | None = False) -> int:
        """Make an earlier (or later) saved version of the space's encoder serve again."""
        from .tune import activate
        return activate(self.core, space, version, progress)

    def feedback(self, query: str, record_id: int, useful: bool = True) -> None:
        """Mark a hit as useful (or wrong) for a query; `tune` learns from it."""
        self.core.store.add_feedback(query, record_id, useful)

    def models(self) -> dict[str, dict]:
        """Each model mmrag can use here (space encoders, speech, OCR, LLMs): available, where, or why not."""
        return model_rows(self.core)

    def status(self) -> dict:
        """Counts per modality and status, each space's state, and the files that failed."""
        return self.core.status()

    # -- spaces and indexes (for tools and tests) -----------------------------------------------
    def encoder(self, space: str) -> Encoder:
        return self.core.encoder(space)

    def available(self, space: str) -> bool:
        return self.core.available(space)

    def usable_spaces(self) -> list[str]:
        return self.core.usable_spaces()

    def index(self, space: str) -> VectorIndex:
        return self.core.index(space)

    def encode_records(self, records: Sequence[Record]) -> dict[str, tuple[list[int], np.ndarray]]:
        return self.core.encode_records(records)

    def flush(self) -> None:
        self.core.flush()

    def flush_if_due(self, every_s: float = 30.0) -> None:
        self.core.flush_if_due(every_s)

    def mark_dirty(self, space: str) -> None:
        self.core.mark_dirty(space)

    def discard_indexes(self) -> None:
        self.core.discard_indexes()
