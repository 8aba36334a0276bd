"""The Ask tab: a question with an optional image; the answer streams in with linked citations."""
from __future__ import annotations

import time
from typing import Any, Iterator

import gradio as gr

from mmrag import Evidence

from . import render
from .service import LibraryService, load_query_image
from .web import Handler, UrlFor, errors, query_parts, read_limits

STREAM_EVERY_S = 0.05  # at most this often a partial answer is pushed to the page
ANSWER_PLACEHOLDER = '<div class="mm-answer placeholder">Ask something about your library.</div>'


def answer_json(text: str, evidence: list[Evidence], cited: list[int], model: str = "",
                timings: dict | None = None) -> dict:
    """The answer as data, for API clients (hidden in the page)."""
    def one(ev: Evidence) -> dict:
        if hasattr(ev, "to_dict"):
            return ev.to_dict()
        return {"n": ev.n, "modality": ev.modality, "source": ev.source, "locator": ev.locator}
    return {"answer": text, "citations": cited, "model": model, "timings": timings or {},
            "evidence": [{**one(ev), "score": ev.hit.score, "retrievers": ev.hit.retrievers} for ev in evidence]}


def _table_updates(evidence: list[Evidence]) -> tuple[Any, Any]:
    """The first executed table query: its SQL and cited rows (hidden when there is none)."""
    table = next((ev for ev in evidence if ev.sql or ev.rows), None)
    if table is None:
        return gr.update(value="", visible=False), gr.update(value=None, visible=False)
    rows = [[str(v) for v in row] for row in table.rows[: render.MAX_ROWS]]
    frame = {"headers": list(table.columns) or [f"c{i}" for i in range(len(rows[0]) if rows else 0)], "data": rows}
    return (gr.update(value=table.sql or "", visible=bool(table.sql), label=f"executed query [{table.n}]"),
            gr.update(value=frame, visible=bool(rows), label=f"cited rows [{table.n}]"))


def _info(model: str, timings: dict, n_evidence: int, cited: list[int]) -> str:
    took = f" in {timings['total_s']:.1f} s" if "total_s" in timings else ""
    return (f"**{len(cited)} of {n_evidence}** pieces of evidence cited · model `{model}`{took}"
            if model else f"{n_evidence} pieces of evidence retrieved · generating…")


def make_ask(service: LibraryService, url_for: UrlFor) -> Handler:
    """The streaming handler: evidence first, then the growing answer, then the final one."""

    @errors
    def ask(message: dict | str | None, k: float) -> Iterator[tuple]:
        text, image_path = query_parts(message)
        image = load_query_image(image_path)
        evidence: list[Evidence] = []
        acc, last = "", 0.0
        for event in service.ask_stream(text, image=image, k=int(k)):
            if event.kind == "evidence":
                evidence = list(event.evidence)
                sql, rows = _table_updates(evidence)
                gallery = render.gallery_items(evidence, service.evidence_image)
                yield (render.answer_html("…", []), _info("", {}, len(evidence), []),
                       render.evidence_html(evidence, text, url_for), gallery, sql, rows,
                       answer_json("", evidence, []))
            elif event.kind == "token":
                acc += event.text
                if time.monotonic() - last >= STREAM_EVERY_S:
                    last = time.monotonic()
                    yield (render.answer_html(acc, [ev.n for ev in evidence]), gr.skip(), gr.skip(), gr.skip(),
                           gr.skip(), gr.skip(), gr.skip())
            elif event.kind == "answer" and event.answer is not None:
                a = event.answer
                evidence = list(a.evidence) or evidence
                cited = sorted({c.n for c in a.citations})
                yield (render.answer_html(a.text, [ev.n for ev in evidence]),
                       _info(a.model, a.timings, len(evidence), cited),
                       render.evidence_html(evidence, text, url_for, cited),
                       render.gallery_items(evidence, service.evidence_image), *_table_updates(evidence),
                       answer_json(a.text, evidence, cited, a.model, a.timings))

    return ask


def build(service: LibraryService, url_for: UrlFor) -> None:
    """Lay out the tab and wire its event (API name: /ask)."""
    box = gr.MultimodalTextbox(placeholder="Ask a question about your library; attach an image if it helps",
                               file_types=["image"], file_count="single", sources=["upload"], show_label=False,
                               elem_id="ask-box", submit_btn="Ask", autofocus=True)
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
    box.submit(make_ask(service, url_for), [box, k], [answer, info, evidence, gallery, sql, rows, data],
               api_name="ask", **read_limits(service), show_progress="minimal")
