"""Hook registries: how capability packages plug into the core without the core importing them.

* **source removed**: `fn(collection, source, sha256)` runs after a source's records are deleted
  (the tables package drops its DuckDB tables, the images package its thumbnails);
* **hit processors**: `fn(collection, request, fused, hits)` may rewrite a search's hits (the video
  package turns keyframe, segment and transcript hits into moments);
* **sweepers**: `fn(collection, dry_run)` remove what a package stored outside SQLite that no committed
  record references (a crash between writing it and the commit);
* **missing parts**: `fn(collection)` names sources whose records reference something that is gone;
* **record inputs**: `fn(collection, record)` re-reads what a space's encoder needs for a record of
  one modality (`mmrag reindex`: the image file, a video frame);
* **relocated**: `fn(collection, old, new)` after the library folder moved from `old` to `new` (the
  tables package renames the sources of its DuckDB tables).

File readers have their own registry in `mmrag.core.readers`. Hooks receive the `Collection` as their
first argument (typed `Any` here: the collection imports this module, not the other way round).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import UnknownNameError
from ..records import Hit, Record

log = logging.getLogger(__name__)
Fused = tuple[int, float, dict[str, int]]  # (record id, fused score, {retriever: rank})
SourceRemovedFn = Callable[[Any, str, "str | None"], None]


@dataclass
class SearchRequest:
    """What a search was asked, as hit processors see it."""

    query: str
    k: int
    image: Any = None  # PIL image
    qvecs: dict[str, np.ndarray] = field(default_factory=dict)  # query vector per space
    modality: Sequence[str] | None = None


HitProcessor = Callable[[Any, SearchRequest, Sequence[Fused], list[Hit]], list[Hit]]
RecordInputFn = Callable[[Any, Record], Any]

SweepFn = Callable[[Any, bool], list[str]]

MissingFn = Callable[[Any], dict[str, str]]

_REMOVED: list[SourceRemovedFn] = []
_SWEEPERS: dict[str, SweepFn] = {}
_MISSING: dict[str, MissingFn] = {}
_HIT_PROCESSORS: list[HitProcessor] = []
_RECORD_INPUTS: dict[str, RecordInputFn] = {}
_RELOCATED: list[Callable[[Any, str, str], None]] = []


def on_source_removed(fn: SourceRemovedFn) -> SourceRemovedFn:
    """Register `fn(collection, source, sha256)` to clean up after a source is removed."""
    if fn not in _REMOVED:
        _REMOVED.append(fn)
    return fn


def source_removed(collection: Any, source: str, sha256: str | None) -> None:
    """Run every source-removed hook; one that fails is logged, the others still run."""
    for fn in _REMOVED:
        try:
            fn(collection, source, sha256)
        except Exception:  # noqa: BLE001 - cleanup must not stop the other cleanups
            log.exception("cleanup %s failed for %s", getattr(fn, "__qualname__", fn), source)


def register_sweeper(name: str) -> Callable[[SweepFn], SweepFn]:
    """Decorator: `fn(collection, dry_run) -> [what is (or would be) removed]` finds what a package stored
    outside SQLite that no committed record references (left by a crash) and removes it. Runs under the
    writer lock only (the start and end of an ingest, `mmrag doctor`)."""
    def deco(fn: SweepFn) -> SweepFn:
        _SWEEPERS[name] = fn
        return fn
    return deco


def sweep(collection: Any, dry_run: bool = False, only: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Run the sweepers (all, or those named in `only`): {name: what was removed (or would be, dry_run)}."""
    out: dict[str, list[str]] = {}
    for name, fn in _SWEEPERS.items():
        if only is not None and name not in only:
            continue
        try:
            out[name] = fn(collection, dry_run)
        except Exception:  # noqa: BLE001 - one package's clean-up must not stop the others
            log.exception("sweeping %s failed", name)
            out[name] = []
        if out[name] and not dry_run:
            log.warning("removed %d unreferenced %s", len(out[name]), name)
    return out


def register_missing(name: str) -> Callable[[MissingFn], MissingFn]:
    """Decorator: `fn(collection) -> {source: why}` names the sources whose records reference something
    the package stored outside SQLite that is gone (a deleted table, a lost thumbnail): `mmrag doctor
    --repair` reads those sources again."""
    def deco(fn: MissingFn) -> MissingFn:
        _MISSING[name] = fn
        return fn
    return deco


def missing(collection: Any) -> dict[str, dict[str, str]]:
    """Every package's sources with missing parts: {name: {source: why}}."""
    return {name: fn(collection) for name, fn in _MISSING.items()}


def register_hit_processor(fn: HitProcessor) -> HitProcessor:
    """Register `fn(collection, request, fused, hits) -> hits`, run on every search's top hits."""
    if fn not in _HIT_PROCESSORS:
        _HIT_PROCESSORS.append(fn)
    return fn


def process_hits(collection: Any, request: SearchRequest, fused: Sequence[Fused], hits: list[Hit]) -> list[Hit]:
    for fn in _HIT_PROCESSORS:
        hits = fn(collection, request, fused, hits)
    return hits


def register_record_input(modality: str) -> Callable[[RecordInputFn], RecordInputFn]:
    """Decorator: `fn(collection, record)` re-reads the encoder input of a record of `modality`."""
    def deco(fn: RecordInputFn) -> RecordInputFn:
        _RECORD_INPUTS[modality] = fn
        return fn
    return deco


def record_input(collection: Any, record: Record) -> Any:
    """The encoder input of a stored record, re-read through its modality's hook."""
    if record.modality not in _RECORD_INPUTS:
        raise UnknownNameError("modality to re-read", str(record.modality), sorted(_RECORD_INPUTS))
    return _RECORD_INPUTS[record.modality](collection, record)


def on_relocated(fn: Callable[[Any, str, str], None]) -> Callable[[Any, str, str], None]:
    """Register `fn(collection, old_prefix, new_prefix)`: sources under the moved library folder."""
    if fn not in _RELOCATED:
        _RELOCATED.append(fn)
    return fn


def relocated(collection: Any, old: str, new: str) -> None:
    """Run every relocation hook (a failure propagates: the move is then retried on the next open)."""
    for fn in _RELOCATED:
        fn(collection, old, new)
