"""Citation markers: parse `[n]`, drop the ones that name no evidence, and add missing ones.

Models write `[1]`, `[1, 2]`, `[1-3]`, `[Evidence 2]` or `[^2]`; `clean_citations` rewrites each
marker to `[a][b]` with only numbers that exist (the others are reported as invalid), and
`CitationFilter` does the same on a token stream. `attribute` is the citation pass: a sentence
without a marker gets the evidence block that supports it best (shared numbers weigh most, then
content words), when the support is clear enough.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

from ..generate.extractive import NOT_FOUND, content_words

_MARK = re.compile(r"\s?\[\s*(?:evidence|source|doc(?:ument)?|ref)?\s*[#^]?\s*"
                   r"(\d{1,4}(?:\s*(?:,|;|-|–|and)\s*(?:evidence\s*)?\d{1,4})*)\s*\]", re.I)
_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_SENT = re.compile(r"(?<=[.!?])\s+(?=\S)|\n+")
MAX_RANGE = 20
REFUSALS = ("does not answer", "does not contain", "do not contain", "does not say", "not mentioned",
            "no information", "cannot answer", "can't answer", "not enough information", "not provided",
            "does not provide", "could not find", "no evidence")


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", group.replace("evidence", "")):
        m = re.fullmatch(r"\s*(\d+)\s*(?:[-–]\s*(\d+))?\s*", part)
        if not m:
            continue
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        out += list(range(a, b + 1)) if 0 <= b - a <= MAX_RANGE else [a, b]
    return out


def strip_citations(text: str) -> str:
    """`text` without its citation markers ("[1]", "[2, 3]", "[evidence 4]")."""
    return _MARK.sub("", text)


def parse_citations(text: str) -> list[int]:
    """Every cited number, in order of first appearance."""
    return list(dict.fromkeys(n for m in _MARK.finditer(text) for n in _numbers(m.group(1))))


def _rewrite(m: re.Match[str], valid: set[int], bad: list[int]) -> str:
    nums = _numbers(m.group(1))
    bad += [n for n in nums if n not in valid]
    keep = list(dict.fromkeys(n for n in nums if n in valid))
    return (" " if keep else "") + "".join(f"[{n}]" for n in keep)


def clean_citations(text: str, valid: Iterable[int]) -> tuple[str, list[int], list[int]]:
    """(text with only valid `[n]` markers, cited numbers, invalid numbers that were dropped)."""
    valid_set, bad = set(valid), []
    out = _MARK.sub(lambda m: _rewrite(m, valid_set, bad), text)
    out = re.sub(r"[ \t]+([.,;:!?])", r"\1", out)
    out = re.sub(r"\]\s+\[", "][", out)
    return out.strip(), parse_citations(out), list(dict.fromkeys(bad))


class CitationFilter:
    """Cleans citations in streamed text: holds back a possible marker until it closes."""

    def __init__(self, valid: Iterable[int], hold: int = 40) -> None:
        self.valid, self.hold = set(valid), hold
        self.buf = ""
        self.invalid: list[int] = []

    def feed(self, piece: str) -> str:
        self.buf += piece
        start = self.buf.rfind("[")
        if start >= 0 and "]" not in self.buf[start:] and len(self.buf) - start <= self.hold:
            out, self.buf = self.buf[:start], self.buf[start:]
        else:
            out, self.buf = self.buf, ""
        stripped = out.rstrip(" ")  # a space that may precede a dropped marker waits for what follows
        self.buf = out[len(stripped):] + self.buf
        return self._clean(stripped)

    def flush(self) -> str:
        out, self.buf = self.buf, ""
        return self._clean(out)

    def _clean(self, text: str) -> str:
        bad: list[int] = []
        text = _MARK.sub(lambda m: _rewrite(m, self.valid, bad), text)
        self.invalid += [n for n in bad if n not in self.invalid]
        return text


def is_refusal(text: str) -> bool:
    """True when the answer says the evidence does not answer the question."""
    low = text.lower()
    return NOT_FOUND.lower() in low or any(r in low for r in REFUSALS)


def _num_tokens(text: str) -> set[str]:
    return {n.replace(",", "").lstrip("-").rstrip("0").rstrip(".") or "0" for n in _NUM.findall(text)}


def support(sentence: str, passage: str) -> float:
    """How well `passage` supports `sentence`: shared numbers count double, then content words."""
    nums = _num_tokens(sentence)
    words = set(w for w in content_words(sentence) if not w[0].isdigit())
    if not nums and not words:
        return 0.0
    pn, pw = _num_tokens(passage), set(content_words(passage))
    hit = 2 * len(nums & pn) + len(words & pw)
    return hit / (2 * len(nums) + len(words))


def split_sentences(text: str) -> list[str]:
    """Sentences and the whitespace between them, alternating: text == "".join(result)."""
    return re.split(r"((?<=[.!?])\s+(?=\S)|\n+)", text)


def _cite_sentence(sent: str, passages: Mapping[int, str], threshold: float) -> tuple[str, int | None]:
    if not sent.strip() or _MARK.search(sent) or not content_words(sent):
        return sent, None
    scores = {n: support(sent, p) for n, p in passages.items()}
    best = max(scores, key=lambda n: scores[n])
    if scores[best] < threshold:
        return sent, None
    m = re.search(r"[.!?]*\s*$", sent)
    cut = m.start() if m else len(sent)
    return f"{sent[:cut].rstrip()} [{best}]{sent[cut:]}", best


def attribute(text: str, passages: Mapping[int, str], threshold: float = 0.4) -> tuple[str, list[int]]:
    """Add `[n]` to each uncited sentence that one passage clearly supports; returns (text, added numbers)."""
    if not passages or is_refusal(text):
        return text, []
    parts, added = split_sentences(text), []
    for i in range(0, len(parts), 2):  # even items are sentences, odd ones the separators
        parts[i], n = _cite_sentence(parts[i], passages, threshold)
        if n is not None:
            added.append(n)
    return "".join(parts), list(dict.fromkeys(added))
