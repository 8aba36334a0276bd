"""Shared data for the index tests: random unit vectors, clustered corpora, brute force."""
from __future__ import annotations

from typing import Callable

import numpy as np
import pytest


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def unit_vectors() -> Callable[..., np.ndarray]:
    """`unit_vectors(n, dim, seed)`: iid gaussian directions, L2-normalised."""
    def make(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
        return _unit(np.random.default_rng(seed).standard_normal((n, dim)))
    return make


def clustered(n: int, dim: int, n_centres: int = 200, sigma: float = 0.05,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n corpus, n // 100 queries) from one gaussian mixture around random unit centres."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((n_centres, dim)))
    m = n + max(1, n // 100)
    points = centres[rng.integers(0, n_centres, m)] + sigma * rng.standard_normal((m, dim))
    points = _unit(points)
    return points[:n], points[n:]


@pytest.fixture(scope="session")
def clustered_384() -> tuple[np.ndarray, np.ndarray]:
    """20k clustered 384-d vectors and 200 queries from the same distribution."""
    return clustered(20_000, 384)


def brute_force(x: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k inner product with numpy."""
    scores = q @ x.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), ids[order]


@pytest.fixture
def exact() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """`exact(x, ids, q, k)`: brute-force ground truth."""
    return brute_force


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of true neighbours found per query."""
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


@pytest.fixture
def recall_at() -> Callable[[np.ndarray, np.ndarray], float]:
    """`recall_at(found_ids, true_ids)`."""
    return recall
