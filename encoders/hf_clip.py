"""CLIP / SigLIP image+text encoders run with transformers (`AutoModel` + `AutoProcessor`).

The alternative backend to `encoders.clip` for checkpoints published in transformers format
(e.g. openai/clip-vit-base-patch32, google/siglip-base-patch16-224). Weights resolve in order:
an explicit `path` (a folder with config.json), `$MMRAG_MODELS/<folder>`, the Hugging Face cache
(no network), then the hub unless `HF_HUB_OFFLINE` is set or the hub is unreachable.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .base import ModelUnavailableError, encode_images_or_texts, l2_normalise
from .base import torch_threads as _torch_threads
from .runtime import hf_cache_dir, hf_cached, hub_reachable, offline, user_models_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HFClipSpec:
    """A transformers-format CLIP/SigLIP checkpoint."""

    hub_id: str
    dim: int | None = None
    folder: str | None = None  # under $MMRAG_MODELS; default: the hub repo's name

    @property
    def local_folder(self) -> str:
        return self.folder or self.hub_id.rstrip("/").split("/")[-1]


HF_CLIP_MODELS: dict[str, HFClipSpec] = {
    "hf-clip-vit-b-32": HFClipSpec("openai/clip-vit-base-patch32", dim=512),
    "hf-siglip-vit-b-16": HFClipSpec("google/siglip-base-patch16-224", dim=768),
}


def hf_clip_candidates(spec: HFClipSpec, path: str | os.PathLike | None = None) -> list[str]:
    """Where `resolve_hf_clip` looks, in order (for messages and status commands)."""
    places = [str(path)] if path else []
    if (models := user_models_dir()) is not None:
        places.append(str(models / spec.local_folder))
    places.append(f"Hugging Face cache ({hf_cache_dir()}): {spec.hub_id}")
    return places


def resolve_hf_clip(spec: HFClipSpec, path: str | os.PathLike | None = None) -> tuple[str, bool]:
    """(source for from_pretrained, local_files_only); raises ModelUnavailableError when nothing fits."""
    if path is not None:
        if not (Path(path) / "config.json").is_file():
            raise ModelUnavailableError(f"model folder {path} has no config.json (a transformers CLIP/SigLIP "
                                        f"checkpoint folder is expected, e.g. a snapshot of {spec.hub_id})")
        return str(path), True
    if (models := user_models_dir()) is not None:
        d = models / spec.local_folder
        if (d / "config.json").is_file():
            return str(d), True
    if hf_cached(spec.hub_id, "config.json"):
        return spec.hub_id, True
    if not offline() and hub_reachable():
        return spec.hub_id, False
    looked = "\n  - ".join(hf_clip_candidates(spec))
    why = "HF_HUB_OFFLINE is set" if offline() else "the hub is unreachable"
    raise ModelUnavailableError(
        f"weights for {spec.hub_id} not found and {why}. Looked in:\n  - {looked}\n"
        f"Put the model folder (config.json, model.safetensors, preprocessor and tokenizer files) in "
        f"$MMRAG_MODELS/{spec.local_folder}, pass path=<folder>, or run once online.")


def hf_clip_status(spec: HFClipSpec, path: str | os.PathLike | None = None, **_: Any) -> dict[str, Any]:
    """Whether the model is on this machine, without loading it (for the registry's status hook)."""
    looked = hf_clip_candidates(spec, path)
    models = user_models_dir()
    dirs = [Path(path)] if path else ([models / spec.local_folder] if models is not None else [])
    for d in dirs:
        if (d / "config.json").is_file():
            return {"available": True, "source": str(d), "looked_in": looked}
    if not path and (cached := hf_cached(spec.hub_id, "config.json")):
        return {"available": True, "source": str(Path(cached).parent), "looked_in": looked}
    return {"available": False, "looked_in": looked,
            "reason": f"no local copy of {spec.hub_id}; put it in $MMRAG_MODELS/{spec.local_folder} or run once online"}


class HFClipEncoder:
    """Image and text towers of a transformers CLIP/SigLIP model; float32, L2-normalised rows."""

    modalities = ("image", "text")

    def __init__(self, name: str, spec: HFClipSpec | None = None, path: str | os.PathLike | None = None,
                 threads: int | None = None, device: str = "cpu", hub_id: str | None = None) -> None:
        if spec is None:
            if not (hub_id or path):
                raise ValueError("HFClipEncoder needs a spec, a hub_id or a path")
            spec = HFClipSpec(hub_id or Path(path).name)  # type: ignore[arg-type]
        self.name, self.spec, self.threads, self.device = name, spec, threads, device
        self.source, local_only = resolve_hf_clip(spec, path)
        with _torch_threads(threads):
            self.model, self.processor = self._load(local_only)
        cfg = self.model.config
        self.is_siglip = cfg.model_type.startswith("siglip")
        self.dim = int(getattr(cfg, "projection_dim", None) or cfg.vision_config.hidden_size)
        if spec.dim and spec.dim != self.dim:
            raise ValueError(f"{name}: expected dim {spec.dim}, model has {self.dim}")

    def _load(self, local_only: bool):  # noqa: ANN202 - transformers types
        from transformers import AutoModel, AutoProcessor
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()
        try:
            model = AutoModel.from_pretrained(self.source, local_files_only=local_only).to(self.device).eval()
            processor = AutoProcessor.from_pretrained(self.source, local_files_only=local_only)
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(f"cannot load {self.spec.hub_id} from {self.source}: {exc}") from exc
        if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
            raise ModelUnavailableError(f"{self.source} is a {type(model).__name__}, not a CLIP/SigLIP model")
        log.info("loaded transformers CLIP encoder %s from %s", self.name, self.source)
        return model, processor

    @staticmethod
    def _pooled(out: Any) -> Any:
        return out.pooler_output if hasattr(out, "pooler_output") else out

    def encode_images(self, images: Sequence[Any], batch_size: int = 32) -> np.ndarray:
        import torch
        out = np.zeros((len(images), self.dim), dtype=np.float32)
        with _torch_threads(self.threads), torch.inference_mode():
            for start in range(0, len(images), batch_size):
                chunk = [img.convert("RGB") for img in images[start:start + batch_size]]
                pixels = self.processor(images=chunk, return_tensors="pt")["pixel_values"].to(self.device)
                feats = self._pooled(self.model.get_image_features(pixel_values=pixels))
                out[start:start + len(chunk)] = feats.float().numpy()
        return l2_normalise(out)

    def text_inputs(self, texts: list[str]) -> dict[str, Any]:
        """Tokenised texts as the model was trained (SigLIP: padded to max_length)."""
        tok = self.processor.tokenizer
        if self.is_siglip:
            return tok(texts, padding="max_length", truncation=True, max_length=64, return_tensors="pt")
        limit = getattr(self.model.config.text_config, "max_position_embeddings", 77)
        return tok(texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")

    def encode_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        import torch
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with _torch_threads(self.threads), torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                chunk = texts[start:start + batch_size]
                batch = {k: v.to(self.device) for k, v in self.text_inputs(chunk).items()}
                out[start:start + len(chunk)] = self._pooled(self.model.get_text_features(**batch)).float().numpy()
        return l2_normalise(out)

    def encode(self, inputs: Sequence[Any], batch_size: int = 32) -> np.ndarray:
        """Strings -> text tower, PIL images -> image tower; a list must hold one kind only."""
        return encode_images_or_texts(self, inputs, batch_size)
