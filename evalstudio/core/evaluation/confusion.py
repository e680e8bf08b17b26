"""Metrics of predicted labels from confusion counts: no scores, no sorting, numpy only.

Shared by the threshold table (one 2 x 2 matrix per slider tick, in pure Python so a tick
costs microseconds) and the report (a K x K matrix for multiclass). Every formula is
scikit-learn's, including its conventions: a ratio with a zero denominator is 0
(``zero_division=0``); macro averages run over the classes present in the labels or the
predictions (scikit-learn without ``labels=``); balanced accuracy averages the recall of the
classes present in the labels; MCC is 0 when undefined.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["binary_metrics_from_counts", "confusion_matrix", "multiclass_metrics_from_confusion"]


def _ratio(num: float, den: float) -> float:
    """``num / den``, or 0.0 when ``den`` is 0 (scikit-learn's ``zero_division=0``)."""
    return num / den if den else 0.0


def binary_metrics_from_counts(tn: int, fp: int, fn: int, tp: int) -> dict[str, float]:
    """Every threshold-dependent binary metric from one confusion matrix.

    Pure Python arithmetic on four integers (a few microseconds), so the GUI can call it on
    every slider tick. Each value equals scikit-learn's on the labels these counts describe.

    Parameters
    ----------
    tn, fp, fn, tp : int
        True negatives, false positives, false negatives, true positives.

    Returns
    -------
    dict of str to float
        ``accuracy``, ``balanced_accuracy``, ``precision``, ``recall``, ``f1`` (of the positive
        class), ``specificity`` (recall of the negative class), ``mcc``, ``fpr``, ``tpr`` (NaN
        when there are no negatives / positives), ``npv`` (precision of the negative class),
        and ``precision_macro``, ``recall_macro``, ``f1_macro``, ``precision_weighted``,
        ``recall_weighted``, ``f1_weighted``.

    Notes
    -----
    Macro averages run over the classes present in the labels or the predictions (what
    scikit-learn does without ``labels=``); balanced accuracy averages the recall of the
    classes present in the labels (``balanced_accuracy_score``).
    """
    tn, fp, fn, tp = int(tn), int(fp), int(fn), int(tp)
    n = tn + fp + fn + tp
    n_pos, n_neg = tp + fn, tn + fp  # support of each class
    pred_pos, pred_neg = tp + fp, tn + fn

    precision, recall = _ratio(tp, pred_pos), _ratio(tp, n_pos)
    f1 = _ratio(2 * tp, n_pos + pred_pos)
    npv, specificity = _ratio(tn, pred_neg), _ratio(tn, n_neg)
    f1_neg = _ratio(2 * tn, n_neg + pred_neg)

    # Classes scikit-learn would see (unique_labels of y_true and y_pred).
    present = [(precision, recall, f1)] if (n_pos or pred_pos) else []
    if n_neg or pred_neg:
        present.append((npv, specificity, f1_neg))
    k = len(present) or 1
    recalls_with_support = [r for r, s in ((recall, n_pos), (specificity, n_neg)) if s]

    # Matthews correlation exactly as scikit-learn writes it (covariances from the sums).
    t_sum = (float(n_neg), float(n_pos))
    p_sum = (float(pred_neg), float(pred_pos))
    nf = float(n)
    cov_ytyp = (tn + tp) * nf - (t_sum[0] * p_sum[0] + t_sum[1] * p_sum[1])
    cov_ypyp = nf * nf - (p_sum[0] * p_sum[0] + p_sum[1] * p_sum[1])
    cov_ytyt = nf * nf - (t_sum[0] * t_sum[0] + t_sum[1] * t_sum[1])
    mcc = 0.0 if cov_ypyp * cov_ytyt == 0 else cov_ytyp / math.sqrt(cov_ytyt * cov_ypyp)

    return {
        "accuracy": _ratio(tn + tp, n),
        "balanced_accuracy": (
            sum(recalls_with_support) / len(recalls_with_support) if recalls_with_support else 0.0
        ),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "specificity": specificity,
        "mcc": mcc,
        "fpr": fp / n_neg if n_neg else math.nan,
        "tpr": tp / n_pos if n_pos else math.nan,
        "npv": npv,
        "precision_macro": sum(p[0] for p in present) / k,
        "recall_macro": sum(p[1] for p in present) / k,
        "f1_macro": sum(p[2] for p in present) / k,
        "precision_weighted": _ratio(precision * n_pos + npv * n_neg, n),
        "recall_weighted": _ratio(recall * n_pos + specificity * n_neg, n),
        "f1_weighted": _ratio(f1 * n_pos + f1_neg * n_neg, n),
    }



def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix by one ``bincount`` (rows actual, columns predicted).

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_samples,), int
        Class indices in ``0 .. n_classes - 1``.
    n_classes : int

    Returns
    -------
    ndarray of shape (n_classes, n_classes), int64
    """
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} must be 1-D of the same length")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            raise ValueError(f"{name} has class indices outside 0..{n_classes - 1}")
    flat = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64, copy=False)


def _div0(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    out: np.ndarray = np.divide(num, den, out=np.zeros_like(num), where=np.asarray(den) != 0)
    return out


def multiclass_metrics_from_confusion(cm: np.ndarray) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics of predicted labels (no scores needed) from a K-class confusion matrix.

    Parameters
    ----------
    cm : ndarray of shape (K, K)
        Rows actual, columns predicted.

    Returns
    -------
    metrics : dict of str to float
        accuracy, balanced_accuracy, mcc, precision/recall/f1 (macro) and their ``_macro`` and
        ``_weighted`` variants, specificity (macro one-vs-rest).
    per_class : dict of str to ndarray of shape (K,)
        precision, recall, f1, specificity, support.
    """
    c = np.asarray(cm, dtype=np.float64)
    n = c.sum()
    tp = np.diag(c)
    true_sum = c.sum(axis=1)
    pred_sum = c.sum(axis=0)
    precision = _div0(tp, pred_sum)
    recall = _div0(tp, true_sum)
    f1 = _div0(2 * tp, true_sum + pred_sum)
    tn = n - true_sum - pred_sum + tp
    specificity = _div0(tn, n - true_sum)
    present = (true_sum > 0) | (pred_sum > 0)

    def macro(v: np.ndarray) -> float:
        return float(v[present].mean()) if present.any() else 0.0

    def weighted(v: np.ndarray) -> float:
        return float(np.average(v, weights=true_sum)) if true_sum.sum() else 0.0

    # Matthews correlation as scikit-learn writes it.
    cov_ytyp = tp.sum() * n - np.dot(true_sum, pred_sum)
    cov_ypyp = n**2 - np.dot(pred_sum, pred_sum)
    cov_ytyt = n**2 - np.dot(true_sum, true_sum)
    mcc = 0.0 if cov_ypyp * cov_ytyt == 0 else float(cov_ytyp / np.sqrt(cov_ytyt * cov_ypyp))
    supported = true_sum > 0
    metrics = {
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "balanced_accuracy": float(recall[supported].mean()) if supported.any() else 0.0,
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
    per_class = {"precision": precision, "recall": recall, "f1": f1, "specificity": specificity,
                 "support": true_sum.astype(np.int64)}
    return metrics, per_class
