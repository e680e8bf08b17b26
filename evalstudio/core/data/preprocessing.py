"""Feature standardisation, fitted on training rows only.

The fitted transform travels inside every checkpoint evalstudio writes (as plain tensors, so
``torch.load(weights_only=True)`` reads it) and is applied again at evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Standardizer:
    """``(X - mean) / scale``, with ``scale`` 1 for constant columns (as scikit-learn)."""

    mean: np.ndarray  # (n_features,), float64
    scale: np.ndarray  # (n_features,), float64

    @classmethod
    def fit(cls, X: np.ndarray) -> "Standardizer":
        """Fit on the rows of ``X`` (pass training rows only)."""
        X64 = np.asarray(X, dtype=np.float64)
        if X64.ndim != 2 or X64.shape[0] == 0:
            raise ValueError("Standardizer.fit needs a non-empty 2-D array")
        mean = X64.mean(axis=0)
        scale = X64.std(axis=0)
        scale[scale == 0] = 1.0
        return cls(mean, scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise ``X``; returns float32."""
        out: np.ndarray = (np.asarray(X, dtype=np.float64) - self.mean) / self.scale
        return out.astype(np.float32)

    def to_state(self) -> dict[str, Any]:
        """Weights-only-safe dict (tensors and str) for a checkpoint."""
        import torch

        return {
            "type": "standardize",
            "mean": torch.from_numpy(self.mean.copy()),
            "scale": torch.from_numpy(self.scale.copy()),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "Standardizer":
        if state.get("type") != "standardize":
            raise ValueError(f"unknown preprocessing type {state.get('type')!r}")
        return cls(
            np.asarray(state["mean"], dtype=np.float64), np.asarray(state["scale"], dtype=np.float64)
        )
