"""An ASGI middleware in front of Gradio's file routes: only library media and uploads go out.

Gradio already refuses paths outside `allowed_paths` and its cache; this guard enforces the same
rule independently of Gradio's version and settings, refuses the library's internals, and stops
the file route from being used as a proxy for http(s) URLs.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Awaitable, Callable

from . import paths

_FILE_ROUTE = re.compile(r"/(?:gradio_api/)?file(?:=|/)(?P<target>.*)$", re.DOTALL)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


def file_target(path: str) -> str | None:
    """The requested file of a Gradio file route (`/gradio_api/file=<target>`), else None."""
    m = _FILE_ROUTE.search(path)
    return m.group("target") if m else None


class FileRouteGuard:
    """Refuses file-route requests for anything but the library's media and the upload folder."""

    def __init__(self, app: ASGIApp, library: str | Path, upload_dir: str | Path) -> None:
        self.app = app
        self.library = Path(library).resolve()
        self.upload_dir = Path(upload_dir).resolve()

    def allowed(self, target: str) -> bool:
        if not target or _SCHEME.match(target) or "\x00" in target:
            return False
        p = Path(os.path.abspath(target))
        return paths.servable(self.library, p) or paths.inside(p, self.upload_dir)

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope.get("type") == "http":
            target = file_target(scope.get("path", ""))
            if target is not None and not self.allowed(target):
                await _forbidden(send)
                return
        await self.app(scope, receive, send)


async def _forbidden(send: Callable) -> None:
    body = b"File not allowed: outside the library."
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
