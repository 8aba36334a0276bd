"""A cross-encoder by hub id (`ce:<hub id or folder>`): reads a query and a passage together and scores
how well the passage answers it (sentence-transformers' `CrossEncoder`, e.g.
cross-encoder/ms-marco-MiniLM-L6-v2 or BAAI/bge-reranker-base).

Weights resolve as for `st:` encoders (see `sentence_transformers.resolve_source`): a folder, the
hub id as a folder, $MMRAG_MODELS/<name>, the Hugging Face cache, then a download when online; when
none of these has it the error names the hub id and what to do. Strings in, float scores out.
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from .base import ModelUnavailableError, torch_threads
from .sentence_transformers import cached_model, resolve_source

log = logging.getLogger(__name__)
PREFIX = "ce:"
DEFAULT_MAX_LENGTH = 512


def _load(source: str, local_only: bool, device: str, max_length: int) -> Any:
    """One CrossEncoder per (source, device, max_length), loaded on first use."""
    def build() -> Any:
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:  # pragma: no cover - install error
            raise ModelUnavailableError("ce: rerankers need sentence-transformers: pip install 'mmrag[text]'") from exc
        return CrossEncoder(source, device=device, max_length=max_length, local_files_only=local_only)
    return cached_model(("ce", source, local_only, device, max_length), build)


class CrossEncoderScorer:
    """Scores (query, passage) pairs with a cross-encoder; higher is more relevant."""

    def __init__(self, model: str, path: str | None = None, threads: int | None = None, device: str = "cpu",
                 max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self.hub_id = model[len(PREFIX):] if model.startswith(PREFIX) else model
        self.name = PREFIX + self.hub_id
        self.threads = threads
        source, local_only = resolve_source(self.hub_id, path, kind="cross-encoder", loader="CrossEncoder")
        try:
            self._model = _load(source, local_only, device, max_length)
        except ModelUnavailableError:
            raise
        except Exception as exc:  # noqa: BLE001 - any loading failure names the model
            raise ModelUnavailableError(f"cannot load cross-encoder {self.hub_id!r} from {source}: {exc}") from exc

    def score(self, query: str, passages: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """One score per passage (the model's raw logit, or its probability for one-label sigmoid heads)."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        with torch_threads(self.threads):
            out = self._model.predict([(query, p) for p in passages], batch_size=batch_size,
                                      show_progress_bar=False, convert_to_numpy=True)
        out = np.asarray(out, dtype=np.float32)
        return out if out.ndim == 1 else out[:, -1]  # several labels: the last one is "relevant"
