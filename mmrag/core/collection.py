"""A library folder's storage core: the SQLite store, one vector index and encoder per embedding space.

Layout: library.json, store.sqlite (+ WAL), indexes/<space>/ (FAISS + manifest), .lock.
The store is the source of truth (vectors included); indexes are rebuilt from it when stale.
Capability packages (ingest, retrieval, tables, video, answer) work on a `Collection`; `mmrag.Library`
is the facade over one.
"""
from __future__ import annotations

import errno
import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence

import numpy as np

from encoders import Encoder, ModelUnavailableError, create_encoder, l2_normalise
from indexes import VectorIndex
from indexes.lexical import LexicalIndex

from ..errors import ConfigError, DiskFullError, LibraryBusyError, ModelMissingError, UnknownNameError, model_missing
from ..kinds import SpaceInput
from ..records import Record
from . import hooks, versions
from .config import LibraryConfig, SpaceConfig, default_library
from .indexing import Indexes, index_dir
from .lexical_index import Lexical
from .lock import write_lock
from .recovery import RUNNING, recover, running  # noqa: F401 - RUNNING: the store key
from .relocate import relocate
from .status import collection_status, fail_fast_offline
from .store import Store

log = logging.getLogger(__name__)
IMAGE_WEIGHT = 0.5  # share of the image embedding in a composed image+text CLIP query
Vectors = dict[str, tuple[list[int], np.ndarray]]  # space -> (row indexes into the records, array)


