"""``evalstudio kfold``: stratified k-fold cross-validation, a fresh seeded model per fold."""

from __future__ import annotations

import argparse
import csv
from typing import Any

import numpy as np

from evalstudio.commands._common import (
    add_interval_args,
    data_line,
    format_report,
    format_table,
    interval_settings,
    interval_workers,
    roles_from_args,
    write_json,
)
from evalstudio.commands.train import (
    SHARED_OPTIONS,
    ProgressPrinter,
    add_training_args,
    batch_order,
    config_from_args,
    prepare_model,
    started_probe,
)
from evalstudio.core.atomic import atomic_write
from evalstudio.core.errors import EvalStudioError

# The columns of the per-fold table and the summary, in this order where present.
SHOWN = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "kfold", help="stratified k-fold cross-validation of a model definition",
        description="Cross-validate: per fold a fresh model (seed + fold) and a scaler fitted on that fold's "
        "training rows; mean and population std of every metric, and the pooled out-of-fold evaluation.",
    )
    add_training_args(p, train=False)
    p.add_argument("--folds", type=int, default=5, metavar="K", help="number of folds (default 5)")
    p.add_argument("--predictions", metavar="OUT.csv", help="write every row's out-of-fold probabilities")
    p.add_argument("--fold-training", choices=("auto", "stacked", "sequential"), default="auto",
                   help="auto (default): train the folds together when the model allows it (same per-fold "
                        "results, several times faster), else one after another; stacked: insist; "
                        "sequential: one fold after another")
    add_interval_args(p)
    return p


def run(args: argparse.Namespace) -> int:
    from evalstudio.core.data.dataset import load_csv
    from evalstudio.core.evaluation.pipeline import positive_index
    from evalstudio.core.paths import check_outputs
    from evalstudio.core.training.kfold import cross_validate

    check_outputs([("--json", args.json), ("--predictions", args.predictions)],
                  [("--data", args.data), ("--model", args.model), ("--checkpoint", args.checkpoint)])
    config = config_from_args(args, SHARED_OPTIONS, val_fraction=0.0)
    with started_probe(args):
        data = load_csv(args.data, target=args.target, drop_missing=args.drop_missing, roles=roles_from_args(args))
        factory, data, kind, model_notes = prepare_model(args, data)
    notes = [*data.notes, *model_notes]  # what was read, set aside and filled is said first
    notes.extend(_starting_rows_note(factory, data))
    positive = positive_index(data.classes, args.positive_class)
    callbacks = [] if args.quiet else [ProgressPrinter(folds=args.folds)]
    stacked = {"auto": "auto", "stacked": True, "sequential": False}[args.fold_training]
    settings = interval_settings(args)
    cv = cross_validate(factory, data, config, output_kind=kind, k=args.folds, callbacks=callbacks, positive=positive,
                        stacked=stacked)
    extras = cv_extras(cv, positive, settings)
    if args.json:
        write_json(args.json, cv_json(cv, notes, extras, data_path=args.data, data=data))
    if args.predictions:
        write_oof_csv(args.predictions, cv)
    if not args.quiet:
        print(summary_text(data, config, cv, notes, positive, extras))
    return 0


def _starting_rows_note(factory: Any, data: Any) -> list[str]:
    """A warning when --checkpoint's weights were trained on rows of this data (every fold's held-out
    part then holds rows the starting weights learned from)."""
    from evalstudio.core.models.training_rows import check_rows, training_rows_of

    section = getattr(factory, "training_rows", None)
    rows = training_rows_of({"training_rows": section}) if section is not None else None
    if rows is None:
        return []
    seen = int(check_rows(data, rows).trained.sum())
    if not seen:
        return []
    return [f"warning: the --checkpoint weights were trained on {seen:,} of these {data.n_samples:,} rows, so every "
            "fold's held-out rows include rows the starting weights learned from: the out-of-fold results are "
            "optimistic"]


def cv_extras(cv: Any, positive: int, settings: Any) -> dict[str, Any]:
    """Intervals of the fold means (Student's t), the pooled out-of-fold intervals (bootstrap) and the
    pooled calibration; intervals left out when ``settings`` is None (--no-intervals)."""
    from evalstudio.core.evaluation.calibration import calibration_report
    from evalstudio.core.evaluation.intervals import bootstrap_intervals, fold_mean_intervals

    out: dict[str, Any] = {"calibration": calibration_report(cv.pooled_predictions, positive=positive)}
    if settings is not None:
        out["fold_intervals"] = fold_mean_intervals([f.metrics for f in cv.folds], settings.confidence)
        out["pooled_intervals"] = bootstrap_intervals(cv.pooled_predictions, positive=positive, settings=settings,
                                                      **interval_workers()).intervals()
        out["settings"] = settings
    return out


