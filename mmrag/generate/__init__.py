"""Local generation: GGUF models found offline (`ensure_gguf`) and run with llama.cpp (`load_llm`),
a transformers vision-language backend (`vlm.TransformersVLM`), OpenAI-compatible servers
(`openai_chat.OpenAIChatLLM`), the extractive backend, and one registry over them (`create_generator`)."""
from __future__ import annotations

from .extractive import NOT_FOUND, ExtractiveGenerator, Passage
from .llm import LLM, LlamaCppLLM, Message, Prompt, Usage, load_llm
from .models import (
                     DEFAULT_MODEL,
                     REGISTRY,
                     SMALL_MODEL,
                     ModelSpec,
                     default_model_name,
                     ensure_gguf,
                     models_dir,
                     register_model,
)
from .registry import GENERATORS, Generator, create_generator, generator_names, register_generator

__all__ = ["LLM", "LlamaCppLLM", "Message", "Prompt", "Usage", "load_llm", "DEFAULT_MODEL", "SMALL_MODEL",
           "REGISTRY", "ModelSpec", "default_model_name", "ensure_gguf", "models_dir", "register_model",
           "GENERATORS", "Generator", "create_generator", "generator_names", "register_generator",
           "ExtractiveGenerator", "Passage", "NOT_FOUND"]
