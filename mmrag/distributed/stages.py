"""The two Ray Data stages of a distributed ingest, run on the workers.

`read_files` (Ray tasks) reads a batch of files, each in the worker's reader process with the same
time and memory limits as a local ingest (`mmrag.ingest.worker.Readers`): a file that fails, hangs or
crashes its reader becomes a failed row, never a failed task. `EmbedFiles` (an actor pool) chunks each
document into records with the local pipeline's own code (`Ingestor._records`) and embeds them with one
loaded encoder per space per actor; a batch that fails to embed is retried file by file. Rows are
``{key, sha, ok, blob}``: `blob` is a pickled Document (read), a pickled (records, vectors, notes)
(embedded), or the UTF-8 reason a file failed.
"""
from __future__ import annotations

import logging
import pickle
from dataclasses import replace
from typing import Any

import numpy as np

from encoders import Encoder, ModelUnavailableError, create_encoder

from ..core.collection import Vectors
from ..core.config import LibraryConfig
from ..core.status import fail_fast_offline
from ..errors import MmragError, ModelMissingError, model_missing
from ..ingest.chunking import ChunkSpec, token_counter
from ..ingest.pipeline import Ingestor
from ..ingest.worker import Readers, import_plugins
from ..kinds import SpaceInput
from ..records import Record

log = logging.getLogger(__name__)
Rows = dict[str, list[Any]]


def failure(exc: BaseException) -> str:
    """A file's reason, worded as a local ingest words it."""
    if isinstance(exc, MmragError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"cannot read file: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _rows() -> Rows:
    return {"key": [], "sha": [], "ok": [], "blob": []}


def _put(out: Rows, key: str, sha: str, ok: bool, blob: bytes) -> None:
    out["key"].append(str(key))
    out["sha"].append(str(sha))
    out["ok"].append(bool(ok))
    out["blob"].append(blob)


def read_files(batch: dict[str, np.ndarray]) -> Rows:
    """Ray task: read each file of the batch (columns key, sha, task: a pickled ReadTask, streamed)."""
    out = _rows()
    tasks = [pickle.loads(b) for b in batch["task"]]
    if not tasks:
        return out
    import_plugins(tasks[0].modules)  # the readers register themselves when imported
    readers = Readers(tasks[0].config)
    try:
        for key, sha, task, streamed in zip(batch["key"], batch["sha"], tasks, batch["streamed"]):
            try:
                _put(out, key, sha, True, pickle.dumps(readers.read(task, bool(streamed))))
            except Exception as exc:  # noqa: BLE001 - whatever one file does, it fails alone
                _put(out, key, sha, False, failure(exc).encode())
    finally:
        readers.close()  # closes the tools the readers opened (DuckDB); the reader process stays
    return out


class EmbedFiles:
    """Ray actor: documents -> records -> vectors, one loaded encoder per space."""

    _records = Ingestor._records  # the local pipeline's chunking into records, verbatim

    def __init__(self, config: LibraryConfig, spec: ChunkSpec, max_tokens: int) -> None:
        self.config = config
        self._encoders: dict[str, Encoder] = {}
        self._unavailable: dict[str, str] = {}
        self.chunk_spec = replace(spec, max_tokens=max_tokens, count_tokens=token_counter(self, max_tokens))

    def encoder(self, space: str) -> Encoder:
        """The space's encoder (loaded once); ModelMissingError, remembered, when its weights are missing."""
        if space in self._unavailable:
            raise ModelMissingError(self._unavailable[space])
        if space not in self._encoders:
            cfg = self.config.spaces[space]
            try:
                fail_fast_offline(cfg)
                self._encoders[space] = create_encoder(cfg.encoder, **cfg.encoder_params)
            except ModelUnavailableError as exc:
                self._unavailable[space] = str(exc)
                log.warning("space %r is unavailable (%s weights missing)", space, cfg.encoder)
                raise model_missing(exc) from exc
        return self._encoders[space]

    def encode_records(self, records: list[Record]) -> Vectors:
        """Embed records into every space that takes their modality (as `Collection.encode_records`)."""
        out: Vectors = {}
        for space, cfg in self.config.spaces.items():
            pixels = cfg.input == SpaceInput.IMAGE
            rows = [i for i, r in enumerate(records) if r.modality in cfg.modalities
                    and (r.payload is not None if pixels else bool(r.text))]
            if not rows:
                continue
            try:
                enc = self.encoder(space)
            except ModelUnavailableError:
                continue
            inputs = [records[i].payload if pixels else records[i].text for i in rows]
            out[space] = (rows, np.asarray(enc.encode(inputs), dtype=np.float32))
        return out

    def __call__(self, batch: dict[str, np.ndarray]) -> Rows:
        out = _rows()
        files: list[tuple[str, str, list[Record], list[str]]] = []
        for key, sha, ok, blob in zip(batch["key"], batch["sha"], batch["ok"], batch["blob"]):
            if not ok:
                _put(out, key, sha, False, bytes(blob))
                continue
            try:
                doc = pickle.loads(blob)
                files.append((str(key), str(sha), self._records(str(key), str(sha), doc), list(doc.notes)))
            except Exception as exc:  # noqa: BLE001 - the file fails, the batch goes on
                _put(out, key, sha, False, failure(exc).encode())
        for (key, sha, records, notes), result in zip(files, self._embed(files)):
            if isinstance(result, str):
                _put(out, key, sha, False, result.encode())
                continue
            for r in records:
                r.payload = None  # pixels are an encoder input only: not sent back, not stored
            _put(out, key, sha, True, pickle.dumps((records, result, notes)))
        return out

    def _embed(self, files: list[tuple[str, str, list[Record], list[str]]]) -> list[Vectors | str]:
        """Vectors per file: the batch embedded at once; if that fails, file by file (a reason for the bad)."""
        records = [r for f in files for r in f[2]]
        try:
            together = self.encode_records(records)
        except Exception as exc:  # noqa: BLE001 - find the file that caused it
            if len(files) == 1:
                return [f"{type(exc).__name__} while embedding or storing: {exc}"]
            log.warning("a batch of %d files failed to embed (%s); embedding them one by one", len(files), exc)
            return [r for f in files for r in self._embed([f])]
        return split_vectors(together, [len(f[2]) for f in files])


def split_vectors(vectors: Vectors, sizes: list[int]) -> list[Vectors]:
    """Per-file vectors (row indexes local to each file) from a batch's vectors."""
    bounds = np.cumsum([0, *sizes])
    out: list[Vectors] = [{} for _ in sizes]
    for space, (rows, arr) in vectors.items():
        rows_a = np.asarray(rows, dtype=np.int64)
        owner = np.searchsorted(bounds, rows_a, side="right") - 1
        for f in np.unique(owner):
            sel = np.flatnonzero(owner == f)
            out[int(f)][space] = ((rows_a[sel] - bounds[f]).tolist(), arr[sel])
    return out
