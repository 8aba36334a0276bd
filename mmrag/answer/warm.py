"""Warm a generator before the first question: load it and read the prompt prefixes every answer shares.

llama.cpp keeps model states by prompt prefix (`mmrag.generate.llm`, the prefix cache), so a prompt that
starts like one read before is read only from where it differs. Two prefixes are shared by every question:
the answer prompt's rules and worked example, and the table prompt's rules and worked SQL examples
(about 1,600 tokens, 20 s on 2 cores with the 1.5B). Reading them once when the app starts makes the first
table question as fast as the later ones. `mmrag serve` does this at start; a one-off `mmrag ask` does not.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from ..core import Collection
from ..generate.registry import Generator, create_generator
from ..tables import TABLES_FILE
from ..tables.qa import sql_prefix_messages
from .prompts import answer_messages, flatten

log = logging.getLogger(__name__)


def _read(gen: Any, messages: list[dict[str, str]]) -> None:
    """Have the model read `messages` (one generated token), so its state is cached by prefix."""
    gen.complete(messages, max_tokens=1)


def _chat(gen: Any) -> bool:
    return gen.kind == "chat" and hasattr(gen, "complete")


def warm(lib: Collection, generator: "str | Generator | None" = None,
         table_llm: "str | Generator | None" = None) -> dict[str, float]:
    """Load `generator` (default "auto") and, when it is a text LLM, read the answer prompt's prefix; read the
    table prompt's prefix with `table_llm` (default: the generator) when the library holds tables.
    Returns seconds per step."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    gen = create_generator(generator)
    sql_llm = create_generator(table_llm) if table_llm is not None else gen
    timings["load_s"] = time.perf_counter() - t0
    if _chat(gen):
        t0 = time.perf_counter()
        _read(gen, flatten(answer_messages("", [])))
        timings["answer_prefix_s"] = time.perf_counter() - t0
    if _chat(sql_llm) and (lib.root / TABLES_FILE).exists():
        t0 = time.perf_counter()
        _read(sql_llm, sql_prefix_messages())
        timings["table_prefix_s"] = time.perf_counter() - t0
    log.info("warmed %s: %s", gen.name, {k: round(v, 2) for k, v in timings.items()})
    return timings
