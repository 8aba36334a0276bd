"""Split text into overlapping chunks with exact character offsets.

Breaks prefer paragraph ends, then sentence ends, then whitespace. Defaults (1000 chars, 150
overlap) keep chunks inside MiniLM's 256-token window.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError

_SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s")


@dataclass(frozen=True)
class ChunkSpec:
    max_chars: int = 1000
    overlap: int = 150
    min_chars: int = 200  # a break is not taken before this many chars

    def __post_init__(self) -> None:
        if not 0 <= self.overlap < self.min_chars <= self.max_chars:
            raise ConfigError(f"need 0 <= overlap < min_chars <= max_chars, got {self}")


def _break_at(text: str, start: int, end: int, spec: ChunkSpec) -> int:
    """Best end position in (start+min_chars, end]."""
    window = text[start + spec.min_chars:end]
    para = window.rfind("\n\n")
    if para >= 0:
        return start + spec.min_chars + para + 2
    sentences = list(_SENTENCE_END.finditer(window))
    if sentences:
        return start + spec.min_chars + sentences[-1].end()
    space = max(window.rfind(" "), window.rfind("\n"))
    return start + spec.min_chars + space + 1 if space >= 0 else end


def chunk_spans(text: str, spec: ChunkSpec = ChunkSpec()) -> list[tuple[int, int]]:
    """Return (char_start, char_end) spans covering `text`, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    n, pos = len(text), 0
    while pos < n:
        end = n if n - pos <= spec.max_chars else _break_at(text, pos, pos + spec.max_chars, spec)
        s, e = pos, end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
        if end >= n:
            break
        nxt = max(end - spec.overlap, pos + 1)
        while nxt < end and not text[nxt - 1].isspace():  # start on a word boundary
            nxt += 1
        pos = nxt
    return spans