def cv_json(cv: Any, notes: list[str], extras: dict[str, Any] | None = None, *,
            data_path: str | None = None, data: Any = None) -> dict[str, Any]:
    """The issue's shape: folds, summary {metric: {mean, std}}, pooled {metrics, confusion_matrix},
    and ``features`` (when ``data`` is given): the columns and inputs (categories learned per fold;
    ``unseen`` sums the held-out rows whose value their fold's training rows never held).

    Also what ``compare --kfold`` checks before pairing two runs: the data file's SHA-256
    (``data_sha256``, when ``data_path`` is given) and the fold assignment's fingerprint
    (``folds_fingerprint``: which data row was held out in which fold).

    With intervals (``extras`` of :func:`cv_extras`), each summary entry gains ``"interval": {"low",
    "high"}`` (Student's t over the folds), pooled gains ``"intervals"`` and ``"interval"`` (bootstrap
    of the out-of-fold rows) and ``"calibration"``, and the top level ``"fold_interval"`` says how the
    summary's were made.
    """
    from evalstudio.core.data.fingerprints import file_sha256
    from evalstudio.core.training.kfold_compare import fold_assignment, folds_fingerprint

    extras = extras or {}
    features = None
    if data is not None and data.encoding is not None and data.table is not None:
        from evalstudio.core.data.column_report import features_json

        unseen: dict[str, int] = {}
        for f in cv.folds:
            for name, n in getattr(f, "unseen", {}).items():
                unseen[name] = unseen.get(name, 0) + int(n)
        features = features_json(data.encoding, data.table, unseen=unseen)
    payload = {
        "features": features,
        "folds": [
            {"fold": f.fold, "n_train": f.n_train, "n_test": f.n_test, "seed": f.seed, "metrics": f.metrics,
             "unseen": dict(getattr(f, "unseen", {})),
             "confusion_matrix": np.asarray(f.confusion_matrix).tolist(),
             "history": [h.to_dict() for h in f.history]}
            for f in cv.folds
        ],
        "summary": cv.summary,
        "pooled": {"metrics": cv.pooled_metrics, "confusion_matrix": np.asarray(cv.pooled_confusion_matrix).tolist()},
        "config": cv.config,
        "classes": list(cv.pooled_predictions.classes),
        "notes": notes,
    }
    payload["data_sha256"] = file_sha256(data_path) if data_path else None
    payload["folds_fingerprint"] = folds_fingerprint(*fold_assignment(cv))
    if "calibration" in extras:
        payload["pooled"]["calibration"] = extras["calibration"].to_json()
    if "fold_intervals" in extras:
        for key, (lo, hi) in extras["fold_intervals"].items():
            if key in payload["summary"]:
                payload["summary"][key] = {**payload["summary"][key], "interval": {"low": lo, "high": hi}}
        payload["pooled"].update(extras["pooled_intervals"].to_json())
        payload["fold_interval"] = {"method": "Student's t over the folds' values (folds share training rows: "
                                    "optimistic)", "confidence": extras["settings"].confidence}
    return payload


def write_oof_csv(path: str, cv: Any) -> None:
    """row, fold, actual, predicted (most probable class), one probability column per class.

    Scores read back as the same numbers (float32: 9 significant digits); class names a
    spreadsheet would run as formulas are neutralised.
    """
    from evalstudio.core.data.csv_write import safe_texts, score_format
    from evalstudio.core.paths import describe_os_error

    fold_of = np.zeros(cv.pooled_predictions.n_samples, dtype=np.int64)
    for f in cv.folds:
        fold_of[f.test_index] = f.fold
    pred = cv.pooled_predictions
    classes = safe_texts(pred.classes)
    fmt = score_format(pred.y_score.dtype)
    try:
        with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["row", "fold", "actual", "predicted", *(f"p_{c}" for c in pred.classes)])
            for i in range(pred.n_samples):
                w.writerow([int(pred.row_numbers[i]), int(fold_of[i]), classes[pred.y_true[i]],
                            classes[int(np.argmax(pred.y_score[i]))], *(fmt % v for v in pred.y_score[i])])
    except OSError as exc:
        raise EvalStudioError(f"cannot write {path}: {describe_os_error(exc)}.",
                              hint="Choose a folder you can write to, with space left.") from None


def summary_text(data: Any, config: Any, cv: Any, notes: list[str], positive: int,
                 extras: dict[str, Any] | None = None) -> str:
    from evalstudio.core.evaluation.metrics import evaluate_predictions

    extras = extras or {}
    keys = [k for k in SHOWN if k in cv.summary]
    lines = [
        data_line(data),
        f"{len(cv.folds)}-fold stratified cross-validation (shuffled, seed {config.seed}); per fold a fresh model "
        f"seeded seed+fold-1; {config.epochs} epochs, batch {config.batch_size}, {config.optimizer} lr {config.lr:g}, "
        f"{'standardised (fitted per fold on its training rows)' if config.standardize else 'raw'} features, "
        f"{batch_order(config)}",
    ]
    if cv.config.get("fold_training"):
        lines.append(f"folds trained: {cv.config['fold_training']}")
    lines += [f"note:   {n}" for n in notes]
    rows = [(str(f.fold), str(f.n_train), str(f.n_test), *(f.metrics[k] for k in keys)) for f in cv.folds]
    rows.append(("mean", "", "", *(cv.summary[k]["mean"] for k in keys)))
    rows.append(("std", "", "", *(cv.summary[k]["std"] for k in keys)))
    fold_iv = extras.get("fold_intervals")
    if fold_iv is not None:
        level = f"{extras['settings'].confidence * 100:g}%"
        rows.append((f"{level} low", "", "", *(fold_iv[k][0] for k in keys)))
        rows.append((f"{level} high", "", "", *(fold_iv[k][1] for k in keys)))
    lines += ["", format_table(["fold", "n_train", "n_test", *keys], rows)]
    if fold_iv is not None:
        lines.append(f"({level} low/high: Student's t interval of the mean over the {len(cv.folds)} folds; the folds "
                     "share training rows, so it is on the optimistic side)")
    lines.append("")
    acc = cv.summary.get("accuracy")
    if acc is not None:
        lines.append(f"accuracy: {acc['mean'] * 100:.2f}% (+/- {acc['std'] * 100:.2f}%)  (mean and population std over folds)")
    report = evaluate_predictions(cv.pooled_predictions, positive=positive)
    lines += ["", "pooled out-of-fold predictions:",
              format_report(report, extras.get("pooled_intervals"), extras.get("calibration"))]
    return "\n".join(lines)
