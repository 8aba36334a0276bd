"""Fit evidence blocks into the model's context, counted with the model's own tokenizer.

The budget is the context size minus the answer's `max_tokens`, the system prompt, the question,
the chat template's tokens and a margin. Blocks are taken in order (fused score); one that does
not fit is shortened to the room left (when at least MIN_BLOCK tokens remain) or left out, and no
block may take more than `block_share` of the budget while others wait. The prompt then says which
blocks were cut. A final check counts the whole rendered prompt and shrinks the last block until
it fits, so the prompt never exceeds the context whatever the evidence size.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..errors import ConfigError
from .evidence import Block

log = logging.getLogger(__name__)
MIN_BLOCK = 48  # a block shortened below this many tokens is left out instead
PER_MESSAGE = 5  # chatml: <|im_start|> role \n ... <|im_end|> \n
MARGIN = 24  # other chat templates add a few more tokens; BOS
CUT_MARK = " …[cut]"
Message = dict[str, Any]


@dataclass
class Packed:
    """The blocks that fit (some shortened), those left out, and the prompt's token count."""

    blocks: list[Block]
    shortened: list[int] = field(default_factory=list)
    omitted: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    budget: int = 0

    def note(self) -> str:
        """What the prompt says about cut blocks ('' when nothing was cut)."""
        parts = []
        if self.shortened:
            parts.append(f"{_nums(self.shortened)} {'was' if len(self.shortened) == 1 else 'were'} shortened")
        if self.omitted:
            parts.append(f"{_nums(self.omitted)} {'was' if len(self.omitted) == 1 else 'were'} left out")
        return f"(To fit the model's context, evidence {' and '.join(parts)}.)" if parts else ""


def _nums(ns: Sequence[int]) -> str:
    return ", ".join(f"[{n}]" for n in ns)


def truncate_tokens(count: Callable[[str], int], text: str, n: int) -> str:
    """The longest prefix of `text` (cut at a space when possible) with at most `n` tokens, marked as cut."""
    if n <= 0:
        return ""
    if len(text) <= n * 16 and count(text) <= n:  # longer texts are cut without tokenising them whole
        return text
    room = n - count(CUT_MARK)
    lo, hi = 0, min(len(text), max(room, 1) * 16)  # no token is longer than 16 characters here
    while lo < hi:  # largest prefix length whose token count fits
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= room:
            lo = mid
        else:
            hi = mid - 1
    cut = text.rfind(" ", 0, lo)
    cut = cut if cut > lo * 0.8 else lo
    return text[:cut].rstrip() + CUT_MARK


def messages_tokens(count: Callable[[str], int], messages: Sequence[Message]) -> int:
    """Tokens of chat messages as a chatml-style template renders them (+ the generation prompt)."""
    total = 3 + MARGIN
    for m in messages:
        content = m["content"]
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content)
        total += count(content) + PER_MESSAGE
    return total


def pack(blocks: Sequence[Block], count: Callable[[str], int], n_ctx: int, max_tokens: int,
         fixed_tokens: int, image_tokens: Callable[[Any], int] | None = None,
         block_share: float = 0.6) -> Packed:
    """Choose and shorten blocks so that `fixed_tokens` + blocks + `max_tokens` <= `n_ctx`."""
    budget = n_ctx - max_tokens - fixed_tokens - 48  # 48: the note about cut blocks
    if budget < MIN_BLOCK:
        raise ConfigError(f"no room for evidence: context {n_ctx} tokens, answer {max_tokens}, prompt {fixed_tokens};"
                         " lower max_tokens or use a model with a longer context")
    cap = budget if len(blocks) == 1 else max(int(budget * block_share), MIN_BLOCK)
    out = Packed([], budget=budget)
    left = budget
    for b in blocks:
        img_cost = sum(image_tokens(i) for i in b.images) if image_tokens and b.images else 0
        cost = count(b.text()) + img_cost + 2
        if cost <= min(left, cap):
            out.blocks.append(b)
            left -= cost
            continue
        room = min(left, cap) - img_cost - count(b.header) - 3
        if room >= MIN_BLOCK:
            b.body, b.shortened = truncate_tokens(count, b.body, room), True
            out.blocks.append(b)
            out.shortened.append(b.n)
            left -= count(b.text()) + img_cost + 2
        else:
            out.omitted.append(b.n)
    out.prompt_tokens = fixed_tokens + budget - left
    return out


def shrink_last(packed: Packed, count: Callable[[str], int], excess: int) -> bool:
    """Cut `excess` tokens more from the last kept block (or drop it); False when nothing is left to cut."""
    if not packed.blocks:
        return False
    b = packed.blocks[-1]
    room = count(b.body) - excess - 8
    if room >= MIN_BLOCK:
        b.body = truncate_tokens(count, b.body, room)
        if b.n not in packed.shortened:
            packed.shortened.append(b.n)
        b.shortened = True
    else:
        packed.blocks.pop()
        if b.n in packed.shortened:
            packed.shortened.remove(b.n)
        packed.omitted.append(b.n)
    return True
