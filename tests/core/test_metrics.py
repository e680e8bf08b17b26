"""evaluate_predictions and friends, number by number against scikit-learn."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from evalstudio.core.errors import DataError, EvalStudioError, ModelError
from evalstudio.core.evaluation.metrics import (
    EvaluationReport,
    confusion_matrix,
    evaluate_predictions,
    log_loss,
    summarize_folds,
)
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.thresholds import ThresholdTable

TOL = 1e-9


def _binary(n: int, seed: int, *, ties: bool = False, dtype: type = np.float64) -> Predictions:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(rng.random(n) * 0.7 + y * 0.25, 0.001, 0.999)
    if ties:
        p = np.round(p, 1)
    return Predictions(y, np.column_stack([1 - p, p]).astype(dtype), ("neg", "pos"))


def _multiclass(n: int, k: int, seed: int, *, dtype: type = np.float64) -> Predictions:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return Predictions(y, p.astype(dtype), tuple(f"c{i}" for i in range(k)))


def _sk_binary(pred: Predictions, threshold: float, positive: int) -> dict[str, float]:
    """scikit-learn's numbers for a binary prediction (positive class ``positive``)."""
    y = pred.y_true
    score = pred.y_score[:, positive]
    is_pos = score >= np.asarray(threshold, dtype=score.dtype)
    y_pred = np.where(is_pos, positive, 1 - positive)
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["accuracy"] = skm.accuracy_score(y, y_pred)
        out["balanced_accuracy"] = skm.balanced_accuracy_score(y, y_pred)
        p, r, f, _ = skm.precision_recall_fscore_support(
            y, y_pred, average="binary", pos_label=positive, zero_division=0
        )
        out.update(precision=p, recall=r, f1=f)
        out["specificity"] = skm.recall_score(y, y_pred, pos_label=1 - positive, zero_division=0)
        out["mcc"] = skm.matthews_corrcoef(y, y_pred)
        for avg in ("macro", "weighted"):
            p, r, f, _ = skm.precision_recall_fscore_support(y, y_pred, average=avg, zero_division=0)
            out.update({f"precision_{avg}": p, f"recall_{avg}": r, f"f1_{avg}": f})
        if len(np.unique(y)) == 2:
            out["roc_auc"] = skm.roc_auc_score(y == positive, score)
        if np.any(y == positive):
            out["average_precision"] = skm.average_precision_score(y == positive, score)
        # scikit-learn's float32 path sums in float32; ours sums in float64 (see log_loss).
        out["log_loss"] = skm.log_loss(y, pred.y_score.astype(np.float64), labels=[0, 1])
    return out


def _check_binary(pred: Predictions, threshold: float, positive: int = 1) -> EvaluationReport:
    report = evaluate_predictions(pred, threshold=threshold, positive=positive)
    expected = _sk_binary(pred, threshold, positive)
    for key, value in expected.items():
        assert report.metrics[key] == pytest.approx(value, abs=TOL), key
    score = pred.y_score[:, positive]
    y_pred = np.where(score >= np.asarray(threshold, dtype=score.dtype), positive, 1 - positive)
    np.testing.assert_array_equal(report.confusion_matrix, skm.confusion_matrix(pred.y_true, y_pred, labels=[0, 1]))
    p, r, f, s = skm.precision_recall_fscore_support(pred.y_true, y_pred, labels=[0, 1], zero_division=0)
    for i, row in enumerate(report.per_class):
        assert row["class"] == pred.classes[i]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p[i], r[i], f[i]), abs=TOL)
        assert row["support"] == s[i]
    assert report.task == "binary" and report.threshold == threshold and report.positive == positive
    assert report.n_samples == pred.n_samples
    return report


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("positive", [1, 0])
def test_binary_metrics_equal_sklearn(dtype: type, positive: int) -> None:
    pred = _binary(400, 1, dtype=dtype)
    for threshold in (0.5, 0.3, 0.8):
        _check_binary(pred, threshold, positive)


def test_binary_threshold_equal_to_a_score_and_ties() -> None:
    pred = _binary(300, 2, ties=True)
    for threshold in np.unique(pred.y_score[:, 1]).tolist():
        _check_binary(pred, threshold)  # rows scoring exactly t are positive


def test_float32_threshold_equal_to_a_float32_score() -> None:
    pred = _binary(300, 3, dtype=np.float32)
    t = float(pred.y_score[17, 1])
    report = _check_binary(pred, t)
    assert report.confusion_matrix[:, 1].sum() == int(np.sum(pred.y_score[:, 1] >= pred.y_score[17, 1]))


