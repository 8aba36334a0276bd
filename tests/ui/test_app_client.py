"""The running app driven through its API (gradio_client and plain HTTP): ask, search, library, security."""
from __future__ import annotations

import io
import json
import re

import httpx
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from tests.conftest import SAMPLES

from .conftest import free_port

ASK_OUT = ("conversation", "answer", "info", "evidence", "gallery", "sql", "rows", "data")


def call_raw(base: str, api: str, data: list, **kw) -> tuple[str, object]:
    """POST /gradio_api/call/<api> with raw JSON (no client-side uploads); returns (event, payload)."""
    r = httpx.post(f"{base}gradio_api/call/{api}", json={"data": data}, timeout=60, **kw)
    r.raise_for_status()
    event_id = r.json()["event_id"]
    event, payload = None, None
    with httpx.stream("GET", f"{base}gradio_api/call/{api}/{event_id}", timeout=120, **kw) as s:
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.split(":", 1)[1].strip() or "null")
                break
    return event, payload


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buf, "JPEG")
    return buf.getvalue()


def test_ask_streams_evidence_then_answer_with_linked_citations(client):
    job = client.submit({"text": "How much was the espresso at the harbour cafe?", "files": []}, 6, api_name="/ask")
    final = dict(zip(ASK_OUT, job.result(timeout=120)))
    steps = [dict(zip(ASK_OUT, out)) for out in job.outputs()]
    assert len(steps) >= 2 and 'id="ev-1"' in steps[0]["evidence"]  # evidence is shown before the answer
    data = final["data"]
    assert data["citations"], data
    for n in data["citations"]:
        assert f'href="#ev-{n}"' in final["answer"] and f'id="ev-{n}"' in final["evidence"]
    cited = [e for e in data["evidence"] if e["n"] in data["citations"]]
    assert any(e["source"].endswith("cafe-receipt.jpg") for e in cited), cited
    assert "espresso" in data["answer"].lower() and data["model"] == "extractive"
    assert any("cafe-receipt" in item["caption"] for item in final["gallery"])  # the receipt picture
    assert "dense:text" in final["evidence"] and "ev-scores" in final["evidence"]


def test_ask_with_an_attached_image(client):
    out = client.predict({"text": "What was the Q3 revenue on this slide?",
                          "files": [handle_file(str(SAMPLES / "revenue-slide.png"))]}, 6, api_name="/ask")
    data = dict(zip(ASK_OUT, out))["data"]
    assert data["citations"] and "48.2" in data["answer"], data["answer"]


def test_search_filters_by_modality_and_source(client):
    html, _, hits = client.predict({"text": "Italy riders", "files": []}, ["table"], 10, "", False,
                                   api_name="/search")
    assert hits and {h["modality"] for h in hits} == {"table"}
    assert html.count('class="ev-card ev-table"') == len(hits)
    assert [int(n) for n in re.findall(r'id="hit-(\d+)"', html)] == list(range(1, len(hits) + 1))  # rank order
    _, _, hits = client.predict({"text": "bread", "files": []}, [], 10, "*sourdough*", False, api_name="/search")
    assert hits and all(h["source"].endswith("sourdough.txt") for h in hits)


def test_empty_query_is_a_clear_error(client):
    with pytest.raises(AppError, match="type a query"):
        client.predict({"text": "  ", "files": []}, [], 5, "", False, api_name="/search")


def test_upload_ingest_search_remove(client, app, tmp_path):
    doc = tmp_path / "kites.md"
    doc.write_text("# Kites\n\nThe zephyrkite flies best in a steady wind of twenty kilometres per hour.\n")
    result, counts, _, sources, _ = client.predict([handle_file(str(doc))], api_name="/ingest_uploads")
    stored = app.service.root / "uploads" / "kites.md"
    public = "library/uploads/kites.md"  # clients never see the library's absolute path
    assert "1 ok" in result and stored.is_file()
    assert public in [row[0] for row in sources["data"]]
    assert str(app.service.root) not in json.dumps(sources)
    _, _, hits = client.predict({"text": "zephyrkite", "files": []}, [], 3, "", False, api_name="/search")
    assert hits[0]["source"] == public
    result, *_ = client.predict(public, api_name="/remove_source")
    assert "Removed" in result and not stored.exists()
    _, _, hits = client.predict({"text": "zephyrkite", "files": []}, [], 3, "", False, api_name="/search")
    assert all(h["source"] != public for h in hits)


