"""Models compared on the same rows: pairing by row number, McNemar, DeLong, the JSON and the words."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, roc_auc_score

from evalstudio.core.errors import DataError
from evalstudio.core.evaluation.compare_words import accuracy_sentence, auc_sentence, comparison_sentences, p_text
from evalstudio.core.evaluation.comparison import (
    compare_predictions,
    correct_rows,
    pair_predictions,
    with_differences,
)
from evalstudio.core.evaluation.delong import delong_test
from evalstudio.core.evaluation.metrics import evaluate_predictions
from evalstudio.core.evaluation.predictions import Predictions


def binary_pair(n: int = 400, seed: int = 0) -> tuple[Predictions, Predictions]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.35).astype(int)
    pa = np.clip(0.35 + 0.25 * (2 * y - 1) + rng.normal(0, 0.25, n), 0, 1)
    pb = np.clip(0.35 + 0.30 * (2 * y - 1) + rng.normal(0, 0.25, n), 0, 1)
    rows = np.arange(1, n + 1)
    a = Predictions(y, np.c_[1 - pa, pa], ("no", "yes"), rows)
    b = Predictions(y, np.c_[1 - pb, pb], ("no", "yes"), rows)
    return a, b


def test_binary_comparison_equals_its_parts() -> None:
    a, b = binary_pair()
    c = compare_predictions([a, b], ["A", "B"], threshold=0.4)
    pred_a = (a.y_score[:, 1] >= 0.4).astype(int)
    pred_b = (b.y_score[:, 1] >= 0.4).astype(int)
    ra, rb = pred_a == a.y_true, pred_b == b.y_true
    m = c.pairs[0].mcnemar
    assert (m.b, m.c) == (int(np.sum(ra & ~rb)), int(np.sum(~ra & rb)))
    assert m.p_value == pytest.approx(binomtest(m.b, m.b + m.c, 0.5).pvalue, rel=1e-12)
    assert c.reports[0].metrics["accuracy"] == pytest.approx(accuracy_score(a.y_true, pred_a))
    assert c.reports[1].metrics["roc_auc"] == pytest.approx(roc_auc_score(b.y_true, b.y_score[:, 1]))
    expected = delong_test(a.y_true == 1, a.y_score[:, 1], b.y_score[:, 1])
    assert c.pairs[0].delong == expected
    d = c.pairs[0].differences
    assert d["accuracy"].value == pytest.approx(accuracy_score(b.y_true, pred_b) - accuracy_score(a.y_true, pred_a))
    assert set(d) == set(c.reports[0].metrics)
    np.testing.assert_array_equal(c.correct(0), ra)


def test_rows_are_paired_by_row_number_not_position() -> None:
    a, b = binary_pair(50)
    # B scored its rows in another order and left out rows 1-5 (say, rows that trained it).
    order = np.random.default_rng(1).permutation(50)
    order = order[~np.isin(order, np.arange(5))]
    b_shuffled = b.subset(order)
    paired, notes = pair_predictions([a, b_shuffled], ["A", "B"])
    assert paired[0].n_samples == paired[1].n_samples == 45
    np.testing.assert_array_equal(paired[0].row_numbers, paired[1].row_numbers)
    np.testing.assert_array_equal(paired[1].y_score, b.subset(np.arange(5, 50)).y_score)
    assert notes[0] == "compared on the 45 rows every model scored"
    assert any("5 of the 50 rows model 'A' scored" in n for n in notes)
    c = compare_predictions([a, b_shuffled], ["A", "B"])
    assert c.n_scored == (50, 45) and c.n_samples == 45


def test_refusals_name_the_problem() -> None:
    a, b = binary_pair(20)
    other = Predictions(a.y_true, a.y_score, ("neg", "pos"), a.row_numbers)
    with pytest.raises(DataError, match="predicts the classes"):
        pair_predictions([a, other], ["A", "B"])
    flipped = Predictions(1 - a.y_true, a.y_score, a.classes, a.row_numbers)
    with pytest.raises(DataError, match="different label"):
        pair_predictions([a, flipped], ["A", "B"])
    disjoint = Predictions(b.y_true, b.y_score, b.classes, b.row_numbers + 100)
    with pytest.raises(DataError, match="no row was scored by every model"):
        pair_predictions([a, disjoint], ["A", "B"])
    with pytest.raises(DataError, match="share a name"):
        compare_predictions([a, b], ["A", "A"])


def test_multiclass_uses_argmax_and_delong_per_class() -> None:
    rng = np.random.default_rng(2)
    n, k = 300, 3
    y = rng.integers(0, k, n)
    sa = rng.random((n, k)) + np.eye(k)[y] * 0.6
    sb = rng.random((n, k)) + np.eye(k)[y] * 0.9
    a = Predictions(y, sa / sa.sum(1, keepdims=True), ("x", "y", "z"))
    b = Predictions(y, sb / sb.sum(1, keepdims=True), ("x", "y", "z"))
    c = compare_predictions([a, b], ["A", "B"], threshold=0.9)  # the threshold does not apply
    assert c.threshold is None and c.pairs[0].delong is None
    ra, rb = a.argmax() == y, b.argmax() == y
    assert (c.pairs[0].mcnemar.b, c.pairs[0].mcnemar.c) == (int(np.sum(ra & ~rb)), int(np.sum(~ra & rb)))
    per_class = dict(c.pairs[0].delong_per_class)
    assert list(per_class) == ["x", "y", "z"]
    for i, name in enumerate(("x", "y", "z")):
        assert per_class[name].auc_b == pytest.approx(roc_auc_score(y == i, b.y_score[:, i]))
    js = c.to_json()
    assert js["delong"] is None and [r["class"] for r in js["delong_per_class"]] == ["x", "y", "z"]
    assert c.reports[1].metrics == evaluate_predictions(b).metrics


def test_three_models_compare_each_against_the_first() -> None:
    a, b = binary_pair(seed=3)
    _, c3 = binary_pair(seed=4)
    c3 = Predictions(a.y_true, c3.y_score, a.classes, a.row_numbers)
    c = compare_predictions([a, b, c3], ["A", "B", "C"])
    assert [(p.a, p.b) for p in c.pairs] == [(0, 1), (0, 2)]
    js = c.to_json()
    assert [(x["a"], x["b"]) for x in js["comparisons"]] == [("A", "B"), ("A", "C")]
    assert js["mcnemar"] == js["comparisons"][0]["mcnemar"]


def test_json_has_the_issue_shape() -> None:
    a, b = binary_pair()
    c = compare_predictions([a, b], ["A", "B"])
    c = with_differences(c, [{"accuracy": (-0.01, 0.05)}], [{"accuracy": (0.6, 0.7)}, {"accuracy": (0.62, 0.72)}],
                         {"method": "paired stratified bootstrap", "confidence": 0.95, "resamples": 1000, "seed": 0})
    js = c.to_json()
    assert list(js)[:7] == ["n_samples", "threshold", "models", "mcnemar", "delong", "differences", "task"]
    assert js["n_samples"] == 400 and js["threshold"] == 0.5
    assert [m["name"] for m in js["models"]] == ["A", "B"]
    assert js["models"][1]["intervals"]["accuracy"] == {"low": 0.62, "high": 0.72}
    assert set(js["mcnemar"]) >= {"b", "c", "p_value"}
    assert set(js["delong"]) >= {"auc", "difference", "z", "p_value"}
    acc = js["differences"]["accuracy"]
    assert acc == {"value": pytest.approx(c.reports[1].metrics["accuracy"] - c.reports[0].metrics["accuracy"]),
                   "low": -0.01, "high": 0.05}


def test_the_sentence_reads_as_the_issue_writes_it() -> None:
    # Build rows with b = 12 (A right, B wrong) and c = 25 (B right, A wrong) of 370.
    y = np.zeros(370, dtype=int)
    right_a = np.r_[np.ones(12, bool), np.zeros(25, bool), np.ones(300, bool), np.zeros(33, bool)]
    right_b = np.r_[np.zeros(12, bool), np.ones(25, bool), np.ones(300, bool), np.zeros(33, bool)]
    pa = np.where(right_a, 0.1, 0.9)
    pb = np.where(right_b, 0.2, 0.8)
    a = Predictions(y, np.c_[1 - pa, pa], ("0", "1"))
    b = Predictions(y, np.c_[1 - pb, pb], ("0", "1"))
    c = compare_predictions([a, b], ["A", "B"])
    c = with_differences(c, [{"accuracy": (0.004, 0.066)}], [{}, {}], {"confidence": 0.95})
    sentence = accuracy_sentence(c, c.pairs[0])
    assert sentence == ("B is more accurate by 3.5 points (95 % interval 0.4 to 6.6); McNemar p = 0.047 "
                        "(B right where A is wrong on 25 rows, the reverse on 12)")
    # Reversed roles: the interval is said in the sentence's direction.
    c2 = compare_predictions([b, a], ["B", "A"])
    c2 = with_differences(c2, [{"accuracy": (-0.066, -0.004)}], [{}, {}], {"confidence": 0.95})
    assert accuracy_sentence(c2, c2.pairs[0]).startswith("A is less accurate by 3.5 points (95 % interval 0.4 to 6.6)")
    # Every row is of class "0" here: ROC AUC and so DeLong's test are undefined, and the output says so.
    assert auc_sentence(c, c.pairs[0]) == ("ROC AUC: DeLong's test is undefined (ROC AUC is undefined: the rows "
                                           "hold one class only)")
    assert comparison_sentences(c)[-1] == ("B is more accurate than A on these 370 rows, beyond what chance "
                                           "disagreement explains (McNemar p = 0.047 < 0.05).")


def test_p_text() -> None:
    assert p_text(0.0466) == "p = 0.047"
    assert p_text(0.35) == "p = 0.35"
    assert p_text(0.0004) == "p < 0.001"
    assert p_text(1.0) == "p = 1"
    assert p_text(float("nan")) == "p undefined"


def test_correct_rows_compares_threshold_in_the_scores_dtype() -> None:
    s = np.array([0.3, 0.7], dtype=np.float32)
    p = Predictions(np.array([0, 1]), np.c_[1 - s, s], ("0", "1"))
    # 0.7 as float32 is 0.69999999; a float64 threshold of 0.7 is rounded to float32 first.
    np.testing.assert_array_equal(correct_rows(p, 0.7, 1), [True, True])


def test_at_threshold_equals_a_fresh_comparison() -> None:
    a, b = binary_pair(seed=5)
    c = compare_predictions([a, b], ["A", "B"], threshold=0.5)
    c = with_differences(c, [{"accuracy": (-0.1, 0.1), "roc_auc": (-0.05, 0.02)}],
                         [{"accuracy": (0.6, 0.7)}, {"accuracy": (0.6, 0.7)}],
                         {"confidence": 0.95, "threshold": 0.5})
    moved = c.at_threshold(0.3)
    fresh = compare_predictions([a, b], ["A", "B"], threshold=0.3)
    for r1, r2 in zip(moved.reports, fresh.reports):
        assert r1.metrics == pytest.approx(r2.metrics)
        np.testing.assert_array_equal(r1.confusion_matrix, r2.confusion_matrix)
    assert moved.pairs[0].mcnemar == fresh.pairs[0].mcnemar
    assert moved.pairs[0].delong == c.pairs[0].delong
    # The bootstrap interval of a threshold-dependent metric belongs to its threshold; ROC AUC's stays.
    assert np.isnan(moved.pairs[0].differences["accuracy"].low)
    assert moved.pairs[0].differences["roc_auc"].low == -0.05
    back = moved.at_threshold(0.5)
    assert back.pairs[0].differences["accuracy"].low == -0.1
    cells = fresh.agreement()
    assert sum(v.size for v in cells.values()) == fresh.n_samples
    assert cells["only_a"].size == fresh.pairs[0].mcnemar.b and cells["only_b"].size == fresh.pairs[0].mcnemar.c
