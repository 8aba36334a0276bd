"""ASGI middlewares in front of Gradio: what may be fetched, from which host, and with which headers.

* `FileRouteGuard`: Gradio's file routes (`/file=`, `/gradio_api/file=`, in every spelling) may send only
  the library's thumbnails and media copies and Gradio's own upload cache; everything else is 403, and
  whatever is sent goes out as an attachment with `X-Content-Type-Options: nosniff` and a sandboxing
  Content-Security-Policy, so an uploaded page or SVG can never run in the app's origin (an `<img>` or
  `<video>` still shows pictures and plays videos sent that way).
* `HostGuard`: the Host header, and the Origin header when there is one, must name the bound host,
  localhost, or a name given with --allowed-host (a web page cannot drive the app on 127.0.0.1 through
  DNS rebinding); and every page gets a Content-Security-Policy, nosniff and no framing.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import quote, unquote, urlparse

from . import paths

_FILE_ROUTE = re.compile(r"/(?:gradio_api/)?file(?:=|/)(?P<target>.*)$", re.DOTALL)
_MEDIA_ROUTE = re.compile(r"/mmrag/media/(?P<rel>.+)$", re.DOTALL)
MEDIA_PREFIX = "mmrag/media/"  # the app's own URLs for library files: relative, so no server path is sent
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]
FILE_HEADERS = [(b"content-disposition", b"attachment"), (b"x-content-type-options", b"nosniff"),
                (b"content-security-policy", b"default-src 'none'; sandbox"), (b"cache-control", b"private")]
PAGE_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline';"
            " img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self' data:; connect-src 'self';"
            " object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")
PAGE_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                (b"referrer-policy", b"no-referrer")]
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


def file_target(path: str) -> str | None:
    """The requested file of a Gradio file route (`/gradio_api/file=<target>`), else None."""
    m = _FILE_ROUTE.search(unquote(path))
    return m.group("target") if m else None


def _with_headers(send: Callable, extra: list[tuple[bytes, bytes]], when: Callable[[list], bool] = lambda h: True
                  ) -> Callable:
    async def wrapped(message: dict) -> None:
        if message.get("type") == "http.response.start":
            names = {k.lower() for k, _ in extra}
            headers = list(message.get("headers", []))
            if when(headers):
                headers = [(k, v) for k, v in headers if k.lower() not in names] + extra
            message = {**message, "headers": headers}
        await send(message)
    return wrapped


class FileRouteGuard:
    """Refuses file-route requests for anything but the library's thumbnails/media and Gradio's uploads,
    and sends the allowed ones as attachments that are never sniffed or run."""

    def __init__(self, app: ASGIApp, library: str | Path, upload_dir: str | Path) -> None:
        self.app = app
        self.library = Path(library).resolve()
        self.upload_dir = Path(upload_dir).resolve()

    def allowed(self, target: str) -> bool:
        if not target or _SCHEME.match(target) or "\x00" in target:
            return False
        p = Path(os.path.abspath(target))
        return paths.servable(self.library, p) or paths.inside(p, self.upload_dir)

    def rewrite(self, scope: Scope) -> Scope:
        """`/mmrag/media/<path in the library>` becomes Gradio's file route for that file (which applies the
        login); the page only ever sees paths relative to the library."""
        path = scope.get("path", "")
        m = _MEDIA_ROUTE.search(path)
        if m is None:
            return scope
        new = path[:m.start()] + "/gradio_api/file=" + str(self.library / m.group("rel"))
        return {**scope, "path": new, "raw_path": quote(new).encode()}

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope.get("type") == "http":
            scope = self.rewrite(scope)
            target = file_target(scope.get("path", ""))
            if target is not None:
                if not self.allowed(target):
                    await _refuse(send, 403, b"File not allowed.")
                    return
                send = _with_headers(send, FILE_HEADERS)
        await self.app(scope, receive, send)


def _host_of(value: str) -> str:
    """'example.com:7860' -> 'example.com'; '[::1]:7860' -> '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]")[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostGuard:
    """Accepts only requests whose Host (and Origin, if sent) is one of `hosts`; adds page headers."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = {h.strip().lower().strip("[]") for h in (*hosts, *LOCAL_NAMES) if h}

    def _ok(self, scope: Scope) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if _host_of(headers.get("host", "")) not in self.hosts:
            return False
        origin = headers.get("origin")
        if origin is None:  # same-origin navigation, curl, gradio_client
            return True
        return origin != "null" and (urlparse(origin).hostname or "") in self.hosts

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope.get("type") in ("http", "websocket") and not self._ok(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _refuse(send, 403, b"Host or Origin not allowed.")
            return
        if scope.get("type") == "http":
            send = _with_headers(send, PAGE_HEADERS)
            send = _with_headers(send, [(b"content-security-policy", PAGE_CSP.encode())], _is_html)
        await self.app(scope, receive, send)


def _is_html(headers: list) -> bool:
    return any(k.lower() == b"content-type" and v.lower().startswith(b"text/html") for k, v in headers)


async def _refuse(send: Callable, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})
