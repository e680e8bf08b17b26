"""The self-contained HTML report of one evaluation, and the small per-row helpers the views use.

The report is one HTML file with no external references: the curves and the matrix arrive as
PNG bytes (rendered by the GUI or the CLI) and are embedded as base64 ``data:`` URIs, so the file
opens in any browser with no network. Everything in it is escaped; nothing is computed here that
the metrics module already computes (the caller passes the metrics in).

Qt-free: this module imports numpy and the standard library only.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evalstudio.core.atomic import atomic_write
from evalstudio.core.data.fingerprints import file_sha256
from evalstudio.core.errors import EvalStudioError
from evalstudio.core.evaluation.predictions import Predictions

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Human names of the metric keys of EvaluationReport.metrics, in display order.
METRIC_LABELS: dict[str, str] = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "precision": "Precision",
    "recall": "Recall (sensitivity)",
    "f1": "F1",
    "specificity": "Specificity",
    "mcc": "MCC",
    "roc_auc": "ROC AUC",
    "average_precision": "Average precision",
    "log_loss": "Log loss",
}



def metric_label(key: str) -> str:
    """Human name of a metric key: ``"f1_macro"`` -> ``"F1 (macro)"``; unknown keys as written."""
    if key in METRIC_LABELS:
        return METRIC_LABELS[key]
    for suffix in ("macro", "weighted"):
        base = key.removesuffix(f"_{suffix}")
        if base != key and base in METRIC_LABELS:
            return f"{METRIC_LABELS[base].split(' (')[0]} ({suffix})"
    return key.replace("_", " ")


# --------------------------------------------------------------------------- per-row helpers


def per_row_loss(pred: Predictions) -> np.ndarray:
    """Cross-entropy of every row: ``-log p(actual class)``.

    The mean over rows is scikit-learn's ``log_loss`` on the same inputs (probabilities are
    clipped to ``[eps, 1]`` with the float64 machine epsilon so a confident miss is large but
    finite, and rows are renormalised to sum to 1 as scikit-learn does).

    Parameters
    ----------
    pred : Predictions

    Returns
    -------
    ndarray of shape (n_samples,), float64
    """
    p = np.asarray(pred.y_score, dtype=np.float64)
    eps = np.finfo(np.float64).eps
    p = np.clip(p, eps, 1.0)
    p_true = p[np.arange(pred.n_samples), pred.y_true] / p.sum(axis=1)
    losses: np.ndarray = -np.log(p_true)
    return losses


def rows_by_loss(index: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """Positions ``index`` reordered worst first (highest loss), ties kept in row order.

    Parameters
    ----------
    index : ndarray of shape (k,), int -- positions into the predictions
    loss : ndarray of shape (n_samples,) -- :func:`per_row_loss` of all rows
    """
    index = np.asarray(index, dtype=np.int64)
    order = np.argsort(-loss[index], kind="stable")
    return index[order]


def predicted_labels(pred: Predictions, *, threshold: float = 0.5, positive: int = 1) -> np.ndarray:
    """Predicted class index of every row, as the confusion matrix counts it.

    Binary: ``positive`` when its score ``>= threshold`` (compared in the scores' dtype, the
    rule of :class:`~evalstudio.core.evaluation.thresholds.ThresholdTable`), else the other class.
    Multiclass: the most probable class (argmax).

    Returns
    -------
    ndarray of shape (n_samples,), int64
    """
    if pred.task != "binary":
        return pred.argmax().astype(np.int64)
    scores = pred.y_score[:, positive]
    is_pos = scores >= np.asarray(threshold, dtype=scores.dtype)
    return np.where(is_pos, positive, 1 - positive).astype(np.int64)


def one_vs_rest_codes(pred: Predictions, k: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(actual, predicted) codes of class ``k`` against the rest: 1 for ``k``, 0 for the rest.

    Predicted is 1 where the score of class ``k`` is ``>= threshold`` (the table's rule).
    """
    scores = pred.y_score[:, k]
    actual = (pred.y_true == k).astype(np.int64)
    predicted = (scores >= np.asarray(threshold, dtype=scores.dtype)).astype(np.int64)
    return actual, predicted


def rows_in_cell(
    actual_codes: np.ndarray,
    predicted_codes: np.ndarray,
    actual: int | None,
    predicted: int | None,
    loss: np.ndarray,
) -> np.ndarray:
    """Positions of the rows behind one confusion-matrix cell, worst loss first.

    Parameters
    ----------
    actual_codes, predicted_codes : ndarray of shape (n_samples,), int
    actual, predicted : int or None -- the cell's row and column; None means any (a whole
        row, a whole column, or with both None every row)
    loss : ndarray of shape (n_samples,) -- :func:`per_row_loss`
    """
    mask = np.ones(np.asarray(actual_codes).shape[0], dtype=bool)
    if actual is not None:
        mask &= actual_codes == actual
    if predicted is not None:
        mask &= predicted_codes == predicted
    return rows_by_loss(np.flatnonzero(mask), loss)


def auc_band(auc: float | None) -> str:
    """Plain words for a ROC AUC, the bands of the third tutorial.

    excellent >= 0.9, good >= 0.8, fair >= 0.7, poor >= 0.6, else fail; ``"n/a"`` when undefined.
    """
    if auc is None or not math.isfinite(auc):
        return "n/a"
    for limit, word in ((0.9, "excellent"), (0.8, "good"), (0.7, "fair"), (0.6, "poor")):
        if auc >= limit:
            return word
    return "fail"


