"""One registry of answer generators: llama.cpp GGUF models, transformers VLMs, OpenAI-compatible
servers, the extractive backend.

`create_generator(spec)` takes a registry name ("auto", "llama", "extractive", a registered GGUF
model name), "vlm:<hub id or folder>", "openai:<model>" (an OpenAI-compatible server: Ollama, vLLM,
llama.cpp's server, hosted APIs; see `openai_chat`), a path to a .gguf file, or a generator
instance (returned as is). Generators are cached per process (loading a model once), keyed by the spec and options.

"auto" (the default) picks the offline llama.cpp model: the 1.5B, or the 0.5B when available RAM
is low (`default_model_name`), the other one when the first is not installed, and the extractive
backend when no model (or no llama-cpp-python) is installed. The reason is logged and kept in
`generator.choice`, and the generator's `name` says which one answered.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable, Protocol, runtime_checkable

from ..errors import BadOptionError, UnknownNameError
from .models import REGISTRY, SMALL_MODEL, default_model_name

log = logging.getLogger(__name__)


@runtime_checkable
class Generator(Protocol):
    """What `mmrag.answer` needs from a generator. `kind` is "chat" (text LLM: `stream`/`complete`
    over chat messages), "vision" (the same, plus `images=`) or "extractive" (`answer(...)`)."""

    name: str
    kind: str
    n_ctx: int

    def count_tokens(self, text: str) -> int: ...


GeneratorFactory = Callable[..., Generator]
GENERATORS: dict[str, GeneratorFactory] = {}
_INSTANCES: dict[tuple, Generator] = {}
_LOCK = threading.Lock()


def register_generator(name: str) -> Callable[[GeneratorFactory], GeneratorFactory]:
    """Register a factory `fn(**options) -> Generator` under `name`."""
    def deco(fn: GeneratorFactory) -> GeneratorFactory:
        GENERATORS[name] = fn
        return fn
    return deco


def generator_names() -> list[str]:
    """Every valid name: registry names, registered GGUF models and the `openai:` and `vlm:` forms."""
    return sorted(GENERATORS) + sorted(REGISTRY) + ["openai:<model>", "vlm:<hub id or folder>", "<file>.gguf"]


@register_generator("extractive")
def _extractive(**options: Any) -> Generator:
    from .extractive import ExtractiveGenerator
    return ExtractiveGenerator(**options)


@register_generator("llama")
def _llama(model: str | None = None, n_ctx: int = 4096, n_threads: int | None = None) -> Generator:
    from .llm import LlamaCppLLM
    return LlamaCppLLM(model, n_ctx=n_ctx, n_threads=n_threads)


@register_generator("auto")
def _auto(n_ctx: int = 4096, n_threads: int | None = None, **extractive_options: Any) -> Generator:
    """The best offline model that is installed, else the extractive backend (see module doc)."""
    first = default_model_name()
    tried: list[str] = []
    for name in dict.fromkeys([first, SMALL_MODEL]):
        try:
            gen = _llama(name, n_ctx=n_ctx, n_threads=n_threads)
        except (FileNotFoundError, ImportError) as exc:
            tried.append(f"{name}: {str(exc).splitlines()[0]}")
            continue
        gen.choice = "default" if name == first else f"fallback ({tried[-1]})"  # type: ignore[attr-defined]
        return gen
    log.warning("no local LLM is installed (%s); answering extractively. Install one with `make models`",
                "; ".join(tried))
    gen = _extractive(**extractive_options)
    gen.choice = "fallback: no LLM installed"  # type: ignore[attr-defined]
    return gen


def _factory(spec: str) -> tuple[GeneratorFactory, dict[str, Any]]:
    if spec in GENERATORS:
        return GENERATORS[spec], {}
    if spec in REGISTRY or (spec.endswith(".gguf") and Path(spec).expanduser().is_file()):
        return _llama, {"model": spec}
    if spec.startswith("openai:") and len(spec) > 7:
        from .openai_chat import OpenAIChatLLM
        return OpenAIChatLLM, {"model": spec[7:]}
    if spec.startswith("vlm:") and len(spec) > 4:
        from .vlm import TransformersVLM
        return TransformersVLM, {"model": spec[4:]}
    raise UnknownNameError("generator", spec, generator_names())


def create_generator(spec: "str | Generator | None" = None, **options: Any) -> Generator:
    """A generator for `spec` (None = "auto"), loaded once per process for each spec and options."""
    if spec is not None and not isinstance(spec, str):
        if not isinstance(spec, Generator):
            raise BadOptionError(f"generator {spec!r} lacks name/kind/n_ctx/count_tokens; pass a name from: "
                            f"{', '.join(generator_names())}")
        return spec
    spec = spec or "auto"
    factory, fixed = _factory(spec)
    key = (spec, tuple(sorted((k, repr(v)) for k, v in options.items())))
    with _LOCK:
        if key not in _INSTANCES:
            _INSTANCES[key] = factory(**fixed, **options)
            log.info("generator %r -> %s", spec, _INSTANCES[key].name)
        return _INSTANCES[key]
