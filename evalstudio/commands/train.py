"""``evalstudio train``: train a model on a CSV with live progress, checkpoints and exact resume."""

from __future__ import annotations

import argparse
import contextlib
import copy
import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from evalstudio.commands._common import (
    add_column_args,
    add_data_args,
    add_interval_args,
    add_model_timeout_arg,
    data_line,
    format_report,
    format_table,
    interval_settings,
    interval_workers,
    roles_from_args,
    write_json,
)
from evalstudio.core.errors import TrainingError
from evalstudio.core.training.callbacks import Callback, RunInfo

# CLI flag -> TrainConfig field, for the options both commands share.
SHARED_OPTIONS = ("epochs", "batch_size", "lr", "optimizer", "weight_decay", "lr_schedule", "standardize", "seed",
                  "device", "shuffle", "drop_last")
TRAIN_OPTIONS = (*SHARED_OPTIONS, "val_fraction", "monitor", "early_stopping", "min_delta", "checkpoint_every")
# What a resumed run may change; everything else comes from the checkpoint's configuration.
RESUME_OVERRIDES = ("epochs", "device", "early_stopping", "min_delta", "checkpoint_every")


def add_training_args(p: argparse.ArgumentParser, *, train: bool) -> None:
    """Model, data and optimisation flags; defaults None so a given flag can be told from a default.

    ``train`` is kept for callers: train and kfold now take the same optimisation flags.
    """
    from evalstudio.core.training.config import LR_SCHEDULES, OPTIMIZERS, TrainConfig

    d = TrainConfig()
    p.add_argument("--model", metavar="PATH", required=True,
                   help="model definition: a Python file with an nn.Module (or build_model()), or TorchScript")
    p.add_argument("--checkpoint", metavar="INIT", help="start from these weights (fine-tuning)")
    p.add_argument("--entry", metavar="NAME", help="the function, instance or class in the model file to use")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow a checkpoint that needs full unpickling (runs code: only for files you trust)")
    p.add_argument("--non-strict", action="store_true", help="load --checkpoint even if its keys only partly match")
    add_data_args(p)
    add_column_args(p)
    p.add_argument("--epochs", type=int, help=f"total epochs (default {d.epochs}; with --resume, the new total)")
    p.add_argument("--batch-size", type=int, help=f"rows per step (default {d.batch_size})")
    p.add_argument("--lr", type=float, help=f"learning rate (default {d.lr:g})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default {d.optimizer}; sgd uses momentum 0.9")
    p.add_argument("--weight-decay", type=float, help=f"default {d.weight_decay:g}")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, help=f"default {d.lr_schedule}")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--standardize", dest="standardize", action="store_true", default=None,
                   help="standardise features, fitted on the training rows only (default)")
    g.add_argument("--no-standardize", dest="standardize", action="store_false", help="use the raw features")
    b = p.add_mutually_exclusive_group()
    b.add_argument("--shuffle", dest="shuffle", action="store_true", default=None,
                   help="a fresh seeded batch order every epoch (default)")
    b.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                   help="walk the training rows in their file order every epoch (as the first tutorial does)")
    p.add_argument("--drop-last", action="store_true", default=None,
                   help="skip the last batch when it is smaller than --batch-size (as the first tutorial does)")
    p.add_argument("--seed", type=int, help=f"weights, batch order and splits (default {d.seed})")
    p.add_argument("--device", metavar="DEV", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--positive-class", metavar="NAME", help="binary: the positive class for the metrics")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress and no summary")
    add_model_timeout_arg(p)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train", help="train a model on a CSV (checkpoints, early stopping, resume)",
        description="Train a PyTorch classifier on a CSV: honest per-epoch metrics, atomic checkpoints, exact resume.",
    )
    add_training_args(p, train=True)
    v = p.add_mutually_exclusive_group()
    v.add_argument("--val-fraction", type=float, metavar="F", help="stratified share held out for validation (default 0.2)")
    v.add_argument("--val-data", metavar="CSV", help="a separate validation CSV (same columns)")
    p.add_argument("--early-stopping", type=int, metavar="PATIENCE", help="stop after PATIENCE epochs without improvement")
    p.add_argument("--min-delta", type=float, help="smallest change of the monitored metric that counts (default 0)")
    p.add_argument("--monitor", metavar="METRIC", help="val_loss (default), val_accuracy, train_loss, train_eval_loss, train_accuracy")
    p.add_argument("--checkpoint-every", type=int, metavar="N", help="also keep epoch_NNNN.pt every N epochs")
    p.add_argument("--out", metavar="DIR", help="checkpoint folder (default a new runs/train-DATE-TIME; with --resume, its folder)")
    p.add_argument("--overwrite", action="store_true",
                   help="let this run replace the checkpoints of an earlier run in --out (refused otherwise)")
    p.add_argument("--resume", metavar="CKPT", help="continue a run from its last.pt (or any of its checkpoints)")
    p.add_argument("--calibrate", action="store_true",
                   help="after training, fit a temperature on the validation rows and store it in the checkpoint "
                        "of the model they scored (best.pt, or last.pt without a best)")
    add_interval_args(p)
    return p


