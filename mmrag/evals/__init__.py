"""Evaluations by name (`mmrag eval NAME`)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

EVALS: dict[str, Callable[..., dict[str, Any]]] = {}


def register_eval(name: str) -> Callable:
    def deco(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        EVALS[name] = fn
        return fn
    return deco


def evalpack_dir() -> Path:
    """`$MMRAG_EVALPACK`, else ../shared/evalpack beside the project (or the working directory)."""
    if os.environ.get("MMRAG_EVALPACK"):
        return Path(os.environ["MMRAG_EVALPACK"])
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        cand = base.parent / "shared" / "evalpack"
        if cand.is_dir():
            return cand
    raise FileNotFoundError("evaluation data not found: set MMRAG_EVALPACK to the evalpack folder")


def run_eval(name: str, **kwargs: Any) -> dict[str, Any]:
    from . import images, tabfact, tatqa_retrieval, wtq  # noqa: F401  (each registers its evals)
    if name not in EVALS:
        raise KeyError(f"unknown eval {name!r}; available: {', '.join(sorted(EVALS))}")
    return EVALS[name](**{k: v for k, v in kwargs.items() if v is not None})
