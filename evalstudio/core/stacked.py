"""Train the k models of a cross-validation together, with their weights stacked.

Small tabular models are bound by per-step overhead (Python, dispatch, kernel launches), not by
arithmetic, so running k folds one after another pays that overhead k times. Here every step
moves all k folds at once: one batched forward (``torch.baddbmm`` per Linear, or ``vmap`` over
``functional_call``), one backward, one element-wise optimiser update on a (k, n_params) tensor
(see :mod:`evalstudio.core.stacked_ops`).

Each fold is trained exactly as :func:`evalstudio.core.training.fit` would train it alone: the
same seeded initial weights, the same validation split, a Standardizer fitted on its own training
rows, the same batch order (its own ``randperm`` generator seeded with its seed), the same loss,
optimiser, schedule and early stopping. Parameters therefore match a sequential run to float
tolerance for deterministic models; with Dropout the masks come from one shared stream, so the
results agree in distribution, not bit for bit.

Models that cannot be stacked fall back to sequential training automatically
(:func:`stack_plan` says why): TorchScript modules, BatchNorm / InstanceNorm (per-batch
statistics and running buffers updated in place in train mode), modules with other buffers, and
anything the ``vmap`` probe rejects (in-place tricks, data-dependent control flow).
Checkpoint files and resuming are per-fold features of ``fit``; stacked runs do not write them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from evalstudio.core.errors import Cancelled, DataError, TrainingError
from evalstudio.core.outputs import OutputKind
from evalstudio.core.results import EpochMetrics, TrainResult
from evalstudio.core.train_config import TrainConfig, make_scheduler

if TYPE_CHECKING:
    import torch

    from evalstudio.core.data import Dataset
    from evalstudio.core.training import CancelToken

EpochHook = Callable[[int, EpochMetrics], None]  # (fold 0-based, metrics)
BatchHook = Callable[[int, int, int], None]  # (epoch, batch, n_batches)


@dataclass(frozen=True)
class FoldsRun:
    """k trained models and what training each of them reported.

    Attributes
    ----------
    modules : tuple of torch.nn.Module -- fold i's model with its last epoch's weights (as ``fit``)
    results : tuple of TrainResult
    path : {"bmm", "vmap", "sequential"} -- how the folds were trained
    reason : str -- why ``sequential`` was chosen ("" otherwise)
    """

    modules: tuple[Any, ...]
    results: tuple[TrainResult, ...]
    path: str
    reason: str = ""


def stack_plan(module: "torch.nn.Module") -> tuple[str, str]:
    """How ``module``'s folds can be trained together: ``("bmm" | "vmap" | "sequential", reason)``.

    ``vmap`` is provisional: :func:`fit_folds` probes it on the real data before relying on it.
    """
    import torch
    import torch.nn as nn

    from evalstudio.core.stacked_ops import bmm_layers

    if isinstance(module, torch.jit.ScriptModule):
        return "sequential", "a TorchScript module's weights cannot be stacked"
    norms = [n for n, m in module.named_modules() if isinstance(m, nn.modules.batchnorm._NormBase)]
    if norms:
        return "sequential", (f"{norms[0] or 'the model'} is a BatchNorm/InstanceNorm layer: in train mode it "
                              "normalises with per-batch statistics and updates running buffers in place")
    buffers = [n for n, _ in module.named_buffers()]
    if buffers:
        return "sequential", f"the model has buffers ({buffers[0]}) that training may change in place"
    params = list(module.parameters())
    if not params:
        return "sequential", "the model has no parameters"
    if len({p.dtype for p in params}) != 1 or not params[0].dtype.is_floating_point:
        return "sequential", "the model's parameters do not share one floating-point dtype"
    if bmm_layers(module) is not None:
        return "bmm", ""
    return "vmap", ""


def fit_folds(
    builder: Callable[[], "torch.nn.Module"],
    datasets: Sequence["Dataset"],
    config: TrainConfig,
    *,
    output_kind: OutputKind,
    seeds: Sequence[int] | None = None,
    val_datasets: Sequence["Dataset | None"] | None = None,
    stacked: bool | str = "auto",
    on_epoch_end: EpochHook | None = None,
    on_batch_end: BatchHook | None = None,
    cancel: "CancelToken | None" = None,
) -> FoldsRun:
    """Train one fresh model per dataset, together when the model allows it.

    Fold i is ``fit(seeded(builder, seeds[i]), datasets[i], replace(config, seed=seeds[i]),
    val_data=val_datasets[i])``, computed either literally (sequential) or with all folds stacked.

    Parameters
    ----------
    builder : callable returning a fresh torch.nn.Module
    datasets : sequence of k Dataset -- each fold's training rows (same features and classes)
    config : TrainConfig -- ``config.seed`` is replaced by each fold's seed
    output_kind : OutputKind
    seeds : sequence of k int, optional -- default ``config.seed + i`` (as cross_validate)
    val_datasets : sequence of k (Dataset or None), optional
    stacked : True, False or "auto"
        "auto" stacks when :func:`stack_plan` allows and falls back otherwise; True raises
        :class:`TrainingError` naming the reason when the model cannot be stacked.
    on_epoch_end : callable(fold, EpochMetrics), optional -- fold is 0-based
    on_batch_end : callable(epoch, batch, n_batches), optional
    cancel : object with ``is_set()``, optional -- checked before every batch

    Returns
    -------
    FoldsRun
    """
    from evalstudio.core.training import fit, seeded

    k = len(datasets)
    if k == 0:
        raise DataError("no folds to train.", hint="Give at least one training set.")
    seeds = list(seeds) if seeds is not None else [config.seed + i for i in range(k)]
    vals = list(val_datasets) if val_datasets is not None else [None] * k
    if len(seeds) != k or len(vals) != k:
        raise TrainingError(f"{k} training sets but {len(seeds)} seeds and {len(vals)} validation sets.",
                            hint="Give one seed and one validation set (or None) per fold.")
    modules = [seeded(builder, s) for s in seeds]
    path, reason = ("sequential", "stacking turned off") if stacked is False else stack_plan(modules[0])
    if path != "sequential" and k > 1:
        try:
            results = _fit_stacked(modules, path, datasets, vals, seeds, config, OutputKind(output_kind),
                                   on_epoch_end, on_batch_end, cancel)
            return FoldsRun(tuple(modules), tuple(results), path)
        except _CannotStack as exc:
            path, reason = "sequential", str(exc)
            modules = [seeded(builder, s) for s in seeds]  # the probe must leave no trace
    elif k == 1 and path != "sequential":
        path, reason = "sequential", "a single fold has nothing to stack with"
    if stacked is True:
        raise TrainingError(f"these folds cannot be trained together: {reason}.",
                            hint="Use stacked='auto' to fall back to training the folds one after another.")

    results_seq = []
    for i, (module, data, val, seed) in enumerate(zip(modules, datasets, vals, seeds)):
        hook = _FoldHook(i, on_epoch_end, on_batch_end)
        results_seq.append(fit(module, data, replace(config, seed=seed), output_kind=output_kind,
                               val_data=val, callbacks=[hook], cancel=cancel))
    return FoldsRun(tuple(modules), tuple(results_seq), "sequential", reason)


class _CannotStack(Exception):
    """Raised by the vmap probe; fit_folds falls back to sequential."""


class _FoldHook:
    """Adapts fit's callbacks to fit_folds' per-fold hooks."""

    def __init__(self, fold: int, on_epoch: EpochHook | None, on_batch: BatchHook | None) -> None:
        self.fold, self.on_epoch, self.on_batch = fold, on_epoch, on_batch

    def on_train_start(self, info: Any) -> None: ...
    def on_checkpoint_saved(self, path: str, kind: str) -> None: ...
    def on_train_end(self, result: Any) -> None: ...

    def on_batch_end(self, epoch: int, batch: int, n_batches: int) -> None:
        if self.on_batch is not None:
            self.on_batch(epoch, batch, n_batches)

    def on_epoch_end(self, metrics: EpochMetrics) -> None:
        if self.on_epoch is not None:
            self.on_epoch(self.fold, metrics)


def _padded(arrays: list[np.ndarray], fill: float | int, dtype: Any) -> np.ndarray:
    n = max(a.shape[0] for a in arrays)
    out = np.full((len(arrays), n, *arrays[0].shape[1:]), fill, dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, : a.shape[0]] = a
    return out


def _batch_plan(sizes: list[int], batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions into each fold's permutation per step: pos (n_steps, k, width) int64, weights
    (n_steps, k, width) float64 (1/batch size on real rows, 0 on padding), rows (n_steps, k)."""
    from evalstudio.core.training import batch_bounds

    bounds = [batch_bounds(n, batch_size) for n in sizes]
    n_steps = max(len(b) for b in bounds)
    width = max(hi - lo for b in bounds for lo, hi in b)
    pos = np.zeros((n_steps, len(sizes), width), dtype=np.int64)
    w = np.zeros((n_steps, len(sizes), width), dtype=np.float64)
    rows = np.zeros((n_steps, len(sizes)), dtype=np.int64)
    for i, b in enumerate(bounds):
        for s, (lo, hi) in enumerate(b):
            pos[s, i, : hi - lo] = np.arange(lo, hi)
            w[s, i, : hi - lo] = 1.0 / (hi - lo)
            rows[s, i] = hi - lo
    return pos, w, rows


