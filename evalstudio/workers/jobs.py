"""The app's jobs: each runs one core call (imported lazily, so torch loads in a worker first).

Every job returns plain results (core dataclasses); anything the window shows about a loaded
model is put into words here, in the worker, so the GUI never touches torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evalstudio.workers.job import Job

if TYPE_CHECKING:
    from evalstudio.core.data.columns import ColumnRoles
    from evalstudio.core.data.dataset import Dataset
    from evalstudio.core.training.results import EpochMetrics, FoldResult


# ---------------------------------------------------------------------------------------------
# devices


@dataclass(frozen=True)
class DeviceList:
    devices: tuple[tuple[str, str], ...]  # (name, label)
    note: str


class DevicesJob(Job):
    """Find CPU, CUDA devices (name, memory) and MPS: :func:`evalstudio.core.models.device.available_devices`.

    It runs first, at start-up, and also imports what the first training and evaluation would
    otherwise import mid-run (torch's optimiser machinery, scikit-learn): a C extension being
    loaded holds the GIL for up to ~0.7 s here, which would freeze the window during the user's
    first run. Paying it while the window has just opened is the lesser evil.
    """

    title = "starting up"

    def __init__(self, *, warm_up: bool = True) -> None:
        super().__init__()
        self.warm_up = warm_up

    def work(self) -> DeviceList:
        from evalstudio.core.models.device import available_devices

        found = available_devices()
        note = "" if len(found) > 1 else "No GPU found: training and evaluation run on the CPU."
        if self.warm_up:
            _warm_up_imports(self)
        return DeviceList(tuple((d.name, d.label) for d in found), note)


def _warm_up_imports(job: Job) -> None:
    import importlib

    import torch

    # torch.optim imports torch._dynamo on the first optimiser built (~3 s, GIL-heavy).
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    for name in ("sklearn.model_selection", "sklearn.metrics", "evalstudio.core.training.loop", "evalstudio.core.evaluation.pipeline",
                 "evalstudio.core.evaluation.metrics", "evalstudio.core.evaluation.report", "evalstudio.core.training.kfold"):
        job.check_cancelled()
        try:
            importlib.import_module(name)
        except ImportError:  # an optional module not there: it will say so when used
            pass


# ---------------------------------------------------------------------------------------------
# data


class LoadDataJob(Job):
    """:func:`evalstudio.core.data.dataset.load_csv` in the background (a big CSV takes seconds)."""

    title = "loading data"

    def __init__(self, path: str, *, target: str | None = None, drop_missing: bool = False,
                 roles: "ColumnRoles | None" = None) -> None:
        super().__init__()
        self.path, self.target, self.drop_missing, self.roles = path, target, drop_missing, roles

    def work(self) -> "Dataset":
        from evalstudio.core.data.dataset import load_csv

        return load_csv(self.path, target=self.target, drop_missing=self.drop_missing, roles=self.roles)


class ReplanJob(Job):
    """:func:`evalstudio.core.data.dataset.with_roles`: the loaded rows planned and encoded again
    with other column roles, without reading the file."""

    title = "planning the columns"

    def __init__(self, dataset: "Dataset", roles: "ColumnRoles") -> None:
        super().__init__()
        self.dataset, self.roles = dataset, roles

    def work(self) -> "Dataset":
        from evalstudio.core.data.dataset import with_roles

        return with_roles(self.dataset, self.roles)


# ---------------------------------------------------------------------------------------------
# model


@dataclass(frozen=True)
class ModelInfo:
    """A loaded model plus the words the model panel shows about it.

    Attributes
    ----------
    loaded_tuple : (LoadedModel, Checkpoint | None, KeyMatchReport | None) -- as
        :func:`evalstudio.core.models.loading.load_for_evaluation` returns it (the evaluation job reuses it)
    headline : str -- one line: what was loaded, its parameter count
    report_text : str -- summary, layers that differ in train mode, key matching, notes
    has_builder : bool -- a fresh model can be built (training and k-fold need one)
    """

    model_path: str | None
    checkpoint_path: str | None
    loaded_tuple: Any
    headline: str
    report_text: str
    has_builder: bool
    stochastic_layers: tuple[str, ...] = field(default=())

    @property
    def loaded(self) -> Any:
        return self.loaded_tuple[0]

    @property
    def checkpoint(self) -> Any:
        return self.loaded_tuple[1]


def _format_count(n: int) -> str:
    return f"{n:,}"


def _inputs_section(ckpt: Any, data_inputs: "tuple[str, ...] | None") -> list[str]:
    """The model's inputs by name: the checkpoint's column encoding, else the data's encoded columns."""
    encoding = getattr(ckpt, "encoding", None) if ckpt is not None else None
    names = [str(n) for n in encoding.get("inputs", [])] if isinstance(encoding, dict) else []
    source = "the checkpoint's column encoding, learned from its training rows"
    if not names and data_inputs:
        names, source = list(data_inputs), "the data's columns as encoded for training"
    if not names:
        return []
    lines = ["", f"Inputs: {len(names)} (from {source})", "-" * 40]
    row = "  "
    for name in names:
        if len(row) + len(name) > 100 and row.strip():
            lines.append(row.rstrip())
            row = "  "
        row += name + ", "
    lines.append(row.rstrip().rstrip(","))
    return lines


def describe_model(
    loaded: Any, ckpt: Any, key_report: Any, checkpoint_path: str | None,
    data_inputs: "tuple[str, ...] | None" = None,
) -> tuple[str, str, tuple[str, ...]]:
    """(headline, report text, layers that act differently in train mode); runs in the worker."""
    from evalstudio.core.models.loading import model_summary

    module = loaded.module
    summary = model_summary(module)
    stochastic = tuple(summary.dropout_layers) + tuple(summary.batchnorm_layers)
    entry = getattr(loaded, "entry", "")
    headline = (
        f"{type(module).__name__} ({loaded.kind}{': ' + entry if entry else ''}) · "
        f"{_format_count(summary.n_params)} parameters"
    )
    if summary.n_trainable != summary.n_params:
        headline += f" ({_format_count(summary.n_trainable)} trainable)"
    lines = ["Architecture", "------------", *summary.text.splitlines(), ""]
    if summary.expected_features is not None:
        lines += [f"expects {summary.expected_features} input features"]
    lines += _inputs_section(ckpt, data_inputs)
    lines.append("")
    lines += ["Layers that act differently in train mode", "-----------------------------------------"]
    if stochastic:
        lines += [f"  Dropout   {d}" for d in summary.dropout_layers]
        lines += [f"  BatchNorm {b}" for b in summary.batchnorm_layers]
        lines.append("  evalstudio always evaluates in eval mode (the mode audit shows what train mode changes).")
    else:
        lines.append("  none (no Dropout or BatchNorm): train and eval mode give the same outputs")
    lines += ["", "Checkpoint", "----------"]
    if ckpt is None:
        lines.append(
            "  none: the model's initial (untrained) weights are used" if loaded.kind == "python"
            else "  none needed: the weights come with the model file"
        )
    else:
        lines.append(f"  {checkpoint_path}")
        lines.append(f"  {ckpt.format}")
        if getattr(ckpt, "target", None):
            lines.append(f"  trained to predict: {ckpt.target}")
        if ckpt.classes:
            lines.append(f"  classes: {', '.join(map(str, ckpt.classes))}")
        encoding = getattr(ckpt, "encoding", None)
        if isinstance(encoding, dict) and isinstance(encoding.get("columns"), list):
            used = [c for c in encoding["columns"] if isinstance(c, dict) and c.get("kind") != "ignored"]
            aside = [str(c.get("name")) for c in encoding["columns"] if isinstance(c, dict) and c.get("kind") == "ignored"]
            lines.append(f"  trained on columns: {', '.join(str(c.get('name')) for c in used)}"
                         + (f" (set aside: {', '.join(aside)})" if aside else ""))
            lines.append("  carries its column encoding (categories, medians; learned from its training rows): "
                         "columns are found by name at evaluation")
        elif ckpt.feature_names:
            lines.append(f"  trained on columns: {', '.join(map(str, ckpt.feature_names))}")
        if ckpt.preprocessing:
            lines.append("  carries standardisation fitted on its training rows (applied at evaluation)")
        if ckpt.unsafe_globals:
            lines.append(f"  trusted pickle needed: {', '.join(ckpt.unsafe_globals)}")
    if key_report is not None:
        lines += ["", "Key matching", "------------"]
        head = (f"all {key_report.n_loaded} tensors loaded" if key_report.loaded and key_report.exact
                else f"{key_report.n_loaded} of {key_report.n_model} model tensors loaded (partial load)"
                if key_report.loaded else "not loaded")
        lines.append(f"  {head} ({key_report.n_checkpoint} checkpoint keys, {key_report.n_model} model keys)")
        if key_report.prefix_change:
            lines.append(f"  {key_report.prefix_change}")
        lines += [f"  {p}" for p in key_report.problems()]
        lines += [f"  {n}" for n in key_report.notes]
    notes = list(getattr(loaded, "notes", ()) or ()) + list(getattr(ckpt, "notes", ()) or ())
    if notes:
        lines += ["", "Notes", "-----", *[f"  {n}" for n in notes]]
    return headline, "\n".join(lines), stochastic


@dataclass(frozen=True)
class PickleConsentNeeded:
    """The checkpoint is a pickle that would run code; the user has not said they trust it.

    Nothing in the file ran. ``unsafe_globals`` are what unpickling it would import and call.
    """

    checkpoint_path: str
    unsafe_globals: tuple[str, ...]
    message: str


class LoadModelJob(Job):
    """:func:`evalstudio.core.models.loading.load_for_evaluation`, then the load report in words."""

    title = "loading the model"

    def __init__(
        self,
        model_path: str | None,
        checkpoint_path: str | None,
        *,
        n_features: int | None = None,
        n_classes: int | None = None,
        trust_pickle: bool = False,
        strict: bool = True,
        entry: str | None = None,
        feature_names: "tuple[str, ...] | None" = None,
    ) -> None:
        super().__init__()
        self.model_path, self.checkpoint_path = model_path, checkpoint_path
        self.n_features, self.n_classes = n_features, n_classes
        self.trust_pickle, self.strict, self.entry = trust_pickle, strict, entry
        # The data's columns: a checkpoint trained on another width is then explained by name
        # ("the checkpoint expects 8 features; the CSV has 7 (columns: ...)").
        self.feature_names = tuple(feature_names) if feature_names is not None else None

    def work(self) -> ModelInfo | PickleConsentNeeded:
        from evalstudio.core.models.loading import UnsafeCheckpointError, load_for_evaluation
        from evalstudio.core.models.probe import probe_model, timeout_from_env

        # The model file runs first in a child process: an exit, a crash or a hang there is a message
        # in the window (and Stop ends it), never a dead or frozen app.
        probe_model(self.model_path, entry=self.entry, n_features=self.n_features, n_classes=self.n_classes,
                    timeout=timeout_from_env(), cancel=self.cancel_event)
        try:
            loaded_tuple = load_for_evaluation(
                self.model_path, self.checkpoint_path, entry=self.entry, trust_pickle=self.trust_pickle,
                strict=self.strict, n_features=self.n_features, n_classes=self.n_classes,
                feature_names=self.feature_names,
            )
        except UnsafeCheckpointError as exc:
            if self.trust_pickle or not exc.unsafe_globals:
                raise
            # Not a failure yet: the window asks the user, naming what would run.
            return PickleConsentNeeded(str(self.checkpoint_path or self.model_path), tuple(exc.unsafe_globals),
                                       exc.text("app"))
        loaded, ckpt, key_report = loaded_tuple
        headline, text, stoch = describe_model(loaded, ckpt, key_report, self.checkpoint_path, self.feature_names)
        return ModelInfo(
            self.model_path, self.checkpoint_path, tuple(loaded_tuple), headline, text,
            getattr(loaded, "builder", None) is not None, stoch,
        )


# ---------------------------------------------------------------------------------------------
# evaluation


#: The train vs eval mode audit runs on at most this many rows (a random, seeded sample). Ten
#: train-mode passes over a 1M-row file would cost ten extra evaluations on every Evaluate; the
#: spread of train-mode accuracy it shows is already clear on 50,000 rows (standard error of an
#: accuracy there is at most 0.23 percentage points).
AUDIT_MAX_ROWS = 50_000


def audit_rows(n_samples: int, max_rows: int = AUDIT_MAX_ROWS, *, seed: int = 0) -> "Any":
    """Row indices the mode audit uses: all rows, or a sorted seeded random ``max_rows`` of them.

    Returns
    -------
    ndarray of shape (min(n_samples, max_rows),), int64
    """
    import numpy as np

    if n_samples <= max_rows:
        return np.arange(n_samples, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_samples, size=max_rows, replace=False)).astype(np.int64)


