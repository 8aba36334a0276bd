"""The Ask tab: a conversation of questions (with an optional image); each answer streams in with linked
citations, can be stopped, and a follow-up is rewritten with the conversation before retrieval
(`ui.conversation`; the page shows what was searched). Example questions come from the library."""
from __future__ import annotations

import time
from typing import Any, Iterator

import gradio as gr

from mmrag import Evidence

from . import render
from .conversation import Turn, add_turn, as_turns, conversation_html, rewrite
from .examples import example_questions
from .service import LibraryService, load_query_image
from .tools import answer_json
from .web import Handler, UrlFor, errors, query_parts, read_limits

STREAM_EVERY_S = 0.05  # at most this often a partial answer is pushed to the page
ANSWER_PLACEHOLDER = '<div class="mm-answer placeholder">Ask something about your library.</div>'
__all__ = ["answer_json", "build", "make_ask"]


def _table_updates(evidence: list[Evidence]) -> tuple[Any, Any]:
    """The first executed table query: its SQL and cited rows (hidden when there is none)."""
    table = next((ev for ev in evidence if ev.sql or ev.rows), None)
    if table is None:
        return gr.update(value="", visible=False), gr.update(value=None, visible=False)
    rows = [[str(v) for v in row] for row in table.rows[: render.MAX_ROWS]]
    frame = {"headers": list(table.columns) or [f"c{i}" for i in range(len(rows[0]) if rows else 0)], "data": rows}
    return (gr.update(value=table.sql or "", visible=bool(table.sql), label=f"executed query [{table.n}]"),
            gr.update(value=frame, visible=bool(rows), label=f"cited rows [{table.n}]"))


def _info(model: str, timings: dict, n_evidence: int, cited: list[int], searched: str = "", asked: str = "") -> str:
    took = f" in {timings['total_s']:.1f} s" if "total_s" in timings else ""
    head = (f"**{len(cited)} of {n_evidence}** pieces of evidence cited · model `{model}`{took}"
            if model else f"{n_evidence} pieces of evidence retrieved · generating…")
    return head + (f"  \nsearched: <code>{render.esc(searched)}</code> (the follow-up, with the conversation)"
                   if searched != asked else "")


def make_ask(service: LibraryService, url_for: UrlFor) -> Handler:
    """The streaming handler: evidence first, then the growing answer, then the final one and the new
    conversation state. Stopping it (the stop button) closes this generator and the library's."""

    @errors
    def ask(message: dict | str | None, k: float, history: list | None = None) -> Iterator[tuple]:
        text, image_path = query_parts(message)
        image = load_query_image(image_path)
        searched = rewrite(text, as_turns(history), has_image=image is not None)
        earlier = conversation_html(history, skip_last=False)
        evidence: list[Evidence] = []
        acc, last = "", 0.0
        for event in service.ask_stream(searched, image=image, k=int(k)):
            if event.kind == "evidence":
                evidence = list(event.evidence)
                sql, rows = _table_updates(evidence)
                gallery = render.gallery_items(evidence, service.evidence_image)
                yield (earlier, render.answer_html("…", []), _info("", {}, len(evidence), [], searched, text),
                       render.evidence_html(evidence, searched, url_for), gallery, sql, rows,
                       answer_json("", evidence, [], question=text, searched=searched), gr.skip())
            elif event.kind == "token":
                acc += event.text
                if time.monotonic() - last >= STREAM_EVERY_S:
                    last = time.monotonic()
                    yield (gr.skip(), render.answer_html(acc, [ev.n for ev in evidence]), *[gr.skip()] * 7)
            elif event.kind == "answer" and event.answer is not None:
                a = event.answer
                evidence = list(a.evidence) or evidence
                cited = sorted({c.n for c in a.citations})
                yield (earlier, render.answer_html(a.text, [ev.n for ev in evidence]),
                       _info(a.model, a.timings, len(evidence), cited, searched, text),
                       render.evidence_html(evidence, searched, url_for, cited),
                       render.gallery_items(evidence, service.evidence_image), *_table_updates(evidence),
                       answer_json(a.text, evidence, cited, a.model, a.timings, question=text, searched=searched),
                       add_turn(history, Turn(text, searched, a.text)))

    return ask


def new_conversation() -> tuple:
    return [], "", ANSWER_PLACEHOLDER, "", "", [], None


def build(service: LibraryService, url_for: UrlFor) -> tuple[gr.Dataset, Handler]:
    """Lay out the tab and wire its events (the page's API name: /ask, with the conversation kept per
    session); returns the example questions and their refresher."""
    history = gr.State([])
    conversation = gr.HTML(elem_id="ask-conversation")
    box = gr.MultimodalTextbox(placeholder="Ask a question about your library; attach an image if it helps",
                               file_types=["image"], file_count="single", sources=["upload"], show_label=False,
                               elem_id="ask-box", submit_btn="Ask", stop_btn="Stop", autofocus=True)
    with gr.Row():
        examples = gr.Dataset(components=["textbox"], samples=[], label="Examples from this library",
                              elem_id="ask-examples", scale=4)
        fresh = gr.Button("New conversation", elem_id="ask-new", scale=1, size="sm")
    k = gr.Slider(1, 20, value=service.settings.k, step=1, label="pieces of evidence (k)", elem_id="ask-k")
    with gr.Row():
        with gr.Column(scale=3):
            answer = gr.HTML(ANSWER_PLACEHOLDER, elem_id="ask-answer")
            info = gr.Markdown(elem_id="ask-info")
        with gr.Column(scale=2):
            gallery = gr.Gallery(label="Images among the evidence (click to enlarge)", elem_id="ask-gallery",
                                 columns=3, height=260, allow_preview=True, preview=False,
                                 object_fit="contain", interactive=False)
    sql = gr.Code(language="sql", label="executed query", visible=False, interactive=False, elem_id="ask-sql")
    rows = gr.Dataframe(label="cited rows", visible=False, interactive=False, elem_id="ask-rows")
    gr.Markdown("### Evidence")
    evidence = gr.HTML(elem_id="ask-evidence")
    data = gr.JSON(visible=False, elem_id="ask-json")
    asking = box.submit(make_ask(service, url_for), [box, k, history],
                        [conversation, answer, info, evidence, gallery, sql, rows, data, history],
                        api_name="ask", **read_limits(service),
                        show_progress="minimal")
    box.stop(None, None, None, cancels=[asking], api_visibility="private")
    fresh.click(new_conversation, None, [history, conversation, answer, info, evidence, gallery, data],
                api_visibility="private", queue=False, cancels=[asking])
    examples.click(lambda sample: {"text": sample[0], "files": []}, [examples], [box], api_visibility="private",
                   queue=False)
    return examples, lambda: gr.Dataset(samples=[[q] for q in example_questions(service)])
