"""Reliability bins, Brier score and ECE against scikit-learn; temperature scaling against a 1-D minimiser."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from evalstudio.core.errors import DataError
from evalstudio.core.evaluation.calibration import calibration_report, reliability_bins
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.temperature import (
    T_MIN,
    apply_temperature,
    fit_temperature,
    nll_at,
)


def _pred(n: int, k: int, seed: int, *, sharpness: float = 2.5, dtype: type = np.float64) -> Predictions:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    z = rng.normal(0, 1, (n, k))
    z[np.arange(n), y] += 1.5
    z *= sharpness
    p = np.exp(z - z.max(1, keepdims=True))
    return Predictions(y, (p / p.sum(1, keepdims=True)).astype(dtype), tuple(f"c{i}" for i in range(k)))


@pytest.mark.parametrize("n_bins", [1, 5, 10, 17])
def test_reliability_bins_are_calibration_curves_bins(n_bins: int) -> None:
    rng = np.random.default_rng(n_bins)
    y = rng.random(700) < 0.4
    p = rng.random(700) ** 1.5
    edges = np.linspace(0, 1, n_bins + 1).repeat(2)
    p[:edges.size] = edges  # probabilities exactly on bin edges go where scikit-learn puts them
    bins = reliability_bins(y, p, n_bins)
    assert len(bins) == n_bins and sum(b.count for b in bins) == 700
    frac, mean = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    full = [b for b in bins if b.count]
    np.testing.assert_allclose([b.fraction_positive for b in full], frac, rtol=0, atol=1e-12)
    np.testing.assert_allclose([b.mean_predicted for b in full], mean, rtol=0, atol=1e-12)
    empty = [b for b in bins if not b.count]
    assert all(math.isnan(b.mean_predicted) and math.isnan(b.fraction_positive) for b in empty)
    assert bins[0].low == 0.0 and bins[-1].high == 1.0


@pytest.mark.parametrize("positive", [0, 1])
def test_binary_brier_and_ece(positive: int) -> None:
    pred = _pred(600, 2, 1)
    rep = calibration_report(pred, positive=positive, n_bins=10)
    p = pred.y_score[:, positive]
    y = pred.y_true == positive
    assert rep.brier == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    frac, mean = calibration_curve(y, p, n_bins=10, strategy="uniform")
    counts = np.array([b.count for b in rep.bins if b.count])
    assert rep.ece == pytest.approx(float(np.sum(counts / 600 * np.abs(frac - mean))), abs=1e-12)
    assert rep.positive == f"c{positive}" and rep.kind == "positive"
    js = rep.to_json()
    assert set(js["bins"][0]) == {"low", "high", "count", "mean_predicted", "fraction_positive"}
    assert len(js["bins"]) == 10


def test_multiclass_uses_the_top_label_and_the_one_hot_brier() -> None:
    pred = _pred(500, 4, 2)
    rep = calibration_report(pred, n_bins=8)
    onehot = np.eye(4)[pred.y_true]
    assert rep.brier == pytest.approx(np.mean(np.sum((pred.y_score - onehot) ** 2, axis=1)), abs=1e-12)
    correct = pred.argmax() == pred.y_true
    frac, mean = calibration_curve(correct, pred.y_score.max(1), n_bins=8, strategy="uniform")
    np.testing.assert_allclose([b.fraction_positive for b in rep.bins if b.count], frac, atol=1e-12)
    np.testing.assert_allclose([b.mean_predicted for b in rep.bins if b.count], mean, atol=1e-12)
    assert rep.kind == "top-label"
    assert sum(b.count for b in rep.bins if b.low >= 0.25) == 500  # a top label is at least 1/4


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("sharpness", [0.4, 2.5])
def test_temperature_equals_a_direct_one_dimensional_minimisation(k: int, sharpness: float) -> None:
    pred = _pred(400, k, 3 + k, sharpness=sharpness, dtype=np.float32)
    fit = fit_temperature(pred)
    ref = minimize_scalar(lambda t: nll_at(pred, t), bounds=(0.01, 100), method="bounded",
                          options={"xatol": 1e-10})
    assert fit.temperature == pytest.approx(ref.x, rel=1e-6)
    assert fit.nll_after <= ref.fun + 1e-12
    assert fit.nll_after <= fit.nll_before
    assert (fit.temperature > 1) == (sharpness > 1)  # over-confident models get softened
    assert fit.nll_before == pytest.approx(nll_at(pred, 1.0), abs=1e-12)


def test_temperature_leaves_binary_decisions_at_one_half_and_every_argmax() -> None:
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        p1 = np.concatenate([rng.random(2000), 0.5 + np.arange(-40, 41) * np.finfo(dtype).eps, [0.0, 1.0, 0.5]])
        p = np.column_stack([1 - p1, p1]).astype(dtype)
        for t in (0.01, 0.3, 0.9, 1.0, 1.7, 10.0, 100.0):
            q = apply_temperature(p, t)
            np.testing.assert_array_equal(q[:, 1] >= 0.5, p[:, 1] >= 0.5)
            np.testing.assert_allclose(q.sum(1), 1.0, atol=1e-12)
        pm = rng.dirichlet(np.ones(4) * 0.7, 3000).astype(dtype)
        pm[:50, 1] = pm[:50, 0] * (1 + np.finfo(dtype).eps)  # near-ties
        pm /= pm.sum(1, keepdims=True)
        for t in (0.05, 0.5, 2.0, 50.0):
            np.testing.assert_array_equal(apply_temperature(pm, t).argmax(1), pm.argmax(1))


def test_temperature_refusals_and_bounds() -> None:
    pred = _pred(50, 2, 9)
    with pytest.raises(DataError, match="one class only"):
        fit_temperature(Predictions(np.zeros(50, int), pred.y_score, pred.classes))
    # rows the model separates perfectly: the NLL keeps falling as T shrinks
    y = np.r_[np.zeros(20, int), np.ones(20, int)]
    p1 = np.r_[np.full(20, 0.2), np.full(20, 0.8)]
    fit = fit_temperature(Predictions(y, np.column_stack([1 - p1, p1]), ("a", "b")))
    assert fit.at_bound and fit.temperature == pytest.approx(T_MIN)
    with pytest.raises(ValueError):
        apply_temperature(pred.y_score, 0.0)


def test_calibrating_moves_log_loss_brier_and_ece_not_accuracy_or_auc() -> None:
    from evalstudio.core.evaluation.metrics import evaluate_predictions
    from evalstudio.core.evaluation.temperature import calibrated

    pred = _pred(800, 2, 10, sharpness=3.0)
    fit = fit_temperature(pred)
    after = calibrated(pred, fit.temperature)
    r0, r1 = evaluate_predictions(pred), evaluate_predictions(after)
    assert r1.metrics["accuracy"] == r0.metrics["accuracy"]
    assert r1.metrics["roc_auc"] == pytest.approx(r0.metrics["roc_auc"], abs=1e-12)
    assert r1.metrics["log_loss"] < r0.metrics["log_loss"]
    assert calibration_report(after).ece < calibration_report(pred).ece
