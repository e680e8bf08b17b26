"""The text ``evalstudio compare`` prints: who was compared on which rows, a table, the tests in words."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from evalstudio.commands._common import format_table

BINARY_KEYS = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "specificity", "mcc",
               "roc_auc", "average_precision", "log_loss"]
MULTICLASS_KEYS = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "f1_weighted", "mcc",
                   "roc_auc", "average_precision", "log_loss"]


def _fmt(v: float, signed: bool = False) -> str:
    if not math.isfinite(v):
        return "nan"
    return f"{v:+.4f}" if signed else f"{v:.4f}"


def metrics_table(comparison: Any) -> str:
    """metric, each model's value, then per other model: its difference from A and the interval."""
    keys = [k for k in (BINARY_KEYS if comparison.task == "binary" else MULTICLASS_KEYS)
            if k in comparison.reports[0].metrics]
    a = comparison.names[0]
    header = ["metric", *comparison.names]
    for pair in comparison.pairs:
        b = comparison.names[pair.b]
        header.append(f"{b} - {a}")
        if comparison.intervals:
            header.append(f"{float(comparison.interval.get('confidence', 0.95)) * 100:g} % interval")
    rows = []
    for k in keys:
        row: list[Any] = [k, *(_fmt(r.metrics.get(k, math.nan)) for r in comparison.reports)]
        for pair in comparison.pairs:
            d = pair.differences.get(k)
            row.append(_fmt(d.value, signed=True) if d is not None else "")
            if comparison.intervals:
                ok = d is not None and math.isfinite(d.low) and math.isfinite(d.high)
                row.append(f"[{d.low:+.4f}, {d.high:+.4f}]" if ok and d is not None else "")
        rows.append(row)
    return format_table(header, rows)


def comparison_text(result: Any, specs: Sequence[Any]) -> str:
    from evalstudio.core.evaluation.compare_run import model_label
    from evalstudio.core.evaluation.compare_words import comparison_sentences

    c = result.comparison
    first = result.outcomes[0]
    ds = first.dataset
    width = max(7, *(len(n) + 2 for n in c.names))
    lines = [f"{'data:':<{width}} {ds.source}  (target {ds.target_name!r})"]
    for name, spec, out, n in zip(c.names, specs, result.outcomes, c.n_scored):
        lines.append(f"{name + ':':<{width}} {model_label(spec)}  ({n} rows scored; outputs read as "
                     f"{out.output_kind.value}; {out.device})")
    how = (f"binary task, positive class {c.classes[c.positive]!r}, threshold {c.threshold:g}" if c.task == "binary"
           else f"{len(c.classes)} classes, each row predicted as its most probable class")
    lines.append(f"{'paired:':<{width}} {c.n_samples} rows scored by every model (matched by row number); {how}")
    for note in c.notes:
        lines.append(f"{'note:':<{width}} {note}")
    if c.interval:
        iv = c.interval
        lines.append(f"intervals: {iv.get('method', 'bootstrap')}, {iv.get('resamples', '?')} resamples of the "
                     f"paired rows (seed {iv.get('seed', 0)}), the same resamples for every model")
    lines += ["", metrics_table(c), ""]
    lines += comparison_sentences(c)
    for pair in c.pairs:
        if pair.delong_per_class:
            a, b = c.names[pair.a], c.names[pair.b]
            lines.append("")
            lines.append(f"ROC AUC per class (one vs rest), {b} - {a}, DeLong's test:")
            rows = [(cls, _fmt(t.auc_a), _fmt(t.auc_b), _fmt(t.difference, True),
                     "undefined" if not math.isfinite(t.p_value) else f"{t.p_value:.4f}")
                    for cls, t in pair.delong_per_class]
            lines.append(format_table(["class", a, b, "difference", "p"], rows))
    return "\n".join(lines)


def kfold_text(result: Any, runs: Sequence[Any]) -> str:
    from evalstudio.core.training.kfold_compare import kfold_sentences

    a, b = result.names
    lines = [
        f"A: {a}   B: {b}",
        f"same data (SHA-256 {runs[0].data_sha256[:12]}...) and the same {runs[0].k} folds "
        f"(fold fingerprint {runs[0].folds_fingerprint[:12]}...)",
        "",
    ]
    rows = [(str(i + 1), _fmt(x), _fmt(y), _fmt(d, True))
            for i, (x, y, d) in enumerate(zip(result.values_a, result.values_b, result.test.differences))]
    rows.append(("mean", _fmt(sum(result.values_a) / len(result.values_a)),
                 _fmt(sum(result.values_b) / len(result.values_b)), _fmt(result.test.mean, True)))
    lines.append(format_table(["fold", f"{result.metric} {a}", f"{result.metric} {b}", "B - A"], rows))
    lines.append("")
    lines += [f"note: {n}" for n in result.notes]
    lines += kfold_sentences(result)
    return "\n".join(lines)
