"""`mmrag doctor [--repair]`: check that a library's parts agree, and mend what does not.

Checks, in order: the store file (header, SQLite's integrity check), the agreement of its tables
(records, FTS rows, vectors, sources), each space's vector index against the stored vectors (count,
ids, generation), an ingest that did not finish, what packages stored outside SQLite (DuckDB tables,
thumbnails) that no record references, and records whose tables or thumbnails are gone.

`--repair`: a damaged store is kept aside (`store.sqlite.damaged-<time>`) and the sources that can
still be read from it are ingested again into a new one; broken rows are fixed; indexes are rebuilt
from the stored vectors; orphans are dropped; sources whose parts are missing are read again.
"""
from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexes import create_index, load_index

from .core import Collection, hooks, versions
from .core.collection import RUNNING
from .core.indexing import index_dir, save_index
from .core.readers import READERS
from .core.store_checks import agreement, header_problem, integrity, repair_agreement, salvage_sources
from .errors import LibraryDamagedError
from .ingest import Ingestor
from .kinds import SourceStatus

log = logging.getLogger(__name__)


@dataclass
class Finding:
    """One check: what was looked at, whether it is fine, and what was done about it."""

    check: str
    ok: bool
    detail: str = ""
    repaired: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else ("FIXED" if self.repaired else "BAD ")
        text = f"{mark} {self.check}" + (f": {self.detail}" if self.detail else "")
        return text + (f" -> {self.repaired}" if self.repaired else "")


def _store_file(root: Path, repair: bool) -> tuple[list[Finding], list[str]]:
    """Findings on the store file, and (after a repair) the sources to ingest again."""
    path = root / "store.sqlite"
    problem = header_problem(path)
    if problem is None:
        try:
            Collection(root).close()
            return [Finding("store file", True, str(path))], []
        except LibraryDamagedError as exc:
            problem = str(exc).split(" is damaged: ")[-1].split(". Run `mmrag doctor")[0]
    found = Finding("store file", False, f"{path.name} is damaged: {problem}")
    if not repair:
        return [found], []
    sources = salvage_sources(path, sorted(READERS))
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        if (p := Path(str(path) + suffix)).exists():
            p.rename(Path(str(aside) + suffix))
    found.repaired = f"kept as {aside.name}; a new store will re-read the {len(sources)} sources it still named"
    return [found], sources


def _index_finding(c: Collection, space: str) -> Finding:
    d = index_dir(c.root, space)
    want = c.store.vector_ids(space)
    if not (d / "manifest.json").exists():
        return Finding(f"index {space}", True, f"no index on disk yet ({len(want)} stored vectors; it is built"
                                              " from them when next opened)")
    try:
        index = load_index(d)
    except (OSError, ValueError, RuntimeError, EOFError) as exc:
        return Finding(f"index {space}", False, f"unreadable ({exc})")
    have = index.ids()
    same = len(have) == len(want) and bool(np.array_equal(np.sort(have), np.sort(want)))
    gen, now = int(index.meta.get("generation", -1)), c.store.generation
    detail = f"{len(have)} vectors, store {len(want)}; generation {gen}, store {now}"
    if not same and gen < now:  # behind the store (a writer stopped before saving): not damage
        return Finding(f"index {space}", True, detail + "; behind the store, brought up to date when next opened")
    return Finding(f"index {space}", same and gen == now, detail)


def _rebuild_index(c: Collection, space: str) -> str:
    ids = c.store.vector_ids(space)
    dim = c.store.vector_dim(space) or c.encoder(space).dim
    index = create_index(c.space(space).index, dim)
    index.meta["epoch"] = versions.epoch(c.store, space)
    for start in range(0, len(ids), 4096):
        chunk = ids[start:start + 4096]
        vecs = c.store.get_vectors(space, chunk.tolist(), dim)
        index.add(np.stack([vecs[int(i)] for i in chunk]), chunk)
    save_index(c.root, space, index, c.store.generation)
    c.discard_indexes()
    return f"rebuilt from {len(ids)} stored vectors"


def _store_findings(c: Collection, repair: bool) -> list[Finding]:
    out = []
    problems = integrity(c.store)
    out.append(Finding("store integrity", not problems, "; ".join(problems[:3]) or "SQLite integrity check ok"))
    broken = agreement(c.store)
    for rule, n in broken.items():
        f = Finding(rule, n == 0, f"{n} found" if n else "none")
        if n and repair:
            f.repaired = "fixed"
        out.append(f)
    if repair and any(broken.values()):
        repair_agreement(c.store, broken)
    return out


def _outside_findings(c: Collection, repair: bool) -> tuple[list[Finding], dict[str, str]]:
    """Orphans and missing parts outside SQLite; returns the sources to read again."""
    out = []
    running = c.store.get_meta(RUNNING)
    f = Finding("last ingest finished", not running, "an ingest stopped before its end" if running else "")
    for name, gone in hooks.sweep(c, dry_run=not repair).items():
        out.append(Finding(f"unreferenced {name}", not gone, f"{len(gone)} found" + (f", e.g. {gone[0]}" if gone else ""),
                           "removed" if gone and repair else ""))
    if running and repair:
        with c.transaction():
            c.store.delete_meta(RUNNING)
        f.repaired = "its leftovers were swept"
    requeue: dict[str, str] = {}
    for name, sources in hooks.missing(c).items():
        requeue.update(sources)
        example = next(iter(sources.values()), "")
        out.append(Finding(f"missing {name}", not sources, f"{len(sources)} sources" + (f", e.g. {example}" if
                                                                                        example else "")))
        out[-1].repaired = "re-queued" if sources and repair else ""
    return [f, *out], requeue


def _requeue(c: Collection, sources: list[str]) -> str:
    """Mark sources to be read again, and read again those whose files are still there."""
    with c.transaction():
        for src in sources:
            c.remove_records_of(src)
            c.store.put_source(src, status=SourceStatus.FAILED, error="re-queued by `mmrag doctor --repair`")
    there = [s for s in sources if Path(s).is_file()]
    report = Ingestor(c, progress=False).run(there) if there else None
    ok = report.count(SourceStatus.OK) if report else 0
    return f"{ok} of {len(sources)} read again" + (f" ({len(sources) - len(there)} files are gone)"
                                                    if len(there) < len(sources) else "")


def doctor(root: str | Path, repair: bool = False) -> dict[str, Any]:
    """Check (and with `repair`, mend) the library at `root`; {"ok", "findings": [...]}."""
    root = Path(root)
    findings, salvaged = _store_file(root, repair)
    if not findings[0].ok and not repair:
        return _result(findings)
    with Collection(root) as c, c.writing() if repair else nullcontext():
        if salvaged:
            findings[0].repaired += f"; {_requeue(c, salvaged)}"
        findings += _store_findings(c, repair)
        for space in c.spaces:
            f = _index_finding(c, space)
            if not f.ok and repair:
                f.repaired = _rebuild_index(c, space)
            findings.append(f)
        outside, requeue = _outside_findings(c, repair)
        findings += outside
        if requeue and repair:
            done = _requeue(c, sorted(requeue))
            for f in findings:
                f.repaired = done if f.repaired == "re-queued" else f.repaired
    return _result(findings)


def _result(findings: list[Finding]) -> dict[str, Any]:
    return {"ok": all(f.ok or f.repaired for f in findings), "findings": [asdict(f) for f in findings],
            "text": "\n".join(f.line() for f in findings)}
