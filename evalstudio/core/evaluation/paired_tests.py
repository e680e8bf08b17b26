"""Paired tests for comparing two models: McNemar's exact test and the corrected resampled t-test.

- :func:`mcnemar_test`: two models scored on the same rows at one decision rule; only the rows on
  which they disagree count. ``b`` = rows A gets right and B wrong, ``c`` = the reverse; under the
  null hypothesis each disagreement goes either way with probability 1/2, so the exact two-sided
  p-value is the binomial one (``scipy.stats.binomtest(b, b + c, 0.5)``; 1 when ``b + c = 0``).
- :func:`corrected_resampled_ttest`: the per-fold differences of two k-fold runs on the same folds.
  Folds share training rows, so the plain paired t-test is far too confident; Nadeau and Bengio
  (2003) inflate the variance by the test/train size ratio::

      t = mean(d) / sqrt((1/k + n_test/n_train) * var(d, ddof=1)),   df = k - 1

  with ``n_test/n_train`` averaged over the folds and a two-sided p from Student's t.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CorrectedTTest", "McNemarTest", "corrected_resampled_ttest", "mcnemar_test"]


@dataclass(frozen=True)
class McNemarTest:
    """McNemar's exact test of two models' correctness on the same rows.

    Attributes
    ----------
    b : int
        Rows A gets right and B gets wrong.
    c : int
        Rows B gets right and A gets wrong.
    both_right, both_wrong : int
        The concordant rows (they do not enter the test).
    p_value : float
        Exact two-sided binomial p-value of ``b`` out of ``b + c`` at 1/2.
    """

    b: int
    c: int
    both_right: int
    both_wrong: int
    p_value: float

    @property
    def n(self) -> int:
        return self.b + self.c + self.both_right + self.both_wrong

    def to_json(self) -> dict[str, object]:
        return {"b": self.b, "c": self.c, "p_value": self.p_value,
                "both_right": self.both_right, "both_wrong": self.both_wrong}


def binomial_two_sided_half(k: int, n: int) -> float:
    """Exact two-sided p-value of ``k`` successes in ``n`` trials at probability 1/2.

    The distribution is symmetric, so scipy's "as or less likely" two-sided rule is twice the
    smaller tail, capped at 1 (and 1 when ``n = 0``).
    """
    if n == 0:
        return 1.0
    from scipy.stats import binom

    tail = float(binom.cdf(min(k, n - k), n, 0.5))
    return min(1.0, 2.0 * tail)


def mcnemar_test(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemarTest:
    """McNemar's exact test from each row's correctness under model A and model B.

    Parameters
    ----------
    correct_a, correct_b : ndarray of shape (n_samples,), bool
        Whether each model predicts each row's class, rows paired in the same order.
    """
    a = np.asarray(correct_a, dtype=bool)
    b_ = np.asarray(correct_b, dtype=bool)
    if a.shape != b_.shape or a.ndim != 1:
        raise ValueError(f"correct_a {a.shape} and correct_b {b_.shape} must be 1-D of the same length")
    both_right = int(np.count_nonzero(a & b_))
    only_a = int(np.count_nonzero(a)) - both_right
    only_b = int(np.count_nonzero(b_)) - both_right
    both_wrong = int(a.size) - both_right - only_a - only_b
    return McNemarTest(only_a, only_b, both_right, both_wrong, binomial_two_sided_half(only_a, only_a + only_b))


@dataclass(frozen=True)
class CorrectedTTest:
    """Nadeau and Bengio's corrected resampled t-test of per-fold differences (B - A).

    Attributes
    ----------
    differences : tuple of float
        Per fold, metric of B minus metric of A.
    mean : float
    t : float
        NaN when the differences do not vary (the test is then undefined, unless they are all 0).
    df : int
        k - 1.
    p_value : float
        Two-sided, from Student's t with ``df`` degrees of freedom.
    test_train_ratio : float
        ``n_test / n_train`` averaged over the folds.
    note : str
        Why the test is undefined, when it is.
    """

    differences: tuple[float, ...]
    mean: float
    t: float
    df: int
    p_value: float
    test_train_ratio: float
    note: str = ""

    method = "corrected resampled t-test (Nadeau and Bengio 2003)"


def corrected_resampled_ttest(
    differences: Sequence[float], n_train: Sequence[int], n_test: Sequence[int]
) -> CorrectedTTest:
    """The corrected resampled t-test of ``k`` per-fold differences.

    Parameters
    ----------
    differences : sequence of float, length k (at least 2)
        Per fold: the metric of B minus the metric of A, both on that fold's held-out rows.
    n_train, n_test : sequences of int, length k
        Training and held-out rows of each fold.
    """
    d = np.asarray(differences, dtype=np.float64)
    k = int(d.size)
    if k < 2 or len(n_train) != k or len(n_test) != k:
        raise ValueError("the corrected t-test needs at least 2 folds, with n_train and n_test for each")
    ratio = float(np.mean(np.asarray(n_test, dtype=np.float64) / np.asarray(n_train, dtype=np.float64)))
    mean = float(d.mean())
    var = float(d.var(ddof=1))
    diffs = tuple(float(v) for v in d)
    if var <= 0.0:
        if mean == 0.0:
            return CorrectedTTest(diffs, 0.0, 0.0, k - 1, 1.0, ratio, "the two runs score the same in every fold")
        return CorrectedTTest(diffs, mean, math.nan, k - 1, math.nan, ratio,
                              "the difference is the same in every fold, so its variance is 0 and the "
                              "t-test is undefined")
    t = mean / math.sqrt((1.0 / k + ratio) * var)
    from scipy.stats import t as student_t

    p = float(2.0 * student_t.sf(abs(t), k - 1))
    return CorrectedTTest(diffs, mean, t, k - 1, min(1.0, p), ratio)
