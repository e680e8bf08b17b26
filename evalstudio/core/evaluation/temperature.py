"""Temperature scaling (Guo et al., 2017): one number T that divides the logits.

Calibrated probabilities are ``softmax(z / T)`` (binary: ``sigmoid(z / T)``, the same thing with two
columns). T > 1 softens over-confident probabilities, T < 1 sharpens timid ones; the ranking of
rows, every binary decision at 0.5 and every multiclass argmax stay as they were, so accuracy and
ROC AUC do not move while log loss, the Brier score and the calibration error do.

The logits are recovered from the probabilities the model gives: ``z = log p`` (softmax is
unchanged by adding a constant to every logit, so log-probabilities are logits), which works the
same for models that end in a softmax or sigmoid and for those that output logits. T is fitted
by minimising the mean negative log-likelihood of the true class on calibration rows, a convex
function of ``1 / T``: Newton's method with a bisection bracket, to machine precision.

Numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from evalstudio.core.errors import DataError
from evalstudio.core.evaluation.predictions import Predictions

__all__ = ["TemperatureFit", "apply_temperature", "fit_temperature", "log_probabilities"]

#: T is searched in this range; a fit at a bound says the data want more (one class only, or rows
#: the model already separates perfectly).
T_MIN, T_MAX = 0.01, 100.0


def log_probabilities(y_score: np.ndarray) -> np.ndarray:
    """``log p`` in float64, probabilities clipped at the smallest positive float64 (no -inf)."""
    p = np.asarray(y_score, dtype=np.float64)
    return np.asarray(np.log(np.clip(p, np.finfo(np.float64).tiny, None)))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def apply_temperature(y_score: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities ``softmax(log p / T)`` of shape (n_samples, n_classes), float64.

    Decisions are kept exactly: where rounding would move a binary probability across 0.5 or
    tie the top class with another, that row's top probability is nudged by one ulp.
    """
    if not (isinstance(temperature, (int, float, np.floating)) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"the temperature must be a positive number, got {temperature!r}")
    z = log_probabilities(y_score)
    out = _softmax(z / float(temperature))
    before = np.asarray(y_score).argmax(axis=1)
    k = out.shape[1]
    if k == 2:  # binary decision at 0.5: p1 >= 0.5 must not change
        was = np.asarray(y_score, dtype=np.float64)[:, 1] >= 0.5
        now = out[:, 1] >= 0.5
        for i in np.flatnonzero(was != now):
            out[i, 1] = 0.5 if was[i] else np.nextafter(0.5, 0.0)
            out[i, 0] = 1.0 - out[i, 1]
    else:
        rows = np.flatnonzero(out.argmax(axis=1) != before)
        for i in rows:
            top = out[i].max()
            out[i, before[i]] = np.nextafter(top, 2.0)
    return out


@dataclass(frozen=True)
class TemperatureFit:
    """A fitted temperature and what it changed on the rows it was fitted on.

    Attributes
    ----------
    temperature : float
    n_samples : int
    nll_before, nll_after : float
        Mean negative log-likelihood of the true class at T = 1 and at the fitted T.
    at_bound : bool
        The fit stopped at ``T_MIN`` or ``T_MAX`` (the data ask for an extreme temperature).
    """

    temperature: float
    n_samples: int
    nll_before: float
    nll_after: float
    at_bound: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "n_samples": self.n_samples, "nll_before": self.nll_before,
                "nll_after": self.nll_after, "at_bound": self.at_bound}


def _nll_and_derivatives(beta: float, z: np.ndarray, z_true: np.ndarray) -> tuple[float, float, float]:
    """Mean NLL of softmax(beta z) and its first two derivatives in beta (convex in beta)."""
    bz = beta * z
    m = bz.max(axis=1, keepdims=True)
    e = np.exp(bz - m)
    s = e.sum(axis=1, keepdims=True)
    p = e / s
    lse = (m + np.log(s))[:, 0]
    mean_z = np.sum(p * z, axis=1)
    var_z = np.sum(p * z * z, axis=1) - mean_z**2
    return (float(np.mean(lse - beta * z_true)), float(np.mean(mean_z - z_true)),
            float(np.mean(np.maximum(var_z, 0.0))))


def nll_at(pred: Predictions, temperature: float) -> float:
    """Mean negative log-likelihood of the true class of ``softmax(log p / T)``."""
    z = log_probabilities(pred.y_score)
    return _nll_and_derivatives(1.0 / temperature, z, z[np.arange(z.shape[0]), pred.y_true])[0]


def fit_temperature(pred: Predictions) -> TemperatureFit:
    """The T in ``[T_MIN, T_MAX]`` that minimises the mean NLL of the true class on ``pred``'s rows.

    Raises
    ------
    DataError
        No rows, or a single class (there is nothing to calibrate against).
    """
    if pred.n_samples == 0:
        raise DataError("there are no calibration rows.", hint="Pass a CSV with labelled rows to --data.")
    if np.unique(pred.y_true).size < 2:
        raise DataError(f"every calibration row is of class {pred.classes[int(pred.y_true[0])]!r}; a temperature "
                        "fitted on one class only pushes every probability towards it.",
                        hint="Calibrate on rows of every class (held-out rows the model was not trained on).")
    z = log_probabilities(pred.y_score)
    z_true = z[np.arange(z.shape[0]), pred.y_true]
    lo, hi = 1.0 / T_MAX, 1.0 / T_MIN  # beta = 1 / T

    def f(b: float) -> tuple[float, float, float]:
        return _nll_and_derivatives(b, z, z_true)

    nll_before = f(1.0)[0]
    g_lo, g_hi = f(lo)[1], f(hi)[1]
    if g_lo >= 0:  # increasing from the smallest beta on: the largest T
        beta, at_bound = lo, True
    elif g_hi <= 0:  # still decreasing at the largest beta: the smallest T
        beta, at_bound = hi, True
    else:
        at_bound = False
        beta = min(max(1.0, lo), hi)
        for _ in range(200):
            _, g, h = f(beta)
            if g > 0:
                hi = beta
            else:
                lo = beta
            if abs(g) < 1e-13 or hi - lo < 1e-15 * hi:
                break
            step = beta - g / h if h > 0 else math.nan
            beta = step if lo < step < hi else (lo + hi) / 2.0  # Newton inside the bracket, else bisect
    t = 1.0 / beta
    return TemperatureFit(float(t), pred.n_samples, float(nll_before), float(f(beta)[0]), at_bound)


def calibrated(pred: Predictions, temperature: float) -> Predictions:
    """``pred`` with its probabilities scaled by ``temperature`` (float64; rows and labels unchanged)."""
    return Predictions(pred.y_true, apply_temperature(pred.y_score, temperature), pred.classes, pred.row_numbers)
