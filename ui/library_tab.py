"""The Library tab: upload files or add a server folder, see sources, counts and models, remove."""
from __future__ import annotations

import time
from typing import Any, Callable

import gradio as gr

from mmrag import IngestReport

from .render import esc
from .service import LibraryService
from .web import WRITE_LIMITS, Handler, client_message, errors, read_limits

SOURCE_COLUMNS = ["path", "status", "kind", "records", "error", "updated"]
MAX_LISTED = 30  # problem and skipped files listed after an ingest


def report_md(report: IngestReport, stored: list | None = None, public: Callable[[str], str] = str) -> str:
    """The ingest report in a few lines; `public` maps server paths to what the client may see."""
    d = report.to_dict()
    counts = ", ".join(f"{v} {k}" for k, v in d["counts"].items() if v)
    lines = [f"**Ingest:** {counts or 'nothing to do'} · {d['records']} new records"]
    if stored:
        lines.append("Stored uploads: " + ", ".join(code(p.name) for p in stored))
    listed = (d["problems"] + d["skipped"])[:MAX_LISTED]
    lines += [f"- {p['status']}: {code(public(p['path']))}: {esc(client_message(p['message']))}" for p in listed]
    if len(d["problems"]) + len(d["skipped"]) > len(listed):
        lines.append(f"- … and {len(d['problems']) + len(d['skipped']) - len(listed)} more (see Sources)")
    return "\n".join(lines)


def code(text: str) -> str:
    """`text` shown as code, whatever it holds (backticks, markdown or HTML cannot break out)."""
    return f"<code>{esc(text)}</code>"


def counts_md(st: dict) -> str:
    recs = ", ".join(f"{k} **{v}**" for k, v in sorted(st["records"].items())) or "none"
    srcs = ", ".join(f"{k} **{v}**" for k, v in sorted(st["sources"].items())) or "none"
    lines = [f"**Records:** {recs}  \n**Sources:** {srcs}", "",
             "| space | model | vectors | modalities | pending |", "|---|---|---|---|---|"]
    for name, sp in st["spaces"].items():
        lines.append(f"| {name} | {sp['encoder']} | {sp['vectors']} | {', '.join(sp['modalities'])} "
                     f"| {sp['pending'] or ''} |")
    return "\n".join(lines)


_ROLES = {"speech": "video speech-to-text", "ocr": "text in images"}


def _role(name: str, sp: dict) -> str:
    if sp.get("modalities") is not None:
        return f"space `{name}` ({', '.join(sp['modalities'])})"
    return _ROLES.get(name, "answers (LLM)" if name.startswith("llm:") else name)


def models_md(st: dict, generator: str | None, last: dict, models: dict | None = None) -> str:
    lines = ["| model | used for | state |", "|---|---|---|"]
    rows = dict(st["spaces"])
    rows.update({k: v for k, v in (models or {}).items() if k not in rows})
    for name, sp in rows.items():
        if sp.get("available", True):
            state = "active" + (f" (`{sp['source']}`)" if sp.get("source") else "")
        else:
            why = esc((sp.get("reason") or "unknown reason").splitlines()[0])
            state = f"**unavailable**: {why}" + (f"<br>to fix: {esc(sp['hint'])}" if sp.get("hint") else "")
        lines.append(f"| {sp['encoder']} | {_role(name, sp)} | {state} |")
    gen = f"`{generator}` (set with --generator)" if generator else "default: best installed LLM, else extractive"
    used = f"; last answer by `{last['model']}`" + (f" ({last['choice']})" if last.get("choice") else "") \
        if last.get("model") else ""
    lines.append(f"| answers | generation | {gen}{used} |")
    return "\n".join(lines)


def sources_rows(sources: list[dict]) -> dict:
    def when(t: Any) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if isinstance(t, (int, float)) else ""
    rows = [[s["path"], s["status"], s.get("kind") or "", s.get("n_records") or 0, s.get("error") or "",
             when(s.get("updated"))] for s in sorted(sources, key=lambda s: s["path"])]
    return {"headers": SOURCE_COLUMNS, "data": rows}


def make_refresh(service: LibraryService) -> Handler:
    @errors
    def refresh() -> tuple:
        st, sources = service.status(), service.sources()
        paths = sorted(s["path"] for s in sources)
        return (counts_md(st), models_md(st, service.settings.generator, service.last_model, service.models()),
                sources_rows(sources), gr.update(choices=paths, value=None))
    return refresh


def make_writers(service: LibraryService) -> tuple[Handler, Handler, Handler, Handler]:
    refresh = make_refresh(service)

    @errors
    def ingest_uploads(files: list[str] | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:
        progress(0, desc="storing uploads")
        stored, report = service.add_uploads(files or [], progress=True)
        return (report_md(report, stored, service.pub.public), *refresh())

    @errors
    def ingest_folder(folder: str, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:
        progress(0, desc="reading folder")
        return (report_md(service.add_folder(folder, progress=True), public=service.pub.public), *refresh())

    @errors
    def remove(source: str | None) -> tuple:
        n = service.remove(source or "")
        return (f"Removed {code(source or '')} ({n} records).", *refresh())

    return ingest_uploads, ingest_folder, remove, refresh


def build(service: LibraryService) -> Any:
    """Lay out the tab (API: /ingest_uploads, /ingest_folder, /remove_source, /library_status)."""
    roots = ", ".join(code(str(r)) for r in service.settings.folder_roots) or "none (start with --folder-root)"
    with gr.Row():
        with gr.Column():
            files = gr.File(label=f"Upload files (up to {service.settings.max_upload_mb:g} MB each)",
                            file_count="multiple", type="filepath", elem_id="lib-files")
            up = gr.Button("Ingest uploads", variant="primary", elem_id="lib-ingest")
        with gr.Column():
            folder = gr.Textbox(label="Folder on the server", info=f"allowed under: {roots}", elem_id="lib-folder")
            add = gr.Button("Add folder", elem_id="lib-add-folder")
    result = gr.Markdown(elem_id="lib-result")
    counts = gr.Markdown(elem_id="lib-counts")
    gr.Markdown("### Models")
    models = gr.Markdown(elem_id="lib-models")
    gr.Markdown("### Sources")
    sources = gr.Dataframe(headers=SOURCE_COLUMNS, interactive=False, wrap=True, elem_id="lib-sources")
    with gr.Row():
        pick = gr.Dropdown(label="source to remove", choices=[], allow_custom_value=True, elem_id="lib-remove-pick")
        rm = gr.Button("Remove source", variant="stop", elem_id="lib-remove")
        again = gr.Button("Refresh", elem_id="lib-refresh")
    ingest_uploads, ingest_folder, remove, refresh = make_writers(service)
    outs = [counts, models, sources, pick]
    up.click(ingest_uploads, [files], [result, *outs], api_name="ingest_uploads", **WRITE_LIMITS)
    add.click(ingest_folder, [folder], [result, *outs], api_name="ingest_folder", **WRITE_LIMITS)
    rm.click(remove, [pick], [result, *outs], api_name="remove_source", **WRITE_LIMITS)
    again.click(refresh, None, outs, api_name="library_status", **read_limits(service))
    return refresh, outs
