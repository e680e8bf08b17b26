"""``evalstudio evaluate``: score a model on a CSV, honestly (eval mode, inference mode)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from evalstudio.commands._common import (
    add_data_args,
    add_interval_args,
    check_model_timeout,
    add_model_args,
    data_line,
    format_report,
    format_table,
    interval_settings,
    interval_threads,
    write_json,
    write_predictions_csv,
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "evaluate",
        help="evaluate a model + checkpoint on a CSV",
        description="Evaluate a PyTorch classifier on a CSV dataset: eval mode, no gradients, every metric.",
    )
    add_model_args(p, model_required=False)
    add_data_args(p, required=False)
    p.add_argument("--demo", choices=("pima", "wine", "churn"), nargs="?", const="pima",
                   help="evaluate the bundled demo on its held-out rows, which its checkpoint never saw "
                        "(pima: binary, wine: 3 classes, churn: a table with text, blanks and ids); "
                        "other flags still apply")
    p.add_argument("--threshold", type=float, default=None, metavar="T", help="decision threshold for binary tasks (default 0.5)")
    p.add_argument("--positive-class", metavar="NAME", help="binary: the positive class (default: the second)")
    p.add_argument("--batch-size", type=int, default=65536, metavar="N", help="rows per forward pass (default 65536)")
    p.add_argument("--mode-audit", type=int, nargs="?", const=10, default=0, metavar="N",
                   help="also run N passes in train mode (no gradients) and report their spread")
    p.add_argument("--include-training-rows", action="store_true",
                   help="also score the rows that trained the checkpoint (left out by default; the results "
                        "are then labelled optimistic)")
    add_interval_args(p)
    p.add_argument("--calibration-bins", type=int, default=10, metavar="N",
                   help="equal-width bins of the reliability table (default 10)")
    p.add_argument("--no-temperature", action="store_true",
                   help="ignore the checkpoint's temperature (from `evalstudio calibrate`): raw probabilities")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--predictions", metavar="OUT.csv", help="write one row per input row with probabilities")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    return p


def demo_paths(name: str) -> dict[str, str]:
    """The bundled demo's files."""
    from evalstudio.resources import resource_path

    if name in ("wine", "churn"):
        return {"data": str(resource_path("demo", f"{name}-holdout.csv")),
                "model": str(resource_path("demo", f"{name}_model.py")),
                "checkpoint": str(resource_path("demo", f"{name}_checkpoint.pt"))}
    return {"data": str(resource_path("demo", "pima-holdout.csv")),
            "model": str(resource_path("demo", "pima_model.py")),
            "checkpoint": str(resource_path("demo", "pima_checkpoint.pt"))}


def run(args: argparse.Namespace) -> int:
    from evalstudio.core.errors import EvalStudioError
    from evalstudio.core.evaluation.pipeline import EvaluationSpec, run_evaluation
    from evalstudio.core.paths import check_outputs

    if args.demo:
        paths = demo_paths(args.demo)
        args.data = args.data or paths["data"]
        args.model = args.model or paths["model"]
        args.checkpoint = args.checkpoint or paths["checkpoint"]
    if not args.data:
        raise EvalStudioError("no dataset given.", hint="Pass --data FILE.csv (or --demo for the bundled demo).")
    if not args.model and not (args.checkpoint and args.trust_pickle):
        raise EvalStudioError(
            "no model given.",
            hint="Pass --model FILE.py or a TorchScript file (or --checkpoint with a whole pickled model and --trust-pickle).",
        )
    check_outputs([("--json", args.json), ("--predictions", args.predictions)],
                  [("--data", args.data), ("--model", args.model), ("--checkpoint", args.checkpoint)])
    threshold_given = args.threshold is not None
    if not threshold_given:
        args.threshold = 0.5
    if not 0.0 <= args.threshold <= 1.0:
        raise EvalStudioError(f"--threshold {args.threshold} is outside [0, 1].",
                              hint="Thresholds apply to probabilities; pass a value between 0 and 1.")
    if args.batch_size < 1:
        raise EvalStudioError(f"--batch-size {args.batch_size} must be at least 1.")
    if args.calibration_bins < 1:
        raise EvalStudioError(f"--calibration-bins {args.calibration_bins} must be at least 1.",
                              hint="10 bins (the default) suit a few hundred rows; use fewer for less data.")
    if args.mode_audit < 0:
        raise EvalStudioError(f"--mode-audit {args.mode_audit} must be at least 1 (the number of train-mode passes).",
                              hint="Pass --mode-audit alone for 10 passes, or leave it out.")
    spec = EvaluationSpec(
        data_path=args.data, model_path=args.model, checkpoint_path=args.checkpoint, target=args.target,
        entry=args.entry, trust_pickle=args.trust_pickle, strict=not args.non_strict, outputs=args.outputs,
        drop_missing=args.drop_missing, device=args.device, batch_size=args.batch_size,
        threshold=args.threshold, positive_class=args.positive_class, mode_audit_passes=args.mode_audit,
        include_training_rows=args.include_training_rows,
        intervals=interval_settings(args), interval_threads=interval_threads(), interval_processes=True,
        calibration_bins=args.calibration_bins,
        apply_temperature=not args.no_temperature,
        model_timeout=check_model_timeout(args.model_timeout),
    )
    out = run_evaluation(spec)
    report = out.report
    if args.json:
        payload = report.to_json()
        payload["leakage"] = out.leakage.to_json() if out.leakage is not None else None
        if out.leakage is not None and out.leakage.optimistic:
            payload["optimistic"] = True
        payload["source"] = {"data": args.data, "model": args.model, "checkpoint": args.checkpoint,
                             "device": out.device, "output_kind": out.output_kind.value}
        if out.intervals is not None:
            payload.update(out.intervals.intervals().to_json())
        if out.calibration is not None:
            payload["calibration"] = out.calibration.to_json()
        payload["temperature"] = out.temperature
        if out.audit is not None:
            payload["mode_audit"] = audit_json(out.audit)
        if out.dataset.encoding is not None:
            from evalstudio.core.data.column_report import features_json

            payload["features"] = features_json(out.dataset.encoding, out.dataset.table)
        write_json(args.json, payload)
    if args.predictions:
        write_predictions_csv(args.predictions, out.predictions, predicted_labels(out))
    if threshold_given and report.task == "multiclass":
        sys.stderr.write(f"note: --threshold applies to binary tasks; this one has {len(report.classes)} classes, "
                         "so each row is predicted as its most probable class.\n")
    if not args.quiet:
        print(summary_text(out))
    return 0


