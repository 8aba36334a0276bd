"""A chat generator for any OpenAI-compatible server (Ollama, vLLM, llama.cpp's server, hosted APIs):
`--generator openai:MODEL`.

The `openai` client reads its own environment: `OPENAI_BASE_URL` (e.g. http://localhost:11434/v1 for
Ollama) and `OPENAI_API_KEY` (local servers need none: a placeholder is sent when a base URL is set).
The server's context window is not discoverable through the API: `n_ctx` (else `$MMRAG_OPENAI_N_CTX`,
else 4096) bounds the prompt, and `count_tokens` is an upper estimate (`chars_per_token` UTF-8 bytes
per token), so evidence is packed to fit without the server's tokenizer.
"""
from __future__ import annotations

import logging
import math
import os
import time
from typing import Any, Iterator

from ..errors import ConfigError, DependencyMissingError, GenerationError, PromptTooLongError
from .llm import Prompt, Usage

log = logging.getLogger(__name__)
PREFIX = "openai:"
DEFAULT_N_CTX = 4096
LOCAL_KEY = "not-needed"  # what a local server (Ollama, llama.cpp, vLLM without --api-key) is sent
_TOO_LONG = ("context length", "context window", "maximum context", "too long", "exceed")


def _client(base_url: str | None, api_key: str | None, timeout: float, max_retries: int) -> Any:
    try:
        import openai
    except ImportError as exc:
        raise DependencyMissingError("openai: generators need the openai client: pip install 'mmrag[llm]'") from exc
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
    if api_key is None:
        if base_url is None:
            raise ConfigError("openai:MODEL needs a server: set OPENAI_BASE_URL for a local one (Ollama: "
                              "http://localhost:11434/v1, llama.cpp/vLLM: http://HOST:PORT/v1) or OPENAI_API_KEY "
                              "for api.openai.com")
        api_key = LOCAL_KEY
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries)


def _n_ctx(n_ctx: int | None) -> int:
    if n_ctx:
        return int(n_ctx)
    value = os.environ.get("MMRAG_OPENAI_N_CTX", "").strip()
    try:
        return int(value) if value else DEFAULT_N_CTX
    except ValueError:
        raise ConfigError(f"MMRAG_OPENAI_N_CTX={value!r} is not a number of tokens (e.g. 8192)") from None


class OpenAIChatLLM:
    """An LLM behind an OpenAI-compatible chat completions endpoint (the `LLM` protocol, kind "chat").

    Raw string prompts are sent as one user message. The client is thread-safe: no lock is held.
    """

    kind = "chat"

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 n_ctx: int | None = None, timeout: float = 600.0, max_retries: int = 1,
                 chars_per_token: float = 3.0) -> None:
        model = model[len(PREFIX):] if model.startswith(PREFIX) else model
        if not model:
            raise ConfigError("openai: needs a model name, e.g. openai:qwen2.5:1.5b (as the server names it)")
        self.model, self.name = model, PREFIX + model
        self.n_ctx = _n_ctx(n_ctx)
        self.chars_per_token = chars_per_token
        self.client = _client(base_url, api_key, timeout, max_retries)
        self.base_url = str(self.client.base_url)
        self.usage = Usage()

    def _request(self, prompt: Prompt, max_tokens: int, temperature: float, stop: list[str] | None,
                 seed: int | None, stream: bool) -> Any:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        kw: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                              "temperature": temperature, "stream": stream}
        if stop:
            kw["stop"] = list(stop)[:4]  # the OpenAI API takes at most 4
        if seed is not None:
            kw["seed"] = seed
        try:
            return self.client.chat.completions.create(**kw)
        except Exception as exc:  # noqa: BLE001 - API errors become mmrag's; others are re-raised as they are
            self._raise(exc)

    def _raise(self, exc: Exception) -> None:
        mapped = self._error(exc)
        if mapped is exc:
            raise exc
        raise mapped from exc

    def _error(self, exc: Exception) -> Exception:
        """An openai exception as mmrag's own, naming the server, the model and what to do."""
        import openai
        where = f"the OpenAI-compatible server at {self.base_url}"
        if isinstance(exc, openai.APIConnectionError):
            return GenerationError(f"cannot reach {where} ({exc}); start it (e.g. `ollama serve`) or set "
                                   "OPENAI_BASE_URL to its address (http://HOST:PORT/v1)")
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return GenerationError(f"{where} refused the API key ({exc}); set OPENAI_API_KEY")
        if isinstance(exc, openai.NotFoundError):
            return GenerationError(f"model {self.model!r} not found at {where}; models there: "
                                   f"{', '.join(self.models()) or 'none listed'}")
        if isinstance(exc, openai.BadRequestError) and any(w in str(exc).lower() for w in _TOO_LONG):
            return PromptTooLongError(f"prompt too long for {self.name} at {where} ({exc}); lower n_ctx "
                                      "(MMRAG_OPENAI_N_CTX) to the server's context window")
        if isinstance(exc, openai.APIError):
            return GenerationError(f"{where} failed for model {self.model!r}: {exc}")
        return exc

    def models(self) -> list[str]:
        """Model names the server lists (empty when it lists none or cannot be asked)."""
        try:
            return sorted(m.id for m in self.client.models.list())
        except Exception as exc:  # noqa: BLE001 - only used in messages
            log.info("cannot list the models of %s: %s", self.base_url, exc)
            return []

    def _record(self, prompt_tokens: int, completion_tokens: int, seconds: float, **extra: Any) -> None:
        self.usage.calls += 1
        self.usage.prompt_tokens += prompt_tokens
        self.usage.completion_tokens += completion_tokens
        self.usage.seconds += seconds
        self.usage.last = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                           "seconds": seconds, **extra}

    def complete(self, prompt: Prompt, max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None, seed: int | None = None) -> str:
        """The whole reply to `prompt` (chat messages, or a string sent as one user message)."""
        t0 = time.perf_counter()
        out = self._request(prompt, max_tokens, temperature, stop, seed, stream=False)
        u = getattr(out, "usage", None)
        self._record(getattr(u, "prompt_tokens", 0) or 0, getattr(u, "completion_tokens", 0) or 0,
                     time.perf_counter() - t0)
        return (out.choices[0].message.content or "") if out.choices else ""

    def stream(self, prompt: Prompt, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, seed: int | None = None) -> Iterator[str]:
        """The reply to `prompt`, piece by piece; closing the iterator closes the connection (stops it)."""
        t0 = time.perf_counter()
        n, first = 0, None
        response = self._request(prompt, max_tokens, temperature, stop, seed, stream=True)
        try:
            with response:
                for chunk in response:
                    piece = (chunk.choices[0].delta.content or "") if chunk.choices else ""
                    if piece:
                        n += 1
                        first = first if first is not None else time.perf_counter() - t0
                        yield piece
        except Exception as exc:  # noqa: BLE001 - a dropped connection mid-answer
            self._raise(exc)
        finally:
            self._record(0, n, time.perf_counter() - t0, first_token_s=first)

    def count_tokens(self, text: str) -> int:
        """An upper estimate of the model's tokens in `text` (the server's tokenizer is not reachable)."""
        return math.ceil(len(text.encode("utf-8")) / self.chars_per_token) if text else 0
