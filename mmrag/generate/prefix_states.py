"""Prompt prefixes read once per machine: llama.cpp states of shared prompt prefixes, kept on disk.

Every answer prompt starts with the same rules and worked example, and every SQL prompt with the same
rules and 11 worked SQL examples (about 1,600 tokens: 23 s to read with the 1.5B on 2 cores). The RAM
prefix cache (`mmrag.generate.llm`) spares that within a process; this module spares it across
processes: `prime(llm, messages)` puts the state after `messages` into the RAM cache, read from disk when
a file for the same model, context size, runtime version and messages exists, else computed (one token
generated) and written. A state file that cannot be loaded is deleted and computed again.

Files live in `$MMRAG_LLM_STATES`, else ~/.cache/mmrag/llm-states; at most `MAX_FILES` are kept (oldest
removed). They are numpy archives read without pickle.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

log = logging.getLogger(__name__)
MAX_FILES = 16
_PRIMED: dict[tuple[int, str], tuple[int, ...]] = {}  # (id(Llama), key) -> its RAM cache key


def states_dir() -> Path:
    """`$MMRAG_LLM_STATES`, else ~/.cache/mmrag/llm-states."""
    env = os.environ.get("MMRAG_LLM_STATES")
    return Path(env) if env else Path.home() / ".cache" / "mmrag" / "llm-states"


def state_key(model_path: Path, n_ctx: int, messages: Sequence[dict[str, Any]]) -> str:
    """A key naming the model file (name, size, mtime), context size, llama.cpp runtime and messages."""
    import llama_cpp
    st = model_path.stat()
    ident = [model_path.name, st.st_size, int(st.st_mtime), n_ctx, llama_cpp.__version__, list(messages)]
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:32]


def save_state(state: Any, path: Path) -> None:
    """Write a `LlamaState` as a numpy archive (atomically: a temporary file renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, input_ids=state.input_ids[:state.n_tokens], scores=state.scores[-1:], n_tokens=state.n_tokens,
             seed=state.seed, llama_state=np.frombuffer(state.llama_state, dtype=np.uint8))
    os.replace(tmp, path)
    _prune(path.parent)


def load_state(path: Path, n_ctx: int) -> Any:
    """A `LlamaState` read back from `save_state`'s archive (token ids padded to `n_ctx`, as llama.cpp keeps them)."""
    from llama_cpp.llama import LlamaState
    with np.load(path, allow_pickle=False) as z:
        n = int(z["n_tokens"])
        if n > n_ctx:
            raise ValueError(f"{n} tokens do not fit a context of {n_ctx}")
        ids = np.zeros(n_ctx, dtype=np.intc)
        ids[:n] = z["input_ids"][:n]
        data = z["llama_state"].tobytes()
        return LlamaState(input_ids=ids, scores=z["scores"].copy(), n_tokens=n, llama_state=data,
                          llama_state_size=len(data), seed=int(z["seed"]))


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime)
    for old in files[:-MAX_FILES] if len(files) > MAX_FILES else []:
        old.unlink(missing_ok=True)


def prime(llm: Any, messages: list[dict[str, Any]]) -> str:
    """Put the state after `messages` in `llm`'s RAM prefix cache: "ram" (already there), "disk" (loaded),
    "read" (computed, then saved), or "none" (`llm` has no llama.cpp prefix cache)."""
    llama = getattr(llm, "_llama", None)
    cache = getattr(llama, "cache", None)
    if cache is None:
        return "none"
    key = state_key(llm.path, llm.n_ctx, messages)
    with llm._lock:
        tokens = _PRIMED.get((id(llama), key))
        if tokens is not None and tokens in cache.cache_state:
            return "ram"
        path = states_dir() / f"{key}.npz"
        state, how = _from_disk(llama, path), "disk"
        if state is None:
            llm.complete(messages, max_tokens=1)
            state, how = llama.save_state(), "read"
            _write(state, path)
        tokens = tuple(state.input_ids[:state.n_tokens].tolist())
        cache[tokens] = state
        _PRIMED[(id(llama), key)] = tokens
    log.info("prompt prefix of %d messages for %s: %s", len(messages), llm.name, how)
    return how


def _from_disk(llama: Any, path: Path) -> Any:
    """The state saved at `path`, loaded into `llama`; None when there is none or it does not load."""
    if not path.exists():
        return None
    try:
        state = load_state(path, llama.n_ctx())
        llama.load_state(state)  # fails when the file does not fit this model and context
    except Exception as exc:  # noqa: BLE001 - a bad or stale file is recomputed
        log.warning("prompt state %s could not be loaded (%s); it is read again", path, exc)
        path.unlink(missing_ok=True)
        llama.reset()
        return None
    os.utime(path)
    return state


def _write(state: Any, path: Path) -> None:
    try:
        save_state(state, path)
    except OSError as exc:
        log.warning("prompt state not saved to %s: %s", path, exc)
