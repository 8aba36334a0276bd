"""A small JSON API under /mmrag/api/ (for curl and scripts), and the login check in front of MCP.

    POST /mmrag/api/search  {"query", "k"?, "modality"?, "source"?, "diverse"?}  -> {"query", "hits"}
    POST /mmrag/api/ask     {"question", "k"?, "history"?}  -> {"answer", "citations", "evidence", "searched", ...}
    POST /mmrag/api/ingest  multipart, one "files" part per file  -> the ingest report (stored under uploads/)
    POST /mmrag/api/ingest  {"folder"}  -> the ingest report (only under a --folder-root)
    GET  /mmrag/api/status  -> records, sources, spaces, videos, failed files

Errors are {"error": message} with 400 (a bad request), 401 (login), 404/405, 409 (another process is
writing the library), 413 (too large), 415 (not JSON), 500 (a reference to the server's log, never its text).
Security, besides what the service enforces (k, question length, upload types, sizes and count, folder
roots): `ui.guard.HostGuard` checks Host/Origin before this; with --auth every request here and to
/gradio_api/mcp must carry the login as HTTP Basic credentials (`curl -u USER:PASSWORD`); JSON bodies
must say `Content-Type: application/json` (a cross-site form cannot send that without a preflight) and
are limited to `MAX_JSON_BYTES`; uploads to MAX_UPLOADS files of --max-upload-mb each, counted as the
body streams in.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request

from mmrag import LibraryBusyError, MmragError

from . import paths
from .service import MAX_UPLOADS
from .tools import Tools

log = logging.getLogger(__name__)
_API = re.compile(r"/mmrag/api/(?P<name>[a-z_]+)/?$")
_MCP = re.compile(r"/gradio_api/mcp(?:/|$)")
MAX_JSON_BYTES = 64_000
Scope = dict[str, Any]
FIELDS: dict[str, dict[str, tuple[type, ...]]] = {  # endpoint -> field -> accepted JSON types
    "search": {"query": (str,), "k": (int,), "modality": (str, list), "source": (str,), "diverse": (bool,)},
    "ask": {"question": (str,), "k": (int,), "history": (list,)},
    "ingest": {"folder": (str,)},
}
REQUIRED = {"search": "query", "ask": "question", "ingest": "folder"}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _TooLarge(Exception):
    pass


def _limited(receive: Callable, limit: int) -> Callable:
    """`receive` that raises once the request body passes `limit` bytes."""
    seen = 0

    async def wrapped() -> dict:
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
        return message
    return wrapped


def check_fields(name: str, body: Any) -> dict[str, Any]:
    """The JSON body of endpoint `name` as keyword arguments; unknown or mistyped fields are an ApiError."""
    spec = FIELDS[name]
    if not isinstance(body, dict):
        raise ApiError(400, f"the body must be a JSON object with the fields {', '.join(spec)}")
    if unknown := sorted(set(body) - set(spec)):
        raise ApiError(400, f"unknown fields {unknown}; {name} takes: {', '.join(spec)}")
    for key, value in body.items():
        if value is not None and (not isinstance(value, spec[key]) or isinstance(value, bool) != (bool in spec[key])):
            kinds = " or ".join({str: "a string", int: "an integer", bool: "true/false", list: "a list"}[t]
                                for t in spec[key])
            raise ApiError(400, f"{key} must be {kinds}, not {json.dumps(value)[:40]}")
    if not body.get(REQUIRED[name]):
        raise ApiError(400, f"{name} needs {REQUIRED[name]!r}")
    return body


class JsonApi:
    """ASGI middleware: serves /mmrag/api/*, guards /gradio_api/mcp with the login, passes the rest on."""

    def __init__(self, app: Callable, tools: Tools, auth: tuple[str, str] | None, max_upload_mb: float) -> None:
        self.app, self.tools, self.auth = app, tools, auth
        self.max_body = int(MAX_UPLOADS * max_upload_mb * 1e6 + 1e6)  # the files and the multipart framing

    def authorised(self, scope: Scope) -> bool:
        if self.auth is None:
            return True
        headers = dict(scope.get("headers", []))
        scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        ok_user = hmac.compare_digest(user.encode(), self.auth[0].encode())
        return hmac.compare_digest(password.encode(), self.auth[1].encode()) and ok_user

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        m = _API.search(path)
        if m is None and not (_MCP.search(path) and not self.authorised(scope)):
            await self.app(scope, receive, send)
            return
        try:
            if not self.authorised(scope):
                raise ApiError(401, "sign in: send the login as HTTP Basic credentials (curl -u USER:PASSWORD)")
            result = await self.dispatch(m.group("name") if m else "", scope, receive)
            await _respond(send, 200, result)
        except ApiError as exc:
            await _respond(send, exc.status, {"error": str(exc)}, exc.status == 401)

    async def dispatch(self, name: str, scope: Scope, receive: Callable) -> dict[str, Any]:
        method = scope.get("method", "GET")
        if name not in ("search", "ask", "ingest", "status"):
            raise ApiError(404, f"no endpoint {name!r}; the API has: search, ask, ingest, status")
        if (method != "GET") if name == "status" else (method != "POST"):
            raise ApiError(405, f"{name} takes {'GET' if name == 'status' else 'POST'}")
        request = Request(scope, _limited(receive, self.max_body))
        try:
            if name == "status":
                return await self.call(self.tools.status)
            if name == "ingest" and request.headers.get("content-type", "").startswith("multipart/form-data"):
                return await self.ingest_files(request)
            body = await self.json_body(request)
            args = check_fields(name, body)
            fn = {"search": self.tools.search, "ask": self.tools.ask, "ingest": self.tools.ingest_folder}[name]
            return await self.call(lambda: fn(**args))
        except _TooLarge:
            raise ApiError(413, f"the request is over the limit of {self.max_body / 1e6:g} MB") from None

    async def json_body(self, request: Request) -> Any:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise ApiError(415, "send JSON with Content-Type: application/json (ingest also takes multipart files)")
        if int(request.headers.get("content-length") or 0) > MAX_JSON_BYTES:
            raise _TooLarge
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_JSON_BYTES:
                raise ApiError(413, f"a JSON body is limited to {MAX_JSON_BYTES // 1000} KB")
        try:
            return json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"the body is not valid JSON ({exc})") from None

    async def ingest_files(self, request: Request) -> dict[str, Any]:
        """Uploaded files (form field "files"), copied under safe names and ingested (`Tools.ingest_uploads`)."""
        try:
            form = await request.form(max_files=MAX_UPLOADS, max_fields=MAX_UPLOADS)
        except _TooLarge:
            raise
        except Exception as exc:  # noqa: BLE001 - starlette reports a bad or oversized form in several ways
            raise ApiError(400, f"cannot read the upload: {getattr(exc, 'detail', None) or exc}") from None
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]

        def save_and_ingest() -> dict[str, Any]:
            with tempfile.TemporaryDirectory(prefix="mmrag-upload-") as tmp:
                files = []
                for i, up in enumerate(uploads):
                    target = Path(tmp, str(i), paths.safe_name(up.filename or "upload"))
                    target.parent.mkdir()
                    with open(target, "wb") as out:
                        shutil.copyfileobj(up.file, out, 1 << 20)
                    files.append(target)
                return self.tools.ingest_uploads(files)
        try:
            return await self.call(save_and_ingest)
        finally:
            await form.close()

    async def call(self, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run a (blocking) tool call in a worker thread; mmrag's errors become ApiErrors."""
        try:
            return await anyio.to_thread.run_sync(fn)
        except LibraryBusyError as exc:
            raise ApiError(409, self.tools.service.pub.text(str(exc))) from None
        except MmragError as exc:  # UserError included: the message is meant for the user
            raise ApiError(400, self.tools.service.pub.text(str(exc))) from None
        except Exception:  # never the text of an unexpected error: a reference to the log
            ref = uuid.uuid4().hex[:8]
            log.exception("API request failed (ref %s)", ref)
            raise ApiError(500, f"internal error (ref {ref}); the server's log has the details") from None


async def _respond(send: Callable, status: int, obj: Any, challenge: bool = False) -> None:
    body = json.dumps(obj, ensure_ascii=False, default=str).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    if challenge:
        headers.append((b"www-authenticate", b'Basic realm="mmrag"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
