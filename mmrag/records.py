"""Records at the boundaries: what is stored, what retrieval returns, what answers cite."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

MODALITIES = ("text", "image", "video", "table")


@dataclass
class Record:
    """One retrievable unit: a text chunk, an image, a video segment, a table slice."""

    modality: str
    source: str
    locator: dict[str, Any]
    text: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    uid: str = ""
    id: int | None = None  # int64, assigned by the store
    payload: Any = field(default=None, repr=False, compare=False)  # transient encoder input (e.g. pixels)

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"modality {self.modality!r} is not one of {MODALITIES}")

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
        return d


@dataclass
class Evidence:
    """A numbered piece of evidence given to a generator and cited as [n]."""

    n: int
    hit: Hit

    @property
    def locator(self) -> dict[str, Any]:
        return self.hit.record.locator


@dataclass
class Answer:
    """A generated answer with the evidence it cites."""

    text: str
    citations: list[Evidence] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)
