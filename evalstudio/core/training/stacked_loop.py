"""The loop behind :func:`evalstudio.core.training.stacked.fit_folds`: k folds, one step at a time, together.

Mirrors :func:`evalstudio.core.training.loop.fit` step for step (split, standardisation, batch order,
loss, optimiser, schedule, early stopping, per-epoch honest metrics) for k folds at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from evalstudio.core.errors import Cancelled, DataError, TrainingError
from evalstudio.core.models.outputs import OutputKind
from evalstudio.core.training.config import TrainConfig, make_scheduler
from evalstudio.core.training.results import EpochMetrics, TrainResult

if TYPE_CHECKING:
    import torch

    from evalstudio.core.data.dataset import Dataset
    from evalstudio.core.data.encoding import Encoding
    from evalstudio.core.data.preprocessing import Standardizer
    from evalstudio.core.training.loop import CancelToken

EpochHook = Callable[[int, EpochMetrics], None]  # (fold 0-based, metrics)
BatchHook = Callable[[int, int, int], None]  # (epoch, batch, n_batches)


class CannotStack(Exception):
    """The folds cannot be trained together (the vmap probe failed); fit_folds falls back."""


def _padded(arrays: list[np.ndarray], fill: float | int, dtype: Any) -> np.ndarray:
    n = max(a.shape[0] for a in arrays)
    out = np.full((len(arrays), n, *arrays[0].shape[1:]), fill, dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, : a.shape[0]] = a
    return out


def _batch_plan(sizes: list[int], batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions into each fold's permutation per step: pos (n_steps, k, width) int64, weights
    (n_steps, k, width) float64 (1/batch size on real rows, 0 on padding), rows (n_steps, k)."""
    from evalstudio.core.training.loop import batch_bounds

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


def fit_stacked(
    modules: list["torch.nn.Module"], path: str, datasets: Sequence["Dataset"], vals: Sequence["Dataset | None"],
    seeds: list[int], config: TrainConfig, kind: OutputKind, on_epoch: EpochHook | None,
    on_batch: BatchHook | None, cancel: "CancelToken | None",
) -> list[TrainResult]:
    """All folds in one loop; mirrors :func:`evalstudio.core.training.loop.fit` step for step."""
    import torch

    from evalstudio.core.models.device import resolve_device
    from evalstudio.core.training.early_stopping import is_improvement, monitor_mode, should_stop
    from evalstudio.core.training.inputs import encode_training_rows, fit_scaler
    from evalstudio.core.training.loop import _NO_VAL_MONITOR, split_validation
    from evalstudio.core.training.losses import check_labels, check_output_shape
    from evalstudio.core.training.stacked_ops import (
        FlatParams,
        StackedOptimizer,
        bmm_layers,
        bmm_param_names,
        make_bmm_forward,
        make_vmap_forward,
        stacked_row_losses,
    )

    device = resolve_device(config.device)
    k = len(modules)
    ref = datasets[0]
    # --- each fold's rows, split and standardised exactly as fit would
    trains: list[Dataset] = []
    valids: list[Dataset | None] = []
    scalers: list[Standardizer | None] = []
    encodings: list[Encoding | None] = []
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
            tr_set: Dataset = data
            va_set: Dataset | None = val
        else:
            tr, va = split_validation(data, config.val_fraction, seed)
            tr_set, va_set = data.subset(tr), (data.subset(va) if va.size else None)
        tr_set, va_set, enc = encode_training_rows(data, tr_set, va_set)
        check_labels(tr_set.y, ref.n_classes, kind)
        scaler = fit_scaler(tr_set, enc) if config.standardize else None
        trains.append(tr_set)
        valids.append(va_set)
        scalers.append(scaler)
        encodings.append(enc)
    has_val = [v is not None for v in valids]
    if any(has_val) and not all(has_val):
        raise CannotStack("some folds have validation rows and some do not")
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
    val_sets = [v for v in valids if v is not None]  # every fold's or none (checked above)
    Xva, yva, nva = stack(val_sets) if val_sets else (None, None, [0] * k)

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
    every_fold_steps: list[bool] = np.all(rows_np > 0, axis=1).tolist()  # False only on trailing steps of uneven folds
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
                exc.histories = tuple(tuple(h) for h in histories)
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
            p_tr = _eval_proba(forward, views, Xtr, kind)
            parts = [(losses * rows).sum(0) / ntr_t, *_acc_loss(p_tr, ytr, tr_mask, ntr_t)]
            p_va = None
            if Xva is not None and yva is not None:
                nva_t = torch.as_tensor(nva, dtype=Xtr.dtype, device=device)
                va_mask = torch.arange(Xva.shape[1], device=device).unsqueeze(0) < nva_t.unsqueeze(1)
                p_va = _eval_proba(forward, views, Xva, kind)
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
                    hint="Lower --lr, turn on --standardize, or check the data for extreme values.",
                    hints={"app": "Lower the Learning rate, tick \u201cStandardise features\u201d, or check the data for "
                           "extreme values."})
            v = values[i]
            em = EpochMetrics(epoch=epoch, lr=lr_now[i], train_loss=v[0], train_accuracy=v[1],
                              train_eval_loss=v[2], val_loss=v[3] if p_va is not None else None,
                              val_accuracy=v[4] if p_va is not None else None, seconds=seconds)
            histories[i].append(em)
            score = getattr(em, monitor)
            fold_va = p_va[i, : nva[i]].clone() if p_va is not None else None
            # The best epoch is the best score seen, as in fit(); min_delta only drives early stopping.
            if is_improvement(score, best_score[i], mode=mode):
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
                    valids[i], best_proba[i] if best_proba[i] is not None else last_proba[i], scalers[i], kind, notes,
                    encodings[i])
            for i in range(k)]


