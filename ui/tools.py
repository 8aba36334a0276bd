"""The app's typed operations, as plain JSON-able data: the MCP tools and the HTTP API call these.

`Tools` wraps the service (its limits and read/write discipline apply) and returns dicts; `typed_tools`
makes the functions Gradio registers with `gr.api` and serves as MCP tools with `mmrag serve --mcp`: each
is typed, has a docstring with its arguments (Gradio builds the tool's schema from them) and returns JSON
text. The tools only read the library; ingest is offered by the HTTP API (`ui.api`), not over MCP.

No `from __future__ import annotations` here: Gradio reads the type hints of the tool functions at run time.
"""
import json
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from mmrag import Answer, Evidence, IngestReport

from .conversation import as_turns, rewrite
from .service import LibraryService, UserError

BUSY_WAIT_S = 120.0  # how long a tool call waits for a free slot before it is refused
VIDEO_KINDS = ("video",)


def evidence_json(ev: Evidence) -> dict[str, Any]:
    return {**ev.to_dict(), "score": round(ev.hit.score, 6), "retrievers": ev.hit.retrievers}


def answer_json(text: str, evidence: Sequence[Evidence], cited: Sequence[int], model: str = "",
                timings: dict | None = None, question: str = "", searched: str = "") -> dict[str, Any]:
    """An answer as data: its text, the cited evidence numbers, and every piece of evidence."""
    return {"question": question, "searched": searched or question, "answer": text, "citations": list(cited),
            "model": model, "timings": {k: round(v, 4) for k, v in (timings or {}).items()},
            "evidence": [evidence_json(ev) for ev in evidence]}


def report_json(report: IngestReport, public: Callable[[str], str], stored: Sequence[Path] = ()) -> dict[str, Any]:
    """An ingest report with the paths clients may see (`library/...` inside the library)."""
    d = report.to_dict()
    for key in ("problems", "skipped"):
        d[key] = [{**p, "path": public(p["path"])} for p in d[key]]
    return {**d, "stored": [public(str(p)) for p in stored]}