class EvaluateJob(Job):
    """:func:`evalstudio.core.evaluation.pipeline.run_evaluation` on the loaded data and model, then the mode audit.

    What is scored: the rows of ``dataset`` (or, with ``data_path``, of that CSV instead) that did
    not train the checkpoint; with ``include_training_rows``, every row (the outcome's ``leakage``
    says which, and the result is labelled optimistic).
    The train vs eval mode audit (:func:`evalstudio.core.evaluation.predict.mode_audit`) runs after it on
    at most ``audit_max_rows`` of the scored rows (see :func:`audit_rows`), with the report's
    threshold and positive class, and the outcome's notes say so when it was a sample.
    """

    title = "evaluating"

    def __init__(self, dataset: "Dataset", model: ModelInfo, *, device: str = "cpu", target: str | None = None,
                 drop_missing: bool = False, mode_audit_passes: int = 10,
                 audit_max_rows: int = AUDIT_MAX_ROWS, threshold: float = 0.5, positive_class: str | None = None,
                 batch_size: int = 65536, data_path: str | None = None, include_training_rows: bool = False,
                 outputs: str = "auto") -> None:
        super().__init__()
        self.dataset, self.model = dataset, model
        self.device, self.target, self.drop_missing = device, target, drop_missing
        self.mode_audit_passes, self.audit_max_rows = mode_audit_passes, audit_max_rows
        self.threshold, self.positive_class, self.batch_size = float(threshold), positive_class, int(batch_size)
        self.data_path, self.include_training_rows = data_path, bool(include_training_rows)
        self.outputs = outputs  # auto | logits | probabilities (the CLI's --outputs)

    def work(self) -> Any:
        from dataclasses import replace

        from evalstudio.core.evaluation.pipeline import EvaluationSpec, run_evaluation
        from evalstudio.core.evaluation.predict import mode_audit

        dataset = None if self.data_path else self.dataset
        spec = EvaluationSpec(
            data_path=self.data_path or self.dataset.source or None,
            model_path=self.model.model_path,
            checkpoint_path=self.model.checkpoint_path, target=self.target or self.dataset.target_name,
            drop_missing=self.drop_missing, device=self.device, mode_audit_passes=0,
            threshold=self.threshold, positive_class=self.positive_class, batch_size=self.batch_size,
            outputs=self.outputs, include_training_rows=self.include_training_rows,
        )
        outcome = run_evaluation(spec, dataset=dataset, loaded_model=self.model.loaded_tuple)
        if self.mode_audit_passes <= 0:
            return outcome
        self.check_cancelled()
        data = outcome.dataset
        rows = audit_rows(data.n_samples, self.audit_max_rows)
        X = data.X[rows]
        if outcome.preprocessing is not None:
            X = outcome.preprocessing.transform(X)
        # The report's decision rule, so the audit's eval-mode accuracy is the accuracy shown.
        threshold = outcome.report.threshold if data.n_classes == 2 else None
        audit = mode_audit(outcome.loaded.module, X, data.y[rows], outcome.output_kind,
                           n_passes=self.mode_audit_passes, device=outcome.device,
                           batch_size=self.batch_size, threshold=threshold, positive=outcome.positive)
        notes = outcome.notes
        if rows.shape[0] < data.n_samples:
            notes += (f"train vs eval mode audit: {self.mode_audit_passes} passes on a random {rows.shape[0]:,} "
                      f"of the {data.n_samples:,} rows (seed 0); the evaluation itself covers every row",)
        return replace(outcome, spec=replace(spec, mode_audit_passes=self.mode_audit_passes), audit=audit,
                       notes=notes)