def predicted_labels(out: Any) -> Any:
    """Class index predicted for every row, at the report's threshold for binary tasks."""
    import numpy as np

    pred = out.predictions
    if pred.task == "binary":
        pos = out.positive
        is_pos = pred.y_score[:, pos] >= np.asarray(out.report.threshold, dtype=pred.y_score.dtype)
        return np.where(is_pos, pos, 1 - pos)
    return pred.argmax()


def audit_json(audit: Any) -> dict[str, Any]:
    return {
        "eval_accuracy": audit.eval_accuracy,
        "train_mode_accuracies": audit.train_mode_accuracies,
        "train_mode_spread": audit.spread,
        "max_accuracy_gap": float(abs(audit.train_mode_accuracies - audit.eval_accuracy).max())
        if len(audit.train_mode_accuracies) else 0.0,
        "max_abs_score_diff": audit.max_abs_score_diff,
        "mean_abs_score_diff": audit.mean_abs_score_diff,
        "stochastic_layers": list(audit.stochastic_layers),
    }


def summary_text(out: Any) -> str:
    ds = out.dataset
    # What was scored and what was left out comes first, in plain words.
    lines = [f"rows:   {line}" for line in (out.leakage.lines() if out.leakage is not None else ())]
    rows = None if out.leakage is None else f"{out.leakage.rows_in_file} rows, {out.leakage.scored} scored"
    lines += [
        data_line(ds, rows),
        "classes: " + ", ".join(f"{i} = {c!r}" for i, c in enumerate(ds.classes)),
        f"model:  {out.spec.model_path or '(from the checkpoint)'}"
        + (f"  + checkpoint {out.spec.checkpoint_path}" if out.spec.checkpoint_path else ""),
        f"device: {out.device}; outputs read as {out.output_kind.value}; evaluated in eval mode without gradients "
        f"in {out.seconds:.2f} s",
    ]
    for note in (*ds.notes, *getattr(out.loaded, "notes", ()), *getattr(out.checkpoint, "notes", ()), *out.notes):
        lines.append(f"note:   {note}")
    if out.key_report is not None and hasattr(out.key_report, "summary"):
        summary = out.key_report.summary
        summary = summary() if callable(summary) else summary
        if summary:
            lines.append(f"weights: {summary}")
    lines.append("")
    lines.append(format_report(out.report, out.intervals.intervals() if out.intervals is not None else None,
                               out.calibration, optimistic=out.leakage is not None and out.leakage.optimistic))
    if out.audit is not None:
        a = out.audit
        lines.append("")
        lines.append(f"mode audit: eval mode accuracy {a.eval_accuracy:.4f}; "
                     f"{len(a.train_mode_accuracies)} train-mode passes")
        if len(a.train_mode_accuracies):
            lines.append(format_table(["", "min", "max", "spread"],
                                      [("train-mode accuracy", float(a.train_mode_accuracies.min()),
                                        float(a.train_mode_accuracies.max()), a.spread)]))
        gap = float(abs(a.train_mode_accuracies - a.eval_accuracy).max()) if len(a.train_mode_accuracies) else 0.0
        lines.append(f"train mode vs eval mode: accuracy off by up to {gap:.4f}; scores change by "
                     f"{a.mean_abs_score_diff:.4f} on average, {a.max_abs_score_diff:.4f} at most")
        if a.stochastic_layers:
            lines.append("layers that act differently in train mode: " + "; ".join(a.stochastic_layers))
        else:
            lines.append("no Dropout or BatchNorm layers: train and eval mode give the same scores")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: evalstudio evaluate ...")