class Tools:
    """Search, ask, moments, table query, status and ingest over one `LibraryService`, as dicts. Calls run
    at most `settings.concurrency` at once (Gradio's queue does not see them)."""

    def __init__(self, service: LibraryService) -> None:
        self.service = service
        self._slots = threading.BoundedSemaphore(max(1, service.settings.concurrency))

    def _run(self, fn: Callable[[], Any]) -> Any:
        if not self._slots.acquire(timeout=BUSY_WAIT_S):
            raise UserError("the server is busy; try again in a moment")
        try:
            return fn()
        finally:
            self._slots.release()

    def search(self, query: str, k: int = 5, modality: Sequence[str] | str | None = None,
               source: str | None = None, diverse: bool = False) -> dict[str, Any]:
        mods = [modality] if isinstance(modality, str) else list(modality or [])
        hits = self._run(lambda: self.service.search(query, k=k, modality=[m for m in mods if m] or None,
                                                     source=source or None, diversity=bool(diverse)))
        return {"query": query, "hits": [{"n": i, **h.to_dict()} for i, h in enumerate(hits, 1)]}

    def ask(self, question: str, k: int | None = None, history: Sequence[Any] | None = None) -> dict[str, Any]:
        """A cited answer; `history` (earlier questions) lets a follow-up be rewritten (`ui.conversation`)."""
        searched = rewrite(question, as_turns(history))
        answer: Answer = self._run(lambda: self.service.answer(searched, k=k))
        return answer_json(answer.text, answer.evidence, sorted({c.n for c in answer.citations}), answer.model,
                           answer.timings, question=question, searched=searched)

    def moments(self, video: str, query: str, k: int = 5) -> dict[str, Any]:
        if video not in self.videos():
            raise UserError(f"{video!r} is not one of the library's videos; `status` lists them")
        found = self._run(lambda: self.service.moments(video, query, k=k))
        return {"video": video, "query": query, "moments": [m.to_dict() for m in found]}

    def table_query(self, question: str) -> dict[str, Any]:
        a = self._run(lambda: self.service.table_answer(question))
        table = next((ev for ev in a.evidence if ev.sql or ev.rows), None)
        return {"question": question, "answer": a.text, "sql": table.sql if table else None,
                "columns": list(table.columns) if table else [], "rows": evidence_json(table).get("rows", [])
                if table else [], "citations": sorted({c.n for c in a.citations}), "model": a.model,
                "evidence": [evidence_json(ev) for ev in a.evidence]}

    def status(self) -> dict[str, Any]:
        st = self.service.status()
        return {"library": st["library"], "records": st["records"], "sources": st["sources"],
                "spaces": {n: {k: sp.get(k) for k in ("encoder", "vectors", "modalities", "available", "pending")}
                           for n, sp in st["spaces"].items()},
                "videos": self.videos(), "failed": st["failed"]}

    def videos(self) -> list[str]:
        return sorted(s["path"] for s in self.service.sources() if s.get("kind") in VIDEO_KINDS
                      and s.get("status") == "ok")

    def ingest_uploads(self, files: Sequence[str | Path]) -> dict[str, Any]:
        stored, report = self.service.add_uploads([str(f) for f in files])
        return report_json(report, self.service.pub.public, stored)

    def ingest_folder(self, folder: str) -> dict[str, Any]:
        return report_json(self.service.add_folder(folder), self.service.pub.public)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def typed_tools(tools: Tools) -> list[Callable[..., str]]:
    """The functions served as MCP tools (and `gr.api` endpoints /tool_<name>), in the order listed."""

    def search(query: str, k: int = 5, modality: str = "", source: str = "") -> str:
        """Search the library (dense vectors and BM25, fused) and return the ranked hits.

        Args:
            query: what to look for, in words
            k: how many hits to return (1 to 50)
            modality: only hits of this kind: text, image, video or table (empty: all kinds)
            source: only sources whose path matches this glob, for example *.pdf (empty: all)
        Returns:
            JSON {"query", "hits": [{"n", "source", "modality", "score", "locator", "text", "retrievers"}]}
        """
        return _dumps(tools.search(query, k=k, modality=modality or None, source=source or None))

    def ask(question: str, k: int = 8, history: list[str] | None = None) -> str:
        """Answer a question from the library, citing the evidence it used as [n].

        Args:
            question: the question
            k: how many pieces of evidence to retrieve (1 to 50)
            history: earlier questions of the same conversation, oldest first; a follow-up such as "and in 2023?" is rewritten with them before retrieval
        Returns:
            JSON {"question", "searched", "answer", "citations": [n], "evidence": [{"n", "source", "locator", "text"}], "model"}
        """
        return _dumps(tools.ask(question, k=k, history=history))

    def moments(video: str, query: str, k: int = 5) -> str:
        """Find the time windows of one of the library's videos that match a description.

        Args:
            video: the video's path as `status` lists it under "videos"
            query: what happens or is said, in words
            k: how many moments to return (1 to 50)
        Returns:
            JSON {"video", "query", "moments": [{"t_start", "t_end", "score", "evidence"}]} (times in seconds)
        """
        return _dumps(tools.moments(video, query, k=k))

    def table_query(question: str) -> str:
        """Answer a question about the library's tables (CSV, Excel, Parquet, JSON Lines) by running SQL on them.

        Args:
            question: a question about values in the tables, for example "which country has the most riders in the top ten?"
        Returns:
            JSON {"question", "answer", "sql", "columns", "rows", "citations", "evidence"}
        """
        return _dumps(tools.table_query(question))

    def status() -> str:
        """What the library holds: records per modality, sources per status, embedding spaces, videos, failed files.

        Returns:
            JSON {"library", "records", "sources", "spaces", "videos", "failed"}
        """
        return _dumps(tools.status())

    return [search, ask, moments, table_query, status]