def _fit_stacked(
    modules: list["torch.nn.Module"], path: str, datasets: Sequence["Dataset"], vals: list["Dataset | None"],
    seeds: list[int], config: TrainConfig, kind: OutputKind, on_epoch: EpochHook | None,
    on_batch: BatchHook | None, cancel: "CancelToken | None",
) -> list[TrainResult]:
    """All folds in one loop; mirrors :func:`evalstudio.core.training.fit` step for step."""
    import torch

    from evalstudio.core.device import resolve_device
    from evalstudio.core.early_stopping import is_improvement, monitor_mode, should_stop
    from evalstudio.core.losses import check_labels, check_output_shape
    from evalstudio.core.preprocessing import Standardizer
    from evalstudio.core.stacked_ops import (FlatParams, StackedOptimizer, bmm_layers, bmm_param_names,
                                             make_bmm_forward, make_vmap_forward, stacked_probabilities,
                                             stacked_row_losses)
    from evalstudio.core.training import _NO_VAL_MONITOR, split_validation

    device = resolve_device(config.device)
    k = len(modules)
    ref = datasets[0]
    # --- each fold's rows, split and standardised exactly as fit would
    trains, valids, scalers = [], [], []
    for data, val, seed in zip(datasets, vals, seeds):
        if data.classes != ref.classes or data.n_features != ref.n_features:
            raise DataError(f"the folds' data differ: classes {data.classes} vs {ref.classes}, "
                            f"{data.n_features} vs {ref.n_features} features.",
                            hint="Give every fold rows of the same dataset.")
        if val is not None:
            if val.classes != data.classes or val.n_features != data.n_features:
                raise DataError(
                    f"the validation data has classes {val.classes} and {val.n_features} features; "
                    f"the training data has {data.classes} and {data.n_features}.",
                    hint="Give --val-data a CSV with the same columns and target classes as --data.")
            tr_set, va_set = data, val
        else:
            tr, va = split_validation(data, config.val_fraction, seed)
            tr_set, va_set = data.subset(tr), (data.subset(va) if va.size else None)
        check_labels(tr_set.y, ref.n_classes, kind)
        scaler = Standardizer.fit(tr_set.X) if config.standardize else None
        trains.append(tr_set)
        valids.append(va_set)
        scalers.append(scaler)
    has_val = [v is not None for v in valids]
    if any(has_val) and not all(has_val):
        raise _CannotStack("some folds have validation rows and some do not")
    monitor, notes = config.monitor, []
    if not has_val[0] and monitor in _NO_VAL_MONITOR:
        monitor = _NO_VAL_MONITOR[monitor]
        notes.append(f"no validation rows: monitoring {monitor} instead of {config.monitor}")
    mode = monitor_mode(monitor)

    def stack(sets: list["Dataset"]) -> tuple["torch.Tensor", "torch.Tensor", list[int]]:
        Xs = [ds.X if sc is None else sc.transform(ds.X) for ds, sc in zip(sets, scalers)]
        X = torch.as_tensor(_padded([np.asarray(x, dtype=np.float32) for x in Xs], 0.0, np.float32)).to(device)
        y = torch.as_tensor(_padded([ds.y.astype(np.int64) for ds in sets], 0, np.int64)).to(device)
        return X, y, [ds.n_samples for ds in sets]

    Xtr, ytr, ntr = stack(trains)
    Xva, yva, nva = stack(valids) if has_val[0] else (None, None, [0] * k)  # type: ignore[arg-type]

    # --- models: checked, stacked, and the forward path chosen (vmap is probed first)
    for i, m in enumerate(modules):
        m.to(device)
        with torch.inference_mode():
            was = m.training
            m.eval()
            check_output_shape(m(Xtr[i, :2]), ref.n_classes, kind)
            m.train(was)
    fp = FlatParams.stack(modules, device)
    if path == "bmm":
        layers = bmm_layers(modules[0])
        assert layers is not None
        forward = make_bmm_forward(layers, bmm_param_names(modules[0], layers))
    else:
        forward = make_vmap_forward(modules[0])
        _probe_vmap(forward, fp, modules, Xtr)

    opt = StackedOptimizer(fp.flat, config.optimizer, config.weight_decay)
    dummies = [torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr) for _ in range(k)]
    schedulers = [make_scheduler(d, config) for d in dummies]
    generators = []
    for s in seeds:
        g = torch.Generator()  # on the CPU, as fit: the same batch order on every device
        g.manual_seed(s)
        generators.append(g)
    torch.manual_seed(seeds[0])  # dropout: one shared stream (see the module docstring)

    pos_np, w_np, rows_np = _batch_plan(ntr, config.batch_size)
    n_steps, width = pos_np.shape[0], pos_np.shape[2]
    pos = torch.as_tensor(pos_np.transpose(1, 0, 2).reshape(k, -1), device=device)
    w = torch.as_tensor(w_np, dtype=Xtr.dtype, device=device)
    rows = torch.as_tensor(rows_np, dtype=Xtr.dtype, device=device)
    step_has_rows = torch.as_tensor(rows_np > 0, device=device)
    every_fold_steps = (rows_np > 0).all(axis=1).tolist()  # False only on trailing steps of uneven folds
    ntr_t = torch.as_tensor(ntr, dtype=Xtr.dtype, device=device)
    fold_rows = torch.arange(k, device=device).unsqueeze(1)
    tr_mask = torch.arange(Xtr.shape[1], device=device).unsqueeze(0) < ntr_t.unsqueeze(1)

    histories: list[list[EpochMetrics]] = [[] for _ in range(k)]
    best_score: list[float | None] = [None] * k
    best_epoch: list[int | None] = [None] * k
    best_proba: list[Any] = [None] * k
    last_proba: list[Any] = [None] * k
    stopped, reasons = [False] * k, [""] * k
    for epoch in range(1, config.epochs + 1):
        alive = [not s for s in stopped]
        if not any(alive):
            break
        t0 = time.perf_counter()
        lr_now = [float(d.param_groups[0]["lr"]) for d in dummies]
        lr = torch.tensor(lr_now, dtype=Xtr.dtype, device=device).unsqueeze(1)
        alive_t = torch.tensor(alive, device=device)
        perms = torch.zeros(k, Xtr.shape[1], dtype=torch.int64)
        for i in range(k):
            if alive[i]:
                perms[i, : ntr[i]] = torch.randperm(ntr[i], generator=generators[i])
        idx_all = perms.to(device).gather(1, pos).reshape(k, n_steps, width)
        losses = torch.zeros(n_steps, k, dtype=Xtr.dtype, device=device)
        for s in range(n_steps):
            if cancel is not None and cancel.is_set():
                exc = Cancelled(f"training cancelled during epoch {epoch} (batch {s + 1} of {n_steps})")
                exc.histories = tuple(tuple(h) for h in histories)  # type: ignore[attr-defined]
                raise exc
            idx = idx_all[:, s]
            out = forward(fp.views(), Xtr[fold_rows, idx], True)
            fold_loss = (stacked_row_losses(out, ytr.gather(1, idx), kind) * w[s]).sum(1)
            fp.flat.grad = None
            fold_loss.sum().backward()
            active = step_has_rows[s] & alive_t
            opt.step(lr, None if all(alive) and every_fold_steps[s] else active.unsqueeze(1))
            losses[s] = fold_loss.detach()
            if on_batch is not None:
                on_batch(epoch, s + 1, n_steps)

        # Honest numbers, as fit: eval mode, no gradients, every row at once, one host sync.
        with torch.inference_mode():
            views = {n: v.detach() for n, v in fp.views().items()}
            p_tr = stacked_probabilities(forward(views, Xtr, False), kind)
            parts = [(losses * rows).sum(0) / ntr_t, *_acc_loss(p_tr, ytr, tr_mask, ntr_t)]
            p_va = None
            if Xva is not None and yva is not None:
                nva_t = torch.as_tensor(nva, dtype=Xtr.dtype, device=device)
                va_mask = torch.arange(Xva.shape[1], device=device).unsqueeze(0) < nva_t.unsqueeze(1)
                p_va = stacked_probabilities(forward(views, Xva, False), kind)
                acc, loss = _acc_loss(p_va, yva, va_mask, nva_t)
                parts += [loss, acc]
            finite = torch.isfinite(losses).all(0)
            values = torch.stack(parts, dim=1).tolist()  # (k, 3 or 5): the epoch's one host sync
        seconds = time.perf_counter() - t0
        for i in range(k):
            if not alive[i]:
                continue
            if not bool(finite[i]):
                b = int((~torch.isfinite(losses[:, i])).nonzero()[0])
                raise TrainingError(
                    f"the training loss of fold {i + 1} became {float(losses[b, i])} at epoch {epoch}, "
                    f"batch {b + 1} of {n_steps}; training stopped.",
                    hint="Lower --lr, turn on --standardize, or check the data for extreme values.")
            v = values[i]
            em = EpochMetrics(epoch=epoch, lr=lr_now[i], train_loss=v[0], train_accuracy=v[1],
                              train_eval_loss=v[2], val_loss=v[3] if p_va is not None else None,
                              val_accuracy=v[4] if p_va is not None else None, seconds=seconds)
            histories[i].append(em)
            score = getattr(em, monitor)
            fold_va = p_va[i, : nva[i]].clone() if p_va is not None else None
            if is_improvement(score, best_score[i], mode=mode, min_delta=config.min_delta):
                best_score[i], best_epoch[i], best_proba[i] = float(score), epoch, fold_va
            last_proba[i] = fold_va
            sched = schedulers[i]
            if sched is not None:
                dummies[i].step()  # no gradient: a no-op that tells the schedule the optimiser ran
                if config.lr_schedule == "plateau":
                    if score is not None and math.isfinite(score):
                        sched.step(score)
                else:
                    sched.step()
            if on_epoch is not None:
                on_epoch(i, em)
            stop, why = should_stop([getattr(h, monitor) for h in histories[i]], patience=config.early_stopping,
                                    mode=mode, min_delta=config.min_delta)
            if stop:
                stopped[i], reasons[i] = True, why

    fp.load_into(modules)
    for m in modules:
        m.train()  # as fit leaves a model
    return [_result(histories[i], monitor, mode, best_epoch[i], best_score[i], stopped[i], reasons[i], ref,
                    valids[i], best_proba[i] if best_proba[i] is not None else last_proba[i], scalers[i], kind, notes)
            for i in range(k)]


