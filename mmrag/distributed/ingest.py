"""`RayIngestor`: `mmrag ingest --engine ray`, the local ingest with reading and embedding on Ray.

The driver walks the folders and makes every decision a local ingest makes, with the local code
(`Ingestor._prepare`: unsupported, unchanged, too large, sha256, unchanged content, duplicates) and
keeps the store to itself. The files to read go into a Ray Data pipeline:
``from_items -> map_batches(read_files) [tasks] -> map_batches(EmbedFiles) [actor pool]``; each file's
records and vectors come back to the driver, which stores them in batches through the same store and
index code as a local ingest (`Collection.add_records`): the library is the same as a local one.

Failures stay per file (a failed row is recorded as a local ingest records it). Ray retries tasks and
restarts actors that die with their node; a file is committed once per run (its first answer; a
retried task's repeat is dropped), and its records replace that source's by content-addressed uid,
so an interrupted run, run again, finishes the job without duplicates.
"""
from __future__ import annotations

import logging
import math
import pickle
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from ..core import Collection, HasCollection
from ..core.collection import Vectors
from ..core.readers import Document
from ..ingest.discover import Entry
from ..ingest.pipeline import Ingestor, _Prepared
from ..ingest.report import FileResult, IngestReport
from ..ingest.worker import ReadTask
from ..kinds import SourceStatus
from ..records import Record
from .cluster import ray_session, require_ray
from .stages import EmbedFiles, read_files

log = logging.getLogger(__name__)


@dataclass
class _Planned:
    prepared: _Prepared  # the local checks' outcome (records still empty)
    task: ReadTask
    streamed: bool


class _Deferred:
    """Takes the reader's place while the driver plans: keeps the ReadTask instead of reading."""

    def __init__(self, modules: list[str]) -> None:
        self.modules = modules
        self.taken: tuple[ReadTask, bool] | None = None

    def read(self, task: ReadTask, streamed: bool) -> Document:
        self.taken = (task, streamed)
        return Document(kind="")

    def close(self) -> None:
        pass


