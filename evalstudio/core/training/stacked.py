"""Train the k models of a cross-validation together, with their weights stacked.

Small tabular models are bound by per-step overhead (Python, dispatch, kernel launches), not by
arithmetic, so running k folds one after another pays that overhead k times. Here every step
moves all k folds at once: one batched forward (``torch.baddbmm`` per Linear, or ``vmap`` over
``functional_call``), one backward, one element-wise optimiser update on a (k, n_params) tensor
(see :mod:`evalstudio.core.training.stacked_ops`).

Each fold is trained exactly as :func:`evalstudio.core.training.loop.fit` would train it alone: the
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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from evalstudio.core.errors import DataError, TrainingError
from evalstudio.core.models.outputs import OutputKind
from evalstudio.core.training.callbacks import Callback
from evalstudio.core.training.config import TrainConfig
from evalstudio.core.training.results import EpochMetrics, TrainResult

if TYPE_CHECKING:
    import torch

    from evalstudio.core.data.dataset import Dataset
    from evalstudio.core.training.loop import CancelToken

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

    from evalstudio.core.training.stacked_ops import bmm_layers

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
    from evalstudio.core.training.loop import fit, seeded
    from evalstudio.core.training.stacked_loop import CannotStack, fit_stacked

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
            results = fit_stacked(modules, path, datasets, vals, seeds, config, OutputKind(output_kind),
                                  on_epoch_end, on_batch_end, cancel)
            return FoldsRun(tuple(modules), tuple(results), path)
        except CannotStack as exc:
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


class _FoldHook(Callback):
    """Adapts fit's callbacks to fit_folds' per-fold hooks."""

    def __init__(self, fold: int, on_epoch: EpochHook | None, on_batch: BatchHook | None) -> None:
        self.fold, self.on_epoch, self.on_batch = fold, on_epoch, on_batch

    def on_batch_end(self, epoch: int, batch: int, n_batches: int) -> None:
        if self.on_batch is not None:
            self.on_batch(epoch, batch, n_batches)

    def on_epoch_end(self, metrics: EpochMetrics) -> None:
        if self.on_epoch is not None:
            self.on_epoch(self.fold, metrics)


__all__ = ["FoldsRun", "fit_folds", "stack_plan"]
