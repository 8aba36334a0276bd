"""One home for questions every model loader asks: are we offline, where do local models live, is
the hub reachable, what is in the Hugging Face cache, how many threads to use.

mmrag's own loaders (GGUF models, VLMs, the library's encoders) use these too, so every part of
the project answers each question the same way.
"""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger(__name__)
TRUE = frozenset({"1", "true", "yes", "on"})
OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_REACHABLE: dict[str, bool] = {}


def offline() -> bool:
    """True when `HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE` is set to 1/true/yes/on: nothing is downloaded."""
    return any(os.environ.get(v, "").strip().lower() in TRUE for v in OFFLINE_VARS)


def user_models_dir() -> Path | None:
    """`$MMRAG_MODELS` (expanded), where users put model folders by name; None when unset."""
    value = os.environ.get("MMRAG_MODELS", "").strip()
    return Path(value).expanduser() if value else None


def models_cache_dir() -> Path:
    """Where mmrag writes models it assembles (joined GGUF files): `$MMRAG_MODELS`, else ~/.cache/mmrag/models."""
    return user_models_dir() or Path.home() / ".cache" / "mmrag" / "models"


def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick TCP connect to the hub (once per process), so an unreachable hub fails in seconds, not
    after huggingface_hub's minute of retries."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if endpoint not in _REACHABLE:
        url = urlparse(endpoint)
        try:
            with socket.create_connection((url.hostname or "", url.port or (443 if url.scheme == "https" else 80)),
                                          timeout=timeout):
                _REACHABLE[endpoint] = True
        except OSError as exc:
            log.info("hub %s unreachable: %s", endpoint, exc)
            _REACHABLE[endpoint] = False
    return _REACHABLE[endpoint]


def hf_cached(repo_id: str, filename: str) -> str | None:
    """The local path of `filename` of hub repo `repo_id` in the Hugging Face cache, without network."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return None
    found = try_to_load_from_cache(repo_id, filename)
    return found if isinstance(found, str) and os.path.isfile(found) else None


def hf_cache_dir() -> str:
    """The Hugging Face hub cache folder (for messages)."""
    try:
        from huggingface_hub import constants
        return str(constants.HF_HUB_CACHE)
    except ImportError:  # pragma: no cover
        return "~/.cache/huggingface/hub"


def cpu_threads(env_var: str | None = None) -> int:
    """Threads for a compute library: `$<env_var>` when set to a positive number, else every core."""
    if env_var and (value := os.environ.get(env_var, "").strip()):
        try:
            if int(value) > 0:
                return int(value)
        except ValueError:
            log.warning("%s=%r is not a number of threads; using every core", env_var, value)
    return os.cpu_count() or 1
