"""Fit a temperature on calibration rows and write a calibrated evalstudio checkpoint.

``evalstudio calibrate`` and ``train --calibrate`` (and the app's calibration view) use this:

- :func:`calibrate_checkpoint`: evaluate the model on the calibration rows through
  :func:`~evalstudio.core.evaluation.pipeline.run_evaluation` (its own probabilities, any earlier
  temperature left out), fit T, and save a checkpoint holding the weights, everything the input
  checkpoint carried (standardisation, classes, encoding, every optional section) and the new
  ``temperature`` section;
- :func:`store_temperature`: add the section to an existing evalstudio checkpoint file in place
  (atomically), as ``train --calibrate`` does for the run's best model;
- :func:`calibration_scores`: log loss, Brier score and ECE of a set of predictions (the
  "before" and "after" of the JSON).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalstudio.core.evaluation.calibration import DEFAULT_BINS, calibration_report
from evalstudio.core.evaluation.metrics import log_loss
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.temperature import TemperatureFit, calibrated, fit_temperature

if TYPE_CHECKING:
    from evalstudio.core.evaluation.pipeline import EvaluationOutcome, EvaluationSpec

__all__ = ["CalibrationRun", "calibrate_checkpoint", "calibrated_payload", "calibration_scores", "fit_calibration",
           "save_calibrated_checkpoint", "store_temperature"]

VALIDATION_ROWS = "validation rows of the training run"


def calibration_scores(pred: Predictions, *, positive: int = 1, n_bins: int = DEFAULT_BINS) -> dict[str, float]:
    """``{"log_loss", "brier", "ece"}`` of ``pred``."""
    cal = calibration_report(pred, positive=positive, n_bins=n_bins)
    return {"log_loss": log_loss(pred.y_true, pred.y_score), "brier": cal.brier, "ece": cal.ece}


@dataclass(frozen=True, eq=False)
class CalibrationRun:
    """What a calibration did.

    Attributes
    ----------
    fit : TemperatureFit
    before, after : dict of str to float
        ``log_loss``, ``brier``, ``ece`` on the calibration rows at T = 1 and at the fitted T.
    uncalibrated, calibrated : Predictions
        The calibration rows' probabilities at T = 1 and at the fitted T.
    positive : int
        Binary: the class whose probability the Brier score and ECE read.
    outcome : EvaluationOutcome or None
        The evaluation that scored the calibration rows (None when predictions were given).
    checkpoint : Path or None
        Where the calibrated checkpoint was written.
    """

    fit: TemperatureFit
    before: dict[str, float]
    after: dict[str, float]
    uncalibrated: Predictions
    calibrated: Predictions
    positive: int = 1
    outcome: "EvaluationOutcome | None" = None
    checkpoint: Path | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"temperature", "n_samples", "before": {"log_loss", "brier", "ece"}, "after": {...}}`` (+ checkpoint)."""
        out: dict[str, Any] = {"temperature": self.fit.temperature, "n_samples": self.fit.n_samples,
                               "before": dict(self.before), "after": dict(self.after)}
        if self.checkpoint is not None:
            out["checkpoint"] = str(self.checkpoint)
        if self.fit.at_bound:
            out["at_bound"] = True
        return out


def temperature_payload_section(fit: TemperatureFit, fitted_on: str) -> dict[str, Any]:
    from evalstudio.core.models.checkpoint_format import temperature_section

    return temperature_section(fit.temperature, n_samples=fit.n_samples, fitted_on=fitted_on,
                               nll_before=fit.nll_before, nll_after=fit.nll_after)