def test_a_class_never_predicted() -> None:
    pred = _binary(200, 4)
    report = _check_binary(pred, 1.5)  # nothing reaches the threshold: precision 0 by convention
    assert report.metrics["precision"] == 0.0 and report.metrics["recall"] == 0.0
    report = _check_binary(pred, 0.0)  # everything positive
    assert report.metrics["specificity"] == 0.0


def test_one_class_absent_gives_nan_auc_and_a_note() -> None:
    rng = np.random.default_rng(5)
    p = rng.random(50)
    pred = Predictions(np.zeros(50, dtype=int), np.column_stack([1 - p, p]), ("no", "yes"))
    report = _check_binary(pred, 0.5)
    assert math.isnan(report.metrics["roc_auc"]) and math.isnan(report.metrics["average_precision"])
    assert report.notes == (
        "ROC AUC is undefined: every row is of class 'no'.",
        "average precision is undefined: no row is of the positive class 'yes'.",
    )
    data = report.to_json()
    assert data["metrics"]["roc_auc"] is None and data["metrics"]["average_precision"] is None
    json.dumps(data, allow_nan=False)
    # Only positives: AP is defined (1.0 as scikit-learn says), ROC AUC is not.
    pred = Predictions(np.ones(50, dtype=int), np.column_stack([1 - p, p]), ("no", "yes"))
    report = _check_binary(pred, 0.5)
    assert report.metrics["average_precision"] == 1.0 and math.isnan(report.metrics["roc_auc"])
    assert report.notes == ("ROC AUC is undefined: every row is of class 'yes'.",)


def test_with_threshold_equals_a_fresh_evaluation() -> None:
    pred = _binary(500, 6, dtype=np.float32)
    table = ThresholdTable.from_scores(pred.y_true == 1, pred.y_score[:, 1])
    base = evaluate_predictions(pred, threshold=0.5, table=table)
    for t in (0.1, 0.42, float(pred.y_score[3, 1]), 0.9):
        moved = base.with_threshold(t, table)
        fresh = evaluate_predictions(pred, threshold=t)
        assert moved.metrics == fresh.metrics and moved.per_class == fresh.per_class
        np.testing.assert_array_equal(moved.confusion_matrix, fresh.confusion_matrix)
        assert moved.threshold == t
    multi = evaluate_predictions(_multiclass(30, 3, 0))
    with pytest.raises(ValueError, match="only a binary report"):
        multi.with_threshold(0.5, table)


def test_to_json_has_the_cli_shape_with_plain_types() -> None:
    pred = _binary(100, 7, dtype=np.float32)
    data = evaluate_predictions(pred, threshold=0.4).to_json()
    assert list(data)[:7] == ["task", "classes", "n_samples", "threshold", "metrics", "per_class", "confusion_matrix"]
    assert data["task"] == "binary" and data["classes"] == ["neg", "pos"] and data["positive_class"] == "pos"
    assert data["threshold"] == 0.4 and data["n_samples"] == 100
    assert list(data["metrics"]) == [
        "accuracy", "balanced_accuracy", "precision", "recall", "f1", "specificity", "mcc", "roc_auc",
        "average_precision", "log_loss", "precision_macro", "recall_macro", "f1_macro",
        "precision_weighted", "recall_weighted", "f1_weighted",
    ]
    assert all(type(v) is float for v in data["metrics"].values())
    assert set(data["per_class"][0]) == {"class", "precision", "recall", "f1", "support"}
    assert type(data["per_class"][0]["support"]) is int
    assert all(type(c) is int for row in data["confusion_matrix"] for c in row)
    assert json.loads(json.dumps(data, allow_nan=False)) == data


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_multiclass_metrics_equal_sklearn(dtype: type) -> None:
    pred = _multiclass(600, 4, 8, dtype=dtype)
    report = evaluate_predictions(pred, threshold=0.9)  # the threshold plays no part in argmax
    y, y_pred, k = pred.y_true, pred.argmax(), 4
    assert report.task == "multiclass" and report.threshold is None and report.positive is None
    m = report.metrics
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, y_pred), abs=TOL)
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, y_pred), abs=TOL)
    assert m["mcc"] == pytest.approx(skm.matthews_corrcoef(y, y_pred), abs=TOL)
    for avg in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y, y_pred, average=avg, zero_division=0)
        assert (m[f"precision_{avg}"], m[f"recall_{avg}"], m[f"f1_{avg}"]) == pytest.approx((p, r, f), abs=TOL)
    assert (m["precision"], m["recall"], m["f1"]) == (m["precision_macro"], m["recall_macro"], m["f1_macro"])
    score64 = pred.y_score.astype(np.float64)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, pred.y_score, multi_class="ovr"), abs=TOL)
    assert m["average_precision"] == pytest.approx(skm.average_precision_score(y, pred.y_score), abs=TOL)
    with warnings.catch_warnings():  # float32 rows sum to 1 only to float32 precision
        warnings.simplefilter("ignore")
        assert m["log_loss"] == pytest.approx(skm.log_loss(y, score64, labels=list(range(k))), abs=TOL)
    specificity = [skm.recall_score(y != i, y_pred != i) for i in range(k)]
    assert m["specificity"] == pytest.approx(np.mean(specificity), abs=TOL)
    np.testing.assert_array_equal(report.confusion_matrix, skm.confusion_matrix(y, y_pred, labels=range(k)))
    p, r, f, s = skm.precision_recall_fscore_support(y, y_pred, labels=range(k), zero_division=0)
    assert [row["support"] for row in report.per_class] == s.tolist()
    np.testing.assert_allclose([row["f1"] for row in report.per_class], f, atol=TOL)
    np.testing.assert_allclose([row["precision"] for row in report.per_class], p, atol=TOL)
    np.testing.assert_allclose([row["recall"] for row in report.per_class], r, atol=TOL)
    assert report.notes == ()
    data = report.to_json()
    assert data["threshold"] is None and "positive_class" not in data and data["classes"] == list(pred.classes)
    assert json.loads(json.dumps(data, allow_nan=False)) == data


