"""A deterministic hashing encoder, for plumbing tests only (no semantics beyond shared words)."""
from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

from .base import l2_normalise

_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashEncoder:
    """Feature-hashes lower-cased word tokens into `dim` signed buckets."""

    modalities = ("text",)

    def __init__(self, dim: int = 64, name: str = "hash") -> None:
        self.dim = dim
        self.name = name

    def _bucket(self, token: str) -> tuple[int, float]:
        h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
        return h % self.dim, 1.0 if (h >> 63) & 1 else -1.0

    def encode(self, inputs: Sequence[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(inputs), self.dim), dtype=np.float32)
        for row, text in enumerate(inputs):
            for token in _TOKEN.findall(str(text).lower()):
                col, sign = self._bucket(token)
                out[row, col] += sign
        return l2_normalise(out)
