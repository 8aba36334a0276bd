"""Names with a fixed set of values (StrEnum: they compare equal to, and store as, their strings), and
the keys of `Record.locator` and `Record.meta`, defined once as TypedDicts."""
from __future__ import annotations

from enum import StrEnum
from typing import Any, TypedDict


class Modality(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    TABLE = "table"


class SourceStatus(StrEnum):
    """What happened to a file (stored in the sources table: ok, duplicate, failed; reported: all)."""

    OK = "ok"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    SKIPPED = "skipped"
    REMOVED = "removed"
    MISSING = "missing"


class Fusion(StrEnum):
    ADAPTIVE = "adaptive"  # every candidate scored by every retriever on absolute scales (the default)
    RRF = "rrf"
    CONVEX = "convex"


class EventKind(StrEnum):
    """Steps of a streamed answer."""

    EVIDENCE = "evidence"
    TOKEN = "token"
    ANSWER = "answer"


class RecordKind(StrEnum):
    """`meta["kind"]`: what a record is inside its modality."""

    TEXT = "text"
    IMAGE = "image"
    OCR = "ocr"
    KEYFRAME = "keyframe"
    SEGMENT = "segment"
    TRANSCRIPT = "transcript"
    MOMENT = "moment"
    TABLE = "table"
    TABLE_ROWS = "table_rows"
    TABLE_VALUES = "table_values"
    TABLE_RESULT = "table_result"


class TableQAMethod(StrEnum):
    """How a table answer was found."""

    SQL = "sql"
    REPAIR = "repair"
    VOTE = "vote"
    READ = "read"
    NONE = "none"


class SpaceInput(StrEnum):
    """What a space's encoder reads from a record."""

    TEXT = "text"
    IMAGE = "image"


class Engine(StrEnum):
    """Where `mmrag ingest` reads and embeds: this process, or a Ray cluster (`mmrag.distributed`)."""

    LOCAL = "local"
    RAY = "ray"


class Locator(TypedDict, total=False):
    """Where a record sits in its source."""

    char_start: int
    char_end: int
    page: int  # PDF page (1-based): text chunks and page images
    slide: int  # .pptx slide (1-based)
    chapter: int  # .epub chapter: its place among the spine's documents with text (1-based)
    boxes: list[list[int]]  # OCR line boxes [x0, y0, x1, y1]
    width: int
    height: int
    t: float  # a keyframe's time (s)
    t_start: float
    t_end: float
    table: str  # table id in tables.duckdb
    sheet: str
    part: str  # "table": the table-level record
    rows: list[int]  # 0-based table rows
    column: str


class Meta(TypedDict, total=False):
    """What else a record carries (JSON in the store)."""

    kind: str  # a RecordKind
    view_of: str  # the modality this text record is a view of ("image": OCR, "video": transcript)
    thumbnail: str  # path relative to the library folder
    width: int
    height: int
    format: str
    exif_date: str
    camera: str
    duration: float
    shot: int
    reason: str
    frame_t: float
    video: dict[str, Any]
    asr_model: str
    n_rows: int
    answer: str
    method: str
    evidence: list[dict[str, Any]]
    moment_score: float
    page: int  # a PDF page image: its page (1-based), the PDF's page count, and why pages are missing
    n_pages: int
    capped: str