def _acc_loss(proba: "torch.Tensor", y: "torch.Tensor", mask: "torch.Tensor", n: "torch.Tensor") -> list[Any]:
    """Per-fold (accuracy, mean -log p[y]) over the real (unpadded) rows; each of shape (k,)."""
    import torch

    from evalstudio.core.stacked_ops import _LOG_FLOOR

    m = mask.to(proba.dtype)
    acc = ((proba.argmax(-1) == y).to(proba.dtype) * m).sum(1) / n
    p_true = proba.gather(2, y.unsqueeze(-1)).squeeze(-1)
    loss = (-(torch.log(p_true).clamp_min(_LOG_FLOOR)) * m).sum(1) / n
    return [acc, loss]


def _probe_vmap(forward: Callable[..., Any], fp: Any, modules: list["torch.nn.Module"], X: "torch.Tensor") -> None:
    """Run the vmapped model once (eval and train mode, with a backward pass) and compare it with
    each fold's own module; raise :class:`_CannotStack` when vmap fails or disagrees."""
    import torch

    try:
        with torch.no_grad():
            got = forward({n: v.detach() for n, v in fp.views().items()}, X[:, :4], False)
            for i, m in enumerate(modules):
                m.eval()
                want = m(X[i, :4])
                if not torch.allclose(got[i].reshape(want.shape), want, rtol=1e-4, atol=1e-5):
                    raise _CannotStack("the vmapped model does not reproduce each fold's own outputs")
        forward(fp.views(), X[:, :4], True).float().sum().backward()
        fp.flat.grad = None
    except _CannotStack:
        raise
    except Exception as exc:  # vmap rejects in-place tricks, .item(), data-dependent control flow
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise _CannotStack(f"torch.func.vmap cannot run this model ({first[:160]})") from None


def _result(history: list[EpochMetrics], monitor: str, mode: str, best_epoch: int | None, best_score: float | None,
            stopped: bool, reason: str, ref: "Dataset", val: "Dataset | None", proba: Any, scaler: Any,
            kind: OutputKind, notes: list[str]) -> TrainResult:
    from evalstudio.core.predictions import Predictions

    pred = None
    if val is not None and proba is not None:
        pred = Predictions(val.y, proba.cpu().numpy(), ref.classes, val.row_numbers)
    return TrainResult(
        history=tuple(history), monitor=monitor, mode=mode, best_epoch=best_epoch, best_score=best_score,
        best_checkpoint=None, last_checkpoint=None, stopped_early=stopped, stop_reason=reason,
        classes=ref.classes, val_predictions=pred, preprocessing=scaler, output_kind=kind.value,
        notes=tuple(notes),
    )


__all__ = ["FoldsRun", "fit_folds", "stack_plan"]