def test_multiclass_class_never_predicted_and_class_absent() -> None:
    pred = _multiclass(300, 3, 9)
    score = pred.y_score.copy()
    score[:, 2] = 1e-6  # class c2 is never the argmax
    score /= score.sum(axis=1, keepdims=True)
    keep = pred.y_true != 1  # class c1 never occurs in the labels
    pred = Predictions(pred.y_true[keep], score[keep], pred.classes)
    report = evaluate_predictions(pred)
    y, y_pred = pred.y_true, pred.argmax()
    assert 2 not in y_pred and 1 not in y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert report.metrics["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, y_pred), abs=TOL)
        for avg in ("macro", "weighted"):
            p, r, f, _ = skm.precision_recall_fscore_support(y, y_pred, average=avg, zero_division=0)
            assert report.metrics[f"f1_{avg}"] == pytest.approx(f, abs=TOL)
            assert report.metrics[f"precision_{avg}"] == pytest.approx(p, abs=TOL)
    assert report.metrics["mcc"] == pytest.approx(skm.matthews_corrcoef(y, y_pred), abs=TOL)
    # ROC AUC and AP average the classes that occur, and say so.
    present = [0, 2]
    assert report.metrics["roc_auc"] == pytest.approx(
        np.mean([skm.roc_auc_score(y == i, pred.y_score[:, i]) for i in present]), abs=TOL
    )
    assert report.metrics["average_precision"] == pytest.approx(
        np.mean([skm.average_precision_score(y == i, pred.y_score[:, i]) for i in present]), abs=TOL
    )
    assert report.notes == ("ROC AUC and average precision average 2 of 3 classes: no row is of class 'c1'.",)
    assert report.metrics["log_loss"] == pytest.approx(skm.log_loss(y, pred.y_score, labels=[0, 1, 2]), abs=TOL)
    assert report.per_class[1]["support"] == 0 and report.per_class[2]["precision"] == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_loss_clips_extreme_probabilities_like_sklearn(dtype: type) -> None:
    y = np.array([0, 1, 1, 0, 2])
    p = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.8, 0.0], [0.0, 0.0, 1.0], [0.1, 0.1, 0.8]], dtype=dtype)
    eps = np.finfo(np.float64).eps
    expected = -np.mean(np.log(np.clip(p[np.arange(5), y].astype(np.float64), eps, 1 - eps)))
    assert log_loss(y, p) == pytest.approx(expected, abs=1e-12)
    # The value scikit-learn gives on the probabilities as written out (float64), whatever the
    # model's dtype: float32 scores are not clipped at float32's eps (which caps a row at 15.9).
    assert log_loss(y, p) == pytest.approx(skm.log_loss(y, p.astype(np.float64), labels=[0, 1, 2]), abs=TOL)


