"""Stratified k-fold cross-validation: a fresh, seeded model, encoding and scaler per fold.

Each fold trains with :func:`evalstudio.core.training.loop.fit` on its training rows only (the
column encoding -- medians, known categories -- and the standardisation are learned inside
``fit`` from exactly those rows; the inputs stay those of the loaded data, so one model
definition fits every fold), then scores its held-out rows
once, with the final model, in eval mode. Nothing is selected on the held-out rows. Folds are
reported through ``on_fold_end`` as they finish; the summary is the mean and the population
standard deviation (ddof=0, as numpy and the first tutorial) of every metric, and the pooled
evaluation scores all out-of-fold predictions together.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from evalstudio.core.errors import DataError, TrainingError
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.models.outputs import OutputKind
from evalstudio.core.training.callbacks import Callback, CallbackList
from evalstudio.core.training.config import MAX_SEED, TrainConfig
from evalstudio.core.training.loop import CancelToken, fit, seeded
from evalstudio.core.training.results import CVResult, FoldResult

if TYPE_CHECKING:
    import torch

    from evalstudio.core.data.dataset import Dataset


def fold_indices(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train positions, test positions) of each fold: StratifiedKFold(shuffle=True, random_state=seed).

    Raises :class:`DataError` when ``k`` < 2 or a class has fewer than ``k`` rows.
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    # (int, np.integer) rather than numbers.Integral, which mypy does not relate to int
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise DataError(f"--folds is {k!r}; cross-validation needs at least 2 folds.", hint="Use --folds 5 or 10.",
                        messages={"app": f"K-fold folds is {k!r}; cross-validation needs at least 2 folds."},
                        hints={"app": "Set K-fold folds to 5 or 10."})
    counts = np.bincount(y)
    present = counts[counts > 0]
    if present.size < 2:
        raise DataError("the target has only one class; there is nothing to classify.",
                        hint="Check the target column (--target).",
                        hints={"app": "Check the target column (the Target picker of the Data tab)."})
    if present.min() < k:
        raise DataError(
            f"the smallest class has {int(present.min())} rows, fewer than the {k} folds "
            "(every fold needs at least one row of each class).",
            hint=f"Use --folds {max(2, int(present.min()))} or fewer, or more data.",
            hints={"app": f"Set K-fold folds to {max(2, int(present.min()))} or fewer, or use more data."},
        )
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(np.asarray(tr), np.asarray(te)) for tr, te in skf.split(np.zeros((y.size, 1)), y)]


def summarize(metrics: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``{metric: {"mean", "std", "n"}}`` over folds, population std (ddof=0); numeric metrics only.

    Delegates to :func:`evalstudio.core.evaluation.metrics.summarize_folds` (a metric undefined in a fold,
    such as ROC AUC of a fold holding one class, is left out of that metric and ``n`` says how
    many folds count).
    """
    from evalstudio.core.evaluation.metrics import summarize_folds

    keys = [k for k in metrics[0] if all(isinstance(m.get(k), numbers.Real) and not isinstance(m.get(k), bool)
                                          for m in metrics)]
    return summarize_folds([{k: m[k] for k in keys} for m in metrics])


