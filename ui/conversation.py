"""Multi-turn questions in the Ask tab: a follow-up is rewritten with the conversation before retrieval.

The rewrite is deterministic (no model, so it costs nothing and cannot drift): when a question leans on
what came before (it refers back with a word such as "it", "they", "this", "there", it starts with "and",
"what about", "how about", or it has at most `SHORT_TERMS` content word), it is put after the question the
conversation is about (the latest one that stood alone): "How much was the espresso at the harbour cafe?"
then "and the orange juice?" searches and asks "How much was the espresso at the harbour cafe? And the
orange juice?". Retrieval gets the topic's words; the generator reads two plain questions rather than a
bag of keywords (a small model echoed "espresso harbour cafe: and the orange juice?" back). A chain of
follow-ups stays anchored on the same question. A question that stands alone, or comes with an image, is
left as it is; one with two content words and no marker ("Who won the stage?") counts as standing alone,
since carrying an old topic into a new one would pull its retrieval back. The page shows what was searched.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from mmrag import QUERY_STOPWORDS

from .render import esc

REFERRING = frozenset("it its itself they them their theirs themselves those these this he him his she her hers "
                      "there same former latter".split())
OPENERS = ("and ", "also ", "what about ", "how about ", "what else")
QUESTION_WORDS = frozenset("what which who whom whose when where why how".split())
SHORT_TERMS = 1  # a question with at most this many content words is a follow-up
MAX_TURNS = 20  # turns kept per conversation (older ones are dropped)
_WORD = re.compile(r"[\w][\w.'-]*\w|\w", re.UNICODE)
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


@dataclass
class Turn:
    """One question of a conversation: as asked, as searched, and the answer's text."""

    question: str
    searched: str
    answer: str = ""


def key_terms(text: str) -> list[str]:
    """The content words of `text` in order, once each (no stopwords, pronouns or question words)."""
    seen: dict[str, str] = {}
    for w in _WORD.findall(text):
        low = w.lower()
        if (len(low) >= 3 or any(c.isdigit() for c in low)) and low not in QUERY_STOPWORDS and low not in REFERRING \
                and low not in QUESTION_WORDS:
            seen.setdefault(low, w)
    return list(seen.values())


def is_follow_up(question: str) -> bool:
    """True when `question` leans on the conversation (see the module doc)."""
    low = question.strip().lower()
    words = {w.lower() for w in _WORD.findall(low)}
    return bool(words & REFERRING) or low.startswith(OPENERS) or len(key_terms(question)) <= SHORT_TERMS


def rewrite(question: str, history: Sequence[Turn | dict[str, Any]], has_image: bool = False) -> str:
    """The question to search and answer: `question`, or the conversation's topic question and it."""
    if not history or has_image or not question.strip() or not is_follow_up(question):
        return question
    turns = as_turns(history)
    anchor = next((t.question for t in reversed(turns) if t.searched == t.question), turns[-1].question).strip()
    follow = question.strip()
    if not anchor or anchor.lower() == follow.lower():
        return question
    return f"{anchor}{'' if anchor[-1] in '?.!' else '?'} {follow[0].upper()}{follow[1:]}"


def as_turns(history: Sequence[Turn | dict[str, Any] | str] | None) -> list[Turn]:
    """Turns from the page's state (dicts) or an API client's list of earlier questions (strings)."""
    turns = []
    for item in history or []:
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, str):
            turns.append(Turn(item, rewrite(item, turns)))
        elif isinstance(item, dict) and item.get("question"):
            turns.append(Turn(str(item["question"]), str(item.get("searched") or item["question"]),
                              str(item.get("answer") or "")))
    return turns[-MAX_TURNS:]


def add_turn(history: Sequence[Any] | None, turn: Turn) -> list[dict[str, Any]]:
    """The conversation state with `turn` appended (plain dicts: what gr.State keeps)."""
    return [asdict(t) for t in [*as_turns(history), turn]][-MAX_TURNS:]


def conversation_html(history: Sequence[Any] | None, skip_last: bool = True) -> str:
    """The earlier turns (the latest one is the answer shown below), escaped."""
    turns = as_turns(history)
    turns = turns[:-1] if skip_last else turns
    if not turns:
        return ""
    items = []
    for t in turns:
        searched = (f'<div class="turn-searched">searched: {esc(t.searched)}</div>'
                    if t.searched != t.question else "")
        answer = _MARKERS.sub("", t.answer)  # its [n] pointed at evidence that is no longer shown
        items.append(f'<div class="turn"><div class="turn-q">{esc(t.question)}</div>{searched}'
                     f'<div class="turn-a">{esc(answer)}</div></div>')
    return f'<div class="mm-conversation"><h4>Earlier in this conversation</h4>{"".join(items)}</div>'
