"""Split text into overlapping chunks with exact character offsets.

Breaks prefer paragraph ends, then sentence ends, then whitespace. Defaults (1000 chars, 150
overlap) keep chunks inside MiniLM's 256-token window.

Chunks can instead be measured in the text encoder's tokens (`max_tokens` with its `count_tokens`,
`LibraryConfig.chunk_tokens`): the window is then the longest span with at most `max_tokens` tokens
(found by bisection), and the shortest break and the overlap are the same shares of that window as
`min_chars` and `overlap` are of `max_chars`.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import ConfigError

log = logging.getLogger(__name__)
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s")
MAX_CHARS_PER_TOKEN = 8  # a token window is searched within max_tokens * this many chars


@dataclass(frozen=True)
class ChunkSpec:
    max_chars: int = 1000
    overlap: int = 150
    min_chars: int = 200  # a break is not taken before this many chars
    max_tokens: int = 0  # > 0: chunks hold at most this many tokens (`count_tokens`), not max_chars
    count_tokens: Callable[[str], int] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.overlap < self.min_chars <= self.max_chars:
            raise ConfigError(f"need 0 <= overlap < min_chars <= max_chars, got {self}")
        if self.max_tokens < 0 or (self.max_tokens and self.count_tokens is None):
            raise ConfigError(f"max_tokens={self.max_tokens} needs max_tokens >= 0 and, when > 0, a count_tokens")


def _break_at(text: str, start: int, end: int, min_chars: int) -> int:
    """Best end position in (start+min_chars, end]."""
    window = text[start + min_chars:end]
    para = window.rfind("\n\n")
    if para >= 0:
        return start + min_chars + para + 2
    sentences = list(_SENTENCE_END.finditer(window))
    if sentences:
        return start + min_chars + sentences[-1].end()
    space = max(window.rfind(" "), window.rfind("\n"))
    return start + min_chars + space + 1 if space >= 0 else end


def _token_window(text: str, pos: int, spec: ChunkSpec) -> int:
    """The end of (about) the longest span from `pos` with at most max_tokens tokens."""
    assert spec.count_tokens is not None
    count, limit = spec.count_tokens, spec.max_tokens
    hi = min(len(text), pos + limit * MAX_CHARS_PER_TOKEN)
    if count(text[pos:hi]) <= limit:
        return hi
    lo = pos  # text[pos:lo] fits, text[pos:hi] does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count(text[pos:mid]) <= limit:
            lo = mid
        else:
            hi = mid
    return max(lo, pos + 1)


def _next_span(text: str, pos: int, spec: ChunkSpec) -> tuple[int, int]:
    """(end of the chunk starting at `pos`, overlap in chars before the next one)."""
    n = len(text)
    if not spec.max_tokens:
        end = n if n - pos <= spec.max_chars else _break_at(text, pos, pos + spec.max_chars, spec.min_chars)
        return end, spec.overlap
    window = _token_window(text, pos, spec)
    size = window - pos
    if window >= n:
        return n, 0
    end = _break_at(text, pos, window, size * spec.min_chars // spec.max_chars)
    return end, (end - pos) * spec.overlap // spec.max_chars


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    """The span without whitespace at either end."""
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def chunk_spans(text: str, spec: ChunkSpec = ChunkSpec()) -> list[tuple[int, int]]:
    """Return (char_start, char_end) spans covering `text`, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    n, pos = len(text), 0
    while pos < n:
        end, overlap = _next_span(text, pos, spec)
        s, e = _trim(text, pos, end)
        if spec.max_tokens and e > s and spec.count_tokens(text[s:e]) > spec.max_tokens:  # type: ignore[misc]
            end = _token_window(text, s, spec)  # a tokenizer that counts the trimmed span higher (rare)
            s, e = _trim(text, s, end)
        if e > s:
            spans.append((s, e))
        if end >= n:
            break
        nxt = max(end - overlap, pos + 1)
        while nxt < end and not text[nxt - 1].isspace():  # start on a word boundary
            nxt += 1
        pos = nxt
    return spans


def token_counter(collection: Any, max_tokens: int) -> Callable[[str], int] | None:
    """The text space's `count_tokens` when chunks are measured in tokens (`max_tokens` > 0), else None.
    Raises ConfigError when that encoder cannot count tokens (ModelMissingError when it is missing)."""
    if max_tokens <= 0:
        if max_tokens < 0:
            raise ConfigError(f"chunk_tokens={max_tokens} must be >= 0 (0: chunks measured in characters)")
        return None
    encoder = collection.encoder("text")
    count = getattr(encoder, "count_tokens", None)
    if count is None:
        raise ConfigError(f"chunk_tokens={max_tokens} needs a text encoder that counts tokens; the text space's"
                          f" encoder {getattr(encoder, 'name', encoder)!r} does not: set chunk_tokens to 0")
    window = getattr(getattr(encoder, "spec", None), "max_length", None)
    if window and max_tokens > window - 2:
        log.warning("chunk_tokens=%d is over the text encoder's window (%d tokens with its 2 special tokens):"
                    " the chunks' ends are cut off when they are embedded", max_tokens, window)
    return count
