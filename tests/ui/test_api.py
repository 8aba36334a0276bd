"""The JSON API (/mmrag/api/) with real HTTP requests against the running app: search, ask, ingest,
status; its errors and limits; Host/Origin checks and the login (HTTP Basic)."""
from __future__ import annotations

import json

import httpx
import pytest

from .conftest import free_port, text_only_config


def post(app, name: str, body=None, **kw) -> httpx.Response:
    return httpx.post(f"{app.url}mmrag/api/{name}", json=body, timeout=120, **kw)


def test_search_returns_ranked_hits_as_json(app):
    r = post(app, "search", {"query": "Italy riders", "k": 3, "modality": "table"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    hits = r.json()["hits"]
    assert [h["n"] for h in hits] == [1, 2, 3] and {h["modality"] for h in hits} == {"table"}
    assert all({"source", "score", "locator", "text", "retrievers"} <= set(h) for h in hits)
    hits = post(app, "search", {"query": "bread", "source": "*sourdough*"}).json()["hits"]
    assert hits and all(h["source"].endswith("sourdough.txt") for h in hits)


def test_ask_answers_with_citations_and_rewrites_a_follow_up(app):
    d = post(app, "ask", {"question": "How much was the espresso at the harbour cafe?", "k": 6}).json()
    assert "2.40" in d["answer"] and d["citations"] and d["searched"] == d["question"]
    cited = [e for e in d["evidence"] if e["n"] in d["citations"]]
    assert any(e["source"].endswith("cafe-receipt.jpg") for e in cited)
    d = post(app, "ask", {"question": "and the orange juice?", "history": [d["question"]]}).json()
    assert d["searched"] == "How much was the espresso at the harbour cafe? And the orange juice?", d
    assert "3.50" in d["answer"], d


def test_status(app):
    st = httpx.get(f"{app.url}mmrag/api/status").json()
    assert st["records"]["text"] > 0 and st["spaces"]["text"]["encoder"] == "hash"
    assert any(v.endswith("lighthouse-keeper.mp4") for v in st["videos"])
    assert str(app.service.root) not in json.dumps(st)


@pytest.fixture(scope="module")
def writable(tmp_path_factory):
    """An app over its own small library (ingest tests leave the shared corpus library as it is):
    (server, its --folder-root)."""
    from mmrag import Library
    from ui import Settings, launch
    base = tmp_path_factory.mktemp("api-writes")
    (base / "server-files").mkdir()
    Library(base / "lib", config=text_only_config("hash")).close()
    server = launch(Settings(library=base / "lib", generator="extractive", folder_roots=[base / "server-files"],
                             max_upload_mb=1, warm_up=False), port=free_port())
    yield server, base / "server-files"
    server.close()


def test_ingest_uploaded_files_then_find_them(writable):
    app, _ = writable
    files = [("files", ("quokka-notes.md", b"# Quokkas\n\nThe quokkaberry grows on Rottnest.\n", "text/markdown")),
             ("files", ("../../escape.txt", b"A wallaby named Escape.\n", "text/plain"))]
    r = post(app, "ingest", files=files)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["counts"]["ok"] == 2 and sorted(d["stored"]) == ["library/uploads/escape.txt",
                                                              "library/uploads/quokka-notes.md"]
    assert (app.service.root / "uploads" / "escape.txt").is_file()  # the name is made safe
    hits = post(app, "search", {"query": "quokkaberry", "k": 2}).json()["hits"]
    assert hits[0]["source"] == "library/uploads/quokka-notes.md"
    assert str(app.service.root) not in r.text


def test_ingest_obeys_the_upload_rules_and_the_folder_roots(writable):
    app, folder_root = writable
    r = post(app, "ingest", files=[("files", ("x.svg", b"<svg/>", "image/svg+xml"))])
    assert r.status_code == 400 and "does not ingest .svg" in r.json()["error"]
    r = post(app, "ingest", files=[("files", ("big.txt", b"a" * 1_200_000, "text/plain"))])  # the test app: 1 MB
    assert r.status_code == 400 and "over the 1 MB limit" in r.json()["error"]
    r = post(app, "ingest", files=[("files", (f"f{i}.txt", b"x", "text/plain")) for i in range(21)])
    assert r.status_code == 400, r.text
    for folder in ("/etc", str(folder_root / ".." / "..")):
        r = post(app, "ingest", {"folder": folder})
        assert r.status_code == 400 and "not inside the folders" in r.json()["error"]
    (folder_root / "api-docs").mkdir(exist_ok=True)
    (folder_root / "api-docs" / "numbat.txt").write_text("The numbat eats termites.\n")
    r = post(app, "ingest", {"folder": str(folder_root / "api-docs")})
    assert r.status_code == 200 and r.json()["counts"]["ok"] == 1, r.text
    assert post(app, "search", {"query": "numbat"}).json()["hits"][0]["source"].endswith("numbat.txt")


@pytest.mark.parametrize("method,name,body,headers,status,says", [
    ("GET", "search", None, {}, 405, "takes POST"),
    ("POST", "status", b"{}", {"content-type": "application/json"}, 405, "takes GET"),
    ("POST", "summon", b"{}", {"content-type": "application/json"}, 404, "search, ask, ingest, status"),
    ("POST", "search", b'{"query": "x"}', {"content-type": "text/plain"}, 415, "application/json"),
    ("POST", "search", b"{not json", {"content-type": "application/json"}, 400, "not valid JSON"),
    ("POST", "search", b'{"query": "x", "top": 3}', {"content-type": "application/json"}, 400, "search takes: query"),
    ("POST", "search", b'{"query": "x", "k": "5"}', {"content-type": "application/json"}, 400, "k must be an integer"),
    ("POST", "search", b'{"query": "x", "k": true}', {"content-type": "application/json"}, 400, "k must be"),
    ("POST", "ask", b'{"k": 3}', {"content-type": "application/json"}, 400, "needs 'question'"),
    ("POST", "ask", json.dumps({"question": "q" * 2001}).encode(), {"content-type": "application/json"}, 400,
     "limit is 2000"),
    ("POST", "ask", json.dumps({"question": "q" * 70_000}).encode(), {"content-type": "application/json"}, 413,
     "limit"),
])
def test_bad_requests_get_clear_errors(app, method, name, body, headers, status, says):
    r = httpx.request(method, f"{app.url}mmrag/api/{name}", content=body, headers=headers, timeout=60)
    assert r.status_code == status and says in r.json()["error"], (r.status_code, r.text)


def test_host_and_origin_are_checked(app):
    body = {"query": "bread"}
    assert post(app, "search", body, headers={"host": "evil.example"}).status_code == 403
    assert post(app, "search", body, headers={"origin": "http://evil.example"}).status_code == 403
    assert post(app, "search", body, headers={"origin": app.url.rstrip("/")}).status_code == 200


def test_the_api_needs_the_login_when_auth_is_set(corpus_library):
    from ui import Settings, launch
    server = launch(Settings(library=corpus_library, generator="extractive", warm_up=False), port=free_port(),
                    auth=("ann", "s3cret"))
    try:
        url = f"{server.url}mmrag/api/"
        r = httpx.post(url + "search", json={"query": "bread"})
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
        assert httpx.post(url + "search", json={"query": "bread"}, auth=("ann", "wrong")).status_code == 401
        assert httpx.get(url + "status", auth=("bob", "s3cret")).status_code == 401
        assert httpx.post(url + "ingest", files=[("files", ("a.txt", b"x", "text/plain"))]).status_code == 401
        r = httpx.post(url + "search", json={"query": "bread"}, auth=("ann", "s3cret"))
        assert r.status_code == 200 and r.json()["hits"]
    finally:
        server.close()
