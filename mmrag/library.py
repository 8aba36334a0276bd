"""A library folder: the SQLite store, one vector index per embedding space, and the config.

Layout: library.json, store.sqlite (+ WAL), indexes/<space>/ (FAISS + manifest), .lock.
The store is the source of truth (vectors included); indexes are rebuilt from it when stale.
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from encoders import Encoder, ModelUnavailableError, create_encoder, encoder_status
from indexes import VectorIndex, create_index, load_index

from .config import LibraryConfig, SpaceConfig, default_library
from .records import Hit, Record
from .store import Store

if TYPE_CHECKING:
    from .records import Answer

log = logging.getLogger(__name__)


class LibraryBusyError(RuntimeError):
    """Another process is writing to the same library."""


def _fail_fast_offline(cfg: SpaceConfig) -> None:
    """Offline, an encoder whose status check finds no weights cannot load: say so without importing
    its framework (open_clip + torch take seconds to import just to fail)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes", "on"):
        return
    st = encoder_status(cfg.encoder, **cfg.encoder_params)
    if st.get("available") is False:
        looked = "".join(f"\n  - {p}" for p in st.get("looked_in", []))
        raise ModelUnavailableError(f"weights for {cfg.encoder!r} not found (offline: HF_HUB_OFFLINE is set):"
                                    f" {st.get('reason', '')}. Looked in:{looked}\n{st.get('hint', '')}".rstrip())


