"""Small pieces shared by the tabs: input parsing, error reporting, media URLs."""
from __future__ import annotations

import functools
import inspect
import logging
from typing import Any, Callable
from urllib.parse import quote

import gradio as gr

from mmrag import LibraryBusyError

from .service import LibraryService, UserError

log = logging.getLogger(__name__)
UrlFor = Callable[[str], "str | None"]
Handler = Callable[..., Any]  # a Gradio event handler
FILE_ROUTE = "gradio_api/file="  # relative, so it also works under a root path
WRITE_LIMITS = {"concurrency_id": "write", "concurrency_limit": 1}  # one ingest/remove at a time


def read_limits(service: LibraryService) -> dict[str, Any]:
    """Event options for reads: they share one pool of `--concurrency` workers."""
    return {"concurrency_id": "read", "concurrency_limit": service.settings.concurrency}


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


def _as_gr_error(exc: Exception) -> gr.Error:
    if isinstance(exc, (UserError, LibraryBusyError)):
        return gr.Error(str(exc))
    log.exception("request failed")
    return gr.Error(f"{type(exc).__name__}: {exc}")


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


def url_maker(service: LibraryService) -> UrlFor:
    """`url_for(source or library-relative path)` -> a URL the page can load, or None."""
    def url_for(path: str) -> str | None:
        served = service.media_path(path)
        return FILE_ROUTE + quote(served) if served else None
    return url_for
