"""Demo inputs for the previews (:mod:`evalstudio.gui.evaluation.previews`) and the screenshots.

The scores are a fixed, hand-set logistic score of the Pima features (numpy only, no model, no
torch), good enough to look at the views; the app itself shows real model predictions.
"""

from __future__ import annotations

import numpy as np

from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.resources import resource_path

# Weights on standardised pregnancies, glucose, ..., age: roughly what a logistic regression finds.
_PIMA_W = np.array([0.4, 1.1, -0.25, 0.0, -0.1, 0.7, 0.3, 0.15])


def pima_features() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(X float32 (768, 8), y int64 (768,), feature names) of the bundled Pima data."""
    path = resource_path("demo", "pima-indians-diabetes.csv")
    with open(path, encoding="utf-8") as fh:
        names = tuple(fh.readline().strip().split(","))
    raw = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    return raw[:, :-1].astype(np.float32), raw[:, -1].astype(np.int64), names[:-1]


def demo_predictions(*, seed: int = 0, sharpness: float = 1.0) -> Predictions:
    """Binary demo predictions on the Pima rows (classes "0", "1"); ``sharpness`` > 1 scales the logits
    (an over-confident model, for the calibration view)."""
    X, y, _ = pima_features()
    z = (X - X.mean(0)) / X.std(0)
    rng = np.random.default_rng(seed)
    logit = sharpness * (z @ _PIMA_W - 0.8 + rng.normal(0, 0.6, len(y)))
    p1 = 1 / (1 + np.exp(-logit))
    return Predictions(y, np.column_stack([1 - p1, p1]), ("0", "1"))


def demo_multiclass(*, n: int = 300, seed: int = 0) -> Predictions:
    """Three-class demo predictions (moderately separable)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(0, 1.0, (n, 3))
    logits[np.arange(n), y] += 1.6
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return Predictions(y, p, ("class_0", "class_1", "class_2"))


def demo_cv_result(*, k: int = 5, multiclass: bool = False, epochs: int = 12):
    """A CVResult over the demo predictions split into ``k`` folds (no training: for looking).

    Metrics, summary and pooled metrics come from the core, as in a real run.
    """
    from evalstudio.core.training.kfold import summarize
    from evalstudio.core.evaluation.metrics import evaluate_predictions
    from evalstudio.core.training.results import CVResult, EpochMetrics, FoldResult

    pred = demo_multiclass() if multiclass else demo_predictions()
    rng = np.random.default_rng(7)
    order = rng.permutation(pred.n_samples)
    folds = []
    for i, test in enumerate(np.array_split(order, k), start=1):
        test = np.sort(test)
        train = np.setdiff1d(order, test)
        p = pred.subset(test)
        report = evaluate_predictions(p)
        base = 0.65 + 0.03 * rng.standard_normal()
        history = tuple(
            EpochMetrics(e, 1e-3, base * np.exp(-e / 5) + 0.45, 0.7 + 0.01 * e, base * np.exp(-e / 5) + 0.44,
                         base * np.exp(-e / 6) + 0.48 + 0.004 * e, 0.68 + 0.008 * e, 0.1)
            for e in range(1, epochs + 1)
        )
        folds.append(FoldResult(i, train.size, test.size, train, test, history, p, dict(report.metrics),
                                report.confusion_matrix))
    pooled = Predictions.concatenate([f.predictions for f in folds])
    pooled_report = evaluate_predictions(pooled)
    return CVResult(tuple(folds), summarize([f.metrics for f in folds]), pooled, dict(pooled_report.metrics),
                    pooled_report.confusion_matrix)