def config_from_args(args: argparse.Namespace, names: tuple[str, ...], base: Any = None, **extra: Any) -> Any:
    """A TrainConfig from the flags that were given, on top of ``base`` (default: the defaults)."""
    from evalstudio.core.training.config import TrainConfig

    given = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    if base is None:
        return TrainConfig(**given, **extra)
    return TrainConfig.from_dict(base.to_dict(), **given, **extra)


class ProgressPrinter(Callback):
    """Epoch (and fold) progress with an ETA on stderr, once a run has lasted ``after`` seconds;
    at most one line per ``every`` seconds, and always the last epoch's."""

    def __init__(self, stream: Any = None, *, after: float = 3.0, every: float = 1.0, folds: int = 0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.after, self.every, self.folds = after, every, folds
        # ``after`` counts from now (loading included); the ETA's rate only from the first
        # on_train_start, so start-up (imports, reading the CSV) does not inflate it.
        self.created = time.perf_counter()
        self.t0: float | None = None
        self.done0 = 0
        self.last = -math.inf
        self.fold = 0
        self.info: RunInfo | None = None

    def on_fold_start(self, fold: int, k: int) -> None:
        self.fold, self.folds = fold, k

    def on_train_start(self, info: RunInfo) -> None:
        self.info = info
        if not self.folds or self.t0 is None:
            self.t0 = time.perf_counter()
            self.done0 = info.start_epoch - 1 if not self.folds else (self.fold - 1) * info.config.epochs

    def on_epoch_end(self, m: Any) -> None:
        if self.info is None or self.t0 is None:
            return
        now = time.perf_counter()
        epochs = self.info.config.epochs
        final = m.epoch == epochs and (not self.folds or self.fold == self.folds)
        if now - self.created < self.after or (now - self.last < self.every and not final):
            return
        self.last = now
        if self.folds:
            done, total = (self.fold - 1) * epochs + m.epoch, self.folds * epochs
            done -= self.done0
            total -= self.done0
            where = f"fold {self.fold}/{self.folds} epoch {m.epoch}/{epochs}"
        else:
            done, total = m.epoch - self.done0, epochs - self.done0
            where = f"epoch {m.epoch}/{epochs}"
        eta = (now - self.t0) / max(done, 1) * (total - done)
        parts = [where, f"loss {m.train_loss:.4f}", f"acc {m.train_accuracy:.4f}"]
        if m.val_loss is not None:
            parts += [f"val_loss {m.val_loss:.4f}", f"val_acc {m.val_accuracy:.4f}"]
        parts.append(f"ETA {int(eta) // 60}:{int(eta) % 60:02d}")
        self.stream.write("  ".join(parts) + "\n")
        self.stream.flush()


def prepare_model(
    args: argparse.Namespace, data: Any, *, resuming: bool = False
) -> tuple[Callable[[], Any], Any, Any, list[str]]:
    """Load --model (and --checkpoint) -> (fresh-model factory, data, output kind, notes).

    The factory builds a fresh module from the model file (or copies a TorchScript module) and
    copies the --checkpoint weights into it; call it under :func:`evalstudio.core.training.loop.seeded`.
    ``data`` is reloaded with the checkpoint's class order when an evalstudio checkpoint has one.
    """
    from evalstudio.core.data.dataset import load_csv
    from evalstudio.core.models.loading import (
        apply_checkpoint,
        check_input_width,
        infer_output_kind,
        load_checkpoint,
        load_model,
        read_data_contract,
    )

    from evalstudio.core.models.probe import finish_probe

    notes: list[str] = []
    contract = read_data_contract(args.checkpoint) if args.checkpoint and not resuming else None
    if contract is not None and (contract.encoding is not None
                                 or (contract.classes and tuple(contract.classes) != data.classes)):
        # Fine-tuning: read the data as the starting weights learned it (their columns, their classes).
        data = load_csv(args.data, target=args.target, drop_missing=args.drop_missing,
                        classes=contract.classes or None, encoding=contract.encoding,
                        numeric_only=contract.encoding is None)
        if contract.classes:
            notes.append("classes mapped as in the checkpoint: " + ", ".join(contract.classes))
        if contract.encoding is not None:
            notes.append("columns read with the starting checkpoint's encoding (the column flags do not apply)")
    # The model file ran first in a child process (started_probe), importing while the data was read.
    finish_probe(getattr(args, "_probe", None), data.n_features, data.n_classes)
    loaded = load_model(args.model, entry=args.entry, n_features=data.n_features, n_classes=data.n_classes)
    notes.extend(loaded.notes)
    init = None
    if args.checkpoint and not resuming:
        init = load_checkpoint(args.checkpoint, trust_pickle=args.trust_pickle, namespace=loaded.namespace)
        notes.extend(init.notes)
    elif args.checkpoint:
        notes.append("--checkpoint ignored: --resume restores the run's own weights")

    def factory() -> Any:
        module = loaded.builder() if loaded.builder is not None else copy.deepcopy(loaded.module)
        if init is not None:
            apply_checkpoint(module, init, strict=not args.non_strict)
        return module

    # The scaler the starting weights were trained with (train reuses it; k-fold fits one per fold,
    # since a checkpoint's scaler may have seen a fold's held-out rows).
    factory.preprocessing = init.preprocessing if init is not None else None  # type: ignore[attr-defined]
    # The rows that trained the starting weights (an evalstudio checkpoint records them): a
    # fine-tuned model has learned from them too, so its checkpoints carry them on.
    factory.training_rows = (init.meta or {}).get("training_rows") if init is not None else None  # type: ignore[attr-defined]
    factory.encoding = contract.encoding if contract is not None else None  # type: ignore[attr-defined]

    probe = factory()
    check_input_width(probe, data.feature_names)
    kind = infer_output_kind(probe, data.n_features, data.n_classes)
    tune_cpu_threads(probe, args.device or "auto")
    if loaded.builder is None and init is None:
        notes.append(f"{loaded.kind} model: training continues from the weights it holds")
    return factory, data, kind, notes


@contextlib.contextmanager
def started_probe(args: argparse.Namespace) -> Iterator[None]:
    """Start running the model file in a child process (``--model-timeout``) for the block;
    :func:`prepare_model` waits for it before running the file here."""
    from evalstudio.commands._common import check_model_timeout
    from evalstudio.core.models.probe import start_probe

    args._probe = start_probe(args.model, entry=args.entry, timeout=check_model_timeout(args.model_timeout))
    try:
        yield
    finally:
        if args._probe is not None:
            args._probe.close()
        args._probe = None


def tune_cpu_threads(module: Any, device: str) -> None:
    """One intra-op thread for a small model on the CPU.

    A tabular model of a few thousand weights does microseconds of work per op; splitting that
    over threads costs more than it saves (measured 5x slower with 2 threads on a busy 2-core
    machine). The CLI owns its process, so it may set this; the core library never does.
    """
    import torch

    from evalstudio.core.models.device import resolve_device

    if resolve_device(device).type == "cpu" and sum(p.numel() for p in module.parameters()) < 100_000:
        torch.set_num_threads(1)


def positive_index(classes: tuple[str, ...], name: str | None) -> int:
    from evalstudio.core.evaluation.pipeline import positive_index as _positive

    return _positive(classes, name)


def _relative(path: str | None) -> str | None:
    """A checkpoint path relative to the working directory when it lies below it, else absolute."""
    if path is None:
        return None
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def run(args: argparse.Namespace) -> int:
    from evalstudio.core.models.checkpoint_format import read_checkpoint
    from evalstudio.core.paths import check_outputs
    from evalstudio.core.training.run_folder import new_run_folder, open_run_folder

    notes: list[str] = []
    inputs = (("--data", args.data), ("--val-data", args.val_data), ("--model", args.model),
              ("--checkpoint", args.checkpoint), ("--resume", args.resume))
    check_outputs([("--json", args.json)], inputs)
    with started_probe(args):  # the model file starts running in a child while the rest is read
        resume = read_checkpoint(args.resume) if args.resume else None
        if args.out:
            out_dir = Path(args.out)
        elif resume is not None:
            out_dir = Path(args.resume).parent
        else:
            out_dir = new_run_folder("runs")
        check_outputs([("--json", args.json), ("--out best.pt", out_dir / "best.pt"),
                       ("--out last.pt", out_dir / "last.pt")], ())
        created = not out_dir.exists() or (out_dir.is_dir() and not any(out_dir.iterdir()) and not args.out)
        lock = open_run_folder(out_dir, overwrite=args.overwrite, resume_from=args.resume, inputs=inputs[:4])
        try:
            return _train(args, resume, out_dir, notes)
        finally:
            lock.release()
            if created:
                with contextlib.suppress(OSError):
                    out_dir.rmdir()  # a run that failed before its first checkpoint leaves no empty folder


def _train(args: argparse.Namespace, resume: dict[str, Any] | None, out_dir: Path, notes: list[str]) -> int:
    from evalstudio.core.models.checkpoint_format import model_file_changed
    from evalstudio.core.data.dataset import load_csv
    from evalstudio.core.evaluation.metrics import evaluate_predictions
    from evalstudio.core.training.config import TrainConfig
    from evalstudio.core.training.loop import fit, seeded

    if resume is not None:
        if args.epochs is None:
            raise TrainingError(f"--resume needs --epochs: the new total (the checkpoint finished epoch {resume['epoch']}).",
                                hint=f"e.g. --epochs {int(resume['epoch']) * 2}")
        base = TrainConfig.from_dict(resume["config"])
        config = config_from_args(args, RESUME_OVERRIDES, base)
        ignored = [f"--{n.replace('_', '-')}" for n in TRAIN_OPTIONS
                   if n not in RESUME_OVERRIDES and getattr(args, n, None) is not None
                   and getattr(args, n) != getattr(base, n)]
        if ignored:
            notes.append(f"{', '.join(ignored)} ignored: a resumed run keeps its configuration")
        resume_encoding = None
        if resume.get("encoding") is not None:
            from evalstudio.core.data.encoding_state import from_state

            resume_encoding = from_state(resume["encoding"], repr(args.resume))
        data = load_csv(args.data, target=args.target, drop_missing=args.drop_missing, classes=tuple(resume["classes"]),
                        encoding=resume_encoding, numeric_only=resume_encoding is None)
        if list(data.feature_names) != list(resume["feature_names"]):
            notes.append("warning: the feature columns are named differently from the resumed run's")
    else:
        config = config_from_args(args, TRAIN_OPTIONS)
        data = load_csv(args.data, target=args.target, drop_missing=args.drop_missing, roles=roles_from_args(args))
    factory, data, kind, model_notes = prepare_model(args, data, resuming=resume is not None)
    notes = [*data.notes, *model_notes, *notes]  # what was read, set aside and filled is said first
    if resume is not None and model_file_changed(resume, args.model):
        notes.append(f"warning: {args.model} changed since the run's checkpoint was written (its SHA-256 differs "
                     "from the one recorded); the run continues with the edited file")
    if resume is not None and resume.get("output_kind") not in (None, kind.value):
        raise TrainingError(f"the model's outputs read as {kind.value} but the run trained them as {resume['output_kind']}.",
                            hint="Resume with the same model file the run was started with.")
    if args.calibrate and not args.val_data and not config.val_fraction > 0:
        raise TrainingError("--calibrate fits the temperature on the validation rows, and this run has none.",
                            hint="Give --val-fraction (e.g. 0.2) or --val-data, or calibrate later with `evalstudio "
                                 "calibrate` on held-out rows.")
    val = None
    if args.val_data:
        val = load_csv(args.val_data, target=args.target or data.target_name, drop_missing=args.drop_missing,
                       classes=data.classes, encoding=data.encoding)
    positive = positive_index(data.classes, args.positive_class)
    callbacks = [] if args.quiet else [ProgressPrinter()]
    module = seeded(factory, config.seed)
    start_scaler = None
    if getattr(factory, "preprocessing", None):  # fine-tuning from an evalstudio checkpoint
        from evalstudio.core.data.preprocessing import Standardizer

        start_scaler = Standardizer.from_state(factory.preprocessing)
    result = fit(module, data, config, output_kind=kind, val_data=val, callbacks=callbacks, out_dir=out_dir,
                 resume=resume, preprocessing=start_scaler, earlier_rows=getattr(factory, "training_rows", None),
                 model_file=args.model, encoding=getattr(factory, "encoding", None))
    report = intervals = calibration = None
    if result.val_predictions is not None:
        from evalstudio.core.evaluation.calibration import calibration_report
        from evalstudio.core.evaluation.intervals import bootstrap_intervals

        report = evaluate_predictions(result.val_predictions, positive=positive)
        calibration = calibration_report(result.val_predictions, positive=positive)
        settings = interval_settings(args)
        if settings is not None:
            intervals = bootstrap_intervals(result.val_predictions, positive=positive, settings=settings,
                                            **interval_workers()).intervals()
    notes.extend(result.notes)
    temperature = calibrate_run(result) if args.calibrate else None
    if args.json:
        write_json(args.json, {
            "history": [h.to_dict() for h in result.history],
            "best_epoch": result.best_epoch,
            "best_checkpoint": _relative(result.best_checkpoint),
            "last_checkpoint": _relative(result.last_checkpoint),
            "metrics": dict(report.metrics) if report is not None else {},
            "metrics_epoch": result.val_epoch,
            "monitor": result.monitor, "mode": result.mode, "best_score": result.best_score,
            "stopped_early": result.stopped_early, "stop_reason": result.stop_reason,
            "config": config.to_dict(), "output_kind": kind.value, "classes": list(data.classes),
            **(intervals.to_json() if intervals is not None else {}),
            **({"calibration": calibration.to_json()} if calibration is not None else {}),
            "temperature": temperature,
            "features": run_features(data, result, val),
            "notes": notes,
        })
    if not args.quiet:
        print(summary_text(data, config, result, report, notes, intervals, calibration, temperature))
    return 0


def calibrate_run(result: Any) -> dict[str, Any]:
    """Fit T on the validation predictions and store it in the checkpoint of the model that made them."""
    from evalstudio.core.evaluation.calibrate import VALIDATION_ROWS, store_temperature
    from evalstudio.core.evaluation.temperature import fit_temperature

    if result.val_predictions is None:  # the run stopped before any validation
        raise TrainingError("--calibrate: the run produced no validation predictions to fit the temperature on.")
    path = result.best_checkpoint if result.val_epoch == result.best_epoch and result.best_checkpoint else \
        result.last_checkpoint
    fit = fit_temperature(result.val_predictions)
    store_temperature(path, fit, VALIDATION_ROWS)
    return {**fit.to_json(), "checkpoint": _relative(path), "fitted_on": VALIDATION_ROWS}


def run_features(data: Any, result: Any, val: Any = None) -> dict[str, Any] | None:
    """The ``features`` block of a training run: its encoding (learned from the training rows),
    missing cells over every row used, unseen values among the validation rows."""
    from evalstudio.core.data.column_report import features_json

    enc = result.encoding if result.encoding is not None else data.encoding
    if enc is None or data.table is None:
        return None
    unseen = None
    held_out = val if val is not None else None
    if held_out is None and result.val_predictions is not None:
        import numpy as np

        held_out = data.subset(np.flatnonzero(np.isin(data.row_numbers, result.val_predictions.row_numbers)))
    if held_out is not None and held_out.table is not None:
        unseen = enc.count_unseen(held_out.table)
    block = features_json(enc, data.table, unseen=unseen or {})
    if val is not None and val.table is not None:
        for col, extra in zip(block["columns"], features_json(enc, val.table)["columns"]):
            if "missing" in col:
                col["missing"] += extra["missing"]
    return block


def batch_order(config: Any) -> str:
    """How the run walks its rows, in words for the summary."""
    order = "batches reshuffled every epoch" if config.shuffle else "batches in row order"
    return order + (" (last partial batch dropped)" if config.drop_last else "")


def history_table(history: Any, *, limit: int = 25) -> str:
    """Every epoch for short runs; for long ones evenly spaced epochs plus the last."""
    rows = list(history)
    if len(rows) > limit:
        step = math.ceil(len(rows) / limit)
        rows = [h for h in rows if (h.epoch - 1) % step == 0 or h.epoch == rows[-1].epoch]

    def f(v: float | None) -> Any:
        return "-" if v is None else float(v)

    return format_table(
        ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "s"],
        [(str(h.epoch), f"{h.lr:.3g}", h.train_loss, h.train_accuracy, f(h.val_loss), f(h.val_accuracy),
          f"{h.seconds:.2f}") for h in rows],
    )


