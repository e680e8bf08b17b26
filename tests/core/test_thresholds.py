"""ThresholdTable and the plotting curves, checked against brute-force recounts and scikit-learn."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from evalstudio.core.evaluation.curves import (
    interpolate_roc,
    macro_roc_curve,
    mean_roc_curve,
    one_vs_rest_table,
    simplify_curve,
)
from evalstudio.core.errors import EvalStudioError, ModelError
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.thresholds import ThresholdTable, binary_metrics_from_counts


def _recount(y: np.ndarray, s: np.ndarray, t: float) -> tuple[int, int, int, int]:
    """(tn, fp, fn, tp) by comparing every row, in the scores' dtype."""
    pred = s >= np.asarray(t, dtype=s.dtype)
    return (
        int(np.sum(~y & ~pred)),
        int(np.sum(~y & pred)),
        int(np.sum(y & ~pred)),
        int(np.sum(y & pred)),
    )


def _probe_thresholds(s: np.ndarray) -> list[float]:
    """Every distinct score, midpoints between them, and values beyond both ends."""
    u = np.unique(s).astype(np.float64)
    mids = (u[1:] + u[:-1]) / 2
    return [*u.tolist(), *mids.tolist(), float(u[0]) - 1.0, float(u[-1]) + 1.0, -math.inf, math.inf]