# ---------------------------------------------------------------------------------------------
# training and k-fold


def _relay_callback(job: Job, total_epochs: int, folds: int = 1) -> Any:
    """A core Callback that turns training events into the job's (throttled) signals."""
    from evalstudio.core.training.callbacks import Callback

    class Relay(Callback):
        def __init__(self) -> None:
            self.fold = 1
            self.start_epoch = 1

        def on_fold_start(self, fold: int, k: int) -> None:
            self.fold = fold
            job.report("fold_started", (fold, k))

        def on_train_start(self, info: Any) -> None:
            self.start_epoch = int(getattr(info, "start_epoch", 1))

        def on_batch_end(self, epoch: int, batch: int, n_batches: int) -> None:
            # Fraction of the whole job: folds x epochs x batches.
            done_epochs = (self.fold - 1) * total_epochs + (epoch - 1) + batch / max(n_batches, 1)
            where = f"epoch {epoch}/{total_epochs}"
            if n_batches >= 1000:  # a long epoch (a big file): say how far into it
                where += f" ({100 * batch // n_batches}% of its batches)"
            if folds > 1:
                where = f"fold {self.fold}/{folds} · " + where
            job.report_progress(done_epochs, total_epochs * folds, where)

        def on_epoch_end(self, metrics: "EpochMetrics") -> None:
            job.report("epoch", (self.fold, metrics))

        def on_fold_end(self, result: "FoldResult") -> None:
            job.report("fold", result)

    return Relay()


