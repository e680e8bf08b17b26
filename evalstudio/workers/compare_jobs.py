"""The Compare view's jobs: two models on the same rows, and two k-fold runs of the window.

:class:`CompareJob` evaluates model A (the loaded model, reused as loaded) and model B (files,
loaded here) with :func:`evalstudio.core.evaluation.pipeline.run_evaluation`, each exactly as
Evaluate would, then pairs them with :func:`evalstudio.core.evaluation.compare_run.run_comparison`.
:class:`CompareKFoldJob` checks that two k-fold runs share data and folds and runs the corrected
resampled t-test on one metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evalstudio.workers.job import Job

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset


@dataclass(frozen=True)
class ModelSource:
    """One model to compare: already loaded (``loaded_tuple``), or files to load."""

    name: str
    model_path: str | None
    checkpoint_path: str | None
    loaded_tuple: Any = None  # (LoadedModel, Checkpoint | None, KeyMatchReport | None) when loaded
    outputs: str = "auto"  # how its outputs are read: auto | logits | probabilities


class CompareJob(Job):
    """Evaluate every model on the same rows and compare them (McNemar, DeLong, paired intervals).

    Parameters
    ----------
    dataset : Dataset
        The loaded data, scored as Evaluate scores it: each model's guard leaves out the rows that
        trained it (unless ``include_training_rows``), and the rows every model scored are paired.
    models : sequence of ModelSource
        The first is A.
    """

    title = "comparing models"

    def __init__(self, dataset: "Dataset", models: "list[ModelSource]", *, device: str = "cpu",
                 threshold: float = 0.5, positive_class: str | None = None, drop_missing: bool = False,
                 include_training_rows: bool = False, batch_size: int = 65536, resamples: int = 1000) -> None:
        super().__init__()
        self.resamples = int(resamples)
        self.dataset, self.models = dataset, list(models)
        self.device, self.threshold, self.positive_class = device, float(threshold), positive_class
        self.drop_missing, self.include_training_rows, self.batch_size = drop_missing, include_training_rows, batch_size

    def work(self) -> Any:
        from evalstudio.core.errors import Cancelled
        from evalstudio.core.evaluation.bootstrap import BootstrapCancelled
        from evalstudio.core.evaluation.compare_run import run_comparison
        from evalstudio.core.evaluation.intervals import IntervalSettings
        from evalstudio.core.evaluation.pipeline import EvaluationSpec, run_evaluation

        data = self.dataset
        specs = [
            EvaluationSpec(data_path=data.source or None, model_path=m.model_path, checkpoint_path=m.checkpoint_path,
                           target=data.target_name, drop_missing=self.drop_missing, device=self.device,
                           threshold=self.threshold, positive_class=self.positive_class, batch_size=self.batch_size,
                           outputs=m.outputs, include_training_rows=self.include_training_rows)
            for m in self.models
        ]
        n = len(self.models)
        done = [0]

        def evaluate(spec: EvaluationSpec) -> Any:
            self.check_cancelled()
            i = done[0]
            done[0] += 1
            self.report_progress(i, n + 1, f"evaluating {self.models[i].name}")
            return run_evaluation(spec, dataset=data, loaded_model=self.models[i].loaded_tuple)

        def bootstrapped(done_resamples: int, total: int) -> None:
            self.report_progress(n + done_resamples / max(total, 1), n + 1, "paired bootstrap")

        settings = IntervalSettings(resamples=self.resamples)
        try:
            # keep_counts=None: intervals follow the slider when every resample's counts fit in memory
            # (a few hundred MB); otherwise they hold at the threshold compared at.
            result = run_comparison(specs, [m.name for m in self.models], threshold=self.threshold, evaluate=evaluate,
                                    intervals=settings, keep_counts=None, should_stop=self.cancel_event.is_set,
                                    on_progress=bootstrapped)
        except BootstrapCancelled:
            raise Cancelled() from None
        self.check_cancelled()
        return result


class CompareKFoldJob(Job):
    """Two k-fold runs of the window compared on one metric (hashes the data files: they may be large)."""

    title = "comparing k-fold runs"

    def __init__(self, runs: "list[tuple[str, Any, str | None]]", metric: str = "accuracy") -> None:
        """``runs``: (name, CVResult, data file path) for A then B."""
        super().__init__()
        self.runs, self.metric = list(runs), metric

    def work(self) -> Any:
        from evalstudio.core.data.fingerprints import file_sha256
        from evalstudio.core.training.kfold_compare import KFoldRun, compare_kfold_runs

        hashes: dict[str, str] = {}
        runs = []
        for name, cv, path in self.runs:
            self.check_cancelled()
            digest = None
            if path:
                try:
                    digest = hashes.get(path) or hashes.setdefault(path, file_sha256(path))
                except OSError:
                    digest = None
            runs.append(KFoldRun.from_result(cv, name, data_sha256=digest))
        return compare_kfold_runs(runs[0], runs[1], self.metric)
