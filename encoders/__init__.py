"""Modality encoders: inputs in, float32 L2-normalised arrays out. Never imports mmrag."""
from .base import Encoder, ModelUnavailableError, l2_normalise
from .hashing import HashEncoder
from .registry import available_encoders, create_encoder, register_encoder
from .text_transformers import TextModelSpec, TransformersTextEncoder

__all__ = ["Encoder", "HashEncoder", "ModelUnavailableError", "TextModelSpec", "TransformersTextEncoder",
           "available_encoders", "create_encoder", "l2_normalise", "register_encoder"]
