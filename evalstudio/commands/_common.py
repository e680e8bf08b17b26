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


def add_column_args(p: argparse.ArgumentParser) -> None:
    """Column roles (train and kfold): what is a feature, and how each is read."""
    g = p.add_argument_group("columns", "Roles are inferred (text: categories; numbers: numeric; ids, names and "
                             "constant columns: set aside, with a note); these override them.")
    g.add_argument("--features", metavar="COL[,COL...]", help="use only these columns as features")
    g.add_argument("--ignore", metavar="COL[,COL...]", action="append", help="set these columns aside")
    g.add_argument("--categorical", metavar="COL[,COL...]", action="append",
                   help="read these as categories (e.g. a class code 1/2/3)")
    g.add_argument("--numeric", metavar="COL[,COL...]", action="append", help="read these as numbers")
    g.add_argument("--min-category-count", type=int, metavar="N",
                   help="categories seen in fewer training rows share one '(other)' input (default 5)")


def _names(values: Sequence[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else list(values)
    return tuple(name.strip() for v in items for name in v.split(",") if name.strip())


def roles_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~evalstudio.core.data.columns.ColumnRoles` the column flags ask for."""
    from evalstudio.core.data.columns import MIN_CATEGORY_COUNT, ColumnRoles

    features = getattr(args, "features", None)
    count = getattr(args, "min_category_count", None)
    return ColumnRoles(
        ignore=_names(getattr(args, "ignore", None)), categorical=_names(getattr(args, "categorical", None)),
        numeric=_names(getattr(args, "numeric", None)), features=_names(features) if features else None,
        min_category_count=MIN_CATEGORY_COUNT if count is None else count,
    )


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
    add_model_timeout_arg(p)


def add_model_timeout_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="the model file first runs in a separate process (import, build, forward on 2 rows): "
                        "seconds each step may take there (default 60; 0 skips that check)")


def check_model_timeout(value: float) -> float:
    import math

    if not math.isfinite(value) or value < 0:
        raise EvalStudioError(f"--model-timeout {value:g} must be 0 (no separate check) or a positive number of seconds.",
                              hint="e.g. --model-timeout 120 for a model that takes long to build.")
    return value


def add_interval_args(p: argparse.ArgumentParser) -> None:
    """--resamples, --confidence, --seed, --no-intervals: a bootstrap interval on every metric."""
    p.add_argument("--resamples", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the intervals (default 1000)")
    p.add_argument("--confidence", type=float, default=0.95, metavar="C",
                   help="confidence level of the intervals (default 0.95)")
    p.add_argument("--interval-seed", type=int, default=0, metavar="S",
                   help="seed of the bootstrap resamples (default 0: a rerun gives identical intervals)")
    p.add_argument("--no-intervals", action="store_true", help="skip the intervals (faster on millions of rows)")


def interval_threads() -> int:
    """Threads for the bootstrap in the CLI: the cores there are, up to 4 (the numbers do not change)."""
    import os

    return max(1, min(4, os.cpu_count() or 1))


def interval_workers() -> dict[str, Any]:
    """How the CLI runs the bootstrap's blocks: :func:`interval_threads` side by side, in forked
    processes where that is safe (Linux; no GIL between them), else in threads. The numbers do not
    depend on it."""
    return {"n_threads": interval_threads(), "processes": True}


def interval_settings(args: argparse.Namespace) -> Any:
    """IntervalSettings from the flags of :func:`add_interval_args`, or None with --no-intervals."""
    from evalstudio.core.evaluation.intervals import IntervalSettings

    if args.no_intervals:
        return None
    return IntervalSettings(confidence=args.confidence, resamples=args.resamples, seed=args.interval_seed)


def data_line(data: Any, rows: str | None = None) -> str:
    """``data:   PATH  (7043 rows, 19 feature columns -> 46 inputs, target 'Churn')`` for the summaries."""
    enc = getattr(data, "encoding", None)
    if enc is not None and not (enc.is_plain_numeric() and len(enc.features) == len(enc.columns)):
        width = (f"{len(enc.features)} feature columns -> {data.n_features} inputs"
                 + (f", {len(enc.columns) - len(enc.features)} set aside" if len(enc.features) < len(enc.columns) else ""))
    else:
        width = f"{data.n_features} features"
    return f"data:   {data.source}  ({rows or f'{data.n_samples} rows'}, {width}, target {data.target_name!r})"


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


def value_with_interval(value: float, limits: tuple[float, float] | None) -> str:
    """``0.7727 [0.7078, 0.8377]`` (just the value when there is no interval or it is undefined)."""
    v = float(value)
    if not math.isfinite(v):
        return "nan"
    if limits is None or not all(math.isfinite(x) for x in limits):
        return f"{v:.4f}"
    return f"{v:.4f} [{limits[0]:.4f}, {limits[1]:.4f}]"


def interval_words(settings: Any) -> str:
    """``95% intervals: stratified bootstrap (percentile), 1000 resamples, seed 0``."""
    return (f"{settings.confidence * 100:g}% intervals: {settings.method}, {settings.resamples} resamples, "
            f"seed {settings.seed}")


def format_report(report: Any, intervals: Any = None, calibration: Any = None, *, optimistic: bool = False) -> str:
    """Metrics (each with its interval when ``intervals`` is given), the per-class table, the confusion
    matrix with class names and, with ``calibration``, Brier, ECE and the reliability table, as text.

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
    shown = [k for k in keys if k in m]
    if intervals is not None:
        parts.append(interval_words(intervals.settings))
        parts.append(format_table(["metric", f"value [{intervals.settings.confidence * 100:g}% interval]"],
                                  [(k, value_with_interval(m[k], intervals.limits.get(k))) for k in shown]))
    else:
        parts.append(format_table(["metric", "value"], [(k, m.get(k, float("nan"))) for k in shown]))
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
    if calibration is not None:
        parts += ["", format_calibration(calibration)]
    return "\n".join(parts)


def format_calibration(cal: Any) -> str:
    """Brier, ECE and the reliability table (empty bins shown with 0 rows)."""
    what = (f"probability of class {cal.positive!r}" if cal.kind == "positive"
            else "top-label probability; 'fraction' is the share whose top label is right")
    lines = [f"calibration ({what}): Brier {cal.brier:.4f}, ECE {cal.ece:.4f} over {cal.n_bins} equal-width bins"]
    lines.append(format_table(
        ["bin", "rows", "mean predicted", "fraction positive" if cal.kind == "positive" else "fraction right"],
        [(f"{b.low:.2f}-{b.high:.2f}", str(b.count), b.mean_predicted if b.count else "-",
          b.fraction_positive if b.count else "-") for b in cal.bins],
    ))
    return "\n".join(lines)