def _data(n: int, seed: int, *, ties: bool = False, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    s = np.clip(rng.random(n) * 0.7 + y * 0.25, 0, 1)
    if ties:
        s = np.round(s, 1)
    return y, s.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ties", [False, True])
def test_counts_match_recount_at_and_between_every_score(dtype: type, ties: bool) -> None:
    y, s = _data(400, 1, ties=ties, dtype=dtype)
    table = ThresholdTable.from_scores(y, s)
    assert table.thresholds.dtype == dtype
    for t in _probe_thresholds(s):
        assert table.counts_at(t) == _recount(y, s, t), t
        tn, fp, fn, tp = table.counts_at(t)
        np.testing.assert_array_equal(table.confusion_matrix_at(t), [[tn, fp], [fn, tp]])


def test_float64_threshold_against_float32_scores_compares_in_float32() -> None:
    y, s = _data(2000, 2, dtype=np.float32)
    table = ThresholdTable.from_scores(y, s)
    # Just above a float32 score in float64: float64 comparison would call that row negative,
    # the scores' own dtype (and numpy's `s >= python_float`) rounds t to the score itself.
    disagreements = 0
    for v in s[:200]:
        t = float(v) + 1e-12
        float64_count = int(np.sum(s.astype(np.float64) >= t))
        assert table.counts_at(t) == _recount(y, s, t)
        assert sum(table.counts_at(t)[1::2]) == int(np.sum(s >= t))  # numpy 2 weak-scalar rule
        disagreements += float64_count != sum(table.counts_at(t)[1::2])
    assert disagreements > 0  # the probe does reach the case that differs between dtypes


def test_large_float32_counts_match_recount() -> None:
    y, s = _data(200_000, 3, dtype=np.float32)
    table = ThresholdTable.from_scores(y, s)
    rng = np.random.default_rng(4)
    for t in [*rng.random(20).tolist(), *s[rng.integers(0, s.size, 20)].astype(float).tolist()]:
        assert table.counts_at(t) == _recount(y, s, t)


def test_integer_scores_and_single_class_tables() -> None:
    s = np.array([3, 1, 2, 2, 5])
    y_all = np.ones(5, dtype=bool)
    table = ThresholdTable.from_scores(y_all, s)
    assert table.thresholds.dtype == np.float64
    assert table.n_neg == 0
    assert table.counts_at(2) == (0, 0, 1, 4)
    table0 = ThresholdTable.from_scores(~y_all, s)
    assert table0.counts_at(2) == (1, 4, 0, 0)
    assert math.isnan(table.roc_auc) and math.isnan(table0.roc_auc)
    assert math.isnan(table0.average_precision)
    assert table.average_precision == pytest.approx(skm.average_precision_score(y_all, s), abs=1e-12)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_equals_sklearn(ties: bool, drop: bool) -> None:
    y, s = _data(500, 5, ties=ties)
    table = ThresholdTable.from_scores(y, s)
    ours = table.roc_curve(drop_intermediate=drop)
    theirs = skm.roc_curve(y, s, drop_intermediate=drop)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    assert abs(table.roc_auc - skm.roc_auc_score(y, s)) <= 1e-12


def test_roc_with_one_class_matches_sklearn_nan_curve() -> None:
    y = np.zeros(6, dtype=bool)
    s = np.array([0.1, 0.4, 0.4, 0.2, 0.9, 0.3])
    table = ThresholdTable.from_scores(y, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = skm.roc_curve(y, s)
    for a, b in zip(table.roc_curve(), theirs):
        np.testing.assert_array_equal(a, b)  # NaN tpr on both sides
    assert math.isnan(table.roc_auc)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ties", [False, True])
def test_pr_curve_and_average_precision_equal_sklearn(dtype: type, ties: bool) -> None:
    y, s = _data(500, 6, ties=ties, dtype=dtype)
    table = ThresholdTable.from_scores(y, s)
    for drop in (False, True):
        ours = table.pr_curve(drop_intermediate=drop)
        theirs = skm.precision_recall_curve(y, s, drop_intermediate=drop)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)
    assert abs(table.average_precision - skm.average_precision_score(y, s)) <= 1e-12
    assert abs(table.roc_auc - skm.roc_auc_score(y, s)) <= 1e-12


def test_average_precision_is_nan_without_positives() -> None:
    y = np.zeros(5, dtype=bool)
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    table = ThresholdTable.from_scores(y, s)
    assert math.isnan(table.average_precision)  # scikit-learn warns and says 0.0 here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = skm.precision_recall_curve(y, s)
    for a, b in zip(table.pr_curve(), theirs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("ties", [False, True])
def test_metrics_at_equal_sklearn_at_every_threshold(ties: bool) -> None:
    y, s = _data(300, 7, ties=ties)
    table = ThresholdTable.from_scores(y, s)
    for t in _probe_thresholds(s)[::15] + [float(s.max()) + 1, float(s.min())]:
        yp = s >= t
        m = table.metrics_at(t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = {
                "accuracy": skm.accuracy_score(y, yp),
                "balanced_accuracy": skm.balanced_accuracy_score(y, yp),
                "precision": skm.precision_score(y, yp, zero_division=0),
                "recall": skm.recall_score(y, yp, zero_division=0),
                "f1": skm.f1_score(y, yp, zero_division=0),
                "specificity": skm.recall_score(y, yp, pos_label=False, zero_division=0),
                "npv": skm.precision_score(y, yp, pos_label=False, zero_division=0),
                "mcc": skm.matthews_corrcoef(y, yp),
            }
            for avg in ("macro", "weighted"):
                p, r, f, _ = skm.precision_recall_fscore_support(y, yp, average=avg, zero_division=0)
                expected.update({f"precision_{avg}": p, f"recall_{avg}": r, f"f1_{avg}": f})
        for key, value in expected.items():
            assert m[key] == pytest.approx(value, abs=1e-9), (t, key)
        tn, fp, fn, tp = table.counts_at(t)
        assert m["fpr"] == fp / (fp + tn) and m["tpr"] == tp / (tp + fn)


@pytest.mark.parametrize(
    "counts", [(5, 0, 0, 0), (0, 0, 0, 5), (0, 5, 0, 0), (0, 0, 5, 0), (3, 0, 2, 0), (0, 2, 0, 3)]
)
def test_metrics_from_degenerate_counts_equal_sklearn(counts: tuple[int, int, int, int]) -> None:
    tn, fp, fn, tp = counts
    y = np.array([False] * (tn + fp) + [True] * (fn + tp))
    yp = np.array([False] * tn + [True] * fp + [False] * fn + [True] * tp)
    m = binary_metrics_from_counts(*counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, yp), abs=1e-12)
        assert m["mcc"] == pytest.approx(skm.matthews_corrcoef(y, yp), abs=1e-12)
        for avg in ("macro", "weighted"):
            p, r, f, _ = skm.precision_recall_fscore_support(y, yp, average=avg, zero_division=0)
            assert (m[f"precision_{avg}"], m[f"recall_{avg}"], m[f"f1_{avg}"]) == pytest.approx((p, r, f))
        assert m["f1"] == skm.f1_score(y, yp, zero_division=0)


def test_threshold_of_point_round_trips_and_is_finite() -> None:
    y, s = _data(200, 8, ties=True, dtype=np.float32)
    table = ThresholdTable.from_scores(y, s)
    for k in range(table.n_points):
        t = table.threshold_of_point(k)
        assert math.isfinite(t)
        assert table.point_index(t) == k
        assert table.counts_at(t)[1] == table.fps[k] and table.counts_at(t)[3] == table.tps[k]
    assert table.counts_at(table.threshold_of_point(0)) == (table.n_neg, 0, table.n_pos, 0)
    with pytest.raises(IndexError):
        table.threshold_of_point(table.n_points)


def _all_point_counts(table: ThresholdTable) -> list[tuple[float, tuple[int, int, int, int]]]:
    return [(table.threshold_of_point(k), table.counts_at(table.threshold_of_point(k)))
            for k in range(table.n_points)]


@pytest.mark.parametrize("ties", [False, True])
def test_suggested_thresholds_are_optimal(ties: bool) -> None:
    y, s = _data(300, 9, ties=ties)
    table = ThresholdTable.from_scores(y, s)
    points = _all_point_counts(table)

    def f1(c: tuple[int, int, int, int]) -> float:
        return 2 * c[3] / (2 * c[3] + c[1] + c[2])

    t = table.best_f1_threshold()
    assert t is not None
    got = skm.f1_score(y, s >= t)
    assert got == pytest.approx(max(f1(_recount(y, s, tt)) for tt, _ in points))
    assert f1(table.counts_at(t)) == pytest.approx(got)

    t = table.youden_threshold()
    assert t is not None
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    m = table.metrics_at(t)
    assert m["tpr"] - m["fpr"] == pytest.approx(np.max(tpr - fpr), abs=1e-12)

    for cost_fp, cost_fn in ((1.0, 1.0), (1.0, 5.0), (4.0, 1.0), (0.0, 1.0)):
        t = table.min_cost_threshold(cost_fp, cost_fn)
        tn, fp, fn, tp = _recount(y, s, t)
        best = min(cost_fp * c[1] + cost_fn * c[2] for _, c in points)
        assert cost_fp * fp + cost_fn * fn == pytest.approx(best)
    # Costing only false negatives makes "everything positive" (the lowest score) optimal.
    assert table.counts_at(table.min_cost_threshold(0.0, 1.0))[2] == 0
    sug = table.suggested_thresholds(2.0, 1.0)
    assert set(sug) == {"default", "max_f1", "youden", "min_cost"} and sug["default"] == 0.5


def test_suggestions_undefined_without_both_classes() -> None:
    s = np.array([0.2, 0.5, 0.7])
    no_pos = ThresholdTable.from_scores(np.zeros(3, bool), s)
    assert no_pos.best_f1_threshold() is None and no_pos.youden_threshold() is None
    # with only negatives the cheapest threshold predicts nothing positive
    assert no_pos.counts_at(no_pos.min_cost_threshold(1, 1)) == (3, 0, 0, 0)


@pytest.mark.parametrize(
    ("costs", "text"),
    [
        ((-1.0, 1.0), "the false-positive cost is -1.0; costs must be finite numbers >= 0."),
        ((1.0, math.nan), "the false-negative cost is nan; costs must be finite numbers >= 0."),
        ((0.0, 0.0), "both costs are zero, so every threshold costs the same; give a positive cost"),
    ],
)
def test_bad_costs_are_refused_with_a_clear_message(costs: tuple[float, float], text: str) -> None:
    table = ThresholdTable.from_scores(np.array([True, False]), np.array([0.9, 0.1]))
    with pytest.raises(EvalStudioError) as info:
        table.min_cost_threshold(*costs)
    assert text in str(info.value)


def test_thresholds_from_rates_for_dragging_on_curves() -> None:
    y, s = _data(400, 10, ties=True)
    table = ThresholdTable.from_scores(y, s)
    points = _all_point_counts(table)
    n_pos, n_neg = table.n_pos, table.n_neg
    for target in (0.0, 0.05, 0.3, 0.5, 0.99, 1.0):
        t = table.threshold_for_fpr(target)
        tn, fp, fn, tp = table.counts_at(t)
        assert fp / n_neg <= target + 1e-12
        best_tp = max(c[3] for _, c in points if c[1] / n_neg <= target + 1e-12)
        assert tp == best_tp
        t = table.threshold_for_tpr(target)
        tn, fp, fn, tp = table.counts_at(t)
        assert tp / n_pos >= target - 1e-12
        assert t == max(tt for tt, c in points if c[3] / n_pos >= target - 1e-12)
    # A pointer right on a curve point selects that point.
    fpr, tpr, thr = table.roc_curve()
    for i in range(1, len(fpr), 5):
        t = table.threshold_at_roc_point(fpr[i], tpr[i])
        m = table.metrics_at(t)
        assert (m["fpr"], m["tpr"]) == pytest.approx((fpr[i], tpr[i]))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ModelError) as info:
        ThresholdTable.from_scores(np.array([True, False, True]), np.array([0.5, np.nan, np.inf]))
    assert "2 of 3 scores are NaN or infinite (first at position 1); the model's outputs must be finite" in str(
        info.value
    )
    with pytest.raises(ValueError, match="y_true has shape"):
        ThresholdTable.from_scores(np.array([True]), np.array([0.5, 0.2]))
    with pytest.raises(ValueError, match="zero rows"):
        ThresholdTable.from_scores(np.array([], bool), np.array([]))
    table = ThresholdTable.from_scores(np.array([True, False]), np.array([0.9, 0.1]))
    with pytest.raises(EvalStudioError, match="the threshold is NaN"):
        table.counts_at(math.nan)


# ---------------------------------------------------------------------- curves for plotting
def test_roc_for_plot_keeps_the_shape_within_its_bound() -> None:
    y, s = _data(100_000, 11, dtype=np.float32)
    table = ThresholdTable.from_scores(y, s)
    fpr, tpr, thr = table.roc_curve()
    pf, pt, pth = table.roc_curve_for_plot(max_points=400)
    assert len(pf) <= 400 < len(fpr)
    assert (pf[0], pt[0], pf[-1], pt[-1]) == (0.0, 0.0, 1.0, 1.0)
    bound = 2 / (400 // 4)
    # every original point is within the documented L1 bound of a kept point
    kept = np.column_stack([pf, pt])
    for i in np.linspace(0, len(fpr) - 1, 3000).astype(int):
        d = np.abs(kept - [fpr[i], tpr[i]]).sum(axis=1).min()
        assert d <= bound
    assert abs(np.trapezoid(pt, pf) - table.roc_auc) <= bound
    # each kept point carries the threshold that produces it
    for i in range(1, len(pf), 37):
        m = table.metrics_at(float(pth[i]))
        assert (m["fpr"], m["tpr"]) == pytest.approx((pf[i], pt[i]))


def test_pr_for_plot_keeps_spikes_and_ends() -> None:
    y, s = _data(50_000, 12)
    table = ThresholdTable.from_scores(y, s)
    precision, recall, _ = table.pr_curve(drop_intermediate=True)
    pp, pr, pth = table.pr_curve_for_plot(max_points=300)
    assert len(pp) <= 300 and len(pth) == len(pp)
    assert (pp[0], pr[0], pp[-1], pr[-1]) == (precision[0], recall[0], 1.0, 0.0)
    assert pp.max() == precision.max() and pp.min() == precision.min()


def test_simplify_curve_small_and_bad_inputs() -> None:
    x = np.linspace(0, 1, 10)
    np.testing.assert_array_equal(simplify_curve(x, x, 100), np.arange(10))
    with pytest.raises(ValueError, match="at least 4"):
        simplify_curve(x, x, 3)
    nan_curve = np.full(50, np.nan)
    idx = simplify_curve(nan_curve, nan_curve, 10)
    assert len(idx) <= 10 and idx[0] == 0 and idx[-1] == 49


def test_interpolate_roc_takes_the_top_of_vertical_steps() -> None:
    fpr = np.array([0.0, 0.0, 0.5, 0.5, 1.0])
    tpr = np.array([0.0, 0.5, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(interpolate_roc(fpr, tpr, [0.0, 0.25, 0.5, 0.75, 1.0]), [0.5, 0.5, 1, 1, 1])


def test_macro_roc_and_one_vs_rest_match_sklearn() -> None:
    rng = np.random.default_rng(13)
    logits = rng.normal(size=(600, 3))
    y = rng.integers(0, 3, 600)
    logits[np.arange(600), y] += 1.0
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred = Predictions(y, p, ("a", "b", "c"))
    for k in range(3):
        table = one_vs_rest_table(pred, k)
        assert table.roc_auc == pytest.approx(skm.roc_auc_score(y == k, p[:, k]), abs=1e-12)
    macro = macro_roc_curve(pred, n_points=101)
    assert macro.auc_mean == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr"), abs=1e-12)
    aucs = [skm.roc_auc_score(y == k, p[:, k]) for k in range(3)]
    assert macro.auc_std == pytest.approx(np.std(aucs), abs=1e-12)
    assert macro.n_curves == 3 and macro.fpr.shape == (101,)
    assert np.all(np.diff(macro.tpr_mean) >= -1e-12) and macro.tpr_mean[-1] == 1.0
    with pytest.raises(ValueError, match="outside 0..2"):
        one_vs_rest_table(pred, 3)


def test_mean_roc_leaves_out_tables_without_both_classes() -> None:
    good = ThresholdTable.from_scores(np.array([True, False, True, False]), np.array([0.9, 0.2, 0.6, 0.7]))
    one_class = ThresholdTable.from_scores(np.array([True, True]), np.array([0.9, 0.2]))
    mean = mean_roc_curve([good, one_class])
    assert mean.n_curves == 1 and mean.auc_mean == good.roc_auc and mean.auc_std == 0.0
    empty = mean_roc_curve([one_class])
    assert empty.n_curves == 0 and math.isnan(empty.auc_mean)
