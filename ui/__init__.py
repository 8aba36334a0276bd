"""The Gradio app (`mmrag serve`). It calls only mmrag's public API, through `ui.service`."""
from __future__ import annotations

from .app import Server, build_app, launch
from .service import LibraryService, Settings

__all__ = ["LibraryService", "Server", "Settings", "build_app", "launch"]