def summary_text(data: Any, config: Any, result: Any, report: Any, notes: list[str], intervals: Any = None,
                 calibration: Any = None, temperature: dict[str, Any] | None = None) -> str:
    lines = [
        data_line(data),
        f"trained {len(result.history)} epochs; loss for {result.output_kind} outputs; "
        f"optimizer {config.optimizer} lr {config.lr:g}, batch {config.batch_size}, "
        f"{'standardised' if config.standardize else 'raw'} features, {batch_order(config)}, seed {config.seed}",
    ]
    lines += [f"note:   {n}" for n in notes]
    lines += ["", history_table(result.history), ""]
    if result.stopped_early:
        lines.append(f"stopped early: {result.stop_reason}")
    if result.best_epoch is not None:
        lines.append(f"best epoch {result.best_epoch} by {result.monitor} ({result.mode}) = {result.best_score:.4f}")
    lines.append(f"checkpoints: best {result.best_checkpoint}, last {result.last_checkpoint}")
    if report is not None:
        which = "best" if result.val_epoch == result.best_epoch else "last"
        lines += ["", f"validation ({which} model, epoch {result.val_epoch}):",
                  format_report(report, intervals, calibration)]
    if temperature is not None:
        lines += ["", f"temperature T = {temperature['temperature']:.4f} fitted on the {temperature['n_samples']} "
                  f"validation rows (mean NLL {temperature['nll_before']:.4f} -> {temperature['nll_after']:.4f}), stored "
                  f"in {temperature['checkpoint']}; evaluate applies it. The validation numbers above are before "
                  "it: judge the calibrated model on rows it has not seen."]
    return "\n".join(lines)


__all__ = ["ProgressPrinter", "add_parser", "add_training_args", "batch_order", "config_from_args", "prepare_model", "run"]
