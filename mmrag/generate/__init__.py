"""Local text generation: GGUF models found offline (`ensure_gguf`) and run with llama.cpp (`load_llm`)."""
from __future__ import annotations

from .llm import LLM, LlamaCppLLM, Message, Prompt, Usage, load_llm
from .models import (DEFAULT_MODEL, REGISTRY, SMALL_MODEL, ModelSpec, default_model_name, ensure_gguf,
                     models_dir, register_model)

__all__ = ["LLM", "LlamaCppLLM", "Message", "Prompt", "Usage", "load_llm", "DEFAULT_MODEL", "SMALL_MODEL",
           "REGISTRY", "ModelSpec", "default_model_name", "ensure_gguf", "models_dir", "register_model"]
