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
    def fit(cls, X: np.ndarray, columns: np.ndarray | None = None) -> "Standardizer":
        """Fit on the rows of ``X`` (pass training rows only).

        ``columns`` : ndarray of shape (n_features,), bool, optional -- standardise only these
        inputs (the numeric values); the others (one-hot categories, missing indicators) keep
        mean 0 and scale 1, so they pass through as 0/1.
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError("Standardizer.fit needs a non-empty 2-D array")
        mean = np.zeros(X.shape[1], dtype=np.float64)
        scale = np.ones(X.shape[1], dtype=np.float64)
        which = np.arange(X.shape[1]) if columns is None else np.flatnonzero(np.asarray(columns, dtype=bool))
        if which.size:
            # Only the scaled columns, in blocks of rows: no float64 copy of a wide one-hot matrix.
            part = X[:, which] if which.size < X.shape[1] else X
            mean[which] = part.mean(axis=0, dtype=np.float64)
            std = part.std(axis=0, dtype=np.float64)
            std[std == 0] = 1.0
            scale[which] = std
        return cls(mean, scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise ``X``; returns float32 (a new array)."""
        active = np.flatnonzero((self.mean != 0) | (self.scale != 1))
        if active.size == X.shape[1] or X.shape[1] <= 64:
            scaled: np.ndarray = (np.asarray(X, dtype=np.float64) - self.mean) / self.scale
            return scaled.astype(np.float32)
        # A wide encoded matrix: copy it once and rescale only the numeric columns.
        out = np.array(X, dtype=np.float32, copy=True)
        if active.size:
            sub = (out[:, active].astype(np.float64) - self.mean[active]) / self.scale[active]
            out[:, active] = sub.astype(np.float32)
        return out

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
