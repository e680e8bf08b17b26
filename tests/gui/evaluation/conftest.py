"""Fixtures of the evaluation-view tests (Qt offscreen; set before any Qt import)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from evalstudio.core.evaluation.predictions import Predictions  # noqa: E402


def _make_binary(n: int = 400, seed: int = 0, *, ties: bool = True) -> Predictions:
    """Binary predictions with float32 scores; ``ties`` rounds scores so many rows share one."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p1 = np.clip(rng.beta(2, 3, n) + 0.25 * y, 0, 1)
    if ties:
        p1 = np.round(p1, 2)
    p1 = p1.astype(np.float32)
    return Predictions(y, np.column_stack([1 - p1, p1]), ("healthy", "diabetic"),
                       row_numbers=np.arange(1, n + 1) * 2)


def _make_multiclass(n: int = 300, k: int = 3, seed: int = 1) -> Predictions:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return Predictions(y, p, tuple(f"c{i}" for i in range(k)))


@pytest.fixture
def panel(qtbot):
    from evalstudio.gui.evaluation.panel import EvaluationPanel

    w = EvaluationPanel()
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def make_binary():
    """Factory of binary predictions (see :func:`_make_binary`)."""
    return _make_binary


@pytest.fixture
def make_multiclass():
    return _make_multiclass
