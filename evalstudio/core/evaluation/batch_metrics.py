"""The confusion-matrix metrics of :mod:`~evalstudio.core.evaluation.confusion`, for many matrices at once.

The bootstrap computes every metric on a thousand resamples; these are the same formulas (and the
same conventions: ``zero_division=0``, macro averages over the classes present in the labels or
the predictions, MCC 0 when undefined) vectorised over a leading axis of resamples. The tests
check them against the one-matrix functions, which the tests check against scikit-learn.
"""

from __future__ import annotations

import numpy as np

__all__ = ["binary_metrics_from_count_arrays", "multiclass_metrics_from_confusions"]


def _div0(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def binary_metrics_from_count_arrays(
    tn: np.ndarray, fp: np.ndarray, fn: np.ndarray, tp: np.ndarray
) -> dict[str, np.ndarray]:
    """:func:`~evalstudio.core.evaluation.confusion.binary_metrics_from_counts` over arrays of counts.

    Parameters
    ----------
    tn, fp, fn, tp : ndarray of shape (b,), integer or float
        One confusion matrix per resample (integers held exactly in float64 up to 2**53).

    Returns
    -------
    dict of str to ndarray of shape (b,), float64
        The same keys as the scalar function.
    """
    tn, fp, fn, tp = (np.asarray(a, dtype=np.float64) for a in (tn, fp, fn, tp))
    n = tn + fp + fn + tp
    n_pos, n_neg = tp + fn, tn + fp
    pred_pos, pred_neg = tp + fp, tn + fn
    precision, recall = _div0(tp, pred_pos), _div0(tp, n_pos)
    f1 = _div0(2 * tp, n_pos + pred_pos)
    npv, specificity = _div0(tn, pred_neg), _div0(tn, n_neg)
    f1_neg = _div0(2 * tn, n_neg + pred_neg)
    pos_present = (n_pos > 0) | (pred_pos > 0)
    neg_present = (n_neg > 0) | (pred_neg > 0)
    k = np.maximum(pos_present.astype(np.float64) + neg_present, 1.0)

    def macro(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
        return (np.where(pos_present, pos, 0.0) + np.where(neg_present, neg, 0.0)) / k

    has_pos, has_neg = n_pos > 0, n_neg > 0
    n_sup = has_pos.astype(np.float64) + has_neg
    balanced = _div0(np.where(has_pos, recall, 0.0) + np.where(has_neg, specificity, 0.0), n_sup)

    cov_ytyp = (tn + tp) * n - (n_neg * pred_neg + n_pos * pred_pos)
    cov_ypyp = n * n - (pred_neg * pred_neg + pred_pos * pred_pos)
    cov_ytyt = n * n - (n_neg * n_neg + n_pos * n_pos)
    den = cov_ytyt * cov_ypyp
    mcc = np.divide(cov_ytyp, np.sqrt(den, where=den > 0, out=np.ones_like(den)), out=np.zeros_like(den),
                    where=den != 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = np.where(n_neg > 0, fp / np.where(n_neg > 0, n_neg, 1.0), np.nan)
        tpr = np.where(n_pos > 0, tp / np.where(n_pos > 0, n_pos, 1.0), np.nan)
    return {
        "accuracy": _div0(tn + tp, n),
        "balanced_accuracy": balanced,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "specificity": specificity,
        "mcc": mcc,
        "fpr": fpr,
        "tpr": tpr,
        "npv": npv,
        "precision_macro": macro(precision, npv),
        "recall_macro": macro(recall, specificity),
        "f1_macro": macro(f1, f1_neg),
        "precision_weighted": _div0(precision * n_pos + npv * n_neg, n),
        "recall_weighted": _div0(recall * n_pos + specificity * n_neg, n),
        "f1_weighted": _div0(f1 * n_pos + f1_neg * n_neg, n),
    }


def multiclass_metrics_from_confusions(cm: np.ndarray) -> dict[str, np.ndarray]:
    """The ``metrics`` of :func:`~evalstudio.core.evaluation.confusion.multiclass_metrics_from_confusion`
    for a stack of K-class confusion matrices.

    Parameters
    ----------
    cm : ndarray of shape (b, K, K)
        Rows actual, columns predicted.

    Returns
    -------
    dict of str to ndarray of shape (b,), float64
    """
    c = np.asarray(cm, dtype=np.float64)
    n = c.sum(axis=(1, 2))
    tp = np.diagonal(c, axis1=1, axis2=2)
    true_sum = c.sum(axis=2)
    pred_sum = c.sum(axis=1)
    precision = _div0(tp, pred_sum)
    recall = _div0(tp, true_sum)
    f1 = _div0(2 * tp, true_sum + pred_sum)
    tn = n[:, None] - true_sum - pred_sum + tp
    specificity = _div0(tn, n[:, None] - true_sum)
    present = (true_sum > 0) | (pred_sum > 0)
    n_present = present.sum(axis=1)

    def macro(v: np.ndarray) -> np.ndarray:
        return _div0(np.where(present, v, 0.0).sum(axis=1), n_present)

    def weighted(v: np.ndarray) -> np.ndarray:
        return _div0((v * true_sum).sum(axis=1), true_sum.sum(axis=1))

    cov_ytyp = tp.sum(axis=1) * n - np.einsum("bk,bk->b", true_sum, pred_sum)
    cov_ypyp = n**2 - np.einsum("bk,bk->b", pred_sum, pred_sum)
    cov_ytyt = n**2 - np.einsum("bk,bk->b", true_sum, true_sum)
    den = cov_ytyt * cov_ypyp
    mcc = np.divide(cov_ytyp, np.sqrt(den, where=den > 0, out=np.ones_like(den)), out=np.zeros_like(den),
                    where=den != 0)
    supported = true_sum > 0
    balanced = _div0(np.where(supported, recall, 0.0).sum(axis=1), supported.sum(axis=1))
    return {
        "accuracy": _div0(tp.sum(axis=1), n),
        "balanced_accuracy": balanced,
        "precision": macro(precision),
        "recall": macro(recall),
        "f1": macro(f1),
        "specificity": macro(specificity),
        "mcc": mcc,
        "precision_macro": macro(precision),
        "recall_macro": macro(recall),
        "f1_macro": macro(f1),
        "precision_weighted": weighted(precision),
        "recall_weighted": weighted(recall),
        "f1_weighted": weighted(f1),
    }