def file_identity(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """``{"path", "sha256", "bytes"}`` of a file for the report (empty dict for None)."""
    if path is None or os.fspath(path) == "":
        return {}
    p = Path(path)
    return {"path": str(p.resolve()), "sha256": file_sha256(p), "bytes": p.stat().st_size}


# --------------------------------------------------------------------------- HTML report

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:60em;
color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:0}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left}th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.hash{font-family:monospace;font-size:.85em;word-break:break-all}
.sub{color:#666}figure{display:inline-block;margin:.5em 1em .5em 0}figure img{max-width:28em;
border:1px solid #ddd}figcaption{color:#555;font-size:.9em}
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return "n/a" if not math.isfinite(v) else f"{v:.4f}"
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def _kv_table(items: Mapping[str, Any], *, hash_keys: tuple[str, ...] = ("sha256",)) -> str:
    rows = []
    for key, value in items.items():
        cls = ' class="hash"' if key in hash_keys else (
            ' class="num"' if isinstance(value, (int, float, np.number)) else ""
        )
        rows.append(f"<tr><th>{html.escape(str(key))}</th><td{cls}>{html.escape(_fmt(value))}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _matrix_table(cm: np.ndarray, classes: Sequence[str]) -> str:
    cm = np.asarray(cm)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in classes)
    body = []
    for i, name in enumerate(classes):
        cells = "".join(f'<td class="num">{int(v)}</td>' for v in cm[i])
        body.append(f'<tr><th>{html.escape(name)}</th>{cells}<td class="num">{int(cm[i].sum())}</td></tr>')
    totals = "".join(f'<td class="num">{int(v)}</td>' for v in cm.sum(axis=0))
    return (
        "<table><tr><th>actual \\ predicted</th>" + head + "<th>total</th></tr>" + "".join(body)
        + f'<tr><th>total</th>{totals}<td class="num">{int(cm.sum())}</td></tr></table>'
    )


def _image(name: str, data: bytes) -> str:
    if not isinstance(data, (bytes, bytearray)) or not bytes(data[:8]) == PNG_MAGIC:
        raise ValueError(f"report image {name!r} is not PNG bytes")
    b64 = base64.b64encode(bytes(data)).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{b64}">'
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
    )


def build_html_report(
    *,
    title: str,
    metrics: Mapping[str, float | None],
    confusion_matrix: np.ndarray,
    classes: Sequence[str],
    threshold: float | None = None,
    per_class: Sequence[Mapping[str, Any]] = (),
    settings: Mapping[str, Any] | None = None,
    identity: Mapping[str, Mapping[str, Any]] | None = None,
    images: Mapping[str, bytes] | None = None,
    generated: _dt.datetime | None = None,
) -> str:
    """One self-contained HTML page describing an evaluation.

    Parameters
    ----------
    title : str
    metrics : mapping of metric key -> value (``EvaluationReport.metrics``; keys of
        :data:`METRIC_LABELS` get their human names, others are shown as is)
    confusion_matrix : ndarray of shape (n_classes, n_classes), rows actual
    classes : sequence of str
    threshold : float, optional -- the decision threshold the matrix and metrics are at
    per_class : sequence of dicts {class, precision, recall, f1, support}
    settings : mapping, optional -- e.g. device, batch size, positive class, costs
    identity : mapping of role -> :func:`file_identity` dict, e.g. {"data": ..., "model": ...}
    images : mapping of caption -> PNG bytes (embedded as data URIs)
    generated : datetime, optional -- time stamp shown in the header (default: now, UTC)

    Returns
    -------
    str -- the HTML document
    """
    from evalstudio import __version__

    cm = np.asarray(confusion_matrix)
    n = len(classes)
    if cm.shape != (n, n):
        raise ValueError(f"confusion matrix has shape {cm.shape} but there are {n} classes")
    when = (generated or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="sub">evalstudio {html.escape(__version__)} &middot; {html.escape(when)}'
        + (f" &middot; threshold {threshold:.4f}" if threshold is not None else "")
        + f" &middot; {int(cm.sum())} rows</p>",
    ]
    if settings:
        parts += ["<h2>Settings</h2>", _kv_table(settings)]
    parts.append("<h2>Data and model</h2>")
    known = {role: ident for role, ident in (identity or {}).items() if ident}
    for role, ident in known.items():
        parts += [f"<h3>{html.escape(role)}</h3>", _kv_table(ident)]
    if not known:
        # Say so rather than leave the section out: a reader must not assume the files were checked.
        parts.append("<p>Not recorded: no data or model file was given for this evaluation, so this "
                     "report cannot name or hash them.</p>")
    # The names the app shows (known metrics first, in the usual order), so the two read alike.
    keys = [k for k in METRIC_LABELS if k in metrics] + [k for k in metrics if k not in METRIC_LABELS]
    named = {metric_label(k): metrics[k] for k in keys}
    parts += ["<h2>Metrics</h2>", _kv_table(named)]
    if per_class:
        cols = ("class", "precision", "recall", "f1", "support")
        head = "".join(f"<th>{c}</th>" for c in cols)
        num = ' class="num"'
        body = "".join(
            "<tr>" + "".join(
                f"<td{'' if c == 'class' else num}>{html.escape(_fmt(row.get(c)))}</td>" for c in cols
            ) + "</tr>"
            for row in per_class
        )
        parts += ["<h2>Per class</h2>", f"<table><tr>{head}</tr>{body}</table>"]
    parts += ["<h2>Confusion matrix</h2>", _matrix_table(cm, [str(c) for c in classes])]
    if images:
        parts += ["<h2>Curves</h2>", "<div>" + "".join(_image(k, v) for k, v in images.items()) + "</div>"]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html_report(path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Build the report (same keywords as :func:`build_html_report`) and write it atomically."""
    text = build_html_report(**kwargs)
    target = Path(path)
    try:
        with atomic_write(target, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise EvalStudioError(
            f"cannot write the report to {target} ({exc.strerror}).",
            hint="Choose a folder you can write to.",
        ) from exc
    return target
