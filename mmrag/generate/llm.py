"""The `LLM` protocol and its llama-cpp-python backend (`LlamaCppLLM`)."""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol, Union, runtime_checkable

from encoders.runtime import cpu_threads

from ..errors import DependencyMissingError
from .models import REGISTRY, default_model_name, ensure_gguf

log = logging.getLogger(__name__)
Message = dict[str, str]
Prompt = Union[str, list[Message]]
_CACHE: dict[tuple[str, int, int], Any] = {}
PREFIX_CACHE_MB = 1024  # llama.cpp states kept in RAM by prompt prefix ($MMRAG_LLM_CACHE_MB overrides; 0 = off)
_LOCKS: dict[int, threading.RLock] = {}  # id(Llama) -> the lock serialising its calls
_LOCK = threading.Lock()


@runtime_checkable
class LLM(Protocol):
    """A text generator: chat messages (or a raw prompt string) in, text out."""

    name: str
    n_ctx: int

    def complete(self, prompt: Prompt, max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None, seed: int | None = None) -> str: ...

    def stream(self, prompt: Prompt, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, seed: int | None = None) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


@dataclass
class Usage:
    """Token counts and wall time of the generator's calls so far."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    last: dict[str, Any] = field(default_factory=dict)


def _load_llama(path: Path, n_ctx: int, n_threads: int) -> Any:
    """One `llama_cpp.Llama` per (path, n_ctx, n_threads), loaded on first use."""
    key = (str(path), n_ctx, n_threads)
    with _LOCK:
        if key not in _CACHE:
            try:
                Llama = _llama_class()
            except ImportError as exc:
                raise DependencyMissingError("the LLM runtime (llama-cpp-python) is missing: pip install 'mmrag[llm]'"
                                             ' (it compiles: CMAKE_ARGS="-DGGML_NATIVE=OFF" for a portable build)') from exc
            t0 = time.perf_counter()
            _CACHE[key] = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                                n_threads_batch=n_threads, verbose=False)
            _set_prefix_cache(_CACHE[key])
            _LOCKS[id(_CACHE[key])] = threading.RLock()
            log.info("loaded %s (n_ctx=%d, %d threads) in %.1f s", path.name, n_ctx, n_threads,
                     time.perf_counter() - t0)
        return _CACHE[key]


def _llama_class() -> type:
    """`llama_cpp.Llama` whose saved states hold one row of logits, not the whole buffer.

    Llama.save_state copies the logits of every prompt token in its buffer (up to n_batch x vocabulary:
    311 MB for Qwen2.5) and load_state writes them all back: 0.05-0.8 s on each call with the prefix cache
    on. Only the last row is ever read (sampling happens in llama.cpp's sampler; logits processors read
    `_scores[-1]`), so only it is kept."""
    import ctypes

    import llama_cpp
    from llama_cpp import Llama
    from llama_cpp.llama import LlamaState

    class _Llama(Llama):  # type: ignore[misc]
        def save_state(self) -> Any:
            size = int(llama_cpp.llama_state_get_size(self._ctx.ctx))
            buf = (ctypes.c_uint8 * size)()
            n = int(llama_cpp.llama_state_get_data(self._ctx.ctx, buf, size))
            if n > size:
                raise RuntimeError("Failed to copy llama state data")
            last = self.scores[max(min(self.n_tokens, len(self.scores)) - 1, 0):][:1].copy()
            return LlamaState(scores=last, input_ids=self.input_ids.copy(), n_tokens=self.n_tokens,
                              llama_state=ctypes.string_at(buf, n), llama_state_size=n, seed=self._seed)

        def load_state(self, state: Any) -> None:
            self.scores[max(min(state.n_tokens, len(self.scores)) - 1, 0)] = state.scores[-1]
            self.input_ids = state.input_ids.copy()
            self.n_tokens = state.n_tokens
            self._requires_eval = True
            self._seed = state.seed
            data = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
            if llama_cpp.llama_state_set_data(self._ctx.ctx, data, state.llama_state_size) != state.llama_state_size:
                raise RuntimeError("Failed to set llama state data")

    return _Llama


def _set_prefix_cache(llama: Any) -> None:
    """Keep model states in RAM by prompt prefix, so a prompt that starts like an earlier one (the table
    prompt's worked examples after an answer prompt in between) is not read again from its start.

    llama-cpp-python's LlamaRAMCache counts only the KV state against its capacity, but each saved state
    also holds a copy of the logits of every prompt token up to n_batch (up to 512 x 151,936 floats,
    311 MB, for Qwen2.5), so it grew without bound (a long run was OOM-killed at 24 GB).
    `_BoundedRAMCache` keeps only the last row (llama.cpp samples inside its sampler; the rows are read
    only for logprobs, which need logits_all, off here) and counts every byte it keeps."""
    mb = int(os.environ.get("MMRAG_LLM_CACHE_MB", PREFIX_CACHE_MB))
    if mb > 0:
        llama.set_cache(_bounded_cache(mb << 20))


def _bounded_cache(capacity_bytes: int) -> Any:
    from llama_cpp.llama_cache import LlamaRAMCache

    class _BoundedRAMCache(LlamaRAMCache):  # type: ignore[misc]
        def __setitem__(self, key: Any, value: Any) -> None:
            if value.scores.shape[0] > 1:
                value.scores = value.scores[-1:].copy()
            super().__setitem__(key, value)

        @property
        def cache_size(self) -> int:
            return sum(state_bytes(s) for s in self.cache_state.values())

    return _BoundedRAMCache(capacity_bytes=capacity_bytes)


def state_bytes(state: Any) -> int:
    """Bytes a saved llama.cpp state holds: the KV state, the logits copy and the token ids."""
    return int(state.llama_state_size) + int(state.scores.nbytes) + int(state.input_ids.nbytes)


class LlamaCppLLM:
    """A GGUF model run by llama.cpp; chat prompts use the chat template stored in the model.

    One llama.cpp instance serves every `LlamaCppLLM` of the same (file, n_ctx, threads) in the
    process; a lock serialises their calls (a llama.cpp context is not thread-safe), so threads
    may share it: a streaming call holds the lock until its stream ends or is closed.
    Threads default to $MMRAG_LLM_THREADS, else every core; on a machine busy with other work, one
    thread is much faster (llama.cpp threads wait for each other at every step).
    """

    kind = "chat"

    def __init__(self, model: str | os.PathLike[str] | None = None, n_ctx: int = 4096,
                 n_threads: int | None = None) -> None:
        model = str(model) if model is not None else default_model_name()
        self.path = ensure_gguf(model)
        spec = REGISTRY.get(model)
        self.name = spec.name if spec else self.path.stem
        self.n_ctx = n_ctx if not spec else min(n_ctx, spec.context_length)
        self.n_threads = n_threads or cpu_threads("MMRAG_LLM_THREADS")
        self.usage = Usage()
        self._llama = _load_llama(self.path, self.n_ctx, self.n_threads)
        self._lock = _LOCKS[id(self._llama)]

    def _call(self, prompt: Prompt, stream: bool, **kw: Any) -> Any:
        if isinstance(prompt, str):
            return self._llama.create_completion(prompt, stream=stream, **kw)
        return self._llama.create_chat_completion(messages=prompt, stream=stream, **kw)

    @staticmethod
    def _text(choice: dict[str, Any]) -> str:
        if "message" in choice:
            return choice["message"].get("content") or ""
        if "delta" in choice:
            return choice["delta"].get("content") or ""
        return choice.get("text") or ""

    def _record(self, usage: dict[str, int] | None, seconds: float) -> None:
        u = usage or {}
        self.usage.calls += 1
        self.usage.prompt_tokens += u.get("prompt_tokens", 0)
        self.usage.completion_tokens += u.get("completion_tokens", 0)
        self.usage.seconds += seconds
        self.usage.last = {**u, "seconds": seconds}

    def complete(self, prompt: Prompt, max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None, seed: int | None = None) -> str:
        """The whole completion of `prompt` (chat messages, or a raw string completed as is)."""
        t0 = time.perf_counter()
        with self._lock:
            out = self._call(prompt, False, max_tokens=max_tokens, temperature=temperature,
                             stop=stop or [], seed=seed)
        self._record(out.get("usage"), time.perf_counter() - t0)
        return self._text(out["choices"][0])

    def stream(self, prompt: Prompt, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, seed: int | None = None) -> Iterator[str]:
        """The completion of `prompt`, piece by piece as it is generated."""
        with self._lock:
            t0 = time.perf_counter()
            n, first = 0, None
            for chunk in self._call(prompt, True, max_tokens=max_tokens, temperature=temperature,
                                    stop=stop or [], seed=seed):
                piece = self._text(chunk["choices"][0])
                if piece:
                    n += 1
                    first = first if first is not None else time.perf_counter() - t0
                    yield piece
            self._record({"completion_tokens": n}, time.perf_counter() - t0)
            self.usage.last["first_token_s"] = first

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in `text` (no BOS)."""
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def load_llm(model: str | os.PathLike[str] | None = None, n_ctx: int = 4096,
             n_threads: int | None = None) -> LlamaCppLLM:
    """The default local LLM (or `model`): a registered name, a .gguf path or a hub file."""
    return LlamaCppLLM(model, n_ctx=n_ctx, n_threads=n_threads)
