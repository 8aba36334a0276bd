"""Modality encoders: inputs in, float32 L2-normalised arrays out. Never imports mmrag."""
from .base import Encoder, ModelUnavailableError, l2_normalise
from .clip import CLIP_PRESETS, clip_encoder_status
from .hashing import HashEncoder
from .registry import TEXT_MODELS, available_encoders, create_encoder, register_encoder, register_encoder_prefix
from .sentence_transformers import KNOWN_PROMPTS, Prompts, SentenceTransformerEncoder
from .status import encoder_status, register_status, text_model_status
from .text_transformers import TextModelSpec, TransformersTextEncoder

__all__ = ["Encoder", "HashEncoder", "KNOWN_PROMPTS", "ModelUnavailableError", "Prompts",
           "SentenceTransformerEncoder", "TextModelSpec", "TransformersTextEncoder", "available_encoders",
           "create_encoder", "encoder_status", "l2_normalise", "register_encoder", "register_encoder_prefix",
           "register_status"]

for _name, _spec in TEXT_MODELS.items():
    register_status(_name, (lambda spec: lambda **kw: text_model_status(spec, **kw))(_spec))


for _name in CLIP_PRESETS:
    register_status(_name, (lambda n: lambda **kw: clip_encoder_status(n, **kw))(_name))
register_status("clip", lambda **kw: clip_encoder_status(None, **kw))
