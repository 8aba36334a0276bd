"""Evaluations by name (`mmrag eval NAME`)."""
from __future__ import annotations

import importlib
import inspect
import os
from pathlib import Path
from typing import Any, Callable

from ..errors import BadOptionError, DataMissingError, UnknownNameError

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
    raise DataMissingError("evaluation data not found: set MMRAG_EVALPACK to the evalpack folder")


# Modules that register evals when imported (`@register_eval`).
MODULES: tuple[str, ...] = ("images", "tabfact", "tatqa_retrieval", "tatqa_files", "wtq", "tatqa", "moments", "citations",
                            "tatqa_tune")


def run_eval(name: str, **kwargs: Any) -> dict[str, Any]:
    """Run the eval called `name`; options left as None are not passed, unknown ones are refused."""
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")
    if name not in EVALS:
        raise UnknownNameError("eval", name, sorted(EVALS))
    fn = EVALS[name]
    given = {k: v for k, v in kwargs.items() if v is not None}
    params = inspect.signature(fn).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        if bad := sorted(set(given) - set(params) - {"library"}):
            raise BadOptionError(f"eval {name!r} does not take {', '.join('--' + b for b in bad)};"
                             f" it takes: {', '.join(sorted(params))}")
        given = {k: v for k, v in given.items() if k in params}
    return fn(**given)
