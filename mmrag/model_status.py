"""Which models this machine has: each space's encoder, speech-to-text, OCR, the offline LLMs (`mmrag models`)."""
from __future__ import annotations

import importlib.util
from typing import Any

from encoders import encoder_status

from .core import Collection
from .generate.models import REGISTRY, default_model_name, model_status


def model_rows(lib: Collection) -> dict[str, dict[str, Any]]:
    """Status of each embedding space's encoder, then speech-to-text, OCR and the offline LLMs."""
    rows = {name: {"encoder": cfg.encoder, **encoder_status(cfg.encoder, **cfg.encoder_params)}
            for name, cfg in lib.spaces.items()}
    rows["speech"] = {"encoder": f"whisper {lib.config.asr_model}",
                      **encoder_status("whisper", model=lib.config.asr_model)}
    ocr = importlib.util.find_spec("rapidocr") is not None
    rows["ocr"] = {"encoder": "rapidocr", "available": ocr, **({"source": "rapidocr (ONNX, bundled weights)"} if ocr
                   else {"reason": "rapidocr is not installed", "hint": "pip install 'mmrag[images]'"})}
    default = default_model_name()
    for name in REGISTRY:
        rows[f"llm:{name}"] = {
            "encoder": name + (" (default)" if name == default else ""), **model_status(name)}
    return rows
