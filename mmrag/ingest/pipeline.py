"""Ingest files into a library: discover, read, chunk, embed, commit in batches.

Each batch of files is committed in one SQLite transaction (sources + records + vectors + FTS),
so a crash loses at most the batch in flight; the next run redoes it. Unchanged files
(same size and mtime, or same sha256) are skipped; identical copies are recorded as duplicates.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from tqdm import tqdm

from ..core import Collection, HasCollection, as_collection
from ..core.readers import READERS, SIZE_LIMITS, STREAMED, Document, ReadContext, reader_for
from ..errors import IngestError
from ..kinds import Modality, SourceStatus
from ..records import Record
from .chunking import ChunkSpec, chunk_spans

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    path: str
    status: SourceStatus
    n_records: int = 0
    message: str = ""


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)

    def count(self, status: SourceStatus | str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def problems(self) -> list[FileResult]:
        return [r for r in self.results if r.status in (SourceStatus.FAILED, SourceStatus.MISSING)]

    @property
    def nothing_ingested(self) -> bool:
        """True when there were problems and no file was ingested or already present."""
        good = sum(self.count(s) for s in (SourceStatus.OK, SourceStatus.UNCHANGED, SourceStatus.DUPLICATE))
        return good == 0 and bool(self.problems)

    def to_dict(self) -> dict:
        counts = {s.value: self.count(s) for s in SourceStatus}
        return {"counts": counts, "records": sum(r.n_records for r in self.results if r.status == SourceStatus.OK),
                "problems": [vars(r) for r in self.problems]}


@dataclass
class _Prepared:
    path: str
    sha256: str
    size: int
    mtime: float
    kind: str
    records: list[Record]
    notes: list[str]


PAYLOAD_PX = 150_000_000  # commit a batch early when its decoded images hold this many pixels


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


def discover(paths: Iterable[str | Path], skip: Sequence[Path] = ()) -> tuple[list[Path], list[str]]:
    """Files under `paths` (recursively, hidden entries skipped) and the paths that do not exist."""
    skip_resolved = {p.resolve() for p in skip}
    files: list[Path] = []
    missing: list[str] = []
    for p in map(Path, paths):
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and (Path(root) / d).resolve() not in skip_resolved)
                files += [Path(root) / n for n in sorted(names) if not n.startswith(".")]
        else:
            missing.append(str(p))
    return files, missing


class Ingestor:
    """Runs ingestion for one library."""

    def __init__(self, library: Collection | HasCollection, batch_records: int = 256,
                 progress: bool | None = None) -> None:
        self.lib = as_collection(library)
        self.batch_records = batch_records
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.tools: dict = {}  # shared by readers (e.g. one OCR engine per run)
        cfg = library.config
        self.chunk_spec = ChunkSpec(max_chars=cfg.chunk_chars, overlap=cfg.chunk_overlap,
                                    min_chars=min(cfg.chunk_chars, max(cfg.chunk_overlap + 1, 200)))

    def run(self, paths: Sequence[str | Path], prune: bool = False) -> IngestReport:
        report = IngestReport()
        with self.lib.writing():
            files, missing = discover(paths, skip=[self.lib.root])
            for m in missing:
                log.error("%s: path does not exist", m)
                report.results.append(FileResult(m, SourceStatus.MISSING, message="path does not exist"))
            try:
                report.results += self._ingest_files(files)
            finally:
                self._close_tools()
            if prune:
                report.results += self.prune([p for p in paths if Path(p).is_dir()])
        return report

    def _ingest_files(self, files: list[Path]) -> list[FileResult]:
        results: list[FileResult] = []
        pending: list[_Prepared] = []
        for path in tqdm(files, desc="ingest", unit="file", disable=not self.progress):
            item = self._prepare(path, pending)
            if isinstance(item, FileResult):
                results.append(item)
                continue
            pending.append(item)
            if sum(len(p.records) for p in pending) >= self.batch_records or _payload_px(pending) > PAYLOAD_PX:
                results += self._commit(pending)
                pending = []
        return results + self._commit(pending)

    def _close_tools(self) -> None:
        """Close what readers opened for this run (e.g. the DuckDB table store)."""
        for tool in self.tools.values():
            if hasattr(tool, "close"):
                tool.close()
        self.tools.clear()

    def _prepare(self, path: Path, pending: list[_Prepared]) -> _Prepared | FileResult:
        key = str(path.resolve())
        try:
            return self._read(path, key, pending)
        except IngestError as exc:
            return self._fail(key, str(exc))
        except OSError as exc:
            return self._fail(key, f"cannot read file: {exc.strerror or exc}")

    def _read(self, path: Path, key: str, pending: list[_Prepared]) -> _Prepared | FileResult:
        found = reader_for(path)
        if found is None:
            log.info("%s: skipped, unsupported type %r (supported: %s)", key, path.suffix, ", ".join(sorted(READERS)))
            return FileResult(key, SourceStatus.SKIPPED, message=f"unsupported file type {path.suffix!r}")
        st = path.stat()
        old = self.lib.store.get_source(key)
        if old and old["status"] in (SourceStatus.OK, SourceStatus.DUPLICATE) and old["size"] == st.st_size \
                and old["mtime"] == st.st_mtime:
            return FileResult(key, SourceStatus.UNCHANGED)
        kind, reader = found
        field_name = SIZE_LIMITS.get(kind, "max_file_mb")
        limit = getattr(self.lib.config, field_name)
        if st.st_size > limit * 1e6:
            raise IngestError(f"file too large ({st.st_size / 1e6:.1f} MB > {field_name}={limit:g});"
                              f" split it or raise {field_name} in library.json")
        if kind in STREAMED:  # large media: hashed in blocks, read by the reader itself
            data, sha = b"", sha256_file(path)
        else:
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
        if old and old["status"] == SourceStatus.OK and old["sha256"] == sha:
            self.lib.store.put_source(key, status=SourceStatus.OK, sha256=sha, size=st.st_size, mtime=st.st_mtime,
                                      kind=old["kind"], n_records=old["n_records"])
            return FileResult(key, SourceStatus.UNCHANGED)
        dup = self.lib.store.find_by_sha(sha, exclude=key) or next(
            (p.path for p in pending if p.sha256 == sha), None)
        if dup:
            with self.lib.transaction():
                self.lib.remove_records_of(key)
                self.lib.store.put_source(key, status=SourceStatus.DUPLICATE, sha256=sha, size=st.st_size,
                                          mtime=st.st_mtime, error=f"same content as {dup}")
            return FileResult(key, SourceStatus.DUPLICATE, message=f"same content as {dup}")
        doc = reader(path, data, ReadContext(self.lib.root, sha, self.lib.config, self.tools))
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
        with self.lib.transaction():
            self.lib.remove_records_of(key)
            self.lib.store.put_source(key, status=SourceStatus.FAILED, error=reason)
        return FileResult(key, SourceStatus.FAILED, message=reason)

    def _commit(self, pending: list[_Prepared]) -> list[FileResult]:
        if not pending:
            return []
        records = [r for p in pending for r in p.records]
        vectors = self.lib.encode_records(records)
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
