"""Records at the boundaries: what is stored, what retrieval returns, what answers cite."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigError
from .kinds import EventKind, Locator, Meta, Modality

MODALITIES = tuple(m.value for m in Modality)


@dataclass
class Record:
    """One retrievable unit: a text chunk, an image, a video segment, a table slice."""

    modality: Modality
    source: str
    locator: Locator
    text: str = ""
    meta: Meta = field(default_factory=Meta)
    uid: str = ""
    id: int | None = None  # int64, assigned by the store
    payload: Any = field(default=None, repr=False, compare=False)  # transient encoder input (e.g. pixels)

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ConfigError(f"modality {self.modality!r} is not one of {MODALITIES}")
        self.modality = Modality(self.modality)

    def with_uid(self, content_hash: str) -> "Record":
        """Set `uid` from the source content hash, modality and locator (stable across re-ingest)."""
        key = json.dumps([content_hash, self.modality, self.locator], sort_keys=True)
        self.uid = hashlib.sha256(key.encode()).hexdigest()[:32]
        return self

    def to_dict(self) -> dict[str, Any]:
        """Stored fields only (the transient payload, e.g. decoded pixels, is left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "payload"}


@dataclass
class Hit:
    """A retrieved record with its fused score and the rank each retriever gave it."""

    record: Record
    score: float
    retrievers: dict[str, int] = field(default_factory=dict)  # retriever name -> 1-based rank

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        d = {"id": r.id, "modality": r.modality, "source": r.source, "score": round(self.score, 6),
             "locator": r.locator, "text": r.text, "retrievers": self.retrievers}
        if "thumbnail" in r.meta:
            d["thumbnail"] = r.meta["thumbnail"]
        if "evidence" in r.meta:  # a video moment: the keyframes and transcript lines behind its score
            d["evidence"] = r.meta["evidence"]
        return d


@dataclass
class Evidence:
    """A numbered piece of evidence given to a generator and cited as [n].

    Usually one retrieved hit; a table result (an executed query) also carries its SQL and rows.
    """

    n: int
    hit: Hit
    sql: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)

    @property
    def locator(self) -> Locator:
        return self.hit.record.locator

    @property
    def modality(self) -> Modality:
        return self.hit.record.modality

    @property
    def source(self) -> str:
        return self.hit.record.source

    def to_dict(self) -> dict[str, Any]:
        """The citation as `mmrag ask --json` prints it (table results add sql, columns, rows)."""
        r = self.hit.record
        d: dict[str, Any] = {"n": self.n, "id": r.id, "modality": r.modality, "source": r.source,
                             "locator": r.locator, "text": r.text}
        if "thumbnail" in r.meta:
            d["thumbnail"] = r.meta["thumbnail"]
        if self.sql is not None or self.rows:
            d.update(sql=self.sql, columns=self.columns, rows=[[_jsonable(v) for v in row] for row in self.rows])
        return d


@dataclass
class Answer:
    """A generated answer: `citations` are the evidence it cites, `evidence` all that it was given."""

    text: str
    citations: list[Evidence] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # how it was made: citation checks, steps, table QA

    def to_dict(self) -> dict[str, Any]:
        """`{"answer", "citations", "hits", "model", ...}` as `mmrag ask --json` prints it."""
        return {"answer": self.text, "citations": [e.to_dict() for e in self.citations],
                "hits": [h.to_dict() for h in self.hits], "model": self.model,
                "timings": {k: round(v, 4) for k, v in self.timings.items()},
                "meta": json.loads(json.dumps(self.meta, default=str))}


def _jsonable(v: Any) -> Any:
    """A table cell as a JSON value (dates and decimals as text)."""
    return v if v is None or isinstance(v, (bool, int, float, str)) else str(v)


@dataclass
class AnswerEvent:
    """One step of a streamed answer: "evidence" first, then "token" pieces, then the final "answer"."""

    kind: EventKind
    text: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    answer: Answer | None = None

    def __post_init__(self) -> None:
        self.kind = EventKind(self.kind)


@dataclass
class Moment:
    """A time window of one video that matches a query, with the evidence that scored it.

    `evidence` holds plain dicts: transcript lines {"kind": "transcript", "id", "t_start", "t_end", "text",
    "score"} and keyframes {"kind": "keyframe", "id", "t", "score", "thumbnail"} (thumbnail relative to the
    library folder)."""

    source: str
    t_start: float
    t_end: float
    score: float
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "t_start": round(self.t_start, 3), "t_end": round(self.t_end, 3),
                "score": round(self.score, 6), "evidence": self.evidence}
