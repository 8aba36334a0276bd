"""The encoder protocol: batches of inputs in, float32 L2-normalised arrays out."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

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


SMALL_BATCH = 8  # batches this small (queries) run on one thread


def query_threads(n_inputs: int, threads: int | None) -> int | None:
    """One torch thread for query-sized batches: spinning OpenMP workers of torch and FAISS
    contend badly on a busy machine (measured 1 s vs 40 ms per query on 2 loaded cores)."""
    return 1 if n_inputs <= SMALL_BATCH else threads


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with `n` torch intra-op threads (None: leave as is)."""
    import torch
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def encode_images_or_texts(encoder: Any, inputs: Sequence[Any], batch_size: int) -> np.ndarray:
    """Dispatch for image+text encoders: strings to `encode_texts`, PIL images to `encode_images`."""
    from PIL import Image
    inputs = list(inputs)
    if not inputs:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    if all(isinstance(x, str) for x in inputs):
        return encoder.encode_texts(inputs, batch_size)
    if all(isinstance(x, Image.Image) for x in inputs):
        return encoder.encode_images(inputs, batch_size)
    kinds = sorted({type(x).__name__ for x in inputs})
    raise TypeError(f"{encoder.name}.encode takes a list of str or a list of PIL.Image.Image, not a mix "
                    f"({', '.join(kinds)}); call encode_texts / encode_images separately")