class Library:
    """Opens (creating if needed) a library folder."""

    def __init__(self, root: str | Path | None = None, text_encoder: str | None = None,
                 image_encoder: str | None = None, image_encoder_params: dict | None = None,
                 config: LibraryConfig | None = None) -> None:
        """Open `root`; a new library takes `config`, or the default spaces with the named encoders."""
        self.root = Path(root) if root else default_library()
        self.root.mkdir(parents=True, exist_ok=True)
        cfg_path = self.root / "library.json"
        if cfg_path.exists():
            self.config = LibraryConfig.load(cfg_path)
            current = self.config.spaces["text"].encoder
            if text_encoder and text_encoder != current:
                raise ValueError(f"library {self.root} embeds text with {current!r}, not {text_encoder!r};"
                                 " use another --library or drop --text-encoder")
        else:
            self.config = config or LibraryConfig.default(text_encoder or "minilm", image_encoder or "clip-vit-b-32",
                                                          image_encoder_params)
            self.config.save(cfg_path)
        self.store = Store(self.root / "store.sqlite")
        self._indexes: dict[str, VectorIndex] = {}
        self._synced: dict[str, int] = {}  # store generation each loaded index reflects
        self._writing = False
        self._dirty: set[str] = set()
        self._last_flush = time.monotonic()
        self._unavailable: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.flush()
        self.store.close()

    @contextmanager
    def writing(self) -> Iterator["Library"]:
        """Hold the library's write lock (one writer process at a time)."""
        fd = open(self.root / ".lock", "w")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fd.close()
            raise LibraryBusyError(f"library {self.root} is being written by another process") from exc
        self._writing = True
        try:
            yield self
        finally:
            self._writing = False
            self._synced = {s: self.store.generation for s in self._indexes}  # our own writes are indexed
            self.flush()
            fcntl.flock(fd, fcntl.LOCK_UN)
            fd.close()

    # -- spaces ------------------------------------------------------------------------------
    @property
    def spaces(self) -> dict[str, SpaceConfig]:
        return self.config.spaces

    def encoder(self, space: str) -> Encoder:
        """The space's encoder; raises ModelUnavailableError (remembered) when its weights are missing."""
        if space in self._unavailable:
            raise ModelUnavailableError(self._unavailable[space])
        cfg = self.spaces[space]
        try:
            _fail_fast_offline(cfg)
            return create_encoder(cfg.encoder, **cfg.encoder_params)
        except ModelUnavailableError as exc:
            self._unavailable[space] = str(exc)
            log.warning("space %r is unavailable (%s weights missing); `mmrag models` says where to put them",
                        space, cfg.encoder)
            log.info("space %r: %s", space, exc)
            raise

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
        """The space's vector index, loaded lazily and repaired if it lags the store (e.g. after another
        process ingested: a reader, such as the web app, sees new files without a restart)."""
        if space not in self._indexes:
            gen = self.store.generation
            self._indexes[space] = self._load_index(space)
            self._synced[space] = gen
        elif not self._writing and (gen := self.store.generation) != self._synced.get(space):
            self._reconcile(space, self._indexes[space])
            self._synced[space] = gen
        return self._indexes[space]

    def _index_dir(self, space: str) -> Path:
        return self.root / "indexes" / space

    def _load_index(self, space: str) -> VectorIndex:
        d = self._index_dir(space)
        index = None
        if (d / "manifest.json").exists():
            try:
                index = load_index(d)
            except (OSError, ValueError, RuntimeError) as exc:
                log.warning("index %s is unreadable (%s); rebuilding it from the store", d, exc)
        if index is None:
            index = create_index(self.spaces[space].index, self._space_dim(space))
        if int(index.meta.get("generation", -1)) != self.store.generation:
            self._reconcile(space, index)
        return index

    def _space_dim(self, space: str) -> int:
        """Vector size: from a stored vector when there is one (no model load), else the encoder's."""
        row = self.store.db.execute("SELECT length(vec) FROM vectors WHERE space=? LIMIT 1", (space,)).fetchone()
        return row[0] // 4 if row else self.encoder(space).dim

    def _reconcile(self, space: str, index: VectorIndex) -> None:
        """Make `index` hold exactly the store's vectors for `space`."""
        want, have = self.store.vector_ids(space), index.ids()
        extra, missing = np.setdiff1d(have, want), np.setdiff1d(want, have)
        if len(extra):
            index.remove(extra)
        for start in range(0, len(missing), 4096):
            ids = missing[start:start + 4096]
            vecs = self.store.get_vectors(space, ids.tolist(), index.dim)
            index.add(np.stack([vecs[int(i)] for i in ids]), ids)
        if len(extra) or len(missing):
            log.warning("index for space %r lagged the store: added %d, removed %d", space,
                        len(missing), len(extra))
        self._dirty.add(space)

    def flush(self) -> None:
        """Save indexes changed since the last flush (atomic writes)."""
        now = self.store.generation
        for space in sorted(self._dirty):  # a reader saves the generation its index was synced to
            gen = now if self._writing else self._synced.get(space, now)
            self._indexes[space].save(self._index_dir(space), meta={"generation": gen})
        self._dirty.clear()
        self._last_flush = time.monotonic()

    def flush_if_due(self, every_s: float = 30.0) -> None:
        """Flush when the last one is older than `every_s` (bounds recovery work after a crash)."""
        if time.monotonic() - self._last_flush > every_s:
            self.flush()

    @contextmanager
    def transaction(self) -> Iterator["Library"]:
        """A store transaction; on failure the in-memory indexes are dropped so they cannot drift."""
        try:
            with self.store.transaction():
                yield self
        except BaseException:
            self.discard_indexes()
            raise

    def mark_dirty(self, space: str) -> None:
        """Note that the space's index changed and must be saved on the next flush."""
        self._dirty.add(space)

    def discard_indexes(self) -> None:
        """Forget in-memory indexes (after a failed transaction); they reload from disk + store."""
        self._indexes.clear()
        self._synced.clear()
        self._dirty.clear()

    # -- writing -----------------------------------------------------------------------------
    def encode_records(self, records: Sequence[Record]) -> dict[str, tuple[list[int], np.ndarray]]:
        """Embed records into every space that takes their modality."""
        out: dict[str, tuple[list[int], np.ndarray]] = {}
        for space, cfg in self.spaces.items():
            rows = [i for i, r in enumerate(records) if r.modality in cfg.modalities
                    and (r.payload is not None if cfg.input == "image" else bool(r.text))]
            if not rows or not self.available(space):
                continue
            inputs = [records[i].payload if cfg.input == "image" else records[i].text for i in rows]
            out[space] = (rows, self.encoder(space).encode(inputs))
        return out

    def add_records(self, records: Sequence[Record],
                    vectors: dict[str, tuple[list[int], np.ndarray]] | None = None) -> list[int]:
        """Store records (with uids) and index their vectors; returns the new int64 ids."""
        vectors = self.encode_records(records) if vectors is None else vectors
        indexes = {space: self.index(space) for space in vectors}  # load (and repair) before writing
        ids = self.store.add_records(records, vectors)
        for space, (rows, arr) in vectors.items():
            indexes[space].add(arr, np.array([ids[i] for i in rows], dtype=np.int64))
            self._dirty.add(space)
        return ids

    def remove_records_of(self, source: str, drop_source: bool = False) -> int:
        """Remove a source's records from the store and every index."""
        indexes = {space: self.index(space) for space in self._indexed_spaces()}
        sha = (self.store.get_source(source) or {}).get("sha256") if drop_source else None
        with self.transaction():
            ids = self.store.delete_source(source) if drop_source else self.store.delete_records_of(source)
            if ids:
                arr = np.array(ids, dtype=np.int64)
                for space, index in indexes.items():
                    index.remove(arr)
                    self._dirty.add(space)
        if drop_source:  # the source's tables in tables.duckdb and its thumbnails go with it
            from .ingest.images import remove_thumbnails
            from .ingest.tables import drop_source_tables
            drop_source_tables(self.root, source)
            if sha and not self.store.find_by_sha(sha, exclude=source):
                remove_thumbnails(self.root, sha)
        return len(ids)

    def _indexed_spaces(self) -> list[str]:
        """Spaces that have (or can build) an index: an index on disk, or an available encoder."""
        return [s for s in self.spaces if s in self._indexes or (self._index_dir(s) / "manifest.json").exists()
                or self.available(s)]

    # -- reading -----------------------------------------------------------------------------
    def search(self, query: str = "", k: int = 10, **options: object) -> list[Hit]:
        """Hybrid search; see `mmrag.retrieval.search` for options."""
        from .retrieval import search
        return search(self, query, k=k, **options)

    def ask(self, question: str, **options: Any) -> "Answer":
        """Answer `question` from retrieved evidence with citations; see `mmrag.answer.ask`."""
        from .answer import ask
        return ask(self, question, **options)

    def ask_stream(self, question: str, **options: Any) -> Iterator[Any]:
        """`ask`, as events (evidence, tokens, the final answer); see `mmrag.answer.ask_stream`."""
        from .answer import ask_stream
        return ask_stream(self, question, **options)

    def moments(self, video: str, query: str, k: int = 5, **options: Any) -> list[Any]:
        """Time windows of one ingested video that match `query`; see `mmrag.video.moments`."""
        from .video import find_moments
        return find_moments(self, video, query, k=k, **options)

    def sources(self, status: str | None = None) -> list[dict]:
        """Ingested sources (path, sha256, size, mtime, status, error, kind, n_records), by path."""
        return self.store.sources(status)

    def models(self) -> dict[str, dict]:
        """Each model mmrag can use here (space encoders, speech, OCR, LLMs): available, where, or why not."""
        from .model_status import model_rows
        return model_rows(self)

    def status(self) -> dict:
        counts = self.store.counts()
        failed = [{"path": s["path"], "status": s["status"], "error": s["error"]}
                  for s in self.store.sources() if s["status"] not in ("ok", "duplicate")]
        spaces = {}
        for name, cfg in self.spaces.items():
            pending = self.store.count_records(cfg.modalities) - counts["vectors"].get(name, 0)
            spaces[name] = {"encoder": cfg.encoder, "vectors": counts["vectors"].get(name, 0),
                            "modalities": cfg.modalities, "pending": max(pending, 0),
                            **encoder_status(cfg.encoder, **cfg.encoder_params)}
            if name in self._unavailable:
                spaces[name].update(available=False, reason=self._unavailable[name])
        return {"library": str(self.root), "records": counts["records"], "sources": counts["sources"],
                "spaces": spaces, "failed": failed}
