"""What the Compare view needs from the app: which model is A, which can be B, which k-fold runs exist.

:class:`CompareController` listens to the main :class:`~evalstudio.gui.controller.Controller`
(the model loaded, a training run, k-fold runs), starts the Compare jobs through it (so they queue
and stop like every other job) and feeds the :class:`~evalstudio.gui.evaluation.compare_view.CompareView`.

Which rows: the loaded data, as Evaluate scores it: each model leaves out the rows that trained it
(its checkpoint records them), unless "include the rows this model was trained on" is ticked; the
rows every model scored are paired by row number, and the words say what each left out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Slot

from evalstudio.gui.controller import Controller, JobHandlers
from evalstudio.workers.compare_jobs import CompareJob, CompareKFoldJob, ModelSource


def _name(path: str | None) -> str:
    return os.path.basename(path) if path else "(none)"


class CompareController(QObject):
    """Compare state: the checkpoint loaded before a training run, the trained one, k-fold runs.

    Parameters
    ----------
    controller : Controller
    view : CompareView (or anything with its methods and signals)
    settings : callable returning the training panel's settings (the device to use)
    """

    def __init__(self, controller: Controller, view: Any, settings: Callable[[], dict[str, Any]],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller, self.view, self._settings = controller, view, settings
        self.before_training: tuple[str | None, str | None] | None = None  # (model, checkpoint) before Train
        self.trained_checkpoint: str | None = None
        self.kfold_runs: list[tuple[str, Any, str | None]] = []  # (label, CVResult, data file)
        self.comparison: Any = None
        self._kfold_data: str | None = None
        self._pending: tuple[str, Any] = ("", None)  # (what is compared, the evaluation plan) of the running job
        c = controller
        c.model_changed.connect(self._on_model_changed)
        c.training_started.connect(self._on_training_started)
        c.training_finished.connect(self._on_training_finished)
        c.kfold_started.connect(self._on_kfold_started)
        c.kfold_finished.connect(self._on_kfold_finished)
        c.busy_changed.connect(self._on_busy)
        view.compare_requested.connect(self.compare)
        view.kfold_compare_requested.connect(self.compare_kfold)
        self._on_model_changed(c.model)

    # -- state from the controller ------------------------------------------------------------
    @Slot(object)
    def _on_model_changed(self, info: Any) -> None:
        if info is None:
            self.view.set_model_a("A: no model loaded yet (Model tab).")
        else:
            self.view.set_model_a(f"A = the loaded model: {_name(info.model_path)}"
                                  + (f" + {_name(info.checkpoint_path)}" if info.checkpoint_path else
                                     " (initial weights, no checkpoint)"))
        self._offer_trained()

    @Slot()
    def _on_training_started(self) -> None:
        c = self.controller
        self.before_training = (c.model_path, c.checkpoint_path) if c.checkpoint_path else None

    @Slot(object, object)
    def _on_training_finished(self, result: Any, _history: Any) -> None:
        if result is not None:
            self.trained_checkpoint = result.best_checkpoint or result.last_checkpoint
        self._offer_trained()

    def _offer_trained(self) -> None:
        if self.trained_checkpoint and self.before_training:
            self.view.set_trained_choice(
                f"B = the model trained in this window ({_name(self.trained_checkpoint)}), "
                f"A = {_name(self.before_training[1])}, the checkpoint loaded before training")
        else:
            self.view.set_trained_choice(None)

    @Slot(int, object)
    def _on_kfold_started(self, _k: int, _classes: Any) -> None:
        self._kfold_data = self.controller.data_path

    @Slot(object)
    def _on_kfold_finished(self, cv: Any) -> None:
        cfg = cv.config
        acc = cv.summary.get("accuracy", {}).get("mean")
        label = (f"run {len(self.kfold_runs) + 1}: {cfg.get('folds', len(cv.folds))} folds, {cfg.get('epochs')} epochs, "
                 f"lr {cfg.get('lr')}, seed {cfg.get('seed')}" + (f" (accuracy {acc:.3f})" if acc is not None else ""))
        self.kfold_runs.append((label, cv, self._kfold_data))
        self.view.set_kfold_runs([r[0] for r in self.kfold_runs])

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.view.set_busy(busy)

    # -- intents ----------------------------------------------------------------------------------
    @Slot(object)
    def compare(self, request: dict[str, Any]) -> bool:
        c = self.controller
        if c.dataset is None or c.model is None:
            self._refuse("load data and a model (A) first.")
            return False
        if request.get("source") == "trained":
            if not (self.trained_checkpoint and self.before_training):
                self._refuse("train a model in this window first (with a checkpoint loaded before training).")
                return False
            model_path, before_ckpt = self.before_training
            a = ModelSource("A", model_path, before_ckpt, outputs=c.outputs)
            current = c.model if c.model.checkpoint_path == self.trained_checkpoint else None
            b = ModelSource("B", c.model_path, self.trained_checkpoint,
                            current.loaded_tuple if current is not None else None, outputs=c.outputs)
            what = f"A = {_name(before_ckpt)} (loaded before training), B = {_name(self.trained_checkpoint)} (trained here)"
        else:
            a = ModelSource("A", c.model.model_path, c.model.checkpoint_path, c.model.loaded_tuple, outputs=c.outputs)
            b_model = request.get("model") or c.model.model_path  # the same definition, other weights
            b = ModelSource("B", b_model, request.get("checkpoint"))
            what = f"A = {_name(a.checkpoint_path or a.model_path)}, B = {_name(b.checkpoint_path or b.model_path)}"
        plan = c.evaluation_plan()
        device = str(self._settings().get("device", "cpu"))
        job = CompareJob(c.dataset, [a, b], device=device, threshold=self.view.threshold,
                         drop_missing=c.drop_missing, include_training_rows=plan.include_training_rows)
        self._pending = (what, plan)
        ok = c.start_job(job, JobHandlers(self._compared, failed=self._failed, area="compare"))
        if ok:
            self.view.show_message(f"Comparing: {what}…")
        return ok

    @Slot(int, int, str)
    def compare_kfold(self, i: int, j: int, metric: str) -> bool:
        if not (0 <= i < len(self.kfold_runs) and 0 <= j < len(self.kfold_runs)) or i == j:
            self.view.kfold.show_message("Choose two different k-fold runs.")
            return False
        runs = [(f"run {k + 1}", self.kfold_runs[k][1], self.kfold_runs[k][2]) for k in (i, j)]
        job = CompareKFoldJob(runs, metric)
        return self.controller.start_job(job, JobHandlers(self._kfold_compared, failed=self._kfold_failed,
                                                          area="compare"))

    # -- job outcomes ---------------------------------------------------------------------------
    def _compared(self, result: Any) -> None:
        what, plan = self._pending
        comparison = result.comparison
        self.comparison = comparison
        first = result.outcomes[0]
        features, names = _features_of(first.dataset, comparison.row_numbers)
        title = f"{what}: {plan.data_name}, {comparison.n_samples:,} rows scored by both" + (
            ", INCLUDING rows that trained them (optimistic)" if plan.include_training_rows else "")
        self.view.set_comparison(comparison, title=title, features=features, feature_names=names)
        acc = [r.metrics.get("accuracy") for r in comparison.reports]
        at = f" at threshold {comparison.threshold:g}" if comparison.threshold is not None else ""
        self.controller.status_changed.emit(
            f"compared on {comparison.n_samples:,} rows{at}: accuracy A {acc[0]:.3f}, B {acc[1]:.3f}")

    def _failed(self, message: str) -> None:
        self.view.show_message(f"The comparison failed: {message}")

    def _kfold_compared(self, result: Any) -> None:
        self.view.set_kfold_result(result)

    def _kfold_failed(self, message: str) -> None:
        self.view.kfold.show_message(f"The runs cannot be compared: {message}")

    def _refuse(self, text: str) -> None:
        self.view.show_message(f"Cannot compare: {text}")


def _features_of(dataset: Any, row_numbers: Any) -> tuple[Any, tuple[str, ...]]:
    """The feature values of ``row_numbers`` (file rows) from ``dataset``, in that order."""
    import numpy as np

    rows = np.asarray(dataset.row_numbers)
    order = np.argsort(rows, kind="stable")
    pos = np.searchsorted(rows, row_numbers, sorter=order)
    pos = np.clip(pos, 0, rows.size - 1)
    idx = order[pos]
    if not np.array_equal(rows[idx], row_numbers):
        return None, ()
    return dataset.X[idx], tuple(dataset.feature_names)
