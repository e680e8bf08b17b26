"""Jobs for the intervals and the calibration view: each runs one core call in a worker thread.

- :class:`IntervalsJob`: the bootstrap intervals of predictions already shown
  (:func:`evalstudio.core.evaluation.intervals.bootstrap_intervals`), cancellable between blocks of
  resamples, keeping the per-resample counts the slider needs when they fit in memory.
- :class:`CalibrationFitJob`: fit a temperature on calibration rows, either predictions already
  made (a training run's validation rows) or the loaded model scored on a CSV through
  :func:`evalstudio.core.evaluation.pipeline.run_evaluation`.
- :class:`SaveCalibratedJob`: write the loaded model with that temperature as an evalstudio checkpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalstudio.workers.job import Job

if TYPE_CHECKING:
    from evalstudio.core.evaluation.intervals import IntervalSettings
    from evalstudio.core.evaluation.predictions import Predictions
    from evalstudio.core.evaluation.temperature import TemperatureFit

#: Keep every resample's cumulative counts (the slider's instant intervals) up to this many bytes.
KEEP_COUNTS_BYTES = 96 * 2**20


def counts_fit_in_memory(n_samples: int, n_classes: int, resamples: int, limit: int = KEEP_COUNTS_BYTES) -> bool:
    """Whether the per-resample counts of ``n_samples`` rows fit in ``limit`` bytes (2 bytes a count up
    to 65,535 rows, else 4; one set per class for multiclass)."""
    per = 2 if n_samples < 2**16 else 4
    sets = 1 if n_classes == 2 else n_classes
    return resamples * (n_samples + 2) * per * sets <= limit


class IntervalsJob(Job):
    """Bootstrap intervals of ``predictions`` at ``threshold``; result: ``BootstrapIntervals``."""

    title = "computing intervals"

    def __init__(self, predictions: "Predictions", *, threshold: float = 0.5, positive: int = 1,
                 settings: "IntervalSettings | None" = None, keep_counts: bool | None = None) -> None:
        super().__init__()
        self.predictions, self.threshold, self.positive = predictions, float(threshold), int(positive)
        self.settings = settings
        self.keep_counts = keep_counts

    def work(self) -> Any:
        from evalstudio.core.evaluation.intervals import IntervalSettings, bootstrap_intervals

        settings = self.settings or IntervalSettings()
        pred = self.predictions
        keep = self.keep_counts
        if keep is None:
            keep = counts_fit_in_memory(pred.n_samples, pred.n_classes, settings.resamples)
        return bootstrap_intervals(
            pred, threshold=self.threshold, positive=self.positive, settings=settings, keep_counts=keep,
            should_stop=self.cancel_event.is_set,
            on_progress=lambda done, total: self.report_progress(done, total, "intervals"),
        )


class CalibrationFitJob(Job):
    """Fit a temperature on calibration rows; result: the core's ``CalibrationRun``.

    Give ``predictions`` (rows already scored, uncalibrated), or ``model`` (a ``ModelInfo``) and
    ``data_path`` to score that CSV first (the checkpoint's own temperature is not applied).
    """

    title = "fitting a temperature"

    def __init__(self, *, predictions: "Predictions | None" = None, model: Any = None, data_path: str | None = None,
                 target: str | None = None, device: str = "cpu", drop_missing: bool = False, outputs: str = "auto",
                 positive: int = 1) -> None:
        super().__init__()
        self.predictions, self.model, self.data_path = predictions, model, data_path
        self.target, self.device, self.drop_missing, self.outputs = target, device, drop_missing, outputs
        self.positive = positive

    def work(self) -> Any:
        from dataclasses import replace

        from evalstudio.core.evaluation.calibrate import fit_calibration

        if self.predictions is not None:
            return fit_calibration(self.predictions, positive=self.positive)
        from evalstudio.core.evaluation.calibrate import calibration_rows
        from evalstudio.core.evaluation.pipeline import EvaluationSpec

        spec = EvaluationSpec(data_path=self.data_path, model_path=self.model.model_path,
                              checkpoint_path=self.model.checkpoint_path, target=self.target,
                              drop_missing=self.drop_missing, device=self.device, outputs=self.outputs)
        outcome = calibration_rows(spec, loaded_model=self.model.loaded_tuple)
        self.check_cancelled()
        return replace(fit_calibration(outcome.predictions, positive=outcome.positive), outcome=outcome)


class SaveCalibratedJob(Job):
    """Write the loaded model with temperature ``fit`` to ``path``; result: the path written."""

    title = "saving the calibrated checkpoint"

    def __init__(self, path: str, model: Any, fit: "TemperatureFit", fitted_on: str, *, classes: Any,
                 feature_names: Any, target: str | None) -> None:
        super().__init__()
        self.path, self.model, self.fit, self.fitted_on = path, model, fit, fitted_on
        self.classes, self.feature_names, self.target = classes, feature_names, target

    def work(self) -> Any:
        from evalstudio.core.evaluation.calibrate import save_calibrated_checkpoint

        return str(save_calibrated_checkpoint(self.path, self.model.loaded_tuple, self.fit, self.fitted_on,
                                              classes=self.classes, feature_names=self.feature_names,
                                              target=self.target))
