"""The paired bootstrap: differences B - A on the same resamples, against a slow reference loop.

The reference takes each resample's row indices from the same StratifiedBootstrap (same seed), scores
both models on those rows with scikit-learn, and takes the percentile interval of the differences.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from evalstudio.core.evaluation.comparison import compare_predictions
from evalstudio.core.evaluation.intervals import IntervalSettings, percentile_interval
from evalstudio.core.evaluation.paired_bootstrap import keep_counts_fits, paired_bootstrap, with_bootstrap
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.resampling import StratifiedBootstrap


def _pair(n: int, k: int, seed: int, ties: bool = False) -> tuple[Predictions, Predictions]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    shared = rng.normal(0, 1, (n, k))  # what both models find hard: the pairing matters
    out = []
    for strength in (0.9, 1.2):
        z = shared + rng.normal(0, 0.7, (n, k))
        z[np.arange(n), y] += strength
        if ties:
            z = np.round(z, 1)
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        out.append(Predictions(y, p, tuple(f"c{i}" for i in range(k))))
    return out[0], out[1]


def _reference(pa: Predictions, pb: Predictions, boot: StratifiedBootstrap, threshold: float) -> dict[str, np.ndarray]:
    """Per resample, metric(B) - metric(A) from scikit-learn on the resample's rows."""
    out: dict[str, list[float]] = {"accuracy": [], "f1": [], "roc_auc": [], "log_loss": []}
    binary = pa.n_classes == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(boot.n_resamples):
            idx = boot.indices(r)
            y = pa.y_true[idx]
            vals = []
            for p in (pa, pb):
                s = p.y_score[idx]
                if binary:
                    yp = (s[:, 1] >= threshold).astype(int)
                    v = {"accuracy": skm.accuracy_score(y, yp), "f1": skm.f1_score(y, yp, zero_division=0),
                         "roc_auc": skm.roc_auc_score(y, s[:, 1])}
                else:
                    yp = s.argmax(1)
                    v = {"accuracy": skm.accuracy_score(y, yp),
                         "f1": skm.f1_score(y, yp, average="macro", zero_division=0),
                         "roc_auc": float(np.mean([skm.roc_auc_score(y == c, s[:, c]) for c in range(p.n_classes)]))}
                v["log_loss"] = skm.log_loss(y, s, labels=list(range(p.n_classes)))
                vals.append(v)
            for key in out:
                out[key].append(vals[1][key] - vals[0][key])
    return {k: np.asarray(v) for k, v in out.items()}


@pytest.mark.parametrize(("k", "ties"), [(2, False), (2, True), (3, False)])
def test_difference_intervals_equal_a_slow_loop_on_the_same_resamples(k: int, ties: bool) -> None:
    pa, pb = _pair(150, k, seed=k + int(ties), ties=ties)
    settings = IntervalSettings(confidence=0.9, resamples=40, seed=5)
    boot = StratifiedBootstrap(pa.y_true, n_resamples=40, seed=5)
    ref = _reference(pa, pb, boot, 0.4)
    pb_ = paired_bootstrap([pa, pb], threshold=0.4, settings=settings)
    for key, values in ref.items():
        np.testing.assert_allclose(pb_.difference_values(1, key), values, rtol=0, atol=1e-12, err_msg=key)
    _, diffs = pb_.intervals()
    for key, values in ref.items():
        assert diffs[0][key] == pytest.approx(percentile_interval(values, 0.9), abs=1e-12), key


def test_intervals_follow_the_threshold_when_counts_are_kept() -> None:
    pa, pb = _pair(200, 2, seed=9)
    settings = IntervalSettings(resamples=100, seed=1)
    kept = paired_bootstrap([pa, pb], threshold=0.5, settings=settings, keep_counts=True)
    fresh = paired_bootstrap([pa, pb], threshold=0.3, settings=settings)
    models_kept, diffs_kept = kept.intervals(0.3)
    models_fresh, diffs_fresh = fresh.intervals()
    for got, want in ((diffs_kept[0], diffs_fresh[0]), (models_kept[1], models_fresh[1])):
        assert set(got) == set(want)
        for key in want:
            np.testing.assert_allclose(got[key], want[key], atol=1e-12, err_msg=key)
    with pytest.raises(ValueError, match="kept no counts"):
        fresh.intervals(0.5)


def test_the_comparison_carries_the_paired_intervals_and_moves_them_with_the_slider() -> None:
    pa, pb = _pair(300, 2, seed=4)
    settings = IntervalSettings(resamples=120, seed=2)
    c = compare_predictions([pa, pb], ["A", "B"], threshold=0.5)
    c = with_bootstrap(c, paired_bootstrap(c.predictions, threshold=0.5, settings=settings, keep_counts=True))
    js = c.to_json()
    assert js["interval"] == {"method": "paired stratified bootstrap (percentile)", "confidence": 0.95,
                              "resamples": 120, "seed": 2, "threshold": 0.5}
    acc = js["differences"]["accuracy"]
    assert acc["low"] <= acc["value"] <= acc["high"]
    assert set(js["models"][0]["intervals"]) == set(js["models"][0]["metrics"])
    moved = c.at_threshold(0.35)
    want = with_bootstrap(compare_predictions([pa, pb], ["A", "B"], threshold=0.35),
                          paired_bootstrap(c.predictions, threshold=0.35, settings=settings))
    for key in ("accuracy", "f1", "roc_auc"):
        got, exp = moved.pairs[0].differences[key], want.pairs[0].differences[key]
        assert (got.value, got.low, got.high) == pytest.approx((exp.value, exp.low, exp.high), abs=1e-12)


def test_the_same_model_twice_has_a_zero_difference_on_every_resample() -> None:
    pa, _ = _pair(120, 2, seed=1)
    boot = paired_bootstrap([pa, pa], settings=IntervalSettings(resamples=50))
    _, diffs = boot.intervals()
    assert diffs[0]["accuracy"] == (0.0, 0.0) and diffs[0]["roc_auc"] == (0.0, 0.0)


def test_keep_counts_budget() -> None:
    assert keep_counts_fits(10_000, 2, 1000)
    assert not keep_counts_fits(1_000_000, 2, 1000)