class TrainJob(Job):
    """:func:`evalstudio.core.training.loop.fit` on a fresh model built from the definition."""

    title = "training"

    def __init__(self, dataset: "Dataset", model: ModelInfo, settings: dict[str, Any], out_dir: str) -> None:
        super().__init__()
        self.dataset, self.model, self.settings, self.out_dir = dataset, model, dict(settings), out_dir

    def work(self) -> Any:
        from evalstudio.core.errors import ModelError
        from evalstudio.core.models.loading import infer_output_kind
        from evalstudio.core.training.config import TrainConfig
        from evalstudio.core.training.loop import fit, seeded
        from evalstudio.core.training.run_folder import open_run_folder, remove_if_empty

        config = train_config_from_settings(TrainConfig, self.settings)
        builder = self.model.loaded.builder
        if builder is None:
            raise ModelError(
                "this model cannot be trained from scratch: it was loaded from a TorchScript or pickled file, "
                "which holds weights but no way to build a fresh model.",
                hint="Open the Python file that defines the model to train it; Evaluate still works.",
            )
        # The folder is locked for the run (a second run on it stops, naming this process); a run
        # that ends before its first checkpoint leaves no empty folder behind.
        with open_run_folder(self.out_dir, flag="the run folder"):
            try:
                module = seeded(builder, config.seed)
                kind = infer_output_kind(module, self.dataset.n_features, self.dataset.n_classes)
                return fit(module, self.dataset, config, output_kind=kind,
                           callbacks=[_relay_callback(self, config.epochs)], cancel=self.cancel_event,
                           out_dir=self.out_dir, model_file=self.model.model_path)
            except BaseException:
                remove_if_empty(self.out_dir)
                raise


