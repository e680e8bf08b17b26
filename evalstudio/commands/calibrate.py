"""``evalstudio calibrate``: fit a temperature on calibration rows and write a calibrated checkpoint."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from evalstudio.commands._common import add_data_args, add_model_args, check_model_timeout, format_table, write_json


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "calibrate",
        help="fit a temperature on held-out rows and write a calibrated checkpoint",
        description="Temperature scaling: find the T that makes softmax(logits / T) (sigmoid for one output) "
        "fit the calibration rows best (mean negative log-likelihood), and write an evalstudio checkpoint "
        "holding the weights, the input checkpoint's standardisation and other fields, and T. "
        "`evaluate` applies it. Accuracy, AUC and every decision at 0.5 are unchanged; log loss, "
        "Brier and the calibration error move. Calibrate on rows that neither trained the model nor "
        "will judge it.",
    )
    add_model_args(p)
    add_data_args(p)
    p.add_argument("--out", metavar="NEW.pt", required=True, help="the calibrated checkpoint to write")
    p.add_argument("--positive-class", metavar="NAME", help="binary: the class whose probability the Brier score "
                   "and the calibration error read (default: the second)")
    p.add_argument("--calibration-bins", type=int, default=10, metavar="N",
                   help="equal-width bins of the calibration error (default 10)")
    p.add_argument("--batch-size", type=int, default=65536, metavar="N", help="rows per forward pass (default 65536)")
    p.add_argument("--json", metavar="OUT", help="write {temperature, n_samples, before, after} as JSON")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    return p


def run(args: argparse.Namespace) -> int:
    from evalstudio.core.errors import EvalStudioError
    from evalstudio.core.evaluation.calibrate import calibrate_checkpoint
    from evalstudio.core.evaluation.pipeline import EvaluationSpec
    from evalstudio.core.paths import check_outputs

    if not args.model and not (args.checkpoint and args.trust_pickle):
        raise EvalStudioError("no model given.", hint="Pass --model FILE.py or a TorchScript file.")
    if args.calibration_bins < 1:
        raise EvalStudioError(f"--calibration-bins {args.calibration_bins} must be at least 1.")
    if args.batch_size < 1:
        raise EvalStudioError(f"--batch-size {args.batch_size} must be at least 1.")
    check_outputs([("--out", args.out), ("--json", args.json)],
                  [("--data", args.data), ("--model", args.model), ("--checkpoint", args.checkpoint)])
    spec = EvaluationSpec(
        data_path=args.data, model_path=args.model, checkpoint_path=args.checkpoint, target=args.target,
        entry=args.entry, trust_pickle=args.trust_pickle, strict=not args.non_strict, outputs=args.outputs,
        drop_missing=args.drop_missing, device=args.device, batch_size=args.batch_size,
        positive_class=args.positive_class, calibration_bins=args.calibration_bins,
        model_timeout=check_model_timeout(args.model_timeout),
    )
    result = calibrate_checkpoint(spec, args.out, n_bins=args.calibration_bins)
    if args.json:
        write_json(args.json, result.to_json())
    if not args.quiet:
        print(summary_text(args, result))
    return 0


def summary_text(args: argparse.Namespace, result: Any) -> str:
    out, fit = result.outcome, result.fit
    assert out is not None
    ds = out.dataset
    lines = [
        f"calibration rows: {ds.source}  ({ds.n_samples} rows, classes {', '.join(ds.classes)})",
        f"model:  {args.model or '(from the checkpoint)'}" + (f"  + checkpoint {args.checkpoint}" if args.checkpoint else ""),
    ]
    for note in (*ds.notes, *out.notes):
        lines.append(f"note:   {note}")
    how = "sigmoid(logit / T)" if ds.n_classes == 2 else "softmax(logits / T)"
    lines.append("")
    lines.append(f"temperature T = {fit.temperature:.4f}: probabilities become {how}, T chosen to minimise the mean "
                 f"negative log-likelihood of these {fit.n_samples} rows")
    if fit.at_bound:
        lines.append("note:   T stopped at the end of its range: these rows ask for an extreme temperature "
                     "(a model that separates them perfectly, or very few rows)")
    lines.append(format_table(["on these rows", "before (T = 1)", "after"],
                              [(k, result.before[k], result.after[k]) for k in ("log_loss", "brier", "ece")]))
    lines.append("")
    lines.append(f"wrote {result.checkpoint}: the weights, what the input checkpoint carried (standardisation, classes, "
                 "...) and the temperature; `evalstudio evaluate --checkpoint` applies it.")
    lines.append("These numbers are measured on the rows T was fitted on: judge the calibrated model on other rows.")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: evalstudio calibrate ...")
