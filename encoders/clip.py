"""Image and text towers of an open_clip model, in one embedding space.

Presets are JSON files in `clip_presets/` (open_clip style: model + pretrained tag + hub id).
Weights resolve in this order, and nothing is downloaded unless every local place is empty:

1. an explicit `path`: a checkpoint file, or a folder holding one of `CHECKPOINT_FILES`;
2. `$MMRAG_MODELS/<folder>` (folder = the hub repo's name, e.g. `CLIP-ViT-B-32-laion2B-s34B-b79K`);
3. the Hugging Face cache (and open_clip's `~/.cache/clip` for URL-only tags), looked up without network;
4. a download through open_clip, unless `HF_HUB_OFFLINE` / `TRANSFORMERS_OFFLINE` is set.

When none works, `ModelUnavailableError` names every place it looked and how to fill one.
`allow_random=True` (tests and benchmarks only) builds the real architecture with random weights
when `pretrained` is None or the weights cannot be found.

Presets and weight lookup live in `encoders.clip_weights` (re-exported here).
This module imports neither torch nor open_clip at import time (the registry imports it).
"""
from __future__ import annotations

import logging
import os
from typing import Any, Sequence

import numpy as np

from .base import ModelUnavailableError, encode_images_or_texts, l2_normalise, query_threads, torch_threads
from .clip_weights import (
    CHECKPOINT_FILES,
    CLIP_PRESETS,
    PRESET_DIR,
    TOKENIZER_FILES,
    ClipSpec,
    Resolution,
    as_spec,
    clip_encoder_status,
    clip_weights_status,
    complete_spec,
    model_config,
    pretrained_cfg,
    resolve_weights,
    spec_from_params,
    tokenizer_source,
    weights_hint,
)
from .runtime import hub_reachable, offline

__all__ = ["CHECKPOINT_FILES", "CLIP_PRESETS", "PRESET_DIR", "ClipSpec", "OpenCLIPEncoder", "clip_encoder_status",
           "clip_weights_status", "create_clip_encoder"]

log = logging.getLogger(__name__)


