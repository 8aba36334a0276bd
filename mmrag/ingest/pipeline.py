"""Ingest files into a library: discover, read (isolated), chunk, embed, commit in batches.

One bad file never stops a run: anything that goes wrong while reading, decoding, parsing, embedding or
storing one file fails that file with its reason, and the others go on (a batch that fails to embed or
store is retried file by file). Each batch is committed in one SQLite transaction (sources, records,
vectors, FTS), so a crash loses at most the batch in flight and the next run redoes it; what readers
wrote outside SQLite (DuckDB tables, thumbnails) is live only once referenced by a committed record,
and anything left unreferenced by a crash is swept at the start of the next run (`hooks.sweep`).
Unchanged files (same size and mtime, or same sha256) are skipped; identical copies are duplicates.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from ..core import Collection, HasCollection, as_collection, hooks
from ..core.collection import Vectors
from ..core.readers import READERS, SIZE_LIMITS, STREAMED, Document, reader_for
from ..errors import DiskFullError, IngestError, MmragError
from ..kinds import Modality, SourceStatus
from ..records import Record
from .chunking import ChunkSpec, chunk_spans, token_counter
from .discover import Entry, discover
from .report import FileResult, IngestReport
from .worker import Readers, ReadTask

log = logging.getLogger(__name__)
PAYLOAD_PX = 150_000_000  # commit a batch early when its decoded images hold this many pixels
_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


@dataclass
class _Prepared:
    path: str
    sha256: str
    size: int
    mtime: float
    kind: str
    records: list[Record]
    notes: list[str]


def _payload_px(pending: list[_Prepared]) -> int:
    return sum(r.payload.width * r.payload.height for p in pending for r in p.records
               if r.payload is not None and hasattr(r.payload, "width"))


def sha256_file(path: Path, block: int = 8 << 20) -> str:
    """The file's sha256, read in blocks (large media never sit in memory whole)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def disk_full(exc: BaseException) -> bool:
    """True for the errors a disk that refuses writes gives Python and SQLite: full, over a file-size
    limit (SQLite reports those as I/O errors), or failing. Nothing more can be stored: the run stops."""
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return True
    name = getattr(exc, "sqlite_errorname", "") or ""
    return isinstance(exc, sqlite3.OperationalError) and (name.startswith(("SQLITE_FULL", "SQLITE_IOERR"))
                                                           or "full" in str(exc))


