"""`ask` / `ask_stream`: retrieve, (run table QA), gather more evidence if asked, answer with citations.

Events of `ask_stream`: one "evidence" (the numbered evidence, once retrieval is done), "token"
pieces as the reply streams (invalid citation markers already removed), and a last "answer" whose
text has only valid `[n]` markers and whose `citations` are the cited evidence.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from ..core import Collection
from ..errors import BadOptionError, BadQueryError, ConfigError
from ..generate.registry import Generator, create_generator
from ..kinds import EventKind, Modality
from ..records import Answer, AnswerEvent, Evidence, Hit
from ..retrieval import SearchOptions, search, search_options
from .citations import CitationFilter
from .evidence import dedupe_hits, number_evidence, relevant_hits
from .focus import FOCUS_CHARS, focus_blocks
from .generation import Finished, build_prompt, finish, render_blocks, stream_reply
from .multistep import gather
from .prompts import answer_messages
from .tableqa import query_result, query_result_note, table_evidence, without_table
from .warm import prime_answer

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)
NOTHING = "The library has nothing on this question."
MIN_SCORE_RATIO = 0.25


@dataclass
class AskOptions:
    """Everything `ask` can be told (see `ask_stream`); `search_options` is a SearchOptions or a dict of its
    fields."""

    image: "Image.Image | None" = None
    k: int = 8
    generator: "str | Generator | None" = None
    max_tokens: int = 256
    temperature: float = 0.0
    steps: int = 1
    table_qa: bool = True
    table_llm: "str | Generator | None" = None
    table_options: dict[str, Any] = field(default_factory=dict)
    search_options: "SearchOptions | dict[str, Any]" = field(default_factory=dict)
    enforce_citations: bool = True
    strict: bool = False
    example: bool = True
    instructions: str = ""
    evidence_order: str = "score"  # or "reading": sources by best rank, each in reading (record) order
    min_score_ratio: float = MIN_SCORE_RATIO  # evidence scoring under this share of the best hit's is left out
    focus_chars: int = FOCUS_CHARS  # an LLM reads of each long text block its sentences on the question (0: all)


@dataclass
class State:
    """One question in progress."""

    question: str
    gen: Any
    hits: list[Hit] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    t0: float = field(default_factory=time.perf_counter)


def _sql_llm(gen: Any, table_llm: Any) -> Any:
    """The LLM that writes SQL: `table_llm` if given, else the generator when it is an LLM."""
    if table_llm is not None:
        return create_generator(table_llm)
    return gen if gen.kind in ("chat", "vision") and hasattr(gen, "complete") else None


def _image_text(image: "Image.Image") -> str:
    try:
        from encoders.ocr import OcrEngine
        return " ".join(OcrEngine().read_text(image).split())
    except (ImportError, RuntimeError, OSError, ValueError) as exc:
        log.info("no OCR for the question image: %s", exc)
        return ""


def _encode_fn(lib: Collection) -> Any:
    """The library's text encoder as `encode(texts) -> vectors` (None when unavailable)."""
    if Modality.TEXT not in lib.spaces or not lib.available(Modality.TEXT):
        return None
    return lib.encoder(Modality.TEXT).encode


def order_hits(hits: list[Hit], order: str) -> list[Hit]:
    """Hits by fused score ("score"), or grouped by source (best first) in reading order ("reading").

    Reading order keeps a prompt's evidence identical across questions on the same documents, so
    llama.cpp reuses the cached prompt prefix.
    """
    if order == "score":
        return hits
    if order != "reading":
        raise ConfigError(f"unknown evidence_order {order!r}; valid: score, reading")
    rank = {s: i for i, s in reversed(list(enumerate(h.record.source for h in hits)))}
    return sorted(hits, key=lambda h: (rank[h.record.source], h.record.id if h.record.id is not None else 0))


def collect(lib: Collection, st: State, o: Options) -> None:
    """Search, dedupe, put a table-query result first when it applies, and run follow-up steps."""
    st.hits = search(lib, st.question, k=o.k, **search_options(o.search_options, image=o.image).kwargs())
    kept = order_hits(dedupe_hits(st.hits), o.evidence_order)
    shown = order_hits(dedupe_hits(relevant_hits(st.hits, o.min_score_ratio)), o.evidence_order)
    table_ev = None
    st.timings["retrieve_s"] = time.perf_counter() - st.t0
    if o.table_qa and kept:
        table_ev, info = table_evidence(lib, st.question, kept, _sql_llm(st.gen, o.table_llm), **o.table_options)
        if "table_qa_s" in info:
            st.timings["table_qa_s"] = info.pop("table_qa_s")
        st.meta.update(info)
    if table_ev is not None:
        shown = without_table(shown, table_ev.locator["table"])
    st.evidence = number_evidence(shown, start=2 if table_ev else 1)
    if table_ev is not None:
        table_ev.n = 1
        st.evidence.insert(0, table_ev)
    if o.steps > 1 and st.gen.kind != "extractive" and st.evidence:
        t1 = time.perf_counter()
        st.evidence, st.notes, queries = gather(lib, st.gen, st.question, st.evidence, steps=o.steps, k=o.k,
                                                search_options=_without_image(o.search_options))
        st.meta.update(notes=st.notes, follow_up_queries=queries, steps=1 + len(queries))
        st.timings["steps_s"] = time.perf_counter() - t1