class Collection:
    """Opens (creating if needed) a library folder's store, spaces and indexes."""

    def __init__(self, root: str | Path | None = None, text_encoder: str | None = None,
                 image_encoder: str | None = None, image_encoder_params: dict | None = None,
                 config: LibraryConfig | None = None) -> None:
        """Open `root`; a new library takes `config`, or the default spaces with the named encoders."""
        self.root = Path(root) if root else default_library()
        self.root.mkdir(parents=True, exist_ok=True)
        cfg_path = self.root / "library.json"
        if cfg_path.exists():
            self.config = LibraryConfig.load(cfg_path)
            current = self.config.spaces["text"].encoder if "text" in self.config.spaces else None
            if text_encoder and text_encoder != current:
                raise ConfigError(f"library {self.root} embeds text with {current!r}, not {text_encoder!r};"
                                  " use another --library or drop --text-encoder")
        else:
            self.config = config or LibraryConfig.default(text_encoder or "minilm", image_encoder or "clip-vit-b-32",
                                                          image_encoder_params)
            self.config.save(cfg_path)
        self.store = Store(self.root / "store.sqlite")
        self._ix = Indexes(self.root, self.store, lambda s: self.space(s).index, self._space_dim)
        self._lex = Lexical(self.root, self.store)
        self._writing = False
        self._last_flush = time.monotonic()
        self._unavailable: dict[str, str] = {}
        recover(self)
        relocate(self)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Collection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def running(self) -> Any:
        """Mark the store while a write run stores things outside SQLite (see `mmrag.core.recovery`)."""
        return running(self)

    def close(self) -> None:
        self.flush()
        self._lex.close()
        self.store.close()

    @contextmanager
    def writing(self) -> Iterator["Collection"]:
        """Hold the library's write lock (one writer process at a time; re-entrant in one collection)."""
        if self._writing:
            yield self
            return
        with write_lock(self.root):
            self._writing = True
            try:
                yield self
            finally:
                self._ix.synced_to(self.store.generation)  # our own writes are indexed
                try:
                    self.flush()
                finally:
                    self._lex.release()  # tantivy's writer lock, for the next writer process
                    self._writing = False

    # -- spaces ------------------------------------------------------------------------------
    @property
    def spaces(self) -> dict[str, SpaceConfig]:
        return self.config.spaces

    def space(self, name: str) -> SpaceConfig:
        if name not in self.spaces:
            raise UnknownNameError("space", name, self.spaces)
        return self.spaces[name]

    def encoder(self, space: str) -> Encoder:
        """The space's encoder; raises ModelMissingError (remembered) when its weights are missing."""
        if space in self._unavailable:
            raise ModelMissingError(self._unavailable[space])
        cfg = self.space(space)
        try:
            fail_fast_offline(cfg)
            return create_encoder(cfg.encoder, **versions.encoder_params(self.root, self.store, space,
                                                                          cfg.encoder_params))
        except ModelUnavailableError as exc:
            self._unavailable[space] = str(exc)
            log.warning("space %r is unavailable: %s (`mmrag models` says more)", space,
                        str(exc).splitlines()[0].split(": no checkpoint")[0])
            log.info("space %r: %s", space, exc)
            raise model_missing(exc) from exc

    def available(self, space: str) -> bool:
        """True when the space's encoder loads (the model is loaded on first call)."""
        try:
            self.encoder(space)
            return True
        except ModelUnavailableError:
            return False

    def usable_spaces(self) -> list[str]:
        """Spaces whose encoder has not failed to load (without loading anything new)."""
        return [s for s in self.spaces if s not in self._unavailable]

    def index(self, space: str) -> VectorIndex:
        """The space's vector index, loaded lazily and brought up to date in memory when it lags the store
        (another process ingested: a reader, such as the web app, sees new files without a restart).
        Nothing is written here: indexes are saved only under the writer lock (`flush`)."""
        return self._ix.get(space, self._writing)

    def search_index(self, space: str, queries: np.ndarray, k: int,
                     allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) from the space's index; safe while other threads search or reconcile it."""
        return self._ix.search(space, queries, k, allowed, self._writing)

    def _space_dim(self, space: str) -> int:
        """Vector size: from a stored vector when there is one (no model load), else the encoder's."""
        return self.store.vector_dim(space) or self.encoder(space).dim

    def flush(self) -> None:
        """Save indexes changed since the last flush (atomic writes), under the writer lock: a writer holds
        it already; a reader saves only when no other process is writing (else it leaves the save to it)."""
        if self._writing:
            self._lex.sync_or_disable()
        if not self._ix.dirty:
            return
        try:
            if self._writing:
                self._ix.save(self.store.generation)
            else:  # a reader saves the generation its index was synced to
                with write_lock(self.root):
                    self._ix.save(None)
        except LibraryBusyError:
            log.info("%s is being written by another process; not saving this reader's indexes", self.root)
            self._ix.dirty.clear()
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise DiskFullError(f"disk full while saving the indexes of {self.root} ({exc}); they are rebuilt"
                                    " from the store when the library is next opened") from exc
            raise
        self._last_flush = time.monotonic()

    def lexical_index(self) -> LexicalIndex | None:
        """The tantivy BM25 index when it reflects the store (brought up to date here when no other process
        is writing); None when search must use FTS5 (`mmrag.core.lexical_index`)."""
        return self._lex.for_search(self._writing)

    def flush_if_due(self, every_s: float = 30.0) -> None:
        """Flush when the last one is older than `every_s` (bounds recovery work after a crash)."""
        if time.monotonic() - self._last_flush > every_s:
            self.flush()

    @contextmanager
    def transaction(self) -> Iterator["Collection"]:
        """A store transaction; on failure the in-memory indexes are dropped so they cannot drift."""
        try:
            with self.store.transaction():
                yield self
        except BaseException:
            self.discard_indexes()
            raise

    def mark_dirty(self, space: str) -> None:
        """Note that the space's index changed and must be saved on the next flush."""
        self._ix.dirty.add(space)

    def discard_indexes(self) -> None:
        """Forget in-memory indexes (after a failed transaction); they reload from disk + store."""
        self._ix.discard()

    # -- writing -----------------------------------------------------------------------------
    def encode_records(self, records: Sequence[Record]) -> Vectors:
        """Embed records into every space that takes their modality."""
        out: Vectors = {}
        for space, cfg in self.spaces.items():
            pixels = cfg.input == SpaceInput.IMAGE
            rows = [i for i, r in enumerate(records) if r.modality in cfg.modalities
                    and (r.payload is not None if pixels else bool(r.text))]
            if not rows or not self.available(space):
                continue
            inputs = [records[i].payload if pixels else records[i].text for i in rows]
            out[space] = (rows, self.encoder(space).encode(inputs))
        return out

    def add_records(self, records: Sequence[Record], vectors: Vectors | None = None) -> list[int]:
        """Store records (with uids) and index their vectors; returns the new int64 ids."""
        vectors = self.encode_records(records) if vectors is None else vectors
        indexes = {space: self.index(space) for space in vectors}  # load (and repair) before writing
        ids = self.store.add_records(records, vectors)
        for space, (rows, arr) in vectors.items():
            indexes[space].add(arr, np.array([ids[i] for i in rows], dtype=np.int64))
            self._ix.dirty.add(space)
        return ids

    def remove_records_of(self, source: str, drop_source: bool = False) -> int:
        """Remove a source's records from the store and every index; with `drop_source`, the source
        entry too, and the source-removed hooks run (its tables, its thumbnails)."""
        indexes = {space: self.index(space) for space in self._indexed_spaces()}
        sha = (self.store.get_source(source) or {}).get("sha256") if drop_source else None
        with self.transaction():
            ids = self.store.delete_source(source) if drop_source else self.store.delete_records_of(source)
            if ids:
                arr = np.array(ids, dtype=np.int64)
                for space, index in indexes.items():
                    index.remove(arr)
                    self._ix.dirty.add(space)
        if drop_source:
            hooks.source_removed(self, source, sha)
        return len(ids)

    def _indexed_spaces(self) -> list[str]:
        """Spaces that have (or can build) an index: an index on disk, or an available encoder."""
        return [s for s in self.spaces if self._ix.loaded(s) or (index_dir(self.root, s) / "manifest.json").exists()
                or self.available(s)]

    # -- reading -----------------------------------------------------------------------------
    def query_vectors(self, query: str, image: Any = None, image_weight: float = IMAGE_WEIGHT
                      ) -> dict[str, np.ndarray]:
        """One query vector per usable space: text, image, or the composed image+text query
        normalise(image_weight * e_image + (1 - image_weight) * e_text)."""
        out: dict[str, np.ndarray] = {}
        for space, cfg in self.spaces.items():
            if not self.available(space):
                continue
            enc = self.encoder(space)
            encode_query = getattr(enc, "encode_queries", enc.encode)  # query prompt (st: encoders)
            txt = encode_query([query]) if query.strip() and "text" in enc.modalities else None
            img = enc.encode([image]) if image is not None and cfg.input == SpaceInput.IMAGE else None
            if img is not None and txt is not None:
                out[space] = l2_normalise(image_weight * img + (1 - image_weight) * txt)
            elif img is not None or txt is not None:
                out[space] = img if img is not None else txt
        return out

    def image_spaces(self) -> list[str]:
        """Available spaces that embed pixels."""
        return [s for s, cfg in self.spaces.items() if cfg.input == SpaceInput.IMAGE and self.available(s)]

    def sources(self, status: str | None = None) -> list[dict]:
        """Ingested sources (path, sha256, size, mtime, status, error, kind, n_records), by path."""
        return self.store.sources(status)

    def status(self) -> dict:
        """Counts per modality and source status; per space its encoder, vectors, pending records and
        availability; the files that failed."""
        return {**collection_status(self, self._unavailable), "lexical": self._lex.status()}


class HasCollection(Protocol):
    """Anything that carries a collection (`mmrag.Library`)."""

    core: Collection


def as_collection(obj: "Collection | HasCollection") -> Collection:
    """The collection itself, or the one a facade (`mmrag.Library`) carries."""
    return obj if isinstance(obj, Collection) else obj.core
