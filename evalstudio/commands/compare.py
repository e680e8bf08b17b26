"""``evalstudio compare``: two (or more) models on the same rows, or two k-fold runs, with paired tests."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from evalstudio.commands._common import (
    add_data_args,
    add_interval_args,
    add_model_timeout_arg,
    check_model_timeout,
    interval_settings,
    interval_workers,
    write_json,
)
from evalstudio.core.errors import EvalStudioError


class _ModelAction(argparse.Action):
    """``--model`` starts a model; ``--checkpoint`` fills the latest model's checkpoint.

    So ``--model a.py --checkpoint a.pt --model scripted.pt --model b.py --checkpoint b.pt`` is three
    models, the second without a checkpoint. A ``--checkpoint`` with no model waiting for one
    starts a model of its own (a whole pickled model, with --trust-pickle).
    """

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        models = getattr(namespace, "models", None)
        if models is None:
            models = []
            namespace.models = models
        if self.dest == "model":
            models.append({"model": values, "checkpoint": None})
        elif models and models[-1]["checkpoint"] is None:
            models[-1]["checkpoint"] = values
        else:
            models.append({"model": None, "checkpoint": values})


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "compare",
        help="compare models on the same rows (McNemar, DeLong, paired bootstrap) or two k-fold runs",
        description="Is B better than A? Either evaluate two or more models exactly as 'evaluate' would and "
        "compare them on the rows all of them scored (McNemar's exact test at the threshold, DeLong's test of "
        "the ROC AUCs, the paired bootstrap interval of every metric's difference), or compare two "
        "'kfold --json' runs made on the same data and folds (the corrected resampled t-test).",
    )
    p.add_argument("--model", action=_ModelAction, dest="model", metavar="PATH",
                   help="a model definition (Python file or TorchScript); repeat per model (the first is A)")
    p.add_argument("--checkpoint", action=_ModelAction, dest="checkpoint", metavar="PATH",
                   help="the weights of the --model just before it")
    p.add_argument("--name", action="append", metavar="NAME", help="name of each model in order (default A, B, ...)")
    add_data_args(p, required=False)
    p.add_argument("--threshold", type=float, default=None, metavar="T",
                   help="decision threshold for binary tasks, the same for every model (default 0.5)")
    p.add_argument("--positive-class", metavar="NAME", help="binary: the positive class (default: the second)")
    p.add_argument("--entry", metavar="NAME", help="the function, instance or class in the model files to use")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow loading whole pickled models (runs code from those files: only for files you trust)")
    p.add_argument("--non-strict", action="store_true", help="load checkpoints whose keys only partly match")
    p.add_argument("--outputs", choices=("auto", "logits", "probabilities"), default="auto",
                   help="what the models' outputs are (auto: probabilities when they end in Sigmoid/Softmax)")
    p.add_argument("--device", metavar="DEV", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--batch-size", type=int, default=65536, metavar="N", help="rows per forward pass (default 65536)")
    p.add_argument("--include-training-rows", action="store_true",
                   help="also score the rows that trained each checkpoint (left out by default; the results are "
                        "then optimistic)")
    add_interval_args(p)  # the same resamples for every model: the intervals of the differences are paired
    add_model_timeout_arg(p)
    p.add_argument("--kfold", nargs=2, metavar=("A.json", "B.json"),
                   help="compare two 'kfold --json' outputs made on the same data and folds instead")
    p.add_argument("--metric", default="accuracy", metavar="NAME",
                   help="with --kfold: the per-fold metric to compare (default accuracy)")
    p.add_argument("--json", metavar="OUT", help="write the comparison as JSON")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(models=None)
    return p


def run(args: argparse.Namespace) -> int:
    from evalstudio.core.paths import check_outputs

    inputs: list[tuple[str, Any]] = [("--data", args.data)]
    for m in args.models or []:
        inputs += [("--model", m["model"]), ("--checkpoint", m["checkpoint"])]
    inputs += [("--kfold", path) for path in args.kfold or ()]
    check_outputs([("--json", args.json)], inputs)  # --json never replaces a model, a checkpoint or the data
    if args.kfold:
        if args.models:
            raise EvalStudioError("--kfold compares two k-fold runs; it takes no --model or --checkpoint.",
                                  hint="Use either --kfold A.json B.json or --model ... --model ... --data CSV.")
        return run_kfold(args)
    return run_models(args)


# ---------------------------------------------------------------------- models on the same rows
def specs_from_args(args: argparse.Namespace) -> list[Any]:
    from evalstudio.core.evaluation.pipeline import EvaluationSpec

    models = args.models or []
    if len(models) < 2:
        raise EvalStudioError(
            f"compare needs at least two models; {len(models)} given.",
            hint="Give --model A.py --checkpoint A.pt --model B.py --checkpoint B.pt (or --kfold A.json B.json).",
        )
    if not args.data:
        raise EvalStudioError("no dataset given.", hint="Pass --data FILE.csv: every model is scored on its rows.")
    for i, m in enumerate(models):
        if m["model"] is None and not args.trust_pickle:
            raise EvalStudioError(
                f"model {i + 1} has a checkpoint ({m['checkpoint']}) but no --model before it.",
                hint="Put --model FILE.py before each --checkpoint (or pass --trust-pickle for whole pickled models).",
            )
    if args.name and len(args.name) != len(models):
        raise EvalStudioError(f"{len(args.name)} --name for {len(models)} models.",
                              hint="Give one --name per model, in the order of the --model options, or none.")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise EvalStudioError(f"--threshold {args.threshold} is outside [0, 1].",
                              hint="Thresholds apply to probabilities; pass a value between 0 and 1.")
    if args.batch_size < 1:
        raise EvalStudioError(f"--batch-size {args.batch_size} must be at least 1.")
    return [
        EvaluationSpec(
            data_path=args.data, model_path=m["model"], checkpoint_path=m["checkpoint"], target=args.target,
            entry=args.entry, trust_pickle=args.trust_pickle, strict=not args.non_strict, outputs=args.outputs,
            drop_missing=args.drop_missing, device=args.device, batch_size=args.batch_size,
            threshold=0.5 if args.threshold is None else args.threshold, positive_class=args.positive_class,
            include_training_rows=args.include_training_rows, model_timeout=check_model_timeout(args.model_timeout),
        )
        for m in models
    ]


def run_models(args: argparse.Namespace) -> int:
    from evalstudio.commands.compare_text import comparison_text
    from evalstudio.core.evaluation.compare_run import run_comparison

    specs = specs_from_args(args)
    threshold = 0.5 if args.threshold is None else args.threshold
    result = run_comparison(specs, args.name, threshold=threshold, intervals=interval_settings(args),
                            **interval_workers())
    comparison = result.comparison
    if args.json:
        payload = comparison.to_json()
        for entry, outcome in zip(payload["models"], result.outcomes):
            leakage = getattr(outcome, "leakage", None)
            entry["leakage"] = leakage.to_json() if leakage is not None else None
        payload["source"] = {
            "data": args.data,
            "models": [{"name": n, "model": s.model_path, "checkpoint": s.checkpoint_path, "device": o.device,
                        "output_kind": o.output_kind.value}
                       for n, s, o in zip(comparison.names, specs, result.outcomes)],
        }
        write_json(args.json, payload)
    if args.threshold is not None and comparison.task == "multiclass":
        sys.stderr.write(f"note: --threshold applies to binary tasks; this one has {len(comparison.classes)} "
                         "classes, so each row is predicted as its most probable class.\n")
    if not args.quiet:
        print(comparison_text(result, specs))
    return 0


# ---------------------------------------------------------------------- two k-fold runs
def _read_json(path: str) -> Any:
    from evalstudio.core.paths import require_regular_file

    require_regular_file(path, "--kfold")  # a named pipe would block the read forever
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise EvalStudioError(f"{path} does not exist.", hint="Pass the files kfold --json wrote.") from None
    except OSError as exc:
        raise EvalStudioError(f"cannot read {path}: {exc.strerror or exc}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalStudioError(f"{path} is not JSON ({exc}).", hint="Pass the files kfold --json wrote.") from None


def run_kfold(args: argparse.Namespace) -> int:
    from evalstudio.commands.compare_text import kfold_text
    from evalstudio.core.training.kfold_compare import KFoldRun, compare_kfold_runs, run_names

    names = run_names(args.kfold)
    if args.name:
        if len(args.name) != 2:
            raise EvalStudioError(f"{len(args.name)} --name for 2 k-fold runs.", hint="Give two --name, or none.")
        names = (args.name[0], args.name[1])
    runs = [KFoldRun.from_json(_read_json(path), name) for path, name in zip(args.kfold, names)]
    result = compare_kfold_runs(runs[0], runs[1], metric=args.metric)
    if args.json:
        payload = result.to_json()
        payload["source"] = {"a": args.kfold[0], "b": args.kfold[1], "data_sha256": runs[0].data_sha256,
                             "folds_fingerprint": runs[0].folds_fingerprint}
        write_json(args.json, payload)
    if not args.quiet:
        print(kfold_text(result, runs))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: evalstudio compare ...")