def _eval_proba(forward: Callable[..., Any], views: dict[str, Any], X: "torch.Tensor", kind: OutputKind) -> Any:
    """Eval-mode probabilities (k, n, n_classes), in row chunks as fit's evaluation (bounded memory)."""
    import torch

    from evalstudio.core.models.forward import DEFAULT_BATCH_SIZE
    from evalstudio.core.training.stacked_ops import stacked_probabilities

    step = DEFAULT_BATCH_SIZE
    parts = [stacked_probabilities(forward(views, X[:, lo : lo + step], False), kind)
             for lo in range(0, X.shape[1], step)]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def _acc_loss(proba: "torch.Tensor", y: "torch.Tensor", mask: "torch.Tensor", n: "torch.Tensor") -> list[Any]:
    """Per-fold (accuracy, mean -log p[y]) over the real (unpadded) rows; each of shape (k,)."""
    import torch

    from evalstudio.core.training.stacked_ops import _LOG_FLOOR

    m = mask.to(proba.dtype)
    acc = ((proba.argmax(-1) == y).to(proba.dtype) * m).sum(1) / n
    p_true = proba.gather(2, y.unsqueeze(-1)).squeeze(-1)
    loss = (-(torch.log(p_true).clamp_min(_LOG_FLOOR)) * m).sum(1) / n
    return [acc, loss]


def _probe_vmap(forward: Callable[..., Any], fp: Any, modules: list["torch.nn.Module"], X: "torch.Tensor") -> None:
    """Run the vmapped model once (eval and train mode, with a backward pass) and compare it with
    each fold's own module; raise :class:`CannotStack` when vmap fails or disagrees."""
    import torch

    try:
        with torch.no_grad():
            got = forward({n: v.detach() for n, v in fp.views().items()}, X[:, :4], False)
            for i, m in enumerate(modules):
                m.eval()
                want = m(X[i, :4])
                if not torch.allclose(got[i].reshape(want.shape), want, rtol=1e-4, atol=1e-5):
                    raise CannotStack("the vmapped model does not reproduce each fold's own outputs")
        forward(fp.views(), X[:, :4], True).float().sum().backward()
        fp.flat.grad = None
    except CannotStack:
        raise
    except Exception as exc:  # vmap rejects in-place tricks, .item(), data-dependent control flow
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CannotStack(f"torch.func.vmap cannot run this model ({first[:160]})") from None


def _result(history: list[EpochMetrics], monitor: str, mode: str, best_epoch: int | None, best_score: float | None,
            stopped: bool, reason: str, ref: "Dataset", val: "Dataset | None", proba: Any, scaler: Any,
            kind: OutputKind, notes: list[str], encoding: Any = None) -> TrainResult:
    from evalstudio.core.evaluation.predictions import Predictions

    pred = None
    if val is not None and proba is not None:
        pred = Predictions(val.y, proba.cpu().numpy(), ref.classes, val.row_numbers)
    return TrainResult(
        history=tuple(history), monitor=monitor, mode=mode, best_epoch=best_epoch, best_score=best_score,
        best_checkpoint=None, last_checkpoint=None, stopped_early=stopped, stop_reason=reason,
        classes=ref.classes, val_predictions=pred, preprocessing=scaler, output_kind=kind.value,
        notes=tuple(notes), encoding=encoding,
    )


__all__ = ["CannotStack", "fit_stacked"]