def cross_validate(
    model_factory: Callable[[], "torch.nn.Module"],
    data: "Dataset",
    config: TrainConfig,
    *,
    output_kind: OutputKind | str | None = None,
    k: int = 5,
    callbacks: Sequence[Callback] = (),
    cancel: CancelToken | None = None,
    threshold: float = 0.5,
    positive: int = 1,
    stacked: bool | str = False,
) -> CVResult:
    """Train and evaluate one fresh model per stratified fold.

    Parameters
    ----------
    model_factory : callable returning a fresh torch.nn.Module
        Called once per fold after seeding torch with ``config.seed + fold - 1`` (e.g.
        ``LoadedModel.builder``, or a function that builds and loads ``--checkpoint`` weights).
    data : Dataset
    config : TrainConfig
        ``val_fraction`` and checkpointing are ignored: each fold trains on all its training
        rows and is scored once, at the end, on its held-out rows.
    output_kind : OutputKind, optional
        Inferred from a first model (:func:`evalstudio.core.models.loading.infer_output_kind`) when None.
    k : int
    callbacks : sequence of Callback
        Get ``on_fold_start`` / ``on_fold_end`` plus every training event of every fold.
    cancel : object with ``is_set()``, optional
    threshold, positive : binary decision threshold and positive class index for the metrics.
    stacked : False, True or "auto"
        Train the k folds together (:func:`evalstudio.core.training.stacked.fit_folds`: same per-fold
        results, several times faster for small models); "auto" falls back to one fold after
        another when the model cannot be stacked, True raises instead. While stacked folds
        train, callbacks get ``on_batch_end`` (one step moves every fold); each fold's
        ``on_fold_start``, ``on_epoch_end`` events and ``on_fold_end`` follow once all are trained.
        ``config["fold_training"]`` of the result says how the folds were trained.

    Returns
    -------
    CVResult
        Pooled predictions are in the dataset's row order.
    """
    from evalstudio.core.evaluation.metrics import evaluate_predictions
    from evalstudio.core.evaluation.predict import evaluate_dataset
    from evalstudio.core.models.device import resolve_device

    device = resolve_device(config.device)
    cb = CallbackList(callbacks)
    if config.seed + k - 1 > MAX_SEED:  # fold i trains with seed + i - 1
        raise TrainingError(f"--seed {config.seed} with {k} folds uses seeds up to {config.seed + k - 1}, beyond "
                            f"the largest seed, {MAX_SEED}.", hint=f"Use a seed of at most {MAX_SEED - k + 1}.",
                            messages={"app": f"Seed {config.seed} with {k} folds uses seeds up to "
                                      f"{config.seed + k - 1}, beyond the largest seed, {MAX_SEED}."})
    splits = fold_indices(data.y, k, config.seed)
    if output_kind is None:
        from evalstudio.core.models.loading import infer_output_kind

        output_kind = infer_output_kind(model_factory(), data.n_features, data.n_classes)
    output_kind = OutputKind(output_kind)
    folds: list[FoldResult] = []
    together, how = _train_stacked(model_factory, data, config, output_kind, splits, stacked, cb, cancel)
    for fold, (tr, te) in enumerate(splits, start=1):
        cb.on_fold_start(fold, k)
        fold_cfg = replace(config, seed=config.seed + fold - 1, val_fraction=0.0, checkpoint_every=0)
        if together is not None:
            module, train = together[fold - 1]
            for epoch in train.history:
                cb.on_epoch_end(epoch)
        else:
            module = seeded(model_factory, fold_cfg.seed)
            train = fit(module, data.subset(tr), fold_cfg, output_kind=output_kind, callbacks=cb.callbacks,
                        cancel=cancel)
        # The held-out rows, encoded with what the fold's training rows taught (a value only they
        # hold is unseen: it goes to "(other)", never to an input of its own).
        test = data.subset(te)
        unseen: dict[str, int] = {}
        if train.encoding is not None and test.table is not None:
            encoded = train.encoding.transform(test.table)
            unseen = dict(encoded.unseen)
            test = replace(test, X=encoded.X, encoding=train.encoding)
        pred = evaluate_dataset(module, test, output_kind, device=device, preprocessing=train.preprocessing)
        report = evaluate_predictions(pred, threshold=threshold, positive=positive)
        result = FoldResult(
            fold=fold, n_train=int(tr.size), n_test=int(te.size), train_index=tr, test_index=te,
            history=train.history, predictions=pred, metrics=dict(report.metrics),
            confusion_matrix=np.asarray(report.confusion_matrix), preprocessing=train.preprocessing,
            seed=fold_cfg.seed, encoding=train.encoding, unseen=unseen,
        )
        folds.append(result)
        cb.on_fold_end(result)

    pooled = Predictions.concatenate([f.predictions for f in folds])
    order = np.argsort(np.concatenate([f.test_index for f in folds]), kind="stable")
    pooled = pooled.subset(order)
    pooled_report = evaluate_predictions(pooled, threshold=threshold, positive=positive)
    return CVResult(
        folds=tuple(folds),
        summary=summarize([f.metrics for f in folds]),
        pooled_predictions=pooled,
        pooled_metrics=dict(pooled_report.metrics),
        pooled_confusion_matrix=np.asarray(pooled_report.confusion_matrix),
        config={**config.to_dict(), "folds": k, "output_kind": OutputKind(output_kind).value,
                "fold_training": how},
    )


def _train_stacked(
    model_factory: Callable[[], "torch.nn.Module"], data: "Dataset", config: TrainConfig, output_kind: OutputKind,
    splits: list[tuple[np.ndarray, np.ndarray]], stacked: bool | str, cb: CallbackList, cancel: CancelToken | None,
) -> tuple[list[tuple[Any, Any]] | None, str]:
    """All folds trained together when ``stacked`` asks and the model allows: ([(module, TrainResult)], how),
    or (None, how) for the fold-by-fold loop. ``how`` is "sequential", "stacked (bmm|vmap)" or
    "sequential (<why stacking was not possible>)"."""
    if stacked is False:
        return None, "sequential"
    if not config.shuffle or config.drop_last:
        # The stacked trainer always draws a fresh permutation and keeps every row.
        why = "in-order or drop-last batches are trained one fold after another"
        if stacked is True:
            from evalstudio.core.errors import TrainingError

            raise TrainingError(f"the folds cannot be trained stacked: {why}.",
                                hint="Use stacked='auto' (or False), or shuffled batches without drop-last.")
        return None, f"sequential ({why})"
    from evalstudio.core.training.stacked import fit_folds, stack_plan

    path, reason = stack_plan(seeded(model_factory, config.seed))
    if path == "sequential" and stacked == "auto":
        return None, f"sequential ({reason})"
    fold_cfg = replace(config, val_fraction=0.0, checkpoint_every=0)
    run = fit_folds(model_factory, [data.subset(tr) for tr, _ in splits], fold_cfg, output_kind=output_kind,
                    seeds=[config.seed + i for i in range(len(splits))], stacked=stacked,
                    on_batch_end=cb.on_batch_end, cancel=cancel)
    how = f"stacked ({run.path})" if run.path != "sequential" else f"sequential ({run.reason})"
    return list(zip(run.modules, run.results)), how
