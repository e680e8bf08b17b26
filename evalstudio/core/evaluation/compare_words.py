"""A comparison in plain words: the sentences the CLI prints and the app's Compare view shows.

"B is more accurate by 3.5 points (95 % interval 0.4 to 6.6); McNemar p = 0.046 (B right where
A is wrong on 25 rows, the reverse on 12)". Intervals are said in the sentence's own direction:
"less accurate by 2.1 points (95 % interval -0.8 to 5.0)" is the interval of A - B.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalstudio.core.evaluation.comparison import Difference, ModelComparison, PairComparison

__all__ = ["accuracy_sentence", "auc_sentence", "comparison_sentences", "p_text", "verdict"]

READABLE = {
    "accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "roc_auc": "ROC AUC", "f1": "F1",
    "average_precision": "average precision", "log_loss": "log loss", "mcc": "MCC", "precision": "precision",
    "recall": "recall", "specificity": "specificity", "f1_macro": "macro F1", "f1_weighted": "weighted F1",
}


def p_text(p: float) -> str:
    """``p = 0.046``, ``p < 0.001``, ``p = 1``; ``p undefined`` for NaN."""
    if not math.isfinite(p):
        return "p undefined"
    if p < 0.001:
        return "p < 0.001"
    if p >= 1.0:
        return "p = 1"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def _num(v: float, fmt: str) -> str:
    """``v`` formatted, without the minus of a value that rounds to zero ("-0.000")."""
    text = f"{v:{fmt}}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _interval(d: "Difference", sign: float, scale: float, fmt: str, confidence: float) -> str:
    if not (math.isfinite(d.low) and math.isfinite(d.high)):
        return ""
    lo, hi = sorted((sign * d.low * scale, sign * d.high * scale))
    return f"{confidence * 100:g} % interval {_num(lo, fmt)} to {_num(hi, fmt)}"


def accuracy_sentence(comparison: "ModelComparison", pair: "PairComparison") -> str:
    """How much more (or less) accurate B is than A, and McNemar's test on the disagreements."""
    a, b = comparison.names[pair.a], comparison.names[pair.b]
    d = pair.differences["accuracy"]
    confidence = float(comparison.interval.get("confidence", 0.95)) if comparison.interval else 0.95
    points = d.value * 100
    if abs(points) < 0.05:
        head = f"{b} and {a} are equally accurate"
        interval = _interval(d, 1.0, 100, ".1f", confidence)
    else:
        sign = 1.0 if points > 0 else -1.0
        head = f"{b} is {'more' if points > 0 else 'less'} accurate by {abs(points):.1f} points"
        interval = _interval(d, sign, 100, ".1f", confidence)
    m = pair.mcnemar
    return (f"{head}{f' ({interval})' if interval else ''}; McNemar {p_text(m.p_value)} "
            f"({b} right where {a} is wrong on {m.c} rows, the reverse on {m.b})")


def auc_sentence(comparison: "ModelComparison", pair: "PairComparison") -> str | None:
    """DeLong's test of the ROC AUCs in words (binary tasks), None when there is none."""
    t = pair.delong
    if t is None:
        return None
    a, b = comparison.names[pair.a], comparison.names[pair.b]
    if not math.isfinite(t.difference):
        return f"ROC AUC: DeLong's test is undefined ({t.note})"
    body = f"{b}'s ROC AUC is {t.auc_b:.3f} against {a}'s {t.auc_a:.3f}"
    if abs(t.difference) < 5e-4:
        head = f"{body}: no difference"
    else:
        head = f"{body}: {'higher' if t.difference > 0 else 'lower'} by {abs(t.difference):.3f}"
    interval = ""
    if math.isfinite(t.low):
        lo, hi = sorted((t.low, t.high) if t.difference >= 0 else (-t.low, -t.high))
        interval = f" ({t.confidence * 100:g} % interval {_num(lo, '.3f')} to {_num(hi, '.3f')})"
    z = f", z = {t.z:.2f}" if math.isfinite(t.z) else ""
    return f"{head}{interval}; DeLong {p_text(t.p_value)}{z}"


def verdict(comparison: "ModelComparison", pair: "PairComparison", alpha: float = 0.05) -> str:
    """One line a person can act on: is B better, worse, or not clearly different?

    Accuracy at the threshold (McNemar) comes first; the ranking (DeLong's test of the ROC AUCs,
    binary) is added when it tells the models apart on its own.
    """
    a, b = comparison.names[pair.a], comparison.names[pair.b]
    m = pair.mcnemar
    d = pair.differences["accuracy"]
    t = pair.delong
    ranks = ""
    if t is not None and math.isfinite(t.p_value) and t.p_value < alpha and t.difference != 0:
        better = b if t.difference > 0 else a
        ranks = (f"{better} ranks the rows better (ROC AUC higher by {abs(t.difference):.3f}, "
                 f"DeLong {p_text(t.p_value)})")
    if m.b + m.c == 0:
        head = f"{a} and {b} make the same decisions on every row at this threshold"
        return f"{head}; {ranks}." if ranks else f"{head}: nothing tells them apart here."
    if m.p_value < alpha:
        better, worse = (b, a) if m.c > m.b else (a, b)
        head = (f"{better} is more accurate than {worse} on these {comparison.n_samples} rows, beyond what "
                f"chance disagreement explains (McNemar {p_text(m.p_value)} < {alpha:g})")
        return f"{head}; {ranks}." if ranks else f"{head}."
    span = ""
    if math.isfinite(d.low) and d.low <= 0 <= d.high:
        span = "; the interval of the difference includes 0"
    elif math.isfinite(d.low):
        span = "; the bootstrap interval of the difference excludes 0: a borderline case"
    head = f"No clear difference in accuracy on these {comparison.n_samples} rows (McNemar {p_text(m.p_value)}{span})"
    if ranks:
        return f"{head}, but {ranks}: the models differ in how they order the rows more than at this threshold."
    return f"{head}: more rows, or a larger gap, are needed to tell {a} and {b} apart."


def comparison_sentences(comparison: "ModelComparison") -> list[str]:
    """Every pair's sentences, in order: accuracy + McNemar, AUC + DeLong, verdict."""
    out = []
    for pair in comparison.pairs:
        out.append(accuracy_sentence(comparison, pair))
        auc = auc_sentence(comparison, pair)
        if auc:
            out.append(auc)
        out.append(verdict(comparison, pair))
    return out
