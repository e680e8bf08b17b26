"""The training loop: observable, cancellable, checkpointed, and reproducible.

``fit`` trains a module on a :class:`~evalstudio.core.data.dataset.Dataset` and fires the events of
:mod:`evalstudio.core.training.callbacks`; it knows nothing about who listens. Data lives on the device as
tensors and batches are index slices of a ``randperm`` drawn from the run's own seeded generator
(or, with ``shuffle=False``, of the rows in their order, as the first tutorial walks them).
Every epoch is measured honestly: validation and the training-set accuracy in eval mode under
inference mode, beside the running train-mode loss the optimiser saw.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from evalstudio.core.data.encoding import Encoding
from evalstudio.core.data.preprocessing import Standardizer
from evalstudio.core.errors import Cancelled, DataError, EvalStudioError, ModelError, TrainingError
from evalstudio.core.evaluation.predict import predict_proba_tensor
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.models.checkpoint_format import model_file_record, restore_rng
from evalstudio.core.models.forward import call_forward
from evalstudio.core.models.limits import OutOfMemory, is_out_of_memory
from evalstudio.core.models.outputs import OutputKind
from evalstudio.core.models.training_rows import record_training_rows
from evalstudio.core.training.callbacks import Callback, CallbackList, RunInfo
from evalstudio.core.training.run_checkpoints import best_file_proba, resume_config, save_due_checkpoints
from evalstudio.core.training.config import (
    TrainConfig,
    make_optimizer,
    make_scheduler,
    replay_schedule,
    schedule_depends_on_total,
)
from evalstudio.core.training.early_stopping import is_improvement, monitor_mode, should_stop
from evalstudio.core.training.inputs import encoding_meta, fit_scaler, run_inputs
from evalstudio.core.training.losses import check_labels, check_output_shape, loss_from_probabilities, make_loss
from evalstudio.core.training.results import EpochMetrics, TrainResult
from evalstudio.core.training.splits import batch_bounds, batch_groups, split_validation

if TYPE_CHECKING:
    import torch

    from evalstudio.core.data.dataset import Dataset

# Rows gathered at once for a run of batches (bounds the extra memory of one permuted copy).
_GATHER_BYTES = 32 << 20
# Without validation rows a val_* monitor falls back to its honest training-set twin.
_NO_VAL_MONITOR = {"val_loss": "train_eval_loss", "val_accuracy": "train_accuracy"}


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


class _Never:
    def is_set(self) -> bool:
        return False


@dataclass
class _State:
    """What a run carries between epochs (and into a checkpoint)."""

    history: list[EpochMetrics]
    best_score: float | None
    best_epoch: int | None
    best_val_proba: "torch.Tensor | None" = None
    last_val_proba: "torch.Tensor | None" = None
    best_path: str | None = None
    last_path: str | None = None


def fit(
    module: "torch.nn.Module",
    data: "Dataset",
    config: TrainConfig,
    *,
    output_kind: OutputKind | str | None = None,
    val_data: "Dataset | None" = None,
    callbacks: "list[Callback] | tuple[Callback, ...]" = (),
    cancel: CancelToken | None = None,
    out_dir: str | Path | None = None,
    resume: dict[str, Any] | None = None,
    preprocessing: Standardizer | None = None,
    earlier_rows: dict[str, Any] | None = None,
    model_file: str | Path | None = None,
    encoding: "Encoding | None" = None,
) -> TrainResult:
    """Train ``module`` in place and return the run's history and checkpoints.

    Parameters
    ----------
    module : torch.nn.Module
        Built (and seeded) by the caller; moved to ``config.device``.
    data : Dataset
        Training rows; ``config.val_fraction`` of them are held out (stratified, seeded by
        ``config.seed``) unless ``val_data`` is given.
    config : TrainConfig
    output_kind : OutputKind, optional
        Chooses the loss (see :mod:`evalstudio.core.training.losses`); inferred from the model
        (:func:`evalstudio.core.models.loading.infer_output_kind`) when None.
    val_data : Dataset, optional
        Validation rows with the same classes and features (then ``val_fraction`` is ignored).
    callbacks : sequence of Callback
    cancel : object with ``is_set()``, optional
        Checked before every batch; when set, :class:`Cancelled` is raised and the checkpoints
        on disk stay as the last finished epoch left them.
    out_dir : path, optional
        Where ``best.pt``, ``last.pt`` and ``epoch_NNNN.pt`` go (no checkpoints when None).
    resume : dict, optional
        A checkpoint from :func:`evalstudio.core.models.checkpoint_format.read_checkpoint`; training continues
        after its epoch up to ``config.epochs`` in total, exactly as if never interrupted.
    preprocessing : Standardizer, optional
        Fine-tuning: the transform the starting weights were trained with (from their
        checkpoint), used instead of fitting a new one when ``config.standardize`` is on, so the
        weights keep seeing inputs on the scale they learned.
    earlier_rows : dict, optional
        Fine-tuning: the starting checkpoint's ``training_rows`` section. Its rows trained the
        starting weights, so every checkpoint of this run records them beside its own.
    model_file : path, optional
        The model file that built ``module``: its name and SHA-256 go into every checkpoint
        (``model_file``), so a resume can tell when the file was edited since.
    encoding : Encoding, optional
        Fine-tuning: the starting checkpoint's column encoding, used as it is. Otherwise a loaded
        dataset's is learned again from the training rows (:mod:`evalstudio.core.training.inputs`).

    Raises
    ------
    TrainingError
        Non-finite loss (naming epoch and batch), out of memory, bad labels, resume past the end.
    Cancelled
        When ``cancel`` was set; carries ``.history`` (the finished epochs).
    """
    import torch

    from evalstudio.core.models.device import resolve_device

    cb = CallbackList(callbacks)
    cancel = cancel or _Never()
    device = resolve_device(config.device)
    if output_kind is None:
        from evalstudio.core.models.loading import infer_output_kind

        output_kind = infer_output_kind(module, data.n_features, data.n_classes)
    kind = OutputKind(output_kind)
    notes: list[str] = []

    # --- the rows: split, check, standardise (fitted on training rows only), onto the device
    val_set: Dataset | None
    if val_data is not None:
        train_set, val_set = data, val_data
        if val_data.classes != data.classes or val_data.n_features != data.n_features:
            raise DataError(
                f"the validation data has classes {val_data.classes} and {val_data.n_features} features; "
                f"the training data has {data.classes} and {data.n_features}.",
                hint="Give --val-data a CSV with the same columns and target classes as --data.",
            )
    else:
        tr, va = split_validation(data, config.val_fraction, config.seed)
        train_set, val_set = data.subset(tr), (data.subset(va) if va.size else None)
    check_labels(train_set.y, data.n_classes, kind)
    monitor = config.monitor
    if val_set is None and monitor in _NO_VAL_MONITOR:
        monitor = _NO_VAL_MONITOR[monitor]
        notes.append(f"no validation rows: monitoring {monitor} instead of {config.monitor}")
    mode = monitor_mode(monitor)

    train_set, val_set, encoding = run_inputs(data, train_set, val_set, resume=resume, reuse=encoding, notes=notes)

    if resume is not None and resume.get("preprocessing") is not None:
        scaler: Standardizer | None = Standardizer.from_state(resume["preprocessing"])
    elif resume is None and config.standardize and preprocessing is not None:
        scaler = preprocessing
        notes.append("standardisation reused from the starting checkpoint (fitted on its training rows)")
    elif resume is None and config.standardize:
        scaler = fit_scaler(train_set, encoding)
    else:
        scaler = None

    def tensors(ds: "Dataset") -> tuple["torch.Tensor", "torch.Tensor"]:
        X = ds.X if scaler is None else scaler.transform(ds.X)
        return (torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32)).to(device),
                torch.as_tensor(ds.y, dtype=torch.int64).to(device))

    Xtr, ytr = tensors(train_set)
    Xva, yva = tensors(val_set) if val_set is not None else (None, None)
    n = Xtr.shape[0]
    bounds = batch_bounds(n, config.batch_size, drop_last=config.drop_last)

    # --- model, optimiser, schedule, randomness; a resumed run restores all of them
    module.to(device)
    with torch.inference_mode():
        was_training = module.training
        module.eval()
        try:
            probe = call_forward(module, Xtr[:2], where="checking it on 2 training rows")
        except EvalStudioError:
            raise
        except Exception as exc:  # the user's forward(): report it as a model problem, in one line
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ModelError(
                f"the model fails on a batch of {Xtr.shape[1]} features: {type(exc).__name__}: {text}",
                hint="Check that the model's first layer takes one input per feature column.",
            ) from None
        finally:
            module.train(was_training)
        check_output_shape(probe, data.n_classes, kind)
    loss_fn = make_loss(kind)
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        raise TrainingError("the model has no trainable parameters (none, or all with requires_grad=False).",
                            hint="Check the model definition; frozen layers need at least one trainable layer after them.")
    optimizer = make_optimizer(params, config)
    scheduler = make_scheduler(optimizer, config)
    generator = torch.Generator()  # on the CPU, so the batch order is the same on every device
    generator.manual_seed(config.seed)
    state = _State(history=[], best_score=None, best_epoch=None)
    start_epoch = 1
    if resume is not None:
        was = resume.get("split") or {}
        now = {"n_train": int(n), "n_val": 0 if Xva is None else int(Xva.shape[0])}
        if was and was != now:
            raise TrainingError(
                f"the data differ from the resumed run's: {now['n_train']} training and {now['n_val']} validation "
                f"rows now, {was.get('n_train')} and {was.get('n_val')} then.",
                hint="Resume with the same --data (and --val-data) the run was started with.",
            )
        start_epoch = int(resume["epoch"]) + 1
        if start_epoch > config.epochs:
            raise TrainingError(
                f"the checkpoint has already finished epoch {resume['epoch']}, and --epochs is {config.epochs}.",
                hint=f"--epochs is the total when resuming: give more than {resume['epoch']}.",
            )
        _restore_weights(module, optimizer, resume)
        if scheduler is not None and resume.get("scheduler_state_dict"):
            scheduler.load_state_dict(resume["scheduler_state_dict"])
            planned = int((resume.get("config") or {}).get("epochs", config.epochs))
            if planned != config.epochs and schedule_depends_on_total(config):
                replay_schedule(optimizer, scheduler, config, int(resume["epoch"]))
                notes.append(f"the {config.lr_schedule} learning-rate schedule now spans {config.epochs} epochs "
                             f"(epochs 1-{resume['epoch']} followed the {planned}-epoch plan they were run with)")
        restore_rng(resume["rng_state"], generator)
        state.history = [EpochMetrics(**h) for h in resume["history"]]
        state.best_score = resume.get("best_score")
        state.best_epoch = resume.get("best_epoch")
        out = Path(out_dir) if out_dir is not None else None
        if out is not None and state.best_epoch is not None and (out / "best.pt").is_file():
            state.best_path = str(out / "best.pt")
    else:
        torch.manual_seed(config.seed)  # dropout and other in-model randomness

    cb.on_train_start(RunInfo(config, start_epoch, int(n), 0 if Xva is None else int(Xva.shape[0]),
                              len(bounds), str(device), kind.value, monitor))
    meta = {"classes": list(data.classes), "feature_names": list(data.feature_names),
            "target": data.target_name, "output_kind": kind.value, "monitor": monitor, "mode": mode,
            "preprocessing": scaler.to_state() if scaler is not None else None,
            "split": {"n_train": int(n), "n_val": 0 if Xva is None else int(Xva.shape[0])}}
    if model_file is not None:  # which model file trained it (a resume compares it)
        meta["model_file"] = model_file_record(model_file)
    if out_dir is not None:
        # Every checkpoint knows which rows trained it and which chose it (hashed once per run; a
        # resumed run keeps its record, which holds the rows of the run's start).
        meta["training_rows"] = (resume or {}).get("training_rows") or record_training_rows(
            train_set, val_set, validation_is_own_file=val_data is not None, earlier=earlier_rows).to_state()
    meta.update(encoding_meta(encoding))

    oom: str | None = None
    stopped, reason = False, ""
    try:
        stopped, reason = _run_epochs(
            module, config, cb, cancel, state, meta, out_dir, Xtr, ytr, Xva, yva, kind, loss_fn,
            optimizer, scheduler, generator, bounds, start_epoch, monitor, mode,
        )
    except (RuntimeError, MemoryError, OutOfMemory) as exc:
        if not isinstance(exc, OutOfMemory) and not is_out_of_memory(exc):
            raise
        oom = str(exc.original if isinstance(exc, OutOfMemory) else exc).strip()
        oom = oom.splitlines()[0] if oom else type(exc).__name__
    if oom is not None:
        # The failed step's tensors died with its frames; give their memory back so the
        # process (a GUI session) can go on with a smaller batch.
        optimizer.zero_grad(set_to_none=True)
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        on_cpu = device.type == "cpu"
        raise TrainingError(
            f"ran out of memory on {device} with batch size {config.batch_size} ({oom[:300]}).",
            hint="Use a smaller --batch-size" + (" or a smaller model, or close other programs." if on_cpu
                                                 else ", or --device cpu."),
            hints={"app": "Use a smaller Batch size" + (" or a smaller model, or close other programs." if on_cpu
                                                        else ", or choose the CPU in the Device picker.")},
        )

    if state.best_val_proba is None and state.best_epoch is not None and Xva is not None:
        # A resumed run whose best epoch came before the resume: score best.pt, not the last model.
        if state.best_path is not None:
            state.best_val_proba = best_file_proba(module, state.best_path, Xva, kind)
        if state.best_val_proba is None:
            notes.append(f"validation metrics are the last epoch's: the best epoch ({state.best_epoch}) came before "
                         "the resume and its best.pt is not in the output folder")
    proba = state.best_val_proba if state.best_val_proba is not None else state.last_val_proba
    val_epoch = None
    if proba is not None and state.history:
        val_epoch = state.best_epoch if state.best_val_proba is not None else state.history[-1].epoch
    val_pred = None
    if val_set is not None and proba is not None:
        val_pred = Predictions(val_set.y, proba.cpu().numpy(), data.classes, val_set.row_numbers)
    result = TrainResult(
        history=tuple(state.history), monitor=monitor, mode=mode, best_epoch=state.best_epoch,
        best_score=state.best_score, best_checkpoint=state.best_path, last_checkpoint=state.last_path,
        stopped_early=stopped, stop_reason=reason, classes=data.classes, val_predictions=val_pred,
        preprocessing=scaler, output_kind=kind.value, notes=tuple(notes), val_epoch=val_epoch, encoding=encoding,
    )
    cb.on_train_end(result)
    return result


def _run_epochs(
    module: "torch.nn.Module", config: TrainConfig, cb: CallbackList, cancel: CancelToken, state: _State,
    meta: dict[str, Any], out_dir: str | Path | None, Xtr: "torch.Tensor", ytr: "torch.Tensor",
    Xva: "torch.Tensor | None", yva: "torch.Tensor | None", kind: OutputKind, loss_fn: Any,
    optimizer: Any, scheduler: Any, generator: "torch.Generator", bounds: list[tuple[int, int]],
    start_epoch: int, monitor: str, mode: str,
) -> tuple[bool, str]:
    """Epochs ``start_epoch .. config.epochs``; returns (stopped early, why)."""
    import torch

    n, n_batches = Xtr.shape[0], len(bounds)
    # The loss's targets in the output's dtype once, not a cast per batch (BCE takes floats).
    y_loss = ytr.to(torch.float32) if kind in (OutputKind.LOGIT, OutputKind.PROBABILITY) else ytr
    groups = batch_groups(bounds, max(1, _GATHER_BYTES // max(1, Xtr.element_size() * Xtr.shape[1])))
    for epoch in range(start_epoch, config.epochs + 1):
        t0 = time.perf_counter()
        lr = float(optimizer.param_groups[0]["lr"])
        module.train()
        # A fresh seeded permutation per epoch; or the rows in their order (the first tutorial's loop).
        perm = torch.randperm(n, generator=generator).to(Xtr.device) if config.shuffle else None
        # Batch losses stay on the device: one host sync per epoch, not one per batch.
        losses: list[torch.Tensor] = []
        b = 0
        for g_lo, g_hi, members in groups:
            # The permuted rows of a few hundred batches gathered at once; each batch is then a
            # view (the same rows, in the same order, as gathering batch by batch).
            if perm is None:
                Xg, yg = Xtr[g_lo:g_hi], y_loss[g_lo:g_hi]
            else:
                idx = perm[g_lo:g_hi]
                Xg, yg = Xtr[idx], y_loss[idx]
            for lo, hi in members:
                if cancel.is_set():
                    exc = Cancelled(f"training cancelled during epoch {epoch} (batch {b + 1} of {n_batches})")
                    exc.history = tuple(state.history)
                    raise exc
                loss = loss_fn(module(Xg[lo - g_lo : hi - g_lo]), yg[lo - g_lo : hi - g_lo])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.detach())
                b += 1
                cb.on_batch_end(epoch, b, n_batches)
            del Xg, yg
        losses_t = torch.stack(losses).to(torch.float32)
        sizes = torch.tensor([hi - lo for lo, hi in bounds], dtype=losses_t.dtype, device=losses_t.device)

        # Honest numbers: eval mode, inference mode, the whole set at once.
        p_tr = predict_proba_tensor(module, Xtr, kind)
        parts = [(losses_t * sizes).sum() / sizes.sum(), (p_tr.argmax(1) == ytr).float().mean(), loss_from_probabilities(p_tr, ytr)]
        p_va = None
        if Xva is not None and yva is not None:
            p_va = predict_proba_tensor(module, Xva, kind)
            parts += [loss_from_probabilities(p_va, yva), (p_va.argmax(1) == yva).float().mean()]
        finite = torch.isfinite(losses_t)
        values = torch.stack(parts).tolist()  # the epoch's one host sync
        if not bool(finite.all()):
            b = int((~finite).nonzero()[0])
            raise TrainingError(
                f"the training loss became {losses_t[b].item()} at epoch {epoch}, batch {b + 1} of {n_batches}; "
                "training stopped and the last good checkpoint was kept.",
                hint="Lower --lr, turn on --standardize, or check the data for extreme values.",
                hints={"app": "Lower the Learning rate, tick \u201cStandardise features\u201d, or check the data for "
                       "extreme values."},
            )
        em = EpochMetrics(
            epoch=epoch, lr=lr, train_loss=values[0], train_accuracy=values[1], train_eval_loss=values[2],
            val_loss=values[3] if p_va is not None else None, val_accuracy=values[4] if p_va is not None else None,
            seconds=time.perf_counter() - t0,
        )
        state.history.append(em)
        score = getattr(em, monitor)
        # best.pt holds the best score seen (as Lightning's ModelCheckpoint); min_delta is early
        # stopping's notion of progress, so a lower val_loss below min_delta still becomes best.
        improved = is_improvement(score, state.best_score, mode=mode)
        if improved:
            state.best_score, state.best_epoch, state.best_val_proba = float(score), epoch, p_va
        state.last_val_proba = p_va
        # Step the schedule before saving, so a checkpoint holds the state the next epoch starts from.
        if scheduler is not None:
            if config.lr_schedule == "plateau":
                if score is not None and math.isfinite(score):
                    scheduler.step(score)
            else:
                scheduler.step()
        cb.on_epoch_end(em)
        if out_dir is not None:
            save_due_checkpoints(Path(out_dir), module, optimizer, scheduler, generator, config, state, meta, epoch, improved, cb)
        stop, reason = should_stop([getattr(h, monitor) for h in state.history],
                                   patience=config.early_stopping, mode=mode, min_delta=config.min_delta)
        if stop:
            return True, reason
    return False, ""


def _restore_weights(module: "torch.nn.Module", optimizer: Any, resume: dict[str, Any]) -> None:
    """Load a resumed run's weights and optimizer state; a model that no longer fits says so."""
    from evalstudio.core.models.key_matching import CheckpointMismatchError, apply_checkpoint

    try:
        apply_checkpoint(module, resume["model_state_dict"], strict=True)
        optimizer.load_state_dict(resume["optimizer_state_dict"])
    except (CheckpointMismatchError, ValueError, RuntimeError) as exc:
        report = getattr(exc, "report", None)
        what = "; ".join(report.problems()) if report is not None else str(exc).strip().splitlines()[0]
        raise TrainingError(
            f"the model no longer fits the run being resumed: {what}. Was the model file edited since the run "
            "started?",
            hint="Resume with the model file the run was started with; to start a changed model from these "
            "weights, train a new run with --checkpoint (and --non-strict).",
            hints={"app": "Resume with the model file the run was started with."},
        ) from None


def seeded(builder: Callable[[], "torch.nn.Module"], seed: int) -> "torch.nn.Module":
    """Call ``builder()`` with torch's RNG seeded, so the initial weights follow the run's seed."""
    import torch

    torch.manual_seed(seed)
    return builder()


__all__ = ["Callback", "RunInfo", "TrainConfig", "batch_bounds", "fit", "resume_config", "seeded", "split_validation"]
