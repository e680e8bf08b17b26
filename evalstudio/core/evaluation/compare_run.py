"""Compare models end to end: each evaluated exactly as ``evaluate`` would, then paired.

:func:`run_comparison` calls :func:`evalstudio.core.evaluation.pipeline.run_evaluation` once per model
(so every model gets its own encoding, standardisation, class mapping and row guards from its own
checkpoint), then :func:`evalstudio.core.evaluation.comparison.compare_predictions` on the rows every
model scored. The CLI's ``compare`` and the app's Compare job both call it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from evalstudio.core.errors import DataError, EvalStudioError

if TYPE_CHECKING:
    from evalstudio.core.evaluation.comparison import ModelComparison
    from evalstudio.core.evaluation.intervals import IntervalSettings
    from evalstudio.core.evaluation.pipeline import EvaluationOutcome, EvaluationSpec


@dataclass(frozen=True)
class ComparisonOutcome:
    comparison: "ModelComparison"
    outcomes: tuple["EvaluationOutcome", ...]


def default_names(specs: Sequence["EvaluationSpec"]) -> tuple[str, ...]:
    """A, B, C, ... (the issue's and the output's vocabulary: 'B is more accurate than A')."""
    return tuple(chr(ord("A") + i) if i < 26 else f"M{i + 1}" for i in range(len(specs)))


def run_comparison(
    specs: Sequence["EvaluationSpec"],
    names: Sequence[str] | None = None,
    *,
    threshold: float = 0.5,
    intervals: "IntervalSettings | None" = None,
    keep_counts: bool | None = False,
    evaluate: Callable[["EvaluationSpec"], "EvaluationOutcome"] | None = None,
    outcomes: Sequence["EvaluationOutcome | None"] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    n_threads: int = 1,
    processes: bool = False,
) -> ComparisonOutcome:
    """Evaluate every model and compare them on the rows all of them scored.

    Parameters
    ----------
    specs : sequence of EvaluationSpec
        One per model (the first is the reference, "A"); each names its data, model and checkpoint.
    names : sequence of str, optional
        Defaults to A, B, C, ...
    threshold : float
        Binary decision threshold applied to every model.
    intervals : IntervalSettings, optional
        Compute every model's bootstrap interval and every difference's paired interval (the same
        resamples for every model), with these settings (confidence, resamples, seed). None: none.
    keep_counts : bool or None
        Keep the resamples' counts so the intervals follow another threshold (the app's slider);
        None: when they fit in a few hundred MB (:func:`~evalstudio.core.evaluation.paired_bootstrap.keep_counts_fits`).
    evaluate : callable, optional
        Replaces ``run_evaluation`` (the app passes one that reuses a model it already holds).
    outcomes : sequence of EvaluationOutcome or None, optional
        Already evaluated models (None where a model still has to be evaluated).
    n_threads : int
        Threads for the bootstrap (the numbers do not depend on it).
    processes : bool
        Forked processes instead of threads where that is safe (the CLI; see
        :func:`~evalstudio.core.evaluation.bootstrap.resample_metrics`).

    Raises
    ------
    EvalStudioError
        From any model's evaluation, prefixed with that model's name; DataError when the models
        cannot be paired (different classes, no common rows, labels that differ).
    """
    from evalstudio.core.evaluation.comparison import compare_predictions
    from evalstudio.core.evaluation.pipeline import run_evaluation

    if len(specs) < 2:
        raise DataError("a comparison needs at least two models.",
                        hints={"cli": "Give --model (and --checkpoint) once per model, at least twice.",
                               "app": "Choose model B."})
    names = tuple(names) if names else default_names(specs)
    if len(names) != len(specs):
        raise DataError(f"{len(names)} names for {len(specs)} models.",
                        hints={"cli": "Give one --name per model, or none."})
    run = evaluate or run_evaluation
    done: list[EvaluationOutcome] = []
    for i, (name, spec) in enumerate(zip(names, specs)):
        given = outcomes[i] if outcomes is not None and i < len(outcomes) else None
        if given is not None:
            done.append(given)
            continue
        try:
            done.append(run(replace(spec, threshold=threshold)))
        except EvalStudioError as exc:
            raise _prefixed(exc, f"model {name}: ") from None
    positive = done[0].positive
    notes: list[str] = []
    for name, out in zip(names, done):
        notes.extend(f"model {name}: {line}" for line in rows_lines(out))
        notes.extend(f"model {name}: {note}" for note in out.notes if "warning" in note)
    confidence = intervals.confidence if intervals is not None else 0.95
    comparison = compare_predictions(
        [o.predictions for o in done], names, threshold=threshold, positive=positive, confidence=confidence,
        notes=notes,
    )
    if intervals is not None:
        from evalstudio.core.evaluation.paired_bootstrap import keep_counts_fits, paired_bootstrap, with_bootstrap

        keep = keep_counts if keep_counts is not None else keep_counts_fits(
            comparison.n_samples, len(comparison.predictions), intervals.resamples)
        boot = paired_bootstrap(comparison.predictions, threshold=threshold, positive=positive, settings=intervals,
                                keep_counts=keep, should_stop=should_stop, on_progress=on_progress,
                                n_threads=n_threads, processes=processes)
        comparison = with_bootstrap(comparison, boot)
    return ComparisonOutcome(comparison, tuple(done))


def rows_lines(outcome: "EvaluationOutcome") -> list[str]:
    """What a model's row guard did, when it matters: training rows left out (or scored, optimistic),
    or a checkpoint that cannot say which rows trained it."""
    from evalstudio.core.evaluation.leakage import NOT_RECORDED, NOT_RECORDED_MODEL

    leakage = getattr(outcome, "leakage", None)
    if leakage is None:
        return [str(n) for n in outcome.notes if str(n) in (NOT_RECORDED, NOT_RECORDED_MODEL)]
    return [leakage.headline()] if leakage.training_rows or leakage.optimistic else []


def _prefixed(exc: EvalStudioError, prefix: str) -> EvalStudioError:
    """The same error, its message saying which model it is about."""
    messages = {k: prefix + v for k, v in exc.messages.items()}
    try:
        return type(exc)(prefix + exc.message, hint=exc.hint, hints=exc.hints, messages=messages)
    except TypeError:  # a subclass with its own constructor
        return EvalStudioError(prefix + exc.message, hint=exc.hint, hints=exc.hints, messages=messages)


def model_label(spec: "EvaluationSpec") -> str:
    """What a model is, in one line: its file and checkpoint."""
    parts: list[Any] = [spec.model_path or "(model from the checkpoint)"]
    if spec.checkpoint_path:
        parts.append(f"+ {spec.checkpoint_path}")
    return " ".join(str(p) for p in parts)