class Ingestor:
    """Runs ingestion for one library."""

    def __init__(self, library: Collection | HasCollection, batch_records: int = 256,
                 progress: bool | None = None, follow_links: bool | None = None) -> None:
        self.lib = as_collection(library)
        self.batch_records = batch_records
        self.progress = sys.stderr.isatty() if progress is None else progress
        cfg = self.lib.config
        self.follow_links = cfg.follow_links if follow_links is None else follow_links
        self.chunk_spec = ChunkSpec(max_chars=cfg.chunk_chars, overlap=cfg.chunk_overlap,
                                    min_chars=min(cfg.chunk_chars, max(cfg.chunk_overlap + 1, 200)),
                                    max_tokens=cfg.chunk_tokens, count_tokens=token_counter(self.lib, cfg.chunk_tokens))
        self.readers: Readers | None = None

    def run(self, paths: Sequence[str | Path], prune: bool = False) -> IngestReport:
        t0, report = time.monotonic(), IngestReport()
        with self.lib.writing(), self.lib.running():
            found = discover(paths, skip=[self.lib.root], follow_outside=self.follow_links)
            report.results += [self._refused(e) for e in found.refused]
            self.readers = Readers(self.lib.config)
            try:
                report.results += self._ingest_files(found.files)
            finally:
                self.readers.close()
            if prune:
                report.results += self.prune([p for p in paths if Path(p).is_dir()])
            self._end(report.results)
        report.seconds = time.monotonic() - t0
        return report

    def _end(self, results: list[FileResult]) -> None:
        if any(r.status in (SourceStatus.OK, SourceStatus.REMOVED) for r in results):
            hooks.sweep(self.lib, only=["tables"])  # the old tables of files ingested again

    def _refused(self, entry: Entry) -> FileResult:
        status = SourceStatus.MISSING if entry.missing else SourceStatus.SKIPPED
        if entry.missing:
            log.error("%s: %s", entry.path, entry.reason)
        return FileResult(str(entry.path.absolute()), status, message=entry.reason)

    def _ingest_files(self, files: list[Entry]) -> list[FileResult]:
        results: list[FileResult] = []
        pending: list[_Prepared] = []
        bar = tqdm(files, desc="ingest", unit="file", disable=not self.progress)
        n_records = 0
        for entry in bar:
            item = self._prepare(entry, pending)
            if isinstance(item, FileResult):
                results.append(item)
                continue
            pending.append(item)
            n_records += len(item.records)
            bar.set_postfix(records=n_records, refresh=False)
            if sum(len(p.records) for p in pending) >= self.batch_records or _payload_px(pending) > PAYLOAD_PX:
                results += self._commit(pending)
                pending = []
        bar.close()
        return results + self._commit(pending)

    def _prepare(self, entry: Entry, pending: list[_Prepared]) -> _Prepared | FileResult:
        key = str(entry.target)
        try:
            return self._read(entry.path, entry.target, key, pending)
        except MmragError as exc:
            if isinstance(exc, DiskFullError):
                raise
            return self._fail(key, str(exc))
        except Exception as exc:  # noqa: BLE001 - whatever one file does, the run goes on
            if disk_full(exc):
                raise DiskFullError(f"disk full while ingesting {key} ({exc}); free some space and run"
                                    " `mmrag ingest` again: finished files are kept") from exc
            reason = f"cannot read file: {exc.strerror or exc}" if isinstance(exc, OSError) else \
                f"{type(exc).__name__}: {exc}"
            return self._fail(key, reason)

    def _read(self, path: Path, target: Path, key: str, pending: list[_Prepared]) -> _Prepared | FileResult:
        found = reader_for(path) or reader_for(target)
        if found is None:
            log.info("%s: skipped, unsupported type %r (supported: %s)", key, path.suffix, ", ".join(sorted(READERS)))
            return FileResult(key, SourceStatus.SKIPPED, message=f"unsupported file type {path.suffix!r}")
        st = target.stat()
        old = self.lib.store.get_source(key)
        if old and old["status"] in (SourceStatus.OK, SourceStatus.DUPLICATE) and old["size"] == st.st_size \
                and old["mtime"] == st.st_mtime:
            return FileResult(key, SourceStatus.UNCHANGED)
        kind, _ = found
        field_name = SIZE_LIMITS.get(kind, "max_file_mb")
        limit = getattr(self.lib.config, field_name)
        if st.st_size > limit * 1e6:
            raise IngestError(f"file too large ({st.st_size / 1e6:.1f} MB > {field_name}={limit:g});"
                              f" split it or raise {field_name} in library.json")
        sha = sha256_file(target)
        if old and old["status"] == SourceStatus.OK and old["sha256"] == sha:
            self.lib.store.put_source(key, status=SourceStatus.OK, sha256=sha, size=st.st_size, mtime=st.st_mtime,
                                      kind=old["kind"], n_records=old["n_records"])
            return FileResult(key, SourceStatus.UNCHANGED)
        dup = self.lib.store.find_by_sha(sha, exclude=key) or next((p.path for p in pending if p.sha256 == sha), None)
        if dup:
            with self.lib.transaction():
                self.lib.remove_records_of(key)
                self.lib.store.put_source(key, status=SourceStatus.DUPLICATE, sha256=sha, size=st.st_size,
                                          mtime=st.st_mtime, error=f"same content as {dup}")
            return FileResult(key, SourceStatus.DUPLICATE, message=f"same content as {dup}")
        ext = path.suffix.lower() if reader_for(path) else target.suffix.lower()
        assert self.readers is not None
        task = ReadTask(str(target), ext, str(self.lib.root), sha, self.lib.config, self.readers.modules)
        doc = self.readers.read(task, kind in STREAMED)
        for note in doc.notes:
            log.warning("%s: %s", key, note)
        return _Prepared(key, sha, st.st_size, st.st_mtime, kind, self._records(key, sha, doc), doc.notes)

    def _records(self, key: str, sha: str, doc: Document) -> list[Record]:
        records = []
        for rec in doc.records:
            rec.source = key
            records.append(rec.with_uid(sha))
        for section in doc.sections:
            for start, end in chunk_spans(section.text, self.chunk_spec):
                loc = {**section.locator, "char_start": start, "char_end": end}
                records.append(Record(modality=Modality.TEXT, source=key, locator=loc, text=section.text[start:end],
                                      meta={"kind": doc.kind}).with_uid(sha))
        return records

    def _fail(self, key: str, reason: str) -> FileResult:
        log.error("%s: %s", key, reason)
        try:
            with self.lib.transaction():
                self.lib.remove_records_of(key)
                self.lib.store.put_source(key, status=SourceStatus.FAILED, error=reason)
        except Exception as exc:
            if disk_full(exc):
                raise DiskFullError(f"disk full while recording that {key} failed ({exc}); free some space"
                                    " and run `mmrag ingest` again") from exc
            raise
        return FileResult(key, SourceStatus.FAILED, message=reason)

    def _commit(self, pending: list[_Prepared]) -> list[FileResult]:
        """Embed and store a batch in one transaction; when that fails, file by file (the bad ones fail)."""
        if not pending:
            return []
        try:
            return self._store(pending)
        except Exception as exc:  # noqa: BLE001 - find the file that caused it
            if disk_full(exc):
                raise DiskFullError(f"cannot write to the library: disk full, a file-size limit or a disk error"
                                    f" ({exc}) while storing {len(pending)} files; free some space and run"
                                    " `mmrag ingest` again: files committed before are kept") from exc
            if len(pending) == 1:
                return [self._fail(pending[0].path, f"{type(exc).__name__} while embedding or storing: {exc}")]
            log.warning("a batch of %d files failed (%s); storing them one by one", len(pending), exc)
            return [r for p in pending for r in self._commit([p])]

    def _vectors(self, pending: list[_Prepared], records: list[Record]) -> Vectors:
        """The batch's vectors (embedded here; `RayIngestor` returns its workers')."""
        return self.lib.encode_records(records)

    def _store(self, pending: list[_Prepared]) -> list[FileResult]:
        records = [r for p in pending for r in p.records]
        vectors = self._vectors(pending, records)
        with self.lib.transaction():
            for p in pending:
                self.lib.remove_records_of(p.path)
                self.lib.store.put_source(p.path, status=SourceStatus.OK, sha256=p.sha256, size=p.size, mtime=p.mtime,
                                          kind=p.kind, n_records=len(p.records), error="; ".join(p.notes) or None)
            self.lib.add_records(records, vectors)
        self.lib.flush_if_due()
        return [FileResult(p.path, SourceStatus.OK, len(p.records), "; ".join(p.notes)) for p in pending]

    def prune(self, folders: Sequence[str | Path]) -> list[FileResult]:
        """Remove sources under `folders` whose files no longer exist."""
        out = []
        roots = [str(Path(f).resolve()) + os.sep for f in folders]
        for src in self.lib.store.sources():
            if any(src["path"].startswith(r) for r in roots) and not Path(src["path"]).exists():
                n = self.lib.remove_records_of(src["path"], drop_source=True)
                out.append(FileResult(src["path"], SourceStatus.REMOVED, n, "file no longer exists"))
        return out
