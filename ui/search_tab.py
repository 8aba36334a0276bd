"""The Search tab: the same query box without generation, filters, and moments in one video."""
from __future__ import annotations

from typing import Any

import gradio as gr

from mmrag import Evidence

from . import render
from .service import LibraryService, UserError, load_query_image
from .web import PAGE_ONLY, Handler, UrlFor, errors, query_parts, read_limits

MODALITIES = ["text", "image", "video", "table"]
VIDEO_KINDS = ("video",)


def video_sources(service: LibraryService) -> list[str]:
    """Ingested videos (sources whose kind is video)."""
    return sorted(s["path"] for s in service.sources() if s.get("kind") in VIDEO_KINDS and s.get("status") == "ok")


def make_search(service: LibraryService, url_for: UrlFor) -> Handler:
    @errors
    def search(message: dict | str | None, modalities: list[str] | None, k: float, source: str,
               diverse: bool) -> tuple[str, list, list]:
        text, image_path = query_parts(message)
        hits = service.search(text, image=load_query_image(image_path), k=int(k), modality=modalities or None,
                              source=(source or "").strip() or None, diversity=bool(diverse))
        evidence = [Evidence(n=i, hit=h) for i, h in enumerate(hits, 1)]
        data = [{"n": ev.n, **ev.hit.to_dict()} for ev in evidence]
        pictures = render.gallery_items(evidence, service.evidence_image)
        return (render.evidence_html(evidence, text, url_for, grouped=False, prefix="hit"),
                gr.update(value=pictures, visible=bool(pictures)), data)
    return search


def make_moments(service: LibraryService, url_for: UrlFor) -> Handler:
    @errors
    def moments(video: str | None, query: str, k: float) -> tuple[str, list]:
        if not video or video not in video_sources(service):  # only ingested videos, never a client path
            raise UserError("pick one of the library's videos")
        found = service.moments(video, query, k=int(k))
        data = [m.to_dict() if hasattr(m, "to_dict") else
                {"source": m.source, "t_start": m.t_start, "t_end": m.t_end, "score": m.score} for m in found]
        return render.moments_html(found, query, url_for), data
    return moments


def make_feedback(service: LibraryService, useful: bool) -> Handler:
    @errors
    def mark(message: dict | str | None, data: list | None, n: float | None) -> str:
        text, _ = query_parts(message)
        hits = data if isinstance(data, list) else []
        pick = next((h for h in hits if isinstance(h, dict) and h.get("n") == int(n or 0)), None)
        if not text.strip():
            raise UserError("search first, then mark a result")
        if pick is None or not isinstance(pick.get("id"), int):
            raise UserError(f"no result {n} to mark; search first (results 1..{len(hits)})")
        service.feedback(text, pick["id"], useful)
        return f"result {int(n)} marked {'useful' if useful else 'wrong'} for this query (`mmrag tune` learns from it)"
    return mark


def refresh_videos(service: LibraryService) -> Any:
    choices = video_sources(service)
    return gr.update(choices=choices, value=choices[0] if choices else None)


def build(service: LibraryService, url_for: UrlFor) -> tuple[gr.Dropdown, Any]:
    """Lay out the tab (API names: /search, /moments); returns the video picker and its refresher."""
    box = gr.MultimodalTextbox(placeholder="Search the library (text, an image, or both)", file_types=["image"],
                               file_count="single", sources=["upload"], show_label=False, elem_id="search-box",
                               submit_btn="Search")
    with gr.Row():
        mods = gr.CheckboxGroup(MODALITIES, label="only these modalities (none: all)", elem_id="search-modality")
        k = gr.Slider(1, 50, value=10, step=1, label="results", elem_id="search-k")
        source = gr.Textbox(label="source glob", placeholder="*/reports/*", elem_id="search-source")
        diverse = gr.Checkbox(label="diverse results (MMR)", elem_id="search-diverse")
    gallery = gr.Gallery(label="Images (click to enlarge)", columns=6, height=200, interactive=False, preview=False,
                         visible=False, elem_id="search-gallery")
    results = gr.HTML(elem_id="search-results")
    data = gr.JSON(visible=False)
    box.submit(make_search(service, url_for), [box, mods, k, source, diverse], [results, gallery, data],
               api_name="search", **read_limits(service))
    with gr.Row(elem_id="search-feedback"):
        which = gr.Number(value=1, precision=0, minimum=1, label="result", scale=1)
        good, bad = gr.Button("useful", scale=1), gr.Button("wrong", scale=1)
        said = gr.Markdown()
    good.click(make_feedback(service, True), [box, data, which], said, api_name="feedback_useful",
               **PAGE_ONLY)
    bad.click(make_feedback(service, False), [box, data, which], said, api_name="feedback_wrong", **PAGE_ONLY)
    with gr.Accordion("Moments in one video", open=False, elem_id="moments"):
        with gr.Row():
            video = gr.Dropdown(label="video", choices=[], allow_custom_value=True, elem_id="moments-video")
            query = gr.Textbox(label="what happens", placeholder="someone opens the door", elem_id="moments-query")
            mk = gr.Slider(1, 10, value=5, step=1, label="moments")
        find = gr.Button("Find moments")
        out = gr.HTML(elem_id="moments-results")
        mdata = gr.JSON(visible=False)
    handler = make_moments(service, url_for)
    find.click(handler, [video, query, mk], [out, mdata], api_name="moments", **read_limits(service))
    query.submit(handler, [video, query, mk], [out, mdata], api_name=False, **read_limits(service))
    return video, lambda: refresh_videos(service)
