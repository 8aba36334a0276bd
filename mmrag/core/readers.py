"""The file-reader registry: readers by extension, and what they return (`Document`).

A reader is `fn(path, data, ctx) -> Document`; it raises `IngestError` for a file it cannot read.
Modality packages register theirs (`mmrag.documents`, `mmrag.images`, `mmrag.tables`, `mmrag.video`);
the ingest pipeline looks them up here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import IngestError
from .config import LibraryConfig

if TYPE_CHECKING:
    from ..records import Record

log = logging.getLogger(__name__)
__all__ = ["Document", "IngestError", "READERS", "ReadContext", "Reader", "SIZE_LIMITS", "STREAMED", "Section",
           "reader_for", "register_reader", "supported_extensions"]


@dataclass
class Section:
    """A span of readable text and where it came from (page, ...)."""

    text: str
    locator: dict[str, Any] = field(default_factory=dict)


@dataclass
class Document:
    """What a reader made of a file: text sections to chunk, or ready records (images, ...)."""

    kind: str
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # non-fatal remarks, e.g. a fallback encoding
    records: list["Record"] = field(default_factory=list)


@dataclass
class ReadContext:
    """What readers may need beyond the bytes: the library folder, its config, shared tools."""

    root: Path
    sha256: str
    config: LibraryConfig
    tools: dict[str, Any] = field(default_factory=dict)  # lazily created helpers, e.g. an OCR engine


Reader = Callable[[Path, bytes, ReadContext], Document]
READERS: dict[str, tuple[str, Reader]] = {}
# Kinds whose readers open the file themselves (large media): the pipeline hashes the file in blocks
# and passes empty `data` instead of reading it into memory; and each kind's size-limit config field.
STREAMED: set[str] = set()
SIZE_LIMITS: dict[str, str] = {}


def register_reader(exts: tuple[str, ...], kind: str, streamed: bool = False,
                    max_mb_field: str = "max_file_mb") -> Callable[[Reader], Reader]:
    """Register `fn` for the extensions; `streamed` readers get b"" and read `path` themselves."""
    def deco(fn: Reader) -> Reader:
        for ext in exts:
            READERS[ext] = (kind, fn)
        if streamed:
            STREAMED.add(kind)
        SIZE_LIMITS[kind] = max_mb_field
        return fn
    return deco


def supported_extensions() -> list[str]:
    """File extensions some registered reader ingests (lower case, with the dot), sorted."""
    return sorted(READERS)


def reader_for(path: Path) -> tuple[str, Reader] | None:
    return READERS.get(path.suffix.lower())
