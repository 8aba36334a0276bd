"""Example questions for the Ask tab, made from what this library holds.

A fixed list cannot fit every library (a question about invoices finds nothing in a library of recipes),
so the examples are written from the library's own content, without a model: for a few recently added
sources of different kinds, the topic of the source's first passage (a Markdown heading, a short title
line, else its first content words: the words of an image come from OCR, a video's from its transcript)
goes into a question template for that kind; a table's example asks about two of its columns. They cost a
few store reads and always use words that are in the library. An empty library has no examples.
"""
from __future__ import annotations

import re

from .conversation import key_terms
from .service import LibraryService

MAX_EXAMPLES = 4
MAX_TITLE_WORDS = 8
_HEADING = re.compile(r"^\s*#{1,3}\s+(?P<h>[^\n]{3,80})$", re.MULTILINE)
_COLUMN = re.compile(r"(?P<name>[^,;:()]+?) \((?P<type>[a-z ]+)\)")
TEMPLATES = {"video": "What is said in the video about {topic}?", "image": "What does the picture of {topic} show?"}
DEFAULT_TEMPLATE = "What does the library say about {topic}?"
NUMERIC = ("integer", "number", "float", "decimal", "double", "bigint")


def topic_of(text: str) -> str | None:
    """A heading or short title line of `text`, else its first few content words; None when it has none."""
    if m := _HEADING.search(text[:2000]):
        return m.group("h").strip().rstrip(".:")
    first = text.strip().split("\n", 1)[0].split(":")[0].strip()
    if first and len(first.split()) <= MAX_TITLE_WORDS and len(key_terms(first)) >= 1 and "\n" in text.strip():
        return first.title() if first.isupper() else first
    words = key_terms(text[:400])[:3]
    return " ".join(words) if words else None


def table_question(summary: str) -> str | None:
    """"Which <text column> has the highest <numeric column>?" from a table's summary record."""
    cols = [(m.group("name").strip(), m.group("type")) for m in _COLUMN.finditer(summary.split("columns:", 1)[-1])]
    text = next((n for n, t in cols if not t.startswith(NUMERIC)), None)
    number = next((n for n, t in cols if t.startswith(NUMERIC) and n != text), None)
    return f"Which {text} has the highest {number}?" if text and number else None


def question_for(service: LibraryService, source: dict) -> str | None:
    texts = service.source_texts(source["path"])
    kind = str(source.get("kind"))
    if kind == "table":
        summary = next((t for k, t in texts if k == "table"), "")
        return table_question(summary)
    passage = next((t for k, t in texts if k not in ("image", "table")), "")  # OCR, transcript or document text
    topic = topic_of(passage) if passage else None
    if topic and topic.split(" ", 1)[0] in ("A", "An", "The"):
        topic = topic[0].lower() + topic[1:]
    return TEMPLATES.get(kind, DEFAULT_TEMPLATE).format(topic=topic) if topic else None


def example_questions(service: LibraryService, n: int = MAX_EXAMPLES) -> list[str]:
    """Up to `n` questions about the library's most recently added sources, different kinds first."""
    sources = sorted((s for s in service.sources() if s.get("status") == "ok"), key=lambda s: -(s.get("updated") or 0))
    kinds: set = set()
    ordered = [s for s in sources if s.get("kind") not in kinds and not kinds.add(s.get("kind"))]
    ordered += [s for s in sources if s not in ordered]
    out: list[str] = []
    for s in ordered:
        if len(out) >= n:
            break
        if (q := question_for(service, s)) and q not in out:
            out.append(q)
    return out
