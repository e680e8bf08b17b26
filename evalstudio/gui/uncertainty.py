"""Intervals after every result, and the calibration view's temperature fits: jobs that follow a result.

:class:`UncertaintyCoordinator` is the small controller of these jobs (the main
:class:`~evalstudio.gui.controller.Controller` runs the user's own runs). It owns two job runners,
registered in ``controller.side_runners`` so that the window's shutdown waits for them too:

- intervals: when an evaluation (or a k-fold's pooled predictions) appears, the bootstrap intervals
  are computed in the background and handed to that view when they arrive; a newer request for the
  same view cancels the older one. On a large set whose per-resample counts do not fit in memory,
  the view asks again when the threshold is released (``intervals_requested``).
- calibration: fits a temperature on a training run's validation rows or on a CSV the user picks (never
  on the rows Evaluate scores next), and saves the calibrated checkpoint, which the controller then
  loads so that evaluations apply it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Slot

from evalstudio.gui.eval_plan import same_file
from evalstudio.workers.runner import JobRunner
from evalstudio.workers.uncertainty_jobs import CalibrationFitJob, IntervalsJob, SaveCalibratedJob

VALIDATION_WHERE = "validation rows of the training run"


@dataclass(frozen=True)
class _Request:
    target: str  # "evaluation" | "pooled"
    predictions: Any
    threshold: float
    positive: int


class UncertaintyCoordinator(QObject):
    """Starts the interval and calibration jobs and hands their results to the views."""

    def __init__(self, controller: Any, panels: dict[str, Any], calibration: Any = None) -> None:
        super().__init__(controller)
        from evalstudio.core.evaluation.intervals import IntervalSettings

        self.controller = controller
        self.panels = {k: v for k, v in panels.items() if v is not None}
        self.calibration = calibration
        self.settings = IntervalSettings()
        self.runner = JobRunner(self)
        self.fit_runner = JobRunner(self)
        controller.side_runners.extend([self.runner, self.fit_runner])
        self.runner.succeeded.connect(self._intervals_done)
        self.runner.failed.connect(self._intervals_failed)
        self.runner.job_finished.connect(self._start_next)
        self.fit_runner.succeeded.connect(self._fit_job_done)
        self.fit_runner.failed.connect(self._fit_job_failed)
        self._pending: dict[str, _Request] = {}
        self._current: _Request | None = None
        self._fit: tuple[Any, str, Any] | None = None  # (CalibrationRun, where, the ModelInfo it used)
        self._saving: str | None = None
        for target, panel in self.panels.items():
            if hasattr(panel, "intervals_requested"):
                panel.intervals_requested.connect(self._on_panel_threshold if target == "evaluation"
                                                  else self._on_pooled_threshold)
        if calibration is not None:
            calibration.fit_requested.connect(self.fit)
            calibration.save_requested.connect(self.save)
            # What Evaluate scores next depends on the data and model loaded: re-offer the fit sources.
            controller.dataset_changed.connect(self._on_state_changed)
            controller.model_changed.connect(self._on_state_changed)

    @Slot(object)
    def _on_state_changed(self, _value: object) -> None:
        self.refresh_sources()

    # ------------------------------------------------------------------ intervals
    def request(self, target: str, predictions: Any, threshold: float = 0.5, positive: int = 1) -> None:
        """Compute the intervals of ``predictions`` (shown in view ``target``) in the background."""
        panel = self.panels.get(target)
        if panel is None or predictions is None:
            return
        self._pending[target] = _Request(target, predictions, float(threshold), int(positive))
        if self._current is not None and self._current.target == target:
            self.runner.cancel()  # the view shows something newer now
        self._start_next()

    @Slot(str)
    def _start_next(self, _title: str = "") -> None:
        if self.runner.busy or not self._pending:
            return
        target = "evaluation" if "evaluation" in self._pending else next(iter(self._pending))
        req = self._pending.pop(target)
        panel = self.panels[target]
        if panel.predictions is not req.predictions:
            self._start_next()
            return
        job = IntervalsJob(req.predictions, threshold=req.threshold, positive=req.positive, settings=self.settings)
        if self.runner.start(job):
            self._current = req
            panel.mark_intervals_pending()

    @Slot(str, object)
    def _intervals_done(self, _title: str, result: Any) -> None:
        req, self._current = self._current, None
        if req is None:
            return
        panel = self.panels[req.target]
        if panel.predictions is req.predictions:  # still the predictions these intervals belong to
            panel.set_intervals(result)

    @Slot(str, str)
    def _intervals_failed(self, _title: str, message: str) -> None:
        req, self._current = self._current, None
        if req is not None:
            self.panels[req.target].metrics.set_intervals(None, state="none")
        self.controller.message_posted.emit("error", f"the intervals could not be computed: {message}")

    @Slot(float)
    def _on_panel_threshold(self, t: float) -> None:
        panel = self.panels["evaluation"]
        self.request("evaluation", panel.predictions, t, panel.positive)

    @Slot(float)
    def _on_pooled_threshold(self, t: float) -> None:
        panel = self.panels["pooled"]
        self.request("pooled", panel.predictions, t, panel.positive)

    # ------------------------------------------------------------------ calibration
    def show_calibration(self, predictions: Any, title: str, positive: int = 1, temperature: float | None = None) -> None:
        """The evaluated rows' calibration into the calibration view, and where a fit may run."""
        if self.calibration is None or predictions is None:
            return
        from evalstudio.gui.evaluation import _core

        self.calibration.set_report(_core.calibration(predictions, positive), title=title, temperature=temperature)
        self.refresh_sources()

    def refresh_sources(self) -> None:
        """Offer the training run's validation rows when Evaluate does not score them next."""
        if self.calibration is None:
            return
        c = self.controller
        sources: list[tuple[str, str, bool, str]] = []
        result = c.train_result
        if result is not None and getattr(result, "val_predictions", None) is not None:
            n = result.val_predictions.n_samples
            plan_kind = ""
            if c.dataset is not None and c.model is not None:
                plan_kind = c.evaluation_plan().kind
            scored_next = plan_kind == "validation rows"
            why = ("Evaluate scores these validation rows next (the loaded data is the training CSV): open the data "
                   "you will evaluate on first (File > Open data…), or fit on a calibration file."
                   if scored_next else "")
            sources.append(("validation", f"The {n:,} {VALIDATION_WHERE}", not scored_next, why))
        self.calibration.set_sources(sources)

    @Slot(str)
    def fit(self, source: str) -> None:
        """Fit a temperature on "validation" rows or on the CSV at path ``source``."""
        c = self.controller
        if self.fit_runner.busy:
            return
        if c.model is None:
            self.calibration.set_fit_failed("no model is loaded (Model tab).")
            return
        if source == "validation":
            result = c.train_result
            if result is None or result.val_predictions is None:
                self.calibration.set_fit_failed("there is no training run with validation rows in this window.")
                return
            job: Any = CalibrationFitJob(predictions=result.val_predictions)
            where = VALIDATION_WHERE
        else:
            plan = c.evaluation_plan() if c.dataset is not None else None
            scored = [p for p in (getattr(plan, "data_file", None), c.data_path) if p]
            if any(same_file(source, p) for p in scored):
                self.calibration.set_fit_failed(
                    f"{os.path.basename(source)} holds the rows you evaluate on (or trained on); fitting there would "
                    "flatter the evaluation. Pick a file of other held-out rows.")
                return
            target = c.dataset.target_name if c.dataset is not None else None
            job = CalibrationFitJob(model=c.model, data_path=source, target=target, outputs=c.outputs)
            where = os.path.basename(source)
        if self.fit_runner.start(job):
            self._fit = (None, where, c.model)
            self.calibration.set_fit_running(True)

    @Slot(str)
    def save(self, path: str) -> None:
        c = self.controller
        if self._fit is None or self._fit[0] is None or self.fit_runner.busy:
            return
        run, where, model = self._fit
        if model is not c.model or c.dataset is None:
            self.calibration.set_fit_failed("the model changed since the fit: fit the temperature again.")
            return
        d = c.dataset
        job = SaveCalibratedJob(path, model, run.fit, where, classes=d.classes, feature_names=d.feature_names,
                                target=d.target_name)
        if self.fit_runner.start(job):
            self._saving = path

    @Slot(str, object)
    def _fit_job_done(self, _title: str, result: Any) -> None:
        if self._saving is not None:
            path, self._saving = self._saving, None
            self.controller.use_calibrated_checkpoint(str(result or path))
            return
        from evalstudio.gui.evaluation import _core

        _, where, model = self._fit or (None, "", None)
        self._fit = (result, where, model)
        self.calibration.set_fit(result, _core.calibration(result.uncalibrated, result.positive),
                                 _core.calibration(result.calibrated, result.positive), where=where)

    @Slot(str, str)
    def _fit_job_failed(self, _title: str, message: str) -> None:
        if self._saving is not None:
            self._saving = None
            self.controller.message_posted.emit("error", f"the calibrated checkpoint could not be saved: {message}")
            return
        self.calibration.set_fit_failed(message)