class OpenCLIPEncoder:
    """open_clip image + text towers; `encode` embeds PIL images or strings into one space."""

    modalities = ("image", "text")

    def __init__(self, name: str = "clip", model: str = "ViT-B-32", pretrained: str | None = "laion2b_s34b_b79k",
                 path: str | os.PathLike | None = None, threads: int | None = None, device: str = "cpu",
                 allow_random: bool = False, spec: ClipSpec | None = None) -> None:
        self.spec = complete_spec(spec or spec_from_params(model, pretrained, name=name))
        self.name, self.threads, self.device = name, threads, device
        self.random_weights = False
        res = None
        if self.spec.pretrained is not None or path is not None or not allow_random:
            try:
                res = resolve_weights(self.spec, path)
            except ModelUnavailableError:
                if not allow_random or path is not None:
                    raise
        with torch_threads(threads):
            self.model, self.preprocess, self.tokenizer, self.source = self._load(res, allow_random)
        self.dim = self._model_dim()
        if self.spec.dim and self.spec.dim != self.dim:
            raise ValueError(f"CLIP model {self.name!r}: preset says dim {self.spec.dim}, model has {self.dim}")

    # -- loading -------------------------------------------------------------------------------------
    def _load(self, res: Resolution | None, allow_random: bool):  # noqa: ANN202 - torch types
        try:
            import open_clip
            import torch
        except ImportError as exc:  # pragma: no cover - install error
            raise ModelUnavailableError("open_clip is not installed: pip install 'mmrag[images]'") from exc
        spec = self.spec
        pcfg = pretrained_cfg(spec.model, spec.pretrained) if spec.pretrained else {}
        kwargs: dict[str, Any] = {
            "device": self.device, "pretrained_text": False, "pretrained_image": False,
            "force_quick_gelu": bool(pcfg.get("quick_gelu", False)),
        }
        # The tag's preprocessing, also when the weights come from a file (open_clip only merges it for tags).
        for key, arg in (("mean", "image_mean"), ("std", "image_std"), ("interpolation", "image_interpolation"),
                         ("resize_mode", "image_resize_mode")):
            if pcfg.get(key) is not None:
                kwargs[arg] = pcfg[key]
        checkpoint: str | None = res.checkpoint if res else None
        if checkpoint is None and res is not None and res.download and not offline():
            if spec.hub_id and not spec.url and not hub_reachable():
                endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
                res.looked_in.append(f"download from {spec.hub_id}: hub {endpoint} unreachable")
                res.download = False
        if checkpoint is None and res is not None and res.download and not offline():
            try:
                dl_cfg = pcfg or ({"hf_hub": f"{spec.hub_id}/"} if spec.hub_id else {"url": spec.url})
                checkpoint = open_clip.pretrained.download_pretrained(dl_cfg) or None
            except Exception as exc:  # noqa: BLE001 - any network/hub error means "not available"
                res.looked_in.append(f"download from {spec.hub_id or pcfg.get('url')} failed: {exc}")
                checkpoint = None
        if checkpoint is None and not allow_random:
            looked = "\n  - ".join(res.looked_in if res else [])
            why = " (offline: HF_HUB_OFFLINE is set)" if offline() else ""
            if spec.pretrained is None:
                why += " (pretrained=None means random weights: pass allow_random=True for tests only)"
            raise ModelUnavailableError(
                f"weights for CLIP model {spec.name!r} ({spec.model}, pretrained={spec.pretrained}) not found"
                f"{why}. Looked in:\n  - {looked}\n{weights_hint(spec)}.")
        tok_src, _, tok_looked = tokenizer_source(spec, res.folder if res else None)
        if tok_src is None:
            raise ModelUnavailableError(
                f"tokenizer for CLIP model {spec.name!r} not found. Looked in: {'; '.join(tok_looked)}. "
                f"Put the tokenizer files of {spec.hub_id or 'the hub repo'} ({', '.join(TOKENIZER_FILES)}) in "
                f"$MMRAG_MODELS/{spec.local_folder} next to the checkpoint, or run once online.")
        if checkpoint is None:
            log.warning("CLIP model %s: building %s with RANDOM weights (allow_random=True); "
                        "embeddings carry no meaning", self.name, spec.model)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model, _, preprocess = open_clip.create_model_and_transforms(spec.model, pretrained=None, **kwargs)
            self.random_weights, source = True, "random-init"
        else:
            try:
                model, _, preprocess = open_clip.create_model_and_transforms(
                    spec.model, pretrained=checkpoint, **kwargs)
            except Exception as exc:  # noqa: BLE001 - corrupt/partial/mismatched files: torch, safetensors, pickle
                raise ModelUnavailableError(
                    f"cannot load CLIP checkpoint {checkpoint} into {spec.model}: {exc}") from exc
            source = checkpoint
        model.eval()
        tokenizer = self._tokenizer(open_clip, tok_src)
        log.info("loaded CLIP encoder %s (%s) from %s", self.name, spec.model, source)
        return model, preprocess, tokenizer, source

    def _tokenizer(self, open_clip: Any, tok_src: str):  # noqa: ANN202
        if not tok_src:  # bundled BPE vocabulary: always offline
            return open_clip.get_tokenizer(self.spec.model)
        from open_clip.tokenizer import HFTokenizer
        text_cfg = model_config(self.spec.model)["text_cfg"]
        try:
            return HFTokenizer(tok_src, context_length=text_cfg.get("context_length", 77),
                               tokenizer_mode=text_cfg.get("tokenizer_mode"), **text_cfg.get("tokenizer_kwargs", {}))
        except OSError as exc:
            raise ModelUnavailableError(
                f"cannot load the tokenizer of {self.spec.name!r} from {tok_src}: {exc}") from exc

    def _model_dim(self) -> int:
        visual_dim = getattr(getattr(self.model, "visual", None), "output_dim", None)
        if isinstance(visual_dim, int):
            return visual_dim
        proj = getattr(self.model, "text_projection", None)
        if proj is not None and getattr(proj, "ndim", 0) == 2:
            return int(proj.shape[1])
        return int(model_config(self.spec.model)["embed_dim"])

    # -- encoding ------------------------------------------------------------------------------------
    def encode_images(self, images: Sequence[Any], batch_size: int = 32) -> np.ndarray:
        """Embed PIL images with the model's own preprocess transform; float32, L2-normalised rows."""
        import torch
        out = np.zeros((len(images), self.dim), dtype=np.float32)
        with torch_threads(query_threads(len(images), self.threads)), torch.inference_mode():
            for start in range(0, len(images), batch_size):
                batch = torch.stack([self.preprocess(img) for img in images[start:start + batch_size]])
                feats = self.model.encode_image(batch.to(self.device))
                out[start:start + len(batch)] = feats.float().cpu().numpy()
        return l2_normalise(out)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed strings with the model's tokenizer (truncated to its context length)."""
        import torch
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch_threads(query_threads(len(texts), self.threads)), torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                chunk = texts[start:start + batch_size]
                feats = self.model.encode_text(self.tokenizer(chunk).to(self.device))
                out[start:start + len(chunk)] = feats.float().cpu().numpy()
        return l2_normalise(out)

    def encode(self, inputs: Sequence[Any], batch_size: int = 32) -> np.ndarray:
        """Strings -> text tower, PIL images -> image tower; a list must hold one kind only."""
        return encode_images_or_texts(self, inputs, batch_size)

    def towers(self, max_length: int | None = None) -> Any:
        """Trainable copies of the towers (`encoders.clip_tuning`): captions (at most the context length) against
        images; `max_length` is accepted for symmetry with text models."""
        from .clip_tuning import clip_towers
        return clip_towers(self)

    def __repr__(self) -> str:
        return f"OpenCLIPEncoder({self.name!r}, model={self.spec.model!r}, dim={self.dim}, source={self.source!r})"


def create_clip_encoder(preset: str | None = None, **params: Any) -> OpenCLIPEncoder:
    """Build a preset (`create_clip_encoder('clip-vit-b-32')`) or any model/pretrained pair."""
    if preset is not None:
        spec, _ = as_spec(preset)
        return OpenCLIPEncoder(spec.name, spec.model, spec.pretrained, spec=spec, **params)
    model = params.pop("model", "ViT-B-32")
    pretrained = params.pop("pretrained", "laion2b_s34b_b79k")
    name = params.pop("name", None)
    spec = spec_from_params(model, pretrained, name=name)
    return OpenCLIPEncoder(spec.name, model, pretrained, spec=spec, **params)