class RayIngestor(Ingestor):
    """An `Ingestor` whose files are read and embedded on a Ray cluster (see the module docstring)."""

    def __init__(self, library: Collection | HasCollection, address: str | None = None, num_cpus: int | None = None,
                 files_per_task: int = 8, embed_batch: int = 16, embed_actors: int | None = None,
                 read_cpus: float = 0.5, embed_cpus: float = 0.5, preserve_order: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(library, **kwargs)
        self.address, self.num_cpus = address, num_cpus
        self.files_per_task, self.embed_batch, self.embed_actors = files_per_task, embed_batch, embed_actors
        self.read_cpus, self.embed_cpus, self.preserve_order = read_cpus, embed_cpus, preserve_order
        self._vectors_of: dict[str, Vectors] = {}

    def run(self, paths: Sequence[str | Path], prune: bool = False) -> IngestReport:
        from .index_build import ray_shard_filler
        with ray_session(self.address, self.num_cpus) as resources, ray_shard_filler():
            self.resources = resources
            return super().run(paths, prune)

    # -- planning on the driver -------------------------------------------------------------------
    def _ingest_files(self, files: list[Entry]) -> list[FileResult]:
        plan, results, dups = self._plan(files)
        if plan:
            results += self._pipeline(plan)
        return results + self._duplicates(dups, {r.path: r for r in results})

    def _plan(self, files: list[Entry]) -> tuple[list[_Planned], list[FileResult], dict[str, list[_Prepared]]]:
        real = self.readers
        assert real is not None
        deferred = _Deferred(real.modules)
        self.readers = deferred  # type: ignore[assignment]
        plan: list[_Planned] = []
        results: list[FileResult] = []
        firsts: dict[str, str] = {}
        dups: dict[str, list[_Prepared]] = defaultdict(list)
        try:
            for entry in tqdm(files, desc="check", unit="file", disable=not self.progress):
                deferred.taken = None
                item = self._prepare(entry, [])
                if isinstance(item, FileResult):
                    results.append(item)
                elif item.sha256 in firsts:  # the same content twice in this run: decided by the first
                    dups[firsts[item.sha256]].append(item)
                else:
                    assert deferred.taken is not None
                    firsts[item.sha256] = item.path
                    plan.append(_Planned(item, *deferred.taken))
        finally:
            self.readers = real
        return plan, results, dups

    def _duplicates(self, dups: dict[str, list[_Prepared]], outcome: dict[str, FileResult]) -> list[FileResult]:
        out = []
        for first, items in dups.items():
            res = outcome.get(first)
            for p in items:
                if res is not None and res.status == SourceStatus.OK:
                    out.append(self._duplicate(p, first))
                else:
                    out.append(self._fail(p.path, res.message if res else f"same content as {first}, not read"))
        return out

    def _duplicate(self, p: _Prepared, first: str) -> FileResult:
        with self.lib.transaction():
            self.lib.remove_records_of(p.path)
            self.lib.store.put_source(p.path, status=SourceStatus.DUPLICATE, sha256=p.sha256, size=p.size,
                                      mtime=p.mtime, error=f"same content as {first}")
        return FileResult(p.path, SourceStatus.DUPLICATE, message=f"same content as {first}")

    # -- the Ray pipeline ---------------------------------------------------------------------------
    def _dataset(self, plan: list[_Planned]) -> Any:
        ray = require_ray()
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # ours counts files and records
        ctx.execution_options.preserve_order = self.preserve_order
        rows = [{"key": p.prepared.path, "sha": p.prepared.sha256, "task": pickle.dumps(p.task),
                 "streamed": p.streamed} for p in plan]
        cpus = float(self.resources.get("CPU", 1))
        actors = self.embed_actors or max(1, int(cpus // 2))
        cfg = self.lib.config
        spec = replace(self.chunk_spec, max_tokens=0, count_tokens=None)
        ds = ray.data.from_items(rows, override_num_blocks=max(1, math.ceil(len(rows) / self.files_per_task)))
        ds = ds.map_batches(read_files, batch_size=self.files_per_task, num_cpus=self.read_cpus,
                            batch_format="numpy")
        return ds.map_batches(EmbedFiles, fn_constructor_args=(cfg, spec, cfg.chunk_tokens),
                              batch_size=self.embed_batch, num_cpus=self.embed_cpus, batch_format="numpy",
                              compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors))

    def _pipeline(self, plan: list[_Planned]) -> list[FileResult]:
        by_key = {p.prepared.path: p.prepared for p in plan}
        results: list[FileResult] = []
        pending: list[_Prepared] = []
        done: set[str] = set()
        bar = tqdm(total=len(plan), desc="ingest (ray)", unit="file", disable=not self.progress)
        n_records = 0
        for row in self._dataset(plan).iter_rows():
            key = str(row["key"])
            if key in done or key not in by_key:  # a retried task's repeat
                continue
            done.add(key)
            bar.update(1)
            if not row["ok"]:
                results.append(self._fail(key, bytes(row["blob"]).decode()))
                continue
            records, vectors, notes = pickle.loads(row["blob"])
            for note in notes:
                log.warning("%s: %s", key, note)
            pending.append(replace(by_key[key], records=records, notes=notes))
            self._vectors_of[key] = vectors
            n_records += len(records)
            bar.set_postfix(records=n_records, refresh=False)
            if sum(len(p.records) for p in pending) >= self.batch_records:
                results += self._commit(pending)
                pending = []
        bar.close()
        results += self._commit(pending)
        lost = [k for k in by_key if k not in done]
        results += [self._fail(k, "the Ray pipeline returned no result for this file") for k in lost]
        self._vectors_of.clear()
        return results

    def _vectors(self, pending: list[_Prepared], records: list[Record]) -> Vectors:
        """The vectors the workers computed, shifted into the batch's rows."""
        return merge_vectors([self._vectors_of.get(p.path, {}) for p in pending], [len(p.records) for p in pending])


def merge_vectors(parts: list[Vectors], sizes: list[int]) -> Vectors:
    """One batch's vectors from per-file vectors (row indexes shifted by the files before)."""
    rows: dict[str, list[int]] = defaultdict(list)
    arrays: dict[str, list[np.ndarray]] = defaultdict(list)
    base = 0
    for part, size in zip(parts, sizes):
        for space, (r, arr) in part.items():
            rows[space] += [base + i for i in r]
            arrays[space].append(arr)
        base += size
    return {s: (rows[s], np.concatenate(arrays[s])) for s in rows}
