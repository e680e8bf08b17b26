"""Percentile intervals from the bootstrap: their shape, the slider's lookups, k-fold means, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalstudio.core.errors import EvalStudioError
from evalstudio.core.evaluation.intervals import (
    IntervalSettings,
    bootstrap_intervals,
    fold_mean_interval,
    percentile_interval,
)
from evalstudio.core.evaluation.metrics import evaluate_predictions
from evalstudio.core.evaluation.predictions import Predictions


def _binary(n_pos: int, n_neg: int, seed: int) -> Predictions:
    """Scores N(1, 1) for positives and N(0, 1) for negatives, as probabilities sigmoid(score)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
    z = rng.normal(0, 1, y.size) + y
    p = 1 / (1 + np.exp(-z))
    return Predictions(y, np.column_stack([1 - p, p]), ("neg", "pos"))


def test_settings_refuse_what_makes_no_interval() -> None:
    for bad in (0.0, 1.0, 95, -0.5):
        with pytest.raises(EvalStudioError, match="confidence"):
            IntervalSettings(confidence=bad)
    with pytest.raises(EvalStudioError, match="resamples"):
        IntervalSettings(resamples=1)


def test_percentile_interval_is_numpys_quantile_and_skips_nan() -> None:
    v = np.random.default_rng(0).normal(size=999)
    assert percentile_interval(v, 0.9) == pytest.approx(np.quantile(v, [0.05, 0.95]), abs=1e-12)
    assert percentile_interval(np.r_[v, np.nan], 0.9) == percentile_interval(v, 0.9)
    assert all(math.isnan(x) for x in percentile_interval(np.full(5, np.nan)))


@pytest.mark.parametrize("k", [2, 3])
def test_every_metric_gets_an_interval_around_its_value(k: int) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, k, 400)
    z = rng.normal(0, 1, (400, k))
    z[np.arange(400), y] += 1.2
    pred = Predictions(y, np.exp(z) / np.exp(z).sum(1, keepdims=True), tuple("abc"[:k]))
    report = evaluate_predictions(pred, threshold=0.4)
    boot = bootstrap_intervals(pred, threshold=0.4, settings=IntervalSettings(resamples=400, seed=3))
    iv = boot.intervals()
    assert list(iv.limits) == list(report.metrics)
    for key, value in report.metrics.items():
        lo, hi = iv[key]
        assert lo <= hi
        assert lo - 0.02 <= value <= hi + 0.02, key  # the point estimate sits inside its interval
        assert hi - lo < 0.3, key
    js = iv.to_json()
    assert set(js["intervals"]) == set(report.metrics)
    assert set(js["intervals"]["accuracy"]) == {"low", "high"}
    assert js["interval"] == {"method": "stratified bootstrap (percentile)", "confidence": 0.95, "resamples": 400,
                              "seed": 3}
    again = bootstrap_intervals(pred, threshold=0.4, settings=IntervalSettings(resamples=400, seed=3)).intervals()
    assert again.limits == iv.limits  # seeded: a rerun gives identical numbers


def test_the_slider_lookup_equals_a_fresh_bootstrap_at_that_threshold() -> None:
    pred = _binary(60, 90, 2)
    settings = IntervalSettings(resamples=300, seed=1)
    kept = bootstrap_intervals(pred, threshold=0.5, settings=settings, keep_counts=True)
    assert kept.at_threshold(0.5).limits == kept.intervals().limits
    for t in (0.2, 0.61, 0.9):
        fresh = bootstrap_intervals(pred, threshold=t, settings=settings).intervals()
        moved = kept.at_threshold(t)
        for key in fresh.limits:
            np.testing.assert_allclose(moved[key], fresh[key], rtol=0, atol=1e-12, err_msg=key)
    with pytest.raises(ValueError):
        bootstrap_intervals(pred, settings=settings).at_threshold(0.3)


def test_one_vs_rest_lookups_for_multiclass() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 200)
    p = rng.dirichlet(np.ones(3), 200)
    pred = Predictions(y, p, ("a", "b", "c"))
    boot = bootstrap_intervals(pred, settings=IntervalSettings(resamples=200), keep_counts=True)
    iv = boot.class_at_threshold(1, 0.3)
    lo, hi = iv["recall"]
    assert 0 <= lo <= hi <= 1
    with pytest.raises(ValueError):
        boot.at_threshold(0.3)


def test_fold_mean_interval_is_students_t() -> None:
    from scipy import stats

    v = [0.71, 0.78, 0.74, 0.69, 0.80]
    lo, hi = fold_mean_interval(v, 0.95)
    ref = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    assert (lo, hi) == pytest.approx(ref, abs=1e-10)
    assert fold_mean_interval([0.7, math.nan, 0.8, 0.75]) == pytest.approx(
        stats.t.interval(0.95, 2, loc=0.75, scale=stats.sem([0.7, 0.8, 0.75])), abs=1e-10)
    assert all(math.isnan(x) for x in fold_mean_interval([0.7]))


@pytest.mark.slow
def test_intervals_cover_the_true_value_about_95_percent_of_the_time() -> None:
    """300 synthetic test sets of 80 positives and 120 negatives; the population values are known.

    Scores are N(1, 1) and N(0, 1): the true AUC is Phi(1 / sqrt 2); at threshold 0.5 (score 0)
    the true accuracy is (80 Phi(1) + 120 / 2) / 200; the true log loss is the mean of each
    class's expected -log p, integrated numerically.
    """
    from statistics import NormalDist

    phi = NormalDist().cdf
    true_auc = phi(1 / math.sqrt(2))
    true_acc = (80 * phi(1) + 120 * 0.5) / 200
    grid = np.linspace(-9, 10, 200001)
    dens = np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi)
    loss_pos = np.trapezoid(dens * np.log1p(np.exp(-(grid + 1))), grid)  # -log sigmoid(z), z ~ N(1, 1)
    loss_neg = np.trapezoid(dens * np.log1p(np.exp(grid)), grid)  # -log(1 - sigmoid(z)), z ~ N(0, 1)
    true_loss = (80 * loss_pos + 120 * loss_neg) / 200
    hits = {"accuracy": 0, "roc_auc": 0, "log_loss": 0}
    n_sets = 300
    for seed in range(n_sets):
        pred = _binary(80, 120, 1000 + seed)
        iv = bootstrap_intervals(pred, settings=IntervalSettings(resamples=1000, seed=seed)).intervals()
        for key, truth in (("accuracy", true_acc), ("roc_auc", true_auc), ("log_loss", true_loss)):
            lo, hi = iv[key]
            hits[key] += lo <= truth <= hi
    print({key: h / n_sets for key, h in hits.items()})
    for key, h in hits.items():
        # 95 % nominal; +-3 binomial standard deviations over 300 sets is about +-3.8 points
        assert 0.905 <= h / n_sets <= 0.99, (key, h / n_sets)
