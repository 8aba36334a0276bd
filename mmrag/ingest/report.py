"""What an ingest run did, per file and in sum."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..kinds import SourceStatus

GOOD = (SourceStatus.OK, SourceStatus.UNCHANGED, SourceStatus.DUPLICATE)


@dataclass
class FileResult:
    path: str
    status: SourceStatus
    n_records: int = 0
    message: str = ""


def _reason_key(message: str) -> str:
    """A reason without its file-specific details (sizes, positions), to group files by it."""
    head = message.split(" (")[0].split(": ")[0] if message else "(no reason given)"
    return head[:120]


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: SourceStatus | str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def problems(self) -> list[FileResult]:
        return [r for r in self.results if r.status in (SourceStatus.FAILED, SourceStatus.MISSING)]

    @property
    def nothing_ingested(self) -> bool:
        """True when there were problems and no file was ingested or already present."""
        good = sum(self.count(s) for s in GOOD)
        return good == 0 and bool(self.problems)

    def reasons(self, status: SourceStatus) -> dict[str, int]:
        """How many files got each (grouped) reason, most frequent first."""
        counts = Counter(_reason_key(r.message) for r in self.results if r.status == status)
        return dict(counts.most_common())

    def to_dict(self) -> dict[str, Any]:
        counts = {s.value: self.count(s) for s in SourceStatus}
        return {"counts": counts, "records": sum(r.n_records for r in self.results if r.status == SourceStatus.OK),
                "problems": [vars(r) for r in self.problems],
                "skipped": [vars(r) for r in self.results if r.status == SourceStatus.SKIPPED],
                "reasons": {"failed": self.reasons(SourceStatus.FAILED),
                            "skipped": self.reasons(SourceStatus.SKIPPED)},
                "seconds": round(self.seconds, 2)}

    def summary(self) -> list[str]:
        """The run in a few lines: ingested, unchanged, skipped by reason, failed by reason."""
        d = self.to_dict()
        c = d["counts"]
        head = f"ingested {c['ok']} files ({d['records']} records)"
        others = ", ".join(f"{c[s]} {s}" for s in ("unchanged", "duplicate", "removed") if c[s])
        lines = [head + (f"; {others}" if others else "") + f" in {self.seconds:.1f} s"]
        for status in ("skipped", "failed"):
            for reason, n in d["reasons"][status].items():
                lines.append(f"  {n} {status}: {reason}")
        return lines
