"""Citations that point at the evidence that supports them.

After generation every sentence of the answer is checked against each evidence block it cites, and
against the others:

* **key facts**: the sentence's numbers (with their scale: "48.2 million" = 48,200,000; "2.40" = 2.4;
  "12%" = 12) and names (capitalised words) must all occur in the block. A block that lacks one of them
  cannot support the sentence, however similar it reads.
* **wording**: the share of the sentence's content words found in the block, blended (half and half)
  with the best cosine between the sentence and one of the block's sentences when the library's text
  encoder is given.

Numbers and names the question itself holds are its frame, not claims ("the top 10 of stage 14"), and need
no support. A block supports a sentence when it holds every key fact and at least a third of the wording (key facts
carry a sentence), or, for a sentence without key facts, half of the wording. A sentence's citations are
kept when the blocks they name, together, support it, each one only if it is needed (as in ALCE's citation
precision: it supports the sentence alone, or it holds a key fact or word of the sentence that no other
cited block holds); otherwise the citation moves to the block that supports the sentence best, when one
does; otherwise the sentence is left without a citation and reported as unsupported. Uncited sentences get the best supporting block the same way. The same test works for any
block: a passage, OCR text, a transcript line, a table query's result rows.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from ..generate.extractive import content_words
from .citations import is_refusal, parse_citations, split_sentences, strip_citations

THRESHOLD = 0.5
_NUMBER = re.compile(r"(?<![\w.])[-−]?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|per cent|thousand|million|billion|"
                     r"trillion|bn|m|k)\b)?", re.I)
_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_NAME = re.compile(r"(?<![\w.])([A-Z][\w'’-]+)")
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")
Encode = Callable[[Sequence[str]], np.ndarray]


def numbers(text: str) -> set[float]:
    """Numeric values in `text`, each also with its scale word applied ("48.2 million" -> 48.2, 4.82e7)."""
    out: set[float] = set()
    for m in _NUMBER.finditer(text):
        raw = m.group(0).replace("−", "-")
        digits = re.match(r"-?[\d,]*\.?\d+", raw.replace(" ", ""))
        if not digits:
            continue
        try:
            value = float(digits.group(0).replace(",", ""))
        except ValueError:
            continue
        out.add(round(value, 6))
        word = raw[len(digits.group(0)):].strip().lower()
        if word in _SCALE:
            out.add(round(value * _SCALE[word], 6))
    return out


def names(text: str, known: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """Capitalised words (lower-cased) that are not at the start of a sentence, or that are but are
    `known` as names (seen capitalised inside a sentence of the question or the evidence: "Spain had...")."""
    out = set()
    for sent in _SENT.split(text):
        for m in _NAME.finditer(sent):
            name = _POSSESSIVE.sub("", m.group(1)).lower()  # "Instruments'" and "Anna's" are names too
            if name and name not in _NOT_NAMES and (m.start() > 0 or name in known):
                out.add(name)
    return out


_POSSESSIVE = re.compile(r"(?:['’]s?|-)+$")
_NOT_NAMES = frozenset("i the a an it this that these those in on at of for and or but".split())


@dataclass
class Unit:
    """One evidence block, prepared for support checks."""

    n: int
    text: str
    nums: set[float] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    sentences: list[str] = field(default_factory=list)
    vecs: np.ndarray | None = None


def prepare(blocks: Mapping[int, str], encode: Encode | None = None) -> list[Unit]:
    units = []
    for n, text in blocks.items():
        sents = [s.strip() for s in _SENT.split(text) if len(s.strip()) > 2][:64]
        u = Unit(n, text, numbers(text), set(content_words(text)) | {w.lower() for w in re.findall(r"\w+", text)},
                 sents)
        if encode is not None and sents:
            u.vecs = np.asarray(encode(sents), dtype=np.float32)
        units.append(u)
    return units


# (the question's own numbers, its names: the frame of an answer, not its claims; every name the question
# and the evidence hold, so a sentence may start with one)
Given = tuple[set[float], set[str], frozenset[str]]
NOTHING_GIVEN: Given = (set(), set(), frozenset())


def given_facts(question: str, blocks: Sequence[str] = ()) -> Given:
    q_names = names(question)
    return numbers(question), q_names, frozenset(q_names.union(*(names(b) for b in blocks)))


def _facts(sentence: str, given: Given = NOTHING_GIVEN) -> tuple[set[float], set[str], list[str]]:
    nums = {v for v in numbers(sentence) if not any(math.isclose(v, g, rel_tol=1e-6) for g in given[0])}
    return nums, names(sentence, given[2]) - given[1], [w for w in content_words(sentence) if not w[0].isdigit()]


def _has_number(unit: Unit, v: float) -> bool:
    return any(math.isclose(v, w, rel_tol=1e-6, abs_tol=1e-9) for w in unit.nums)


def coverage(sentence: str, unit: Unit, qvec: np.ndarray | None = None, given: Given = NOTHING_GIVEN
             ) -> tuple[float, float, bool]:
    """(share of key facts found, wording score, whether there are key facts) of `sentence` in `unit`."""
    nums, nms, words = _facts(sentence, given)
    wording = sum(w in unit.words for w in words) / len(words) if words else 0.0
    if qvec is not None and unit.vecs is not None and len(unit.vecs):
        wording = max(wording, 0.5 * wording + 0.5 * max(float(np.max(unit.vecs @ qvec)), 0.0))
    keys = len(nums) + len(nms)
    found = sum(_has_number(unit, v) for v in nums) + sum(n in unit.words for n in nms)
    return (found / keys if keys else 1.0), wording, bool(keys)


def support(sentence: str, unit: Unit, qvec: np.ndarray | None = None, given: Given = NOTHING_GIVEN) -> float:
    """How well `unit` supports `sentence`: >= THRESHOLD when it does (see the module docstring); the value
    ranks blocks (key facts first, then wording)."""
    keys, wording, has_keys = coverage(sentence, unit, qvec, given)
    ok = keys == 1.0 and wording >= (1 / 3 if has_keys else 0.5)
    return (THRESHOLD + 0.25 * keys + 0.25 * wording) if ok else THRESHOLD * (0.5 * keys + 0.5 * wording) * 0.99


def _unique(sentence: str, unit: Unit, others: Sequence[Unit], given: Given = NOTHING_GIVEN) -> bool:
    """True when `unit` holds a key fact or word of `sentence` that none of `others` holds."""
    nums, nms, words = _facts(sentence, given)
    return any(_has_number(unit, v) and not any(_has_number(o, v) for o in others) for v in nums) or any(
        w in unit.words and not any(w in o.words for o in others) for w in (*nms, *words))


@dataclass
class Checked:
    text: str
    moved: list[tuple[int, int]] = field(default_factory=list)  # (from, to)
    added: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # sentences no block supports
    kept: int = 0


def merged(units: Sequence[Unit]) -> Unit:
    """Several blocks as one (a sentence may draw on all the blocks it cites)."""
    vecs = [u.vecs for u in units if u.vecs is not None and len(u.vecs)]
    return Unit(-1, " ".join(u.text for u in units), set().union(*(u.nums for u in units)),
                set().union(*(u.words for u in units)), [s for u in units for s in u.sentences],
                np.concatenate(vecs) if vecs else None)


def _needed(cited: list[int], by_n: dict[int, Unit], sent: str, qvec: np.ndarray | None, threshold: float,
            given: Given = NOTHING_GIVEN) -> list[int]:
    """The cited blocks to keep when together they support `sent` ([] when they do not)."""
    units = [by_n[n] for n in cited if n in by_n]
    if not units or support(sent, merged(units), qvec, given) < threshold:
        return []
    if len(units) == 1:
        return [units[0].n]
    keep = []
    for u in units:
        rest = [v for v in units if v is not u]
        if support(sent, u, qvec, given) >= threshold or _unique(sent, u, rest, given):
            keep.append(u.n)
    return keep or [max(units, key=lambda u: support(sent, u, qvec, given)).n]


def _place(sentence: str, ns: Sequence[int]) -> str:
    """`sentence` with its markers replaced by `ns`, before its final punctuation."""
    bare = strip_citations(sentence).rstrip()
    m = re.search(r"[.!?:;]*$", bare)
    cut = m.start() if m else len(bare)
    marks = " " + "".join(f"[{n}]" for n in ns) if ns else ""
    return bare[:cut].rstrip() + marks + bare[cut:]


def check_citations(text: str, blocks: Mapping[int, str], encode: Encode | None = None,
                    threshold: float = THRESHOLD, question: str = "") -> Checked:
    """The answer with each citation on a block that supports its sentence (see the module docstring); the
    numbers and names of `question` need no support (an answer restates them as its frame)."""
    given = given_facts(question, list(blocks.values()))
    out = Checked(text)
    if not blocks or is_refusal(text):
        return out
    units = prepare(blocks, encode)
    by_n = {u.n: u for u in units}
    parts = split_sentences(text)
    plain = [strip_citations(parts[i]).strip() for i in range(0, len(parts), 2)]
    vecs = list(encode(plain)) if encode is not None and plain else [None] * len(plain)
    for j, i in enumerate(range(0, len(parts), 2)):
        sent, cited = parts[i], parse_citations(parts[i])
        if not plain[j] or not content_words(plain[j]):
            continue
        keep = _needed(cited, by_n, plain[j], vecs[j], threshold, given)
        scores = {u.n: support(plain[j], u, vecs[j], given) for u in units}
        best = max(scores, key=lambda n: scores[n])
        if keep:
            out.kept += len(keep)
        elif scores[best] >= threshold:
            keep = [best]
            out.moved += [(n, best) for n in cited] if cited else []
            out.added += [] if cited else [best]
        else:
            out.unsupported.append(plain[j])
        parts[i] = _place(sent, keep) if (keep != cited) else sent
    out.text = "".join(parts)
    return out
