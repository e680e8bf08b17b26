"""DeLong's covariance and test: against a slow O(m n) reference and against pROC's published results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from evalstudio.core.evaluation.delong import delong_covariance, delong_placements, delong_test


# ---------------------------------------------------------------------- a slow, literal reference
def slow_delong(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) as written: psi over every (positive, negative) pair, loops only."""
    k = scores.shape[0]
    pos = [i for i in range(y.size) if y[i]]
    neg = [j for j in range(y.size) if not y[j]]
    m, n = len(pos), len(neg)

    def psi(a: float, b: float) -> float:
        return 1.0 if a > b else 0.5 if a == b else 0.0

    v10 = np.zeros((k, m))
    v01 = np.zeros((k, n))
    for r in range(k):
        for a, i in enumerate(pos):
            v10[r, a] = sum(psi(scores[r, i], scores[r, j]) for j in neg) / n
        for b, j in enumerate(neg):
            v01[r, b] = sum(psi(scores[r, i], scores[r, j]) for i in pos) / m
    aucs = v10.mean(axis=1)
    s10 = np.zeros((k, k))
    s01 = np.zeros((k, k))
    for r in range(k):
        for s in range(k):
            s10[r, s] = sum((v10[r, a] - aucs[r]) * (v10[s, a] - aucs[s]) for a in range(m)) / (m - 1)
            s01[r, s] = sum((v01[r, b] - aucs[r]) * (v01[s, b] - aucs[s]) for b in range(n)) / (n - 1)
    return aucs, s10 / m + s01 / n


@pytest.mark.parametrize("seed", range(6))
def test_covariance_equals_the_slow_reference_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 60))
    y = rng.random(n) < 0.4
    y[:2] = True
    y[2:4] = False
    # Rounded scores: many ties within and across classes; three models.
    scores = np.round(rng.random((3, n)) + 0.3 * y, 1)
    aucs, cov = delong_covariance(y, scores)
    ref_aucs, ref_cov = slow_delong(y, scores)
    np.testing.assert_allclose(aucs, ref_aucs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10, atol=1e-15)
    for r in range(3):
        assert aucs[r] == pytest.approx(roc_auc_score(y, scores[r]), abs=1e-12)


def test_float32_scores_compare_in_their_own_dtype() -> None:
    # 0.1 in float32 and float64 differ; placements must count float32 ties as ties.
    y = np.array([1, 0, 1, 0, 0, 1], dtype=bool)
    s32 = np.array([0.1, 0.1, 0.7, 0.2, 0.1, 0.3], dtype=np.float32)
    v10, v01 = delong_placements(y, s32)
    assert v10.mean() == pytest.approx(roc_auc_score(y, s32), abs=1e-12)
    assert v10[0] == pytest.approx((0 + 0.5 * 2) / 3)


def test_test_is_antisymmetric_and_identical_models_give_p_one() -> None:
    rng = np.random.default_rng(3)
    y = rng.random(300) < 0.3
    a = rng.random(300) + y * 0.5
    b = rng.random(300) + y * 0.8
    ab = delong_test(y, a, b)
    ba = delong_test(y, b, a)
    assert ab.difference == pytest.approx(-ba.difference)
    assert ab.z == pytest.approx(-ba.z)
    assert ab.p_value == pytest.approx(ba.p_value)
    assert ab.difference > 0 and ab.low < ab.difference < ab.high
    same = delong_test(y, a, a * 2 + 1)  # a monotone transform ranks identically
    assert same.difference == 0 and same.p_value == 1.0 and same.z == 0.0


def test_one_class_or_too_few_rows_is_undefined_not_an_error() -> None:
    y = np.ones(5, dtype=bool)
    t = delong_test(y, np.arange(5.0), np.arange(5.0)[::-1])
    assert math.isnan(t.p_value) and "one class" in t.note
    y = np.array([1, 0, 0, 0], dtype=bool)
    t = delong_test(y, np.array([0.9, 0.1, 0.2, 0.3]), np.array([0.2, 0.1, 0.3, 0.4]))
    assert math.isnan(t.p_value) and "at least 2 rows" in t.note
    assert t.to_json()["p_value"] is None