class KFoldJob(Job):
    """:func:`evalstudio.core.training.kfold.cross_validate`, folds reported as they finish."""

    title = "k-fold cross-validation"

    def __init__(self, dataset: "Dataset", model: ModelInfo, settings: dict[str, Any]) -> None:
        super().__init__()
        self.dataset, self.model, self.settings = dataset, model, dict(settings)

    def work(self) -> Any:
        from evalstudio.core.errors import ModelError
        from evalstudio.core.training.config import TrainConfig
        from evalstudio.core.training.kfold import cross_validate

        config = train_config_from_settings(TrainConfig, self.settings)
        folds = int(self.settings.get("folds", 5))
        builder = self.model.loaded.builder
        if builder is None:
            raise ModelError(
                "k-fold cross-validation trains a fresh model per fold, and a TorchScript or pickled model "
                "cannot be rebuilt from scratch.",
                hint="Open the Python file that defines the model.",
            )
        return cross_validate(
            builder, self.dataset, config, k=folds,
            callbacks=[_relay_callback(self, config.epochs, folds)], cancel=self.cancel_event,
        )


def train_config_from_settings(config_cls: Any, settings: dict[str, Any]) -> Any:
    """A core ``TrainConfig`` from the training panel's values (unknown keys ignored)."""
    names = set(getattr(config_cls, "__dataclass_fields__", {}))
    values = {k: v for k, v in settings.items() if k in names}
    return config_cls(**values)
