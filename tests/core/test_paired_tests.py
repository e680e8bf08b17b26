"""McNemar's exact test against scipy; the corrected resampled t-test against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from evalstudio.core.evaluation.paired_tests import (
    binomial_two_sided_half,
    corrected_resampled_ttest,
    mcnemar_test,
)


@pytest.mark.parametrize("b", [0, 1, 2, 5, 12, 25, 40, 100, 517])
@pytest.mark.parametrize("c", [0, 1, 3, 12, 25, 41, 100, 480])
def test_binomial_p_equals_scipy_binomtest(b: int, c: int) -> None:
    expected = 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue
    assert binomial_two_sided_half(b, b + c) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_mcnemar_counts_the_discordant_rows() -> None:
    rng = np.random.default_rng(0)
    a = rng.random(1000) < 0.8
    b = rng.random(1000) < 0.75
    t = mcnemar_test(a, b)
    assert t.b == int(np.sum(a & ~b)) and t.c == int(np.sum(~a & b))
    assert t.both_right == int(np.sum(a & b)) and t.both_wrong == int(np.sum(~a & ~b))
    assert t.n == 1000
    assert t.p_value == pytest.approx(binomtest(t.b, t.b + t.c, 0.5).pvalue, rel=1e-12)
    # The example counts, b = 12 and c = 25: exact p = 0.0470 (the 0.046 is illustrative)
    ex = mcnemar_test(np.r_[np.ones(12, bool), np.zeros(25, bool)], np.r_[np.zeros(12, bool), np.ones(25, bool)])
    assert (ex.b, ex.c) == (12, 25)
    assert ex.p_value == pytest.approx(0.047031, abs=1e-6)


def test_mcnemar_with_no_disagreement_is_one() -> None:
    same = np.array([True, False, True])
    t = mcnemar_test(same, same)
    assert (t.b, t.c, t.p_value) == (0, 0, 1.0)


def test_corrected_ttest_by_hand() -> None:
    # Five folds of 768 rows (154, 154, 153, 153, 154 held out); B - A accuracy per fold:
    d = [0.02, 0.01, 0.03, -0.01, 0.02]
    n_test = [154, 154, 153, 153, 154]
    n_train = [614, 614, 615, 615, 614]
    t = corrected_resampled_ttest(d, n_train, n_test)
    # mean = 0.07 / 5 = 0.014
    # deviations 0.006, -0.004, 0.016, -0.024, 0.006; squares sum to 0.00092; / (5 - 1) = 0.00023
    # n_test / n_train: 154/614 = 0.25081433, 153/615 = 0.24878049; mean = 0.25000079
    # t = 0.014 / sqrt((1/5 + 0.25000079) * 0.00023) = 0.014 / 0.01017350 = 1.37612
    assert t.mean == pytest.approx(0.014, abs=1e-15)
    assert t.test_train_ratio == pytest.approx(0.25000079, abs=1e-8)
    assert t.t == pytest.approx(1.37612, abs=1e-5)
    assert t.df == 4
    # Student's t with 4 df: P(|T| > 1.37612) = 0.2408 (tables: t_0.90 = 1.533, t_0.85 = 1.190)
    assert t.p_value == pytest.approx(0.24080, abs=1e-5)
    # Uncorrected, the same folds look far more convincing: t = 0.014 / sqrt(0.00023 / 5) = 2.064
    assert 0.014 / math.sqrt(0.00023 / 5) == pytest.approx(2.0642, abs=1e-4)
    assert t.differences == tuple(d)


def test_corrected_ttest_degenerate_cases() -> None:
    zero = corrected_resampled_ttest([0.0, 0.0, 0.0], [10, 10, 10], [5, 5, 5])
    assert zero.t == 0.0 and zero.p_value == 1.0
    const = corrected_resampled_ttest([0.01, 0.01, 0.01], [10, 10, 10], [5, 5, 5])
    assert math.isnan(const.p_value) and "variance is 0" in const.note
    with pytest.raises(ValueError):
        corrected_resampled_ttest([0.1], [10], [5])
