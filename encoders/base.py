"""The encoder protocol: batches of inputs in, float32 L2-normalised arrays out."""
from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Maps inputs of some modalities into one embedding space."""

    name: str
    dim: int
    modalities: tuple[str, ...]

    def encode(self, inputs: Sequence[Any], batch_size: int = 32) -> np.ndarray:
        """Return a float32 array of shape (len(inputs), dim), rows L2-normalised."""
        ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class ModelUnavailableError(RuntimeError):
    """Raised when a model's weights cannot be found locally or downloaded."""
