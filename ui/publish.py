"""What clients see of paths: files inside the library folder appear as `library/<relative path>`, so the
library's absolute location on the server is never sent (in pages, API results or error messages)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from mmrag import Answer, AnswerEvent, Evidence, Hit, Moment

PREFIX = "library/"


class Publisher:
    """Maps server paths to what clients see (`public`) and back (`private`), for one library folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def public(self, path: str) -> str:
        try:
            return PREFIX + Path(path).resolve().relative_to(self.root).as_posix()
        except (ValueError, OSError):
            return path

    def private(self, path: str) -> str:
        if path.startswith(PREFIX):
            return str(self.root / path[len(PREFIX):])
        return path

    def text(self, message: str) -> str:
        """A message with the library's absolute path replaced by `library`."""
        return message.replace(str(self.root), PREFIX.rstrip("/"))

    def hit(self, hit: Hit) -> Hit:
        return replace(hit, record=replace(hit.record, source=self.public(hit.record.source)))

    def evidence(self, ev: Evidence) -> Evidence:
        return replace(ev, hit=self.hit(ev.hit))

    def answer(self, a: Answer) -> Answer:
        return replace(a, citations=[self.evidence(e) for e in a.citations], hits=[self.hit(h) for h in a.hits],
                       evidence=[self.evidence(e) for e in a.evidence])

    def event(self, ev: AnswerEvent) -> AnswerEvent:
        return replace(ev, evidence=[self.evidence(e) for e in ev.evidence],
                       answer=self.answer(ev.answer) if ev.answer is not None else None)

    def moment(self, m: Moment) -> Moment:
        return replace(m, source=self.public(m.source))

    def source_row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "path": self.public(row["path"]), "error": self.text(row.get("error") or "") or None}
