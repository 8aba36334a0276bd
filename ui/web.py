"""Small pieces shared by the tabs: input parsing, error reporting, media URLs."""
from __future__ import annotations

import functools
import inspect
import logging
import uuid
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import gradio as gr

from mmrag import LibraryBusyError, MmragError

from .guard import MEDIA_PREFIX
from .service import LibraryService, UserError
from .subtitles import write_vtt

log = logging.getLogger(__name__)
UrlFor = Callable[[str], "str | None"]
Handler = Callable[..., Any]  # a Gradio event handler
FILE_ROUTE = MEDIA_PREFIX  # relative, so it also works under a root path; rewritten by ui.guard
PAGE_ONLY = {"api_visibility": "undocumented"}  # the page's events: callable, but the documented API is ui.tools
WRITE_LIMITS = {"concurrency_id": "write", "concurrency_limit": 1, **PAGE_ONLY}  # one ingest/remove at a time


def read_limits(service: LibraryService) -> dict[str, Any]:
    """Event options for the page's reads: they share one pool of `--concurrency` workers."""
    return {"concurrency_id": "read", "concurrency_limit": service.settings.concurrency, **PAGE_ONLY}


def query_parts(message: dict | str | None) -> tuple[str, str | None]:
    """(text, first attached file) from a MultimodalTextbox value (or a plain string)."""
    if message is None:
        return "", None
    if isinstance(message, str):
        return message, None
    files = message.get("files") or []
    first = files[0] if files else None
    if isinstance(first, dict):  # FileData given as a dict (API clients)
        first = first.get("path")
    return str(message.get("text") or ""), first


_HIDDEN: set[str] = set()  # library folders whose absolute path never reaches a client


def hide_path(root: str) -> None:
    """Replace `root` by `library` in every message sent to clients."""
    _HIDDEN.add(str(root))


def client_message(text: str) -> str:
    for root in sorted(_HIDDEN, key=len, reverse=True):
        text = text.replace(root, "library")
    return text


def _as_gr_error(exc: Exception) -> gr.Error:
    """Expected problems (mmrag's own errors) as their message, the library's path hidden; anything else
    as a reference to the server's log, never its text."""
    if isinstance(exc, (UserError, LibraryBusyError, MmragError)):
        return gr.Error(client_message(str(exc)))
    ref = uuid.uuid4().hex[:8]
    log.exception("request failed (ref %s)", ref)
    return gr.Error(f"internal error (ref {ref}); the server's log has the details")


def errors(fn: Callable) -> Callable:
    """Report failures as Gradio errors (a message in the page / API), generator functions included."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure becomes a message, none a crash
                raise _as_gr_error(exc) from exc
        return gen

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _as_gr_error(exc) from exc
    return call


class MediaUrls:
    """`urls(source or library-relative path)` -> a URL the page can load, or None; `urls.subtitles(video)`
    -> the URL of the video's transcript as WebVTT, or None. URLs are relative to the library."""

    def __init__(self, service: LibraryService) -> None:
        self.service = service
        hide_path(str(service.root))

    def _url(self, served: str | Path) -> str:
        return FILE_ROUTE + quote(Path(served).relative_to(self.service.root).as_posix())

    def __call__(self, path: str) -> str | None:
        served = self.service.media_path(path)
        return self._url(served) if served else None

    def subtitles(self, video: str) -> str | None:
        try:
            track = write_vtt(self.service.root, self.service.pub.private(video), self.service.transcript(video))
        except OSError as exc:
            log.warning("no subtitles for %s: %s", video, exc)
            return None
        return self._url(track) if track else None


def url_maker(service: LibraryService) -> MediaUrls:
    """The page's media URLs for `service`'s library (see `MediaUrls`)."""
    return MediaUrls(service)
