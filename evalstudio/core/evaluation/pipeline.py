"""One evaluation, end to end: data + model + checkpoint -> predictions -> report.

The CLI's ``evaluate`` and the GUI's evaluation job both call :func:`run_evaluation`, so the
two front ends cannot drift apart in how a model is loaded, preprocessed or scored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from evalstudio.core.errors import DataError, ModelError

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset
    from evalstudio.core.data.preprocessing import Standardizer
    from evalstudio.core.evaluation.leakage import Leakage
    from evalstudio.core.evaluation.calibration import CalibrationReport
    from evalstudio.core.evaluation.intervals import BootstrapIntervals, IntervalSettings
    from evalstudio.core.evaluation.metrics import EvaluationReport
    from evalstudio.core.evaluation.predict import ModeAudit
    from evalstudio.core.evaluation.predictions import Predictions
    from evalstudio.core.models.outputs import OutputKind


@dataclass(frozen=True)
class EvaluationSpec:
    """Everything a user chooses for one evaluation (CLI flags / GUI fields)."""

    data_path: str | None = None
    model_path: str | None = None
    checkpoint_path: str | None = None
    target: str | None = None
    entry: str | None = None
    trust_pickle: bool = False
    strict: bool = True
    outputs: str = "auto"  # auto | logits | probabilities
    drop_missing: bool = False
    device: str = "auto"
    batch_size: int = 65536
    threshold: float = 0.5
    positive_class: str | None = None
    mode_audit_passes: int = 0
    #: Seconds the model file may take per phase when it first runs in a separate process
    #: (import, build, forward on 2 rows); 0 runs it in this process only (no probe).
    model_timeout: float = 60.0
    # Score the rows that trained the checkpoint too (the result is then labelled optimistic).
    include_training_rows: bool = False
    # Intervals: None for none (the app computes them in a job of their own, after the result shows).
    intervals: "IntervalSettings | None" = None
    keep_interval_counts: bool = False  # per-resample counts for intervals at any threshold (the slider)
    interval_threads: int = 1  # threads for the bootstrap (the numbers do not depend on it)
    interval_processes: bool = False  # forked processes instead of threads where safe (the CLI, not the app)
    calibration_bins: int = 10
    apply_temperature: bool = True  # scale by the checkpoint's temperature when it has one


@dataclass(frozen=True)
class EvaluationOutcome:
    spec: EvaluationSpec
    dataset: "Dataset"
    loaded: Any  # models.LoadedModel
    checkpoint: Any  # models.Checkpoint | None
    key_report: Any  # models.KeyMatchReport | None
    output_kind: "OutputKind"
    device: str
    preprocessing: "Standardizer | None"
    predictions: "Predictions"
    positive: int
    report: "EvaluationReport"
    audit: "ModeAudit | None" = None
    notes: tuple[str, ...] = field(default=())
    seconds: float = 0.0
    # What the training-rows guard found (None: the checkpoint records no training rows).
    leakage: "Leakage | None" = None
    calibration: "CalibrationReport | None" = None
    intervals: "BootstrapIntervals | None" = None
    # The checkpoint's temperature section when it was applied (``predictions`` are then the scaled
    # probabilities and ``uncalibrated`` the model's own), else None.
    temperature: dict[str, Any] | None = None
    uncalibrated: "Predictions | None" = None


def positive_index(classes: tuple[str, ...], positive_class: str | None) -> int:
    """Index of the positive class: the second class unless the user names one."""
    if positive_class is None:
        return 1
    if positive_class not in classes:
        raise DataError(
            f"positive class {positive_class!r} is not one of the classes ({', '.join(classes)}).",
            hint="Pass one of those names to --positive-class.",
        )
    if len(classes) != 2:
        raise DataError(
            f"--positive-class applies to binary tasks; this one has {len(classes)} classes.",
            hint="Drop --positive-class for a multiclass evaluation.",
        )
    return classes.index(positive_class)


def _checkpoint_contract(spec: EvaluationSpec, loaded_model: Any) -> Any:
    """What the checkpoint records about its data (classes, target, column encoding)."""
    from evalstudio.core.data.encoding_state import from_state
    from evalstudio.core.models.checkpoints import DataContract, read_data_contract

    if loaded_model is not None:
        ckpt = loaded_model[1]
        if ckpt is None:
            return DataContract()
        state = getattr(ckpt, "encoding", None)
        return DataContract(tuple(ckpt.classes or ()), ckpt.target,
                            from_state(state, repr(str(ckpt.source))) if state else None)
    return read_data_contract(spec.checkpoint_path)


def _load_data(spec: EvaluationSpec, contract: Any, notes: list[str]) -> "Dataset":
    """Read ``spec.data_path`` as the checkpoint needs it: with its encoding and classes."""
    from evalstudio.core.data.dataset import load_csv

    if not spec.data_path:
        raise DataError("no dataset given.", hint="Pass a CSV file with --data.")
    numeric_only = contract.encoding is None
    if contract.classes:
        dataset = load_csv(spec.data_path, target=spec.target, drop_missing=spec.drop_missing,
                           classes=contract.classes, encoding=contract.encoding, numeric_only=numeric_only)
        notes.append("classes mapped as in the checkpoint: " + ", ".join(contract.classes))
        return dataset
    return load_csv(spec.data_path, target=spec.target, drop_missing=spec.drop_missing,
                    encoding=contract.encoding, numeric_only=numeric_only)


def _given_data(spec: EvaluationSpec, dataset: "Dataset", contract: Any, notes: list[str]) -> "Dataset":
    """A dataset the caller loaded (the app), made to fit the checkpoint: its classes, its encoding."""
    enc = contract.encoding
    classes_differ = bool(contract.classes) and tuple(contract.classes) != dataset.classes
    plain = enc is None and (dataset.encoding is None or (dataset.encoding.is_plain_numeric()
                                                           and len(dataset.encoding.features) == len(dataset.encoding.columns)))
    if classes_differ or (enc is None and not plain):
        if not spec.data_path:
            if classes_differ:
                raise DataError(
                    f"the checkpoint was trained on classes ({', '.join(contract.classes)}) but the data has "
                    f"({', '.join(dataset.classes)}).",
                    hint="Evaluate on data with the same label values.",
                )
            raise DataError("the checkpoint carries no column encoding, so every column must be a number.",
                            hint="Evaluate a checkpoint trained by evalstudio, or a numeric CSV.")
        return _load_data(spec, contract, notes)
    if enc is None:
        return dataset
    if dataset.table is None:
        raise DataError("this data was built in memory; the checkpoint's column encoding needs the parsed columns.",
                        hint="Load the data from its CSV file.")
    if enc.target != dataset.target_name:
        notes.append(f"the checkpoint was trained with target {enc.target!r}; this data's target is "
                     f"{dataset.target_name!r}")
    encoded = enc.transform(dataset.table)
    return replace(dataset, X=encoded.X, feature_names=enc.input_names, encoding=enc)


def run_evaluation(
    spec: EvaluationSpec,
    *,
    dataset: "Dataset | None" = None,
    loaded_model: Any = None,
) -> EvaluationOutcome:
    """Load what ``spec`` names (unless given), evaluate honestly and compute the report.

    An evalstudio checkpoint's classes and column encoding decide how the data is read: columns
    are found by name and encoded as the training rows taught (another column order or extra
    columns give the same result; a column it needs and the file lacks is an error), labels are
    coded in the checkpoint's class order (a label it does not know is an error). Without an
    encoding (a checkpoint from elsewhere) every non-target column must be a number, as before.
    """
    from evalstudio.core.models.device import resolve_device
    from evalstudio.core.models.probe import finish_probe, start_probe

    t0 = time.perf_counter()
    notes: list[str] = []
    device = resolve_device(spec.device)  # fail fast, before any heavy loading
    # The model file runs first in a child process (exits, crashes and hangs become one line); it
    # imports the file while this process reads the data.
    probe = start_probe(spec.model_path, entry=spec.entry, timeout=spec.model_timeout) \
        if loaded_model is None else None
    try:
        contract = _checkpoint_contract(spec, loaded_model)
        dataset = _load_data(spec, contract, notes) if dataset is None else _given_data(spec, dataset, contract, notes)
        if contract.encoding is not None:
            notes.append("column encoding from the checkpoint applied (learned from its training rows)")
        finish_probe(probe, dataset.n_features, dataset.n_classes)
    finally:
        if probe is not None:
            probe.close()
    return _evaluate_loaded(spec, dataset, loaded_model, t0, notes, device)


def _evaluate_loaded(
    spec: EvaluationSpec, dataset: "Dataset", loaded_model: Any, t0: float, notes: list[str], device: Any
) -> EvaluationOutcome:
    """The rest of :func:`run_evaluation`, once the data is read and the model file probed."""
    from evalstudio.core.data.preprocessing import Standardizer
    from evalstudio.core.evaluation.calibration import calibration_report
    from evalstudio.core.evaluation.intervals import bootstrap_intervals
    from evalstudio.core.evaluation.leakage import guard_training_rows
    from evalstudio.core.evaluation.metrics import evaluate_predictions
    from evalstudio.core.evaluation.predict import evaluate_dataset, mode_audit
    from evalstudio.core.models.loading import check_input_width, infer_output_kind, load_for_evaluation
    from evalstudio.core.models.outputs import check_scores, output_notes

    loaded, ckpt, key_report = load_for_evaluation(
        spec.model_path,
        spec.checkpoint_path,
        entry=spec.entry,
        trust_pickle=spec.trust_pickle,
        strict=spec.strict,
        n_features=dataset.n_features,
        n_classes=dataset.n_classes,
        feature_names=dataset.feature_names,
    ) if loaded_model is None else loaded_model

    # Rows that trained the checkpoint are left out (or scored and labelled optimistic), whichever
    # file, order or name they come in.
    dataset, leakage, guard_notes = guard_training_rows(
        dataset, ckpt, include=spec.include_training_rows, has_checkpoint=ckpt is not None)
    notes.extend(guard_notes)

    preprocessing = None
    pre_state = getattr(ckpt, "preprocessing", None)
    if pre_state:
        preprocessing = Standardizer.from_state(pre_state)
        if preprocessing.mean.shape[0] != dataset.n_features:
            raise DataError(
                f"the checkpoint's standardisation was fitted on {preprocessing.mean.shape[0]} features "
                f"but the CSV has {dataset.n_features} ({', '.join(dataset.feature_names)}).",
                hint="Evaluate on a CSV with the same feature columns as the training data.",
            )
        notes.append("standardisation from the checkpoint applied (fitted on its training rows)")
    ckpt_features = tuple(getattr(ckpt, "feature_names", None) or ())
    if ckpt_features and ckpt_features != dataset.feature_names:
        notes.append(
            "warning: feature column names differ from the training data's "
            f"({', '.join(ckpt_features)}); columns are used in file order"
        )

    module = loaded.module
    check_input_width(module, dataset.feature_names)
    kind = infer_output_kind(module, dataset.n_features, dataset.n_classes, outputs=spec.outputs)
    try:
        module.to(device)
    except RuntimeError as exc:
        raise ModelError(f"could not move the model to {device}: {exc}") from None
    predictions = evaluate_dataset(
        module, dataset, kind, device=device, preprocessing=preprocessing, batch_size=spec.batch_size
    )
    check_scores(predictions.y_score, kind, predictions.row_numbers)
    notes.extend(output_notes(_raw_sample(module, dataset, preprocessing, device), kind))
    positive = positive_index(dataset.classes, spec.positive_class)
    temperature, uncalibrated = None, None
    section = checkpoint_temperature(ckpt)
    if section is not None and spec.apply_temperature:
        from evalstudio.core.evaluation.temperature import calibrated

        temperature, uncalibrated = section, predictions
        predictions = calibrated(predictions, section["value"])
        notes.append(f"temperature {section['value']:.4g} from the checkpoint applied to the probabilities "
                     f"(fitted on {section.get('n_samples', '?')} rows: {section.get('fitted_on', '?')}); "
                     "decisions at 0.5 and the ranking are unchanged")
    elif section is not None:
        notes.append(f"the checkpoint's temperature {section['value']:.4g} was not applied: raw probabilities")
    report = evaluate_predictions(predictions, threshold=spec.threshold, positive=positive)
    calibration = calibration_report(predictions, positive=positive, n_bins=spec.calibration_bins)
    intervals = None
    if spec.intervals is not None:
        intervals = bootstrap_intervals(predictions, threshold=spec.threshold, positive=positive,
                                        settings=spec.intervals, keep_counts=spec.keep_interval_counts,
                                        n_threads=spec.interval_threads, processes=spec.interval_processes)
    audit = None
    if spec.mode_audit_passes > 0:
        X = dataset.X if preprocessing is None else preprocessing.transform(dataset.X)
        audit = mode_audit(module, X, dataset.y, kind, n_passes=spec.mode_audit_passes, device=device,
                           threshold=spec.threshold, positive=positive)
    return EvaluationOutcome(
        spec=spec,
        dataset=dataset,
        loaded=loaded,
        checkpoint=ckpt,
        key_report=key_report,
        output_kind=kind,
        device=str(device),
        preprocessing=preprocessing,
        predictions=predictions,
        positive=positive,
        report=report,
        audit=audit,
        notes=tuple(notes),
        seconds=time.perf_counter() - t0,
        leakage=leakage,
        calibration=calibration,
        intervals=intervals,
        temperature=temperature,
        uncalibrated=uncalibrated,
    )


def checkpoint_temperature(ckpt: Any) -> dict[str, Any] | None:
    """The temperature section of an evalstudio checkpoint (None for other checkpoints or none recorded)."""
    from evalstudio.core.models.checkpoint_format import FORMAT, read_temperature

    meta = getattr(ckpt, "meta", None)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return None  # someone else's dict may hold a "temperature" that means something else
    return read_temperature(meta, repr(str(getattr(ckpt, "source", "the checkpoint"))))


def evaluation_intervals(
    outcome: EvaluationOutcome,
    settings: "IntervalSettings",
    *,
    threshold: float | None = None,
    keep_counts: bool = False,
    should_stop: Any = None,
    on_progress: Any = None,
) -> "BootstrapIntervals":
    """The intervals of an evaluation already shown (the app's background job): same predictions,
    same positive class, at ``threshold`` (default: the outcome's)."""
    from evalstudio.core.evaluation.intervals import bootstrap_intervals

    t = outcome.spec.threshold if threshold is None else threshold
    return bootstrap_intervals(outcome.predictions, threshold=t, positive=outcome.positive, settings=settings,
                               keep_counts=keep_counts, should_stop=should_stop, on_progress=on_progress)


def _raw_sample(module: Any, dataset: "Dataset", preprocessing: "Standardizer | None", device: Any) -> Any:
    """Raw outputs (n, n_outputs) of the first rows (at most 1024), in eval mode without gradients."""
    import numpy as np
    import torch

    from evalstudio.core.models.forward import eval_mode, forward_in_batches

    X = dataset.X[:1024] if preprocessing is None else preprocessing.transform(dataset.X[:1024])
    Xt = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32)).to(device)
    with eval_mode(module), torch.inference_mode():
        raw = forward_in_batches(module, Xt).float().cpu().numpy()
    return raw.reshape(raw.shape[0], -1)


def with_threshold(outcome: EvaluationOutcome, threshold: float) -> EvaluationOutcome:
    """The same evaluation at another decision threshold (no model call)."""
    from evalstudio.core.evaluation.metrics import evaluate_predictions

    report = evaluate_predictions(outcome.predictions, threshold=threshold, positive=outcome.positive)
    return replace(outcome, report=report)
