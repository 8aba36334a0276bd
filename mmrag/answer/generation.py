"""Running a generator on packed evidence: build the prompt that fits, stream the text, finish the answer.

`Prompter` is one answer call: it renders evidence blocks for the generator's kind (pixels only for
vision models), packs them into the context, builds the messages and streams the reply. `finish`
turns the raw reply into the final text: invalid citations dropped, missing ones added by the
citation pass, and the cited evidence listed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ..core import Collection
from ..errors import ConfigError
from ..generate.extractive import NOT_FOUND, Passage
from ..records import Evidence
from .attribution import Encode, check_citations
from .citations import clean_citations, is_refusal
from .evidence import Block, render_block
from .packing import Packed, messages_tokens, pack, shrink_last
from .prompts import Message, answer_messages, flatten

if TYPE_CHECKING:
    from PIL import Image


log = logging.getLogger(__name__)


@dataclass
class Prompt:
    """What goes to the generator: messages, the images in order, and what was cut."""

    messages: list[Message]
    images: list["Image.Image"]
    packed: Packed
    tokens: int = 0


@dataclass
class Finished:
    text: str
    citations: list[Evidence]
    meta: dict[str, Any] = field(default_factory=dict)


def build_prompt(gen: Any, blocks: Sequence[Block], make: Callable[[Sequence[Block], str], list[Message]],
                 max_tokens: int, extra_images: Sequence["Image.Image"] = ()) -> Prompt:
    """Pack `blocks` for `gen` and build `make(blocks, note)`; the whole prompt is counted and fits."""
    count = gen.count_tokens
    image_tokens = getattr(gen, "image_tokens", None) if gen.kind == "vision" else None
    extra = sum(image_tokens(i) for i in extra_images) if image_tokens else 0
    fixed = messages_tokens(count, make([], "")) + extra
    packed = pack(blocks, count, gen.n_ctx, max_tokens, fixed, image_tokens)
    limit = gen.n_ctx - max_tokens
    while True:
        msgs = make(packed.blocks, packed.note())
        imgs = [i for b in packed.blocks for i in b.images] + list(extra_images)
        total = messages_tokens(count, msgs) + (sum(image_tokens(i) for i in imgs) if image_tokens else 0)
        if total <= limit or not shrink_last(packed, count, total - limit):
            break
    if total > limit:
        raise ConfigError(f"the prompt needs {total} tokens but {gen.name} has room for {limit}; lower max_tokens")
    packed.prompt_tokens = total
    if gen.kind != "vision":
        msgs, imgs = flatten(msgs), []
    return Prompt(msgs, imgs, packed, total)


def render_blocks(evidence: Sequence[Evidence], lib: "Collection | None", gen: Any) -> list[Block]:
    return [render_block(ev, lib, vision=gen.kind == "vision") for ev in evidence]


def stream_reply(gen: Any, question: str, prompt: Prompt | None, blocks: Sequence[Block], max_tokens: int,
                 temperature: float = 0.0, encode: Any = None) -> Iterator[str]:
    """The generator's reply, piece by piece."""
    if gen.kind == "extractive":
        passages = [Passage(b.n, b.body, b.answer) for b in blocks]
        yield from gen.answer_stream(question, passages, encode=encode)
        return
    assert prompt is not None
    kw: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
    if gen.kind == "vision":
        kw["images"] = prompt.images
    yield from gen.stream(prompt.messages, **kw)


def default_prompt(question: str, example: bool = True, question_image: bool = False
                   ) -> Callable[[Sequence[Block], str], list[Message]]:
    return lambda blocks, note: answer_messages(question, blocks, note, example=example,
                                                question_image=question_image)


def finish(raw: str, evidence: Sequence[Evidence], blocks: Sequence[Block], enforce: bool = True,
           strict: bool = False, encode: Encode | None = None, question: str = "") -> Finished:
    """Final text and citations: invalid markers dropped; with `enforce`, every citation checked against its
    evidence and moved to the block that supports its sentence, uncited sentences given one (see
    `mmrag.answer.attribution`; `encode` is the text encoder for sentence similarity)."""
    shown = {b.n: b for b in blocks}
    text, cited, invalid = clean_citations(raw.strip(), shown)
    meta: dict[str, Any] = {"raw": raw, "invalid_citations": invalid, "model_citations": list(cited)}
    if not text:
        text = NOT_FOUND
    refusal = is_refusal(text)
    if enforce and not refusal:
        checked = check_citations(text, {n: f"{b.body} {b.answer or ''}" for n, b in shown.items()}, encode,
                                  question=question)
        meta.update(added_citations=checked.added, moved_citations=checked.moved,
                    unsupported_sentences=checked.unsupported)
        text, cited, _ = clean_citations(checked.text, shown)
    if not refusal and not cited:
        meta["unsupported"] = True
        if strict:
            meta["unsupported_draft"], text = text, NOT_FOUND
    by_n = {e.n: e for e in evidence}
    meta["refused"] = refusal or text == NOT_FOUND
    return Finished(text, [by_n[n] for n in cited if n in by_n], meta)
