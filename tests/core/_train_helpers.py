"""Tiny datasets and models for the training tests (fast on 2 CPU cores)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
import torch.nn as nn

from evalstudio.core.data.dataset import Dataset


def make_dataset(n: int = 120, d: int = 4, n_classes: int = 2, seed: int = 0, shift: float = 1.5) -> Dataset:
    """Gaussian blobs, one per class, features on very different scales (so scaling matters)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    X = rng.normal(size=(n, d)) + shift * y[:, None]
    X = X * np.array([1.0, 10.0, 100.0, 0.1][:d] + [1.0] * max(0, d - 4))
    return Dataset(
        X.astype(np.float32), y.astype(np.int64), tuple(f"c{k}" for k in range(n_classes)),
        tuple(f"f{i}" for i in range(d)), "label", np.arange(1, n + 1, dtype=np.int64), "synthetic",
    )


def make_model(d: int = 4, out: int = 1, *, sigmoid: bool = False, dropout: float = 0.2) -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(d, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, out)]
    if sigmoid:
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models train faster on one intra-op thread (threads only add sync overhead at this size,
    most of all on a busy 2-core machine); torch's setting is restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