def test_multiclass_log_loss_is_reproduced_from_the_exported_probabilities() -> None:
    """float32 softmax underflows for confident rows; the exported float64 text must give the same loss."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(300, 3)).astype(np.float32) * 40
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = (z / z.sum(axis=1, keepdims=True)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    assert (p[np.arange(300), y] < np.finfo(np.float32).eps).sum() > 10  # rows the old clip capped
    exported = np.array([[float("%.9g" % v) for v in row] for row in p])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rows sum to 1 only within float32 rounding
        reference = skm.log_loss(y, exported, labels=[0, 1, 2])
    assert log_loss(y, p) == pytest.approx(reference, rel=1e-7)


def test_confusion_matrix_by_bincount() -> None:
    rng = np.random.default_rng(10)
    t, p = rng.integers(0, 5, 1000), rng.integers(0, 4, 1000)  # class 4 never predicted
    np.testing.assert_array_equal(confusion_matrix(t, p, 5), skm.confusion_matrix(t, p, labels=range(5)))
    assert confusion_matrix(t, p, 5).dtype == np.int64
    with pytest.raises(ValueError, match="y_pred has class indices outside 0..2"):
        confusion_matrix(np.array([0, 1]), np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="must be 1-D of the same length"):
        confusion_matrix(np.array([0, 1]), np.array([0]), 3)


def test_bad_predictions_get_clear_errors() -> None:
    scores = np.array([[0.2, 0.8], [np.nan, np.nan], [0.5, 0.5], [np.inf, 0.0]])
    pred = Predictions(np.array([1, 0, 1, 0]), scores, ("a", "b"), row_numbers=np.array([10, 11, 12, 13]))
    with pytest.raises(ModelError) as info:
        evaluate_predictions(pred)
    assert str(info.value).startswith(
        "the model produced NaN or infinite scores for 2 of 4 rows (first at data row 11); check that row's"
    )
    empty = Predictions(np.array([], dtype=int), np.zeros((0, 2)), ("a", "b"))
    with pytest.raises(DataError, match="there are no rows to evaluate; check the data file"):
        evaluate_predictions(empty)
    good = _binary(10, 11)
    with pytest.raises(EvalStudioError, match=r"the threshold nan is not a finite number; give a number"):
        evaluate_predictions(good, threshold=math.nan)
    with pytest.raises(EvalStudioError, match=r"the positive class index 2 is not 0 or 1. choose one of"):
        evaluate_predictions(good, positive=2)
    bad_labels = Predictions(np.array([0, 3]), np.array([[0.5, 0.5], [0.1, 0.9]]), ("a", "b"))
    with pytest.raises(DataError, match=r"class indices outside 0..1"):
        evaluate_predictions(bad_labels)


def test_row_numbers_default_to_1_to_n_and_must_match_the_rows() -> None:
    scores = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    np.testing.assert_array_equal(Predictions(np.array([1, 0, 1]), scores, ("a", "b")).row_numbers, [1, 2, 3])
    given = Predictions(np.array([1, 0, 1]), scores, ("a", "b"), row_numbers=np.array([7, 9, 12]))
    np.testing.assert_array_equal(given.subset(np.array([2, 0])).row_numbers, [12, 7])
    with pytest.raises(ValueError, match=r"row_numbers has shape \(2,\) but there are 3 rows"):
        Predictions(np.array([1, 0, 1]), scores, ("a", "b"), row_numbers=np.array([1, 2]))


def test_summarize_folds_population_std_and_nan_rule() -> None:
    folds = [
        {"accuracy": 0.8, "roc_auc": 0.9, "f1": 0.5},
        {"accuracy": 0.7, "roc_auc": math.nan, "f1": 0.6},
        {"accuracy": 0.9, "roc_auc": 0.7},
    ]
    summary = summarize_folds(folds)
    assert list(summary) == ["accuracy", "roc_auc", "f1"]
    assert summary["accuracy"]["mean"] == pytest.approx(np.mean([0.8, 0.7, 0.9]), abs=1e-15)
    assert summary["accuracy"]["std"] == pytest.approx(np.std([0.8, 0.7, 0.9]), abs=1e-15)
    assert summary["accuracy"]["n"] == 3
    assert summary["roc_auc"] == {"mean": pytest.approx(0.8), "std": pytest.approx(0.1), "n": 2}
    assert summary["f1"]["n"] == 2
    nan_only = summarize_folds([{"roc_auc": math.nan}])
    assert math.isnan(nan_only["roc_auc"]["mean"]) and nan_only["roc_auc"]["n"] == 0
    with pytest.raises(ValueError, match="at least one fold"):
        summarize_folds([])


def test_fold_summary_of_real_reports() -> None:
    preds = [_binary(120, seed) for seed in range(5)]
    reports = [evaluate_predictions(p) for p in preds]
    summary = summarize_folds([r.metrics for r in reports])
    aucs = [skm.roc_auc_score(p.y_true, p.y_score[:, 1]) for p in preds]
    assert summary["roc_auc"]["mean"] == pytest.approx(np.mean(aucs), abs=TOL)
    assert summary["roc_auc"]["std"] == pytest.approx(np.std(aucs), abs=TOL)