def test_dangerous_upload_name_lands_inside_the_library(app):
    lib = app.service.root
    r = httpx.post(f"{app.url}gradio_api/upload", files=[("files", ("../../x.jpg", jpeg_bytes(), "image/jpeg"))])
    assert r.status_code == 200, r.text
    [tmp] = r.json()
    event, payload = call_raw(app.url, "ingest_uploads",
                              [[{"path": tmp, "orig_name": "../../x.jpg", "meta": {"_type": "gradio.FileData"}}]])
    assert event == "complete", payload
    assert (lib / "uploads" / "x.jpg").is_file()
    assert not (lib.parent.parent / "x.jpg").exists() and not (lib.parent / "x.jpg").exists()


def test_upload_size_limit(app):
    big = b"a" * 1_500_000  # the test app allows 1 MB
    r = httpx.post(f"{app.url}gradio_api/upload", files=[("files", ("big.txt", big, "text/plain"))])
    assert r.status_code == 413


def test_no_file_outside_the_library_can_be_fetched(app, client):
    lib = app.service.root
    thumb = next((lib / "thumbs").rglob("*.jpg"))
    assert httpx.get(f"{app.url}gradio_api/file={thumb}").status_code == 200
    for target in ("/etc/passwd", lib / "store.sqlite", lib / "library.json", SAMPLES / "sourdough.txt",
                   f"{lib}/thumbs/../../../../etc/passwd", "https://example.com/a.png"):
        for route in ("gradio_api/file=", "gradio_api/file/"):
            r = httpx.get(f"{app.url}{route}{target}")
            assert r.status_code == 403 and b"root:" not in r.content, (route, target, r.status_code)


def test_api_cannot_ingest_arbitrary_server_paths(app, client, folder_root):
    before = {s["path"] for s in app.service.sources()}
    passwd = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    event, payload = call_raw(app.url, "ingest_uploads", [[passwd]])
    assert event == "error"
    with pytest.raises(AppError, match="not inside the folders"):
        client.predict("/etc", api_name="/ingest_folder")
    assert {s["path"] for s in app.service.sources()} == before
    result, *_ = client.predict(str(folder_root / "docs"), api_name="/ingest_folder")
    assert "2 ok" in result or "2 duplicate" in result, result


def test_library_tab_shows_counts_models_and_sources(client):
    counts, models, sources, pick = client.predict(api_name="/library_status")
    assert re.search(r"text \*\*\d+\*\*", counts) and "| text | hash |" in counts
    assert "| hash | space `text`" in models and "active" in models and "extractive" in models
    rows = {row[0]: row for row in sources["data"]}  # by full path: other tests add copies of samples
    assert rows[str(SAMPLES / "sourdough.txt")][1] == "ok"
    assert rows[str(SAMPLES / "cafe-receipt.jpg")][2] == "image"


def test_login_is_required_when_auth_is_set(corpus_library):
    from gradio_client import Client

    from ui import Settings, launch
    server = launch(Settings(library=corpus_library, generator="extractive"), port=free_port(),
                    auth=("ann", "s3cret"))
    try:
        assert httpx.get(f"{server.url}config").status_code in (401, 403)
        thumb = next((corpus_library / "thumbs").rglob("*.jpg"))
        assert httpx.get(f"{server.url}gradio_api/file={thumb}").status_code in (401, 403)
        with pytest.raises(Exception):
            Client(server.url, verbose=False)
        c = Client(server.url, auth=("ann", "s3cret"), verbose=False)
        _, _, hits = c.predict({"text": "lighthouse keeper", "files": []}, [], 3, "", False, api_name="/search")
        assert hits
    finally:
        server.close()


def test_failed_upload_is_listed_with_its_reason(client, tmp_path):
    empty = tmp_path / "empty-notes.txt"
    empty.write_text("")
    result, _, _, sources, _ = client.predict([handle_file(str(empty))], api_name="/ingest_uploads")
    assert "1 failed" in result and "empty-notes.txt" in result
    row = next(r for r in sources["data"] if r[0] == "library/uploads/empty-notes.txt")
    assert row[1] == "failed" and "empty" in row[4]


def test_marking_a_result_stores_feedback_for_tune(client, corpus_library):
    from mmrag import Library
    query = {"text": "sourdough loaf", "files": []}
    _, _, hits = client.predict(query, [], 3, "", False, api_name="/search")
    said = client.predict(query, hits, 1, api_name="/feedback_useful")
    assert "result 1 marked useful" in said
    client.predict(query, hits, 2, api_name="/feedback_wrong")
    with Library(corpus_library) as lib:
        marks = {(q, i): u for q, i, u in lib.store.feedback()}
    assert marks[("sourdough loaf", hits[0]["id"])] is True and marks[("sourdough loaf", hits[1]["id"])] is False
    with pytest.raises(AppError, match="no result 9 to mark"):
        client.predict(query, hits, 9, api_name="/feedback_useful")
