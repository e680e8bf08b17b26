"""Pieces shared by the CLI subcommands: common flags, text tables, JSON and CSV outputs."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evalstudio.core.atomic import atomic_write
from evalstudio.core.errors import EvalStudioError
from evalstudio.core.paths import describe_os_error


def add_data_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument("--data", metavar="CSV", required=required, help="the dataset (CSV; delimiter sniffed)")
    p.add_argument("--target", metavar="COL", help="label column (default: target/label/class/y/outcome, else the last)")
    p.add_argument("--drop-missing", action="store_true",
                   help="drop rows with missing or infinite feature values (counted and reported)")


def add_model_args(p: argparse.ArgumentParser, *, model_required: bool = True) -> None:
    p.add_argument("--model", metavar="PATH", required=model_required,
                   help="model definition: a Python file with an nn.Module, or a TorchScript file")
    p.add_argument("--checkpoint", metavar="PATH", help="weights: state_dict, checkpoint dict or safetensors")
    p.add_argument("--entry", metavar="NAME", help="the function, instance or class in the model file to use")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow loading a whole pickled model (runs code from that file: only for files you trust)")
    p.add_argument("--non-strict", action="store_true",
                   help="load a checkpoint whose keys only partly match the model (listed in the output)")
    p.add_argument("--outputs", choices=("auto", "logits", "probabilities"), default="auto",
                   help="what the model's outputs are (auto: probabilities when it ends in Sigmoid/Softmax)")
    p.add_argument("--device", metavar="DEV", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types; NaN and infinities become null."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str, payload: dict[str, Any]) -> None:
    try:
        with atomic_write(path, "w", encoding="utf-8") as fh:
            json.dump(to_jsonable(payload), fh, indent=2, allow_nan=False)
            fh.write("\n")
    except OSError as exc:
        raise EvalStudioError(f"cannot write {path}: {describe_os_error(exc)}.",
                              hint="Choose a folder you can write to, with space left.") from None


def write_predictions_csv(path: str, predictions: Any, y_pred: np.ndarray) -> None:
    """One row per input row: row, actual, predicted, one probability column per class.

    Scores are written so they read back as the same numbers (float32: 9 significant digits), and
    class names a spreadsheet would run as formulas are neutralised.
    """
    import pandas as pd

    from evalstudio.core.data.csv_write import safe_texts, score_format

    classes = np.asarray(safe_texts(predictions.classes), dtype=object)
    frame = pd.DataFrame({
        "row": predictions.row_numbers,
        "actual": classes[predictions.y_true],
        "predicted": classes[y_pred],
    })
    for k, name in enumerate(predictions.classes):  # "p_" before the name: no formula
        frame[f"p_{name}"] = predictions.y_score[:, k]
    try:
        with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False, float_format=score_format(predictions.y_score.dtype))
    except OSError as exc:
        raise EvalStudioError(f"cannot write {path}: {describe_os_error(exc)}.",
                              hint="Choose a folder you can write to, with space left.") from None


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table with right-aligned numbers."""

    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "nan" if not math.isfinite(float(v)) else f"{float(v):.4f}"
        return str(v)

    cells = [[cell(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    for r in cells:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def format_report(report: Any, *, optimistic: bool = False) -> str:
    """Metrics, per-class table and the confusion matrix with class names, as text.

    ``optimistic``: the rows include rows the model was trained on; the title says so.
    """
    m = report.metrics
    keys = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "specificity", "mcc",
            "roc_auc", "average_precision", "log_loss"]
    if report.task == "multiclass":
        keys = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "f1_weighted", "mcc",
                "roc_auc", "average_precision", "log_loss"]
    parts = []
    title = f"{report.task} task, {report.n_samples} rows"
    if report.task == "binary":
        title += f", positive class {report.classes[report.positive]!r}, threshold {report.threshold:g}"
    else:
        title += " (macro averages; prediction = the most probable class)"
    if optimistic:
        title += "; OPTIMISTIC: includes the rows the model was trained on"
    parts.append(title)
    parts.append(format_table(["metric", "value"], [(k, m.get(k, float("nan"))) for k in keys if k in m]))
    parts.append("")
    parts.append(format_table(
        ["class", "precision", "recall", "f1", "support"],
        [(r["class"], r["precision"], r["recall"], r["f1"], r["support"]) for r in report.per_class],
    ))
    parts.append("")
    cm = np.asarray(report.confusion_matrix)
    parts.append("confusion matrix (rows: actual, columns: predicted)")
    parts.append(format_table(["actual \\ predicted", *report.classes],
                              [(c, *map(int, cm[i])) for i, c in enumerate(report.classes)]))
    return "\n".join(parts)
