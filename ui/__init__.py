"""The Gradio app (`mmrag serve`). It calls only mmrag's public API, through `ui.service`.

Gradio is imported on first use of `build_app`, `launch` or `Server`, so `ui.cli` (the `mmrag serve`
subcommand) loads without it.
"""
from __future__ import annotations

from typing import Any

__all__ = ["LibraryService", "Server", "Settings", "build_app", "launch"]
_HOMES = {"Server": "app", "build_app": "app", "launch": "app", "LibraryService": "service", "Settings": "service"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")