def calibrated_payload(
    checkpoint: Any, module: Any, *, classes: Any, feature_names: Any, target: str | None,
    section: dict[str, Any], output_kind: str | None = None, preprocessing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The calibrated checkpoint's dict: the input evalstudio ``checkpoint`` with every field and section
    it had and the new ``temperature``; for another kind of checkpoint (or none) the ``module``'s
    weights with the data's ``classes``, ``feature_names``, ``target`` and ``preprocessing`` state."""
    from evalstudio.core.models.checkpoint_format import FORMAT, cpu_state_dict, derive_payload, make_payload

    meta = getattr(checkpoint, "meta", None)
    if isinstance(meta, dict) and meta.get("format") == FORMAT:
        source = {**meta, "model_state_dict": dict(checkpoint.state_dict), "preprocessing": checkpoint.preprocessing,
                  "classes": checkpoint.classes, "feature_names": checkpoint.feature_names, "target": checkpoint.target}
        return derive_payload(source, temperature=section)
    fields: dict[str, Any] = {"model_state_dict": cpu_state_dict(module), "preprocessing": preprocessing,
                              "classes": list(classes), "feature_names": list(feature_names), "target": target,
                              "temperature": section}
    if output_kind:
        fields["output_kind"] = output_kind
    return make_payload(**fields)


def _payload(outcome: "EvaluationOutcome", section: dict[str, Any]) -> dict[str, Any]:
    ds = outcome.dataset
    return calibrated_payload(
        outcome.checkpoint, outcome.loaded.module, classes=ds.classes, feature_names=ds.feature_names,
        target=ds.target_name, section=section, output_kind=outcome.output_kind.value,
        preprocessing=outcome.preprocessing.to_state() if outcome.preprocessing is not None else None,
    )


def fit_calibration(pred: Predictions, *, positive: int = 1, n_bins: int = DEFAULT_BINS) -> CalibrationRun:
    """Fit T on ``pred``'s rows and measure log loss, Brier and ECE there before and after."""
    fit = fit_temperature(pred)
    after = calibrated(pred, fit.temperature)
    return CalibrationRun(fit, calibration_scores(pred, positive=positive, n_bins=n_bins),
                          calibration_scores(after, positive=positive, n_bins=n_bins), pred, after, positive)


def save_calibrated_checkpoint(
    path: str | os.PathLike[str], loaded_tuple: Any, fit: TemperatureFit, fitted_on: str, *, classes: Any,
    feature_names: Any, target: str | None,
) -> Path:
    """Write the loaded model (``load_for_evaluation``'s tuple) with temperature ``fit`` to ``path``."""
    from evalstudio.core.models.checkpoint_format import save_checkpoint

    loaded, ckpt = loaded_tuple[0], loaded_tuple[1]
    pre = getattr(ckpt, "preprocessing", None)
    payload = calibrated_payload(ckpt, loaded.module, classes=classes, feature_names=feature_names, target=target,
                                 section=temperature_payload_section(fit, fitted_on), preprocessing=pre)
    return save_checkpoint(path, payload)


def calibrate_checkpoint(
    spec: "EvaluationSpec", out_path: str | os.PathLike[str] | None, *, n_bins: int = DEFAULT_BINS
) -> CalibrationRun:
    """Fit a temperature on ``spec``'s data and write the calibrated checkpoint to ``out_path``.

    The model is evaluated with its own probabilities (an earlier temperature in the checkpoint is
    replaced, not compounded). ``out_path`` None fits without writing.

    Raises
    ------
    DataError, ModelError, CheckpointError
        As :func:`run_evaluation`; a single class in the calibration rows; rows that trained the
        checkpoint among them (:func:`calibration_rows`).
    """
    from evalstudio.core.models.checkpoint_format import save_checkpoint

    outcome = calibration_rows(spec)
    run = replace(fit_calibration(outcome.predictions, positive=outcome.positive, n_bins=n_bins), outcome=outcome)
    if out_path is None:
        return run
    fitted_on = Path(spec.data_path).name if spec.data_path else "calibration rows"
    path = save_checkpoint(out_path, _payload(outcome, temperature_payload_section(run.fit, fitted_on)))
    return replace(run, checkpoint=path)


def calibration_rows(spec: "EvaluationSpec", *, loaded_model: Any = None) -> "EvaluationOutcome":
    """The model scored on ``spec``'s data for calibration: its own probabilities (an earlier temperature
    left out), refused when the checkpoint records that some of these rows trained it.

    Raises
    ------
    DataError
        Some (or all) of the rows trained the checkpoint: fitting T on them would tune it to rows the
        model has memorised (its probabilities there are too confident to be representative).
    """
    from evalstudio.core.errors import DataError
    from evalstudio.core.evaluation.leakage import AllRowsTrainedError
    from evalstudio.core.evaluation.pipeline import run_evaluation

    hint = ("Calibrate on held-out rows the checkpoint never trained on: the validation rows of its run "
            "(`train --calibrate`), or a separate file.")
    try:
        outcome = run_evaluation(replace(spec, apply_temperature=False, intervals=None, mode_audit_passes=0,
                                         include_training_rows=True), loaded_model=loaded_model)
    except AllRowsTrainedError as exc:
        raise DataError(f"all {exc.n_rows:,} calibration rows trained this checkpoint (it records them).",
                        hint=hint) from None
    leak = outcome.leakage
    if leak is not None and leak.training_rows:
        raise DataError(f"{leak.training_rows:,} of the {leak.rows_in_file:,} calibration rows trained this checkpoint "
                        "(it records the rows that trained it).", hint=hint)
    return outcome


def store_temperature(path: str | os.PathLike[str], fit: TemperatureFit, fitted_on: str = VALIDATION_ROWS) -> Path:
    """Add (or replace) the ``temperature`` section of the evalstudio checkpoint at ``path``, atomically."""
    from evalstudio.core.models.checkpoint_format import derive_payload, read_checkpoint, save_checkpoint

    obj = read_checkpoint(path)
    return save_checkpoint(path, derive_payload(obj, temperature=temperature_payload_section(fit, fitted_on)))