# ---------------------------------------------------------------------- pROC's published example
# pROC (Robin et al. 2011) ships the aSAH data (113 patients: 41 "Poor" outcomes = cases, 72
# "Good" = controls) and, in tests/testthat/helper-deLongPlacementsCpp-expected.R, the DeLong
# placements of three markers (ndka, wfns, s100b), each case and control in the data's row order.
# Below: 144 x each case's placement (2 x below + tied controls) and 82 x each control's placement
# (2 x above + tied cases). The placements fix every case-control ordering, so scores that
# reproduce them are the data as far as DeLong's test can tell; they are rebuilt below and checked.
ASAH = {
    "ndka": (
        [116, 90, 98, 110, 6, 40, 74, 134, 140, 134, 134, 58, 104, 124, 24, 36, 102, 2, 144, 124, 62,
         74, 80, 102, 128, 93, 124, 36, 142, 109, 6, 49, 124, 6, 48, 134, 76, 104, 138, 74, 110],
        [82, 68, 72, 58, 74, 33, 74, 26, 42, 26, 28, 6, 66, 74, 48, 74, 74, 2, 46, 62, 62, 26, 80, 72,
         74, 63, 44, 72, 34, 8, 72, 74, 48, 66, 72, 44, 16, 18, 60, 50, 4, 74, 28, 62, 58, 58, 34, 80,
         28, 48, 66, 58, 26, 58, 50, 72, 62, 58, 16, 68, 48, 45, 8, 52, 48, 66, 16, 60, 38, 18, 74, 42],
    ),
    "wfns": (
        [117, 94, 128, 140, 140, 140, 140, 94, 140, 94, 37, 94, 140, 128, 128, 94, 140, 140, 140, 94, 140,
         94, 140, 94, 128, 140, 128, 128, 37, 128, 128, 94, 94, 140, 140, 94, 94, 140, 140, 140, 140],
        [80, 80, 80, 80, 18, 80, 66, 66, 80, 66, 66, 80, 80, 80, 66, 80, 66, 80, 80, 53, 44, 80, 44, 80,
         18, 18, 80, 80, 66, 44, 80, 80, 66, 66, 80, 66, 80, 66, 66, 80, 80, 80, 80, 66, 80, 66, 80, 80,
         53, 66, 44, 66, 80, 44, 80, 80, 18, 44, 66, 66, 80, 80, 80, 53, 80, 66, 66, 44, 44, 80, 80, 80],
    ),
    "s100b": (
        [81, 63, 103, 78, 130, 144, 140, 26, 123, 50, 26, 128, 126, 139, 144, 118, 144, 144, 144, 26, 144,
         120, 0, 50, 116, 144, 118, 144, 38, 118, 81, 63, 74, 116, 144, 88, 144, 121, 144, 144, 130],
        [58, 55, 66, 80, 28, 52, 66, 66, 80, 73, 80, 70, 63, 77, 52, 77, 63, 58, 52, 80, 53, 55, 36, 70,
         24, 28, 53, 77, 32, 28, 63, 73, 70, 73, 80, 58, 66, 55, 54, 80, 80, 70, 80, 70, 73, 53, 70, 73,
         37, 63, 42, 77, 66, 39, 77, 80, 48, 34, 66, 54, 73, 55, 66, 77, 80, 52, 54, 28, 52, 54, 24, 27],
    ),
}


def scores_from_placements(cases2: list[int], controls2: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Integer scores for cases and controls whose DeLong placements are the given doubled counts."""
    m, n = len(cases2), len(controls2)
    # Controls with more cases above them score lower; equal placements can share one level.
    levels = sorted(set(controls2), reverse=True)
    control_score = np.array([2 * levels.index(v) for v in controls2], dtype=float)
    sizes = [controls2.count(v) for v in levels]
    cum = np.concatenate([[0], np.cumsum(sizes)])
    case_score = np.empty(m)
    for i, c in enumerate(cases2):
        between = np.flatnonzero(2 * cum == c)  # c / 2 controls below, none tied: between levels
        tied = np.flatnonzero(2 * cum[:-1] + np.array(sizes) == c)  # tied with one level
        case_score[i] = 2 * between[0] - 1 if between.size else 2 * tied[0]
    assert case_score.size == m and control_score.size == n
    return case_score, control_score


@pytest.fixture(scope="module")
def asah() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    y = np.r_[np.ones(41, dtype=bool), np.zeros(72, dtype=bool)]
    scores = {}
    for name, (cases2, controls2) in ASAH.items():
        cs, ns = scores_from_placements(cases2, controls2)
        s = np.r_[cs, ns]
        v10, v01 = delong_placements(y, s)
        # The rebuilt scores reproduce pROC's placements exactly, so they are the published data
        # as far as DeLong's test is concerned.
        np.testing.assert_array_equal(np.rint(v10 * 144).astype(int), cases2)
        np.testing.assert_array_equal(np.rint(v01 * 82).astype(int), controls2)
        scores[name] = s
    return y, scores


def test_asah_aucs_match_proc(asah: tuple[np.ndarray, dict[str, np.ndarray]]) -> None:
    y, s = asah
    aucs, _ = delong_covariance(y, np.stack([s["ndka"], s["wfns"], s["s100b"]]))
    # theta values in pROC's expected placements
    np.testing.assert_allclose(aucs, [0.611957994579946, 0.823678861788618, 0.731368563685637], atol=1e-14)


@pytest.mark.parametrize(
    ("first", "second", "z", "p"),
    [
        # pROC tests/testthat/test-roc.test.R: roc.test(r.wfns, r.s100b) etc. (Z = AUC1 - AUC2 over its SE)
        ("wfns", "s100b", 2.20898359144091, 0.0271757822291882),
        ("wfns", "ndka", 2.79777591868904, 0.00514557970691098),
        ("ndka", "s100b", -1.39077002573558, 0.164295175223054),
    ],
)
def test_asah_delong_test_matches_proc_roc_test(
    asah: tuple[np.ndarray, dict[str, np.ndarray]], first: str, second: str, z: float, p: float
) -> None:
    y, s = asah
    # evalstudio reports B - A; pROC's Z is roc1 - roc2: so A = roc2, B = roc1.
    t = delong_test(y, s[second], s[first])
    assert t.z == pytest.approx(z, rel=1e-10)
    assert t.p_value == pytest.approx(p, rel=1e-9)
