"""Warm a generator before the first question: load it and have the prompt prefixes every answer shares ready.

llama.cpp keeps model states by prompt prefix (`mmrag.generate.llm`'s RAM cache, and on disk
`mmrag.generate.prefix_states`), so a prompt that starts like one read before is read only from where it
differs. Two prefixes are shared by every question: the answer prompt's rules and worked example, and the
table prompt's rules and worked SQL examples (about 1,600 tokens, 23 s on 2 cores with the 1.5B, read once
per machine). `ask` primes the prefix it is about to use; `warm` primes both up front (`mmrag serve` runs it
at start, in the background).
"""
from __future__ import annotations

import logging
import time
from typing import Any

from ..core import Collection
from ..generate.prefix_states import prime
from ..generate.registry import Generator, create_generator
from ..tables import TABLES_FILE
from ..tables.prompts import sql_prefix_messages
from .prompts import answer_messages, flatten

log = logging.getLogger(__name__)


def prime_answer(gen: Any, example: bool = True) -> str:
    """Prime the answer prompt's shared prefix (rules, worked example) for a local LLM; see `prime`."""
    return prime(gen, flatten(answer_messages("", [], example=example))) if gen.kind == "chat" else "none"


def warm(lib: Collection, generator: "str | Generator | None" = None,
         table_llm: "str | Generator | None" = None) -> dict[str, float]:
    """Load `generator` (default "auto"), prime the answer prompt's prefix, and the table prompt's with
    `table_llm` (default: the generator) when the library holds tables. Returns seconds per step."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    gen = create_generator(generator)
    sql_llm = create_generator(table_llm) if table_llm is not None else gen
    timings["load_s"] = time.perf_counter() - t0
    how = {}
    if gen.kind == "chat":
        t0 = time.perf_counter()
        how["answer"] = prime_answer(gen)
        timings["answer_prefix_s"] = time.perf_counter() - t0
    if sql_llm.kind == "chat" and (lib.root / TABLES_FILE).exists():
        t0 = time.perf_counter()
        how["table"] = prime(sql_llm, sql_prefix_messages())
        timings["table_prefix_s"] = time.perf_counter() - t0
    log.info("warmed %s: %s, %s", gen.name, how, {k: round(v, 2) for k, v in timings.items()})
    return timings