def respond(lib: Collection, st: State, o: Options) -> Iterator[AnswerEvent]:
    """Pack the evidence, stream the reply (citations filtered), then the final answer event."""
    t1 = time.perf_counter()
    gen, vision = st.gen, st.gen.kind == "vision" and o.image is not None
    blocks = render_blocks(st.evidence, lib, gen)
    if gen.kind != "extractive":
        blocks = focus_blocks(blocks, st.question, o.focus_chars)
    q = st.question + (f"\n{o.instructions}" if o.instructions else "")
    if o.image is not None and gen.kind != "vision" and (words := _image_text(o.image)):
        q += f"\n(The question comes with an image; its text reads: {words})"
    prompt = None
    if gen.kind != "extractive":
        prime_answer(gen, o.example)
        make = lambda b, note: answer_messages(q, b, note, notes=st.notes, example=o.example,  # noqa: E731
                                               question_image=vision)
        prompt = build_prompt(gen, blocks, make, o.max_tokens, [o.image] if vision else [])
        blocks = prompt.packed.blocks
        st.meta.update(prompt_tokens=prompt.tokens, shortened=prompt.packed.shortened, omitted=prompt.packed.omitted)
    st.timings["pack_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    filt, raw = CitationFilter(b.n for b in blocks), []
    encode = _encode_fn(lib)
    for piece in stream_reply(gen, q, prompt, blocks, o.max_tokens, o.temperature,
                              encode if gen.kind == "extractive" else None):
        st.timings.setdefault("first_token_s", time.perf_counter() - t1)
        raw.append(piece)
        if out := filt.feed(piece):
            yield AnswerEvent(EventKind.TOKEN, text=out)
    if out := filt.flush():
        yield AnswerEvent(EventKind.TOKEN, text=out)
    st.timings["generate_s"] = time.perf_counter() - t1
    done = finish("".join(raw), st.evidence, blocks, enforce=o.enforce_citations, strict=o.strict, encode=encode,
                  question=st.question)
    if note := query_result_note(done.text, st.evidence, done.meta.get("refused", False)):
        yield AnswerEvent(EventKind.TOKEN, text=" " + note)
        done = _with_query_result(done, note, st.evidence)
    st.timings["total_s"] = time.perf_counter() - st.t0
    yield AnswerEvent(EventKind.ANSWER, answer=Answer(done.text, citations=done.citations, hits=st.hits, model=gen.name,
                                              timings=st.timings, evidence=list(st.evidence),
                                              meta={**st.meta, **done.meta}))


Options = AskOptions  # the earlier name


def _with_query_result(done: Finished, note: str, evidence: list[Evidence]) -> Finished:
    """`done` with the query's answer stated and cited (after the text, or instead of a refusal)."""
    table_ev = query_result(evidence)
    refused = done.meta.get("refused", False)
    cites = [table_ev] + [e for e in done.citations if e is not table_ev and not refused]
    return Finished(note if refused else f"{done.text} {note}", cites,
                    {**done.meta, "query_result_added": True, "refused": False, "unsupported": False})


def _without_image(options: "SearchOptions | Mapping[str, Any]") -> dict[str, Any]:
    """Search options for follow-up searches (text only)."""
    kw = search_options(options).kwargs()
    kw.pop("image")
    return kw


def ask_options(options: "AskOptions | Mapping[str, Any] | None" = None, **overrides: Any) -> AskOptions:
    """`options` (an AskOptions or a dict of its fields) with `overrides`; unknown names -> BadOptionError."""
    base = options if isinstance(options, AskOptions) else AskOptions()
    given = {**(dict(options) if isinstance(options, Mapping) else {}), **overrides}
    if bad := sorted(set(given) - set(AskOptions.__dataclass_fields__)):
        raise BadOptionError(f"unknown ask options {bad}; ask takes: {', '.join(AskOptions.__dataclass_fields__)}")
    return replace(base, **given)


def ask_stream(lib: Collection, question: str, options: "AskOptions | Mapping[str, Any] | None" = None,
               **overrides: Any) -> Iterator[AnswerEvent]:
    """Answer `question` from the library as events: "evidence", then "token"s, then "answer".

    Options (see `Options`): image (a PIL image with the question), k (hits), generator (registry
    name or instance; default "auto"), max_tokens, temperature, steps (>1: up to steps-1 follow-up
    searches), table_qa (SQL over retrieved tables), table_llm (the LLM for SQL when the generator
    is extractive), enforce_citations (the citation pass), strict (refuse when nothing supports the
    answer), example (the worked example in the prompt), instructions (added after the question),
    min_score_ratio (evidence under this share of the best hit's score is left out), focus_chars
    (an LLM reads of each longer text block only its sentences on the question; `mmrag.answer.focus`),
    search_options and table_options (passed on).
    """
    o = ask_options(options, **overrides)
    if not question.strip() and o.image is None:
        raise BadQueryError("ask needs a question (and optionally an image)")
    st = State(question, create_generator(o.generator))
    st.meta["generator_choice"] = getattr(st.gen, "choice", "requested")
    collect(lib, st, o)
    yield AnswerEvent(EventKind.EVIDENCE, evidence=list(st.evidence))
    if st.evidence:
        yield from respond(lib, st, o)
        return
    st.timings["total_s"] = time.perf_counter() - st.t0
    yield AnswerEvent(EventKind.TOKEN, text=NOTHING)
    yield AnswerEvent(EventKind.ANSWER, answer=Answer(NOTHING, hits=st.hits, model=st.gen.name, timings=st.timings,
                                              meta={**st.meta, "refused": True}))


def ask(lib: Collection, question: str, options: "AskOptions | Mapping[str, Any] | None" = None,
        **overrides: Any) -> Answer:
    """The final answer of `ask_stream` (same options)."""
    answer = None
    for event in ask_stream(lib, question, options, **overrides):
        if event.kind == EventKind.ANSWER:
            answer = event.answer
    assert answer is not None
    return answer
