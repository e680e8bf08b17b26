"""The controller: owns the app's state and is the only object that talks to the job runner.

Widgets call its intent methods (``open_data``, ``train``, ``stop``...) and render what its
signals say. It starts one job at a time; loading requests made while a job runs wait in a
visible queue, while Train / Evaluate / K-fold during a run are refused with a message.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from evalstudio.core.data.columns import ColumnRoles  # plain data (no torch)
from evalstudio.core.errors import text_for  # the window's wording of a core note (no torch)
from evalstudio.gui.eval_plan import EvalPlan, plan_evaluation, records_training_rows, report_settings, same_file
from evalstudio.gui.settings import AppSettings
from evalstudio.workers.job import Job
from evalstudio.workers.jobs import (
    DeviceList,
    DevicesJob,
    EvaluateJob,
    KFoldJob,
    LoadDataJob,
    ReplanJob,
    LoadModelJob,
    ModelInfo,
    PickleConsentNeeded,
    TrainJob,
)
from evalstudio.workers.runner import JobRunner

JobFactory = Callable[[], "Job | None"]


@dataclass(frozen=True)
class JobHandlers:
    """What the controller does with one job's outcome, chosen when the job is started.

    ``succeeded`` gets the result; ``failed`` (the message) and ``cancelled`` run before the
    controller's common error / stop message; ``reported`` maps a report kind to its handler.
    ``cancelled`` also runs for a queued job that Stop dropped before it started.

    ``area`` names the part of the app's state the job speaks for ("data", "model",
    "evaluation", "training", "kfold"...): an error banner left by a failure in an area goes
    away when a later job of the same area succeeds (ticking "Drop rows with missing values"
    and loading again clears the loader's error). Whatever the handlers do, every job end then
    passes through :meth:`Controller._job_ended`, which leaves the status line, the buttons and
    the banner describing what is now true.
    """

    succeeded: Callable[[Any], None]
    failed: Callable[[str], None] | None = None
    cancelled: Callable[[], None] | None = None
    reported: Mapping[str, Callable[[Any], None]] = field(default_factory=dict)
    area: str = ""


@dataclass(frozen=True)
class PendingJob:
    """A job waiting in the queue: what it is (for the status line), how to build it, its handlers."""

    what: str
    factory: JobFactory
    handlers: JobHandlers


class Controller(QObject):
    """App state: dataset, model, device list, the last training / evaluation / k-fold results.

    Signals (state out)
    -------------------
    dataset_changed(Dataset | None), model_changed(ModelInfo | None), model_paths_changed(model, checkpoint)
    devices_changed(DeviceList), busy_changed(bool), actions_changed()
    progress_changed(percent, text), status_changed(text), message_posted(level, text)
    message_cleared() -- the error banner no longer describes what is true (a later success)
    data_failed(message) -- the requested data did not load; the data shown (if any) stays
    model_failed(message) -- the model did not load (no model is loaded now)
    model_load_stopped() -- a model load was stopped or dropped before it finished
    data_fit_changed(DataFit | None) -- the checkpoint's recorded columns / classes against the data's
        (:func:`evalstudio.core.models.data_fit.check_data_fit`), on every data or model change
    training_started(), epoch_added(EpochMetrics), training_finished(TrainResult | None, history)
    training_interrupted(how, message, epochs) -- "failed" / "stopped" (before training_finished(None, ...))
    evaluation_finished(EvaluationOutcome), predictions_shown(Predictions, title, features | None)
    kfold_started(k, classes), fold_added(FoldResult), kfold_finished(CVResult)
    recent_files_changed(kind, paths)
    pickle_consent_needed(path, unsafe_globals) -- a pickled checkpoint waits for the user's trust

    Which rows Evaluate scores is the core's decision (the rows that trained the checkpoint are left
    out unless ``include_training_rows``); :mod:`evalstudio.gui.eval_plan` words it.
    ``report_context`` / ``kfold_report_context`` hold (settings, files) for the HTML report of the
    predictions last shown / of the last k-fold run; ``kfold_dataset`` is the data k-fold ran on.
    """

    dataset_changed = Signal(object)
    model_changed = Signal(object)
    model_paths_changed = Signal(str, str)
    devices_changed = Signal(object)
    busy_changed = Signal(bool)
    actions_changed = Signal()
    progress_changed = Signal(int, str)
    status_changed = Signal(str)
    message_posted = Signal(str, str)
    message_cleared = Signal()
    data_failed = Signal(str)
    model_failed = Signal(str)
    model_load_stopped = Signal()
    data_fit_changed = Signal(object)
    training_started = Signal()
    training_interrupted = Signal(str, str, int)
    epoch_added = Signal(object)
    training_finished = Signal(object, object)
    evaluation_finished = Signal(object)
    predictions_shown = Signal(object, str, object)
    kfold_started = Signal(int, object)
    fold_added = Signal(object)
    kfold_finished = Signal(object)
    recent_files_changed = Signal(str, object)
    pickle_consent_needed = Signal(str, object)

    def __init__(self, settings: AppSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.runner = JobRunner(self)
        self.runner.busy_changed.connect(self._on_busy_changed)
        self.runner.progressed.connect(self._on_progressed)
        self.runner.reported.connect(self._on_reported)
        self.runner.succeeded.connect(self._on_succeeded)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.refused.connect(self._on_refused)
        self.runner.job_finished.connect(self._on_job_finished)
        # Jobs that block nothing (the device check and import warm-up at start-up): they never
        # disable a button, never take the status line, and Stop does not stop them.
        self.background = JobRunner(self)
        self.background.succeeded.connect(self._on_background_succeeded)
        self.background.failed.connect(self._on_background_failed)
        # Runners of jobs that follow a result on their own (the intervals, the calibration fit:
        # gui/uncertainty.py); shut down with the others.
        self.side_runners: list[JobRunner] = []
        # State.
        self.dataset: Any = None
        self.data_path: str | None = None
        self.requested_data_path: str | None = None
        self.target: str | None = None
        self.drop_missing = False
        # The column roles the user picked in the data panel's column table (kept across reloads of
        # the same file: another target, dropping rows; forgotten when another file is opened).
        self.roles = ColumnRoles()
        self._pending_roles = self.roles  # the roles a re-plan in flight applies
        self.strict = True  # False: load the checkpoint tensors that fit (the CLI's --non-strict)
        self.outputs = "auto"  # how Evaluate reads the model's outputs: auto | logits | probabilities
        self.data_fit: Any = None  # DataFit of the loaded checkpoint against the loaded data
        self.model_path: str | None = None
        self.checkpoint_path: str | None = None
        self.trust_pickle = False
        self.model: ModelInfo | None = None
        self.devices: DeviceList | None = None
        self.history: list[Any] = []
        self.train_result: Any = None
        self.run_dir: str | None = None
        self.evaluation: Any = None
        self.cv_result: Any = None
        self.folds: list[Any] = []
        # The "include the rows this model was trained on (optimistic)" checkbox; off in every new window.
        self.include_training_rows = False
        self._run_data_path: str | None = None  # the CSV the last Train run of this window used
        self._train_settings: dict[str, Any] = {}
        self._eval_plan: EvalPlan | None = None
        self._eval_context: dict[str, Any] = {}
        self.report_context: tuple[dict[str, Any], dict[str, str]] | None = None
        self.kfold_report_context: tuple[dict[str, Any], dict[str, str]] | None = None
        self.kfold_dataset: Any = None
        self.messages: list[tuple[str, str]] = []
        self._queue: list[PendingJob] = []
        self._handlers: JobHandlers | None = None  # the running job's
        self._outcome: str = ""  # the running job's: "succeeded", "failed" or "cancelled"
        self._status_said = False  # an outcome handler put its own words in the status line
        # The area of the error on screen: None (no error), "" (a refused action: any success
        # clears it) or a JobHandlers.area (a success in that area clears it).
        self.error_area: str | None = None
        self.last_status = ""
        self.status_changed.connect(self._remember_status)

    # -- derived state --------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.runner.busy

    @property
    def idle(self) -> bool:
        """No job running (background ones included) and none queued."""
        return (not self.runner.busy and not self._queue and not self.background.busy
                and not any(r.busy for r in self.side_runners))

    @property
    def can_train(self) -> bool:
        return self.dataset is not None and self.model is not None and self.model.has_builder

    @property
    def can_evaluate(self) -> bool:
        return self.dataset is not None and self.model is not None

    @property
    def best_checkpoint(self) -> str | None:
        r = self.train_result
        if r is not None:
            return r.best_checkpoint or r.last_checkpoint
        if self.run_dir and os.path.exists(os.path.join(self.run_dir, "last.pt")):
            return os.path.join(self.run_dir, "last.pt")  # a stopped run's last finished epoch
        return None

    # -- intents: files -------------------------------------------------------------------------
    def detect_devices(self) -> None:
        """Look for devices (and warm up torch's imports) in the background: the buttons work
        meanwhile; until the list lands the device picker offers the CPU."""
        if not self.background.busy:
            self.background.start(DevicesJob())

    def open_data(self, path: str, *, target: str | None = None) -> None:
        """Load a CSV (the target column by name, or the loader's default)."""
        if path != self.requested_data_path and path != self.data_path:
            self.roles = ColumnRoles()  # another file: its columns are inferred afresh
        # data_path stays the loaded dataset's file until this one loads (a failure keeps the old data).
        self.requested_data_path, self.target = path, target
        roles = self.roles
        self._enqueue(PendingJob(
            f"loading {os.path.basename(path)}",
            lambda: LoadDataJob(path, target=target, drop_missing=self.drop_missing, roles=roles),
            JobHandlers(self._data_loaded, failed=self._data_failed, cancelled=self._data_stopped, area="data")))

    def set_target(self, name: str) -> None:
        # The picker belongs to the data on screen (not to a file that just failed to load).
        path = self.data_path if self.dataset is not None else self.requested_data_path
        if path:
            self.roles = self.roles.forget(name)  # the label is no feature
            self.open_data(path, target=name)

    def set_column_kind(self, name: str, kind: str) -> None:
        """Use column ``name`` as ``kind`` (numeric / categorical / ignored): the columns are planned
        again from the rows already read, and the model is rebuilt for the new inputs."""
        if self.dataset is None:
            return
        roles = self.roles.with_kind(name, kind)
        dataset = self.dataset
        self._enqueue(PendingJob(
            f"using {name!r} as {kind}",
            lambda: ReplanJob(dataset, roles),
            JobHandlers(self._data_replanned, failed=self._replan_failed, cancelled=self._replan_stopped,
                        area="data")))
        self._pending_roles = roles

    def set_drop_missing(self, value: bool) -> None:
        self.drop_missing = bool(value)
        if self.requested_data_path:  # also retries a file that failed for its missing values
            self.open_data(self.requested_data_path, target=self.target)

    def set_model_path(self, path: str | None) -> None:
        """Choose the model definition (the caller has asked for consent where it runs code)."""
        self.model_path = path or None
        if path:
            self.recent_files_changed.emit("model", self.settings.add_recent_file("model", path))
        self.model_paths_changed.emit(self.model_path or "", self.checkpoint_path or "")
        self.reload_model()

    def set_checkpoint_path(self, path: str | None) -> None:
        self.checkpoint_path = path or None
        if path:
            self.recent_files_changed.emit("checkpoint", self.settings.add_recent_file("checkpoint", path))
        self.model_paths_changed.emit(self.model_path or "", self.checkpoint_path or "")
        self.reload_model()

    def set_strict(self, value: bool) -> None:
        """Load only a checkpoint that fits the model exactly (True) or the tensors that fit (False)."""
        self.strict = bool(value)
        if self.checkpoint_path:
            self.reload_model()

    def set_outputs(self, value: str) -> None:
        """How Evaluate reads the model's outputs: "auto", "logits" or "probabilities"."""
        self.outputs = value if value in ("auto", "logits", "probabilities") else "auto"

    def set_trust_pickle(self, value: bool) -> None:
        self.trust_pickle = bool(value)
        if self.checkpoint_path:
            self.reload_model()

    def reload_model(self) -> None:
        if not (self.model_path or self.checkpoint_path):
            self._set_model(None)
            return
        self._enqueue(self._model_pending("loading the model"))

    def _model_pending(self, what: str) -> PendingJob:
        return PendingJob(what, self._model_job, JobHandlers(self._model_loaded, failed=self._model_failed,
                                                             cancelled=self._model_stopped, area="model"))

    def _model_job(self) -> Job:
        d = self.dataset
        return LoadModelJob(
            self.model_path, self.checkpoint_path, trust_pickle=self.trust_pickle, strict=self.strict,
            n_features=d.n_features if d is not None else None, n_classes=d.n_classes if d is not None else None,
            feature_names=tuple(d.feature_names) if d is not None else None,
        )

    def set_include_training_rows(self, on: bool) -> None:
        """Whether Evaluate also scores the rows that trained the checkpoint (labelled optimistic)."""
        if bool(on) != self.include_training_rows:
            self.include_training_rows = bool(on)
            self.actions_changed.emit()

    def use_calibrated_checkpoint(self, path: str) -> None:
        """Evaluate with ``path`` (the loaded checkpoint plus a temperature) from now on. The calibrated
        file carries the training_rows section of the checkpoint it came from, so Evaluate keeps
        leaving out the rows the weights were trained on."""
        self._post("info", f"calibrated checkpoint saved to {path}; evaluations now apply its temperature")
        self.set_checkpoint_path(path)

    def evaluation_plan(self) -> EvalPlan:
        """What Evaluate would score now (see :mod:`evalstudio.gui.eval_plan`)."""
        d = self.dataset
        ckpt = self.model.checkpoint_path if self.model is not None else self.checkpoint_path
        run = self.train_result
        run_ckpts = (run.best_checkpoint, run.last_checkpoint) if run is not None else ()
        return plan_evaluation(self.data_path, d.n_samples if d is not None else 0, ckpt,
                               records_rows=records_training_rows(self.model.checkpoint if self.model else None),
                               include_training_rows=self.include_training_rows,
                               run_data_path=self._run_data_path if any(same_file(ckpt, p) for p in run_ckpts) else None)

    def _files(self, data_file: str | None) -> dict[str, str]:
        files = {"data": data_file, "model": self.model_path, "checkpoint": self.checkpoint_path}
        return {role: str(p) for role, p in files.items() if p}

    # -- intents: runs --------------------------------------------------------------------------
    def train(self, settings: dict[str, Any]) -> bool:
        if not self._ready_to_run("train"):
            return False
        self.settings.set_training_settings(settings)
        self._train_settings = {k: v for k, v in settings.items() if k != "folds"}
        # Every run is kept in its own new folder under the user's data directory (never a temp
        # folder removed on close): its checkpoints outlive the window, and "Open folder" shows them.
        from evalstudio.core.errors import EvalStudioError
        from evalstudio.core.training.run_folder import new_run_folder

        try:
            run_dir = str(new_run_folder(self.settings.runs_folder()))
        except EvalStudioError as exc:
            self._post("error", f"cannot train: {exc}")
            return False
        job = TrainJob(self.dataset, self.model, settings, run_dir)  # type: ignore[arg-type]
        handlers = JobHandlers(self._training_finished, failed=self._training_failed,
                               cancelled=self._training_cancelled, reported={"epoch": self._epoch_finished},
                               area="training")
        if not self._start(job, handlers):
            os.rmdir(run_dir)
            return False
        self.run_dir = run_dir
        self.history = []
        self.train_result = None
        self.training_started.emit()
        return True

    def evaluate(self, settings: dict[str, Any]) -> bool:
        if not self._ready_to_run("evaluate"):
            return False
        plan = self.evaluation_plan()
        device = str(settings.get("device", "cpu"))
        job = EvaluateJob(self.dataset, self.model, device=device,  # type: ignore[arg-type]
                          target=self.dataset.target_name, drop_missing=self.drop_missing, outputs=self.outputs,
                          include_training_rows=plan.include_training_rows)
        if not self._start(job, JobHandlers(self._evaluation_finished, failed=self._evaluation_failed,
                                            area="evaluation")):
            return False
        self._eval_plan = plan
        self._eval_context = {"device": device, "batch_size": job.batch_size,
                              "checkpoint": self.model.checkpoint}  # type: ignore[union-attr]
        return True

    def kfold(self, settings: dict[str, Any]) -> bool:
        if not self._ready_to_run("run k-fold cross-validation"):
            return False
        job = KFoldJob(self.dataset, self.model, settings)  # type: ignore[arg-type]
        handlers = JobHandlers(self._kfold_finished, failed=self._kfold_failed,
                               reported={"fold": self._fold_finished}, area="kfold")
        if self.runner.busy:
            return self._start(job, handlers)  # refused, saying why
        self.settings.set_training_settings(settings)
        self.folds = []
        self.cv_result = None
        self.kfold_dataset = self.dataset
        self.kfold_report_context = (
            {"evaluation": "pooled out-of-fold predictions", "device": str(settings.get("device", "cpu")),
             **{f"training {k}": v for k, v in settings.items() if k != "device"}},
            self._files(self.data_path) | {"checkpoint": ""},
        )
        # The view is made ready (tab, table, curve items) before the worker starts and competes
        # for the GIL: done after, the same work stalled the window ~3x longer.
        self.kfold_started.emit(int(settings.get("folds", 5)), tuple(self.dataset.classes))
        return self._start(job, handlers)

    def start_job(self, job: Job, handlers: JobHandlers) -> bool:
        """Start a view's own job (the Compare view's) now; while another job runs it is refused
        with a message, as Train / Evaluate / K-fold are."""
        return self._start(job, handlers)

    def stop(self) -> None:
        """Cancel the running job (within one batch) and drop queued loads."""
        self._drop_queue()
        if self.runner.busy:
            self.status_changed.emit(f"stopping {self.runner.current_title}…")
        self.runner.cancel()

    def save_checkpoint(self, path: str) -> str:
        """Copy the finished run's best (or last) checkpoint to ``path``; returns what was copied."""
        src = self.best_checkpoint
        if not src:
            self._post("error", "there is no checkpoint to save yet. Train a model first.")
            return ""
        from evalstudio.core.atomic import atomic_write
        from evalstudio.core.paths import describe_os_error, same_file

        # An output never replaces an input, even one the file dialog was told to overwrite.
        for what, used in (("the data file", self.data_path), ("the model file", self.model_path),
                           ("the checkpoint being saved", src)):
            if used and same_file(path, used):
                self._post("error", f"cannot save the checkpoint to {path}: that is {what}, which it would replace. "
                           "Choose another file name.")
                return ""
        try:  # atomically: a full disk leaves the file that was there, not half a checkpoint
            with open(src, "rb") as fin, atomic_write(path, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        except OSError as exc:
            self._post("error", f"cannot save the checkpoint to {path}: {describe_os_error(exc)}. "
                       "Choose another folder (or free some space).")
            return ""
        self._post("info", f"checkpoint saved to {path}")
        return src

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel the running job and wait for its thread. Run folders are kept (see :meth:`train`)."""
        self._queue.clear()
        self.background.cancel()
        for side in self.side_runners:
            side.cancel()
        return (self.runner.shutdown(timeout_ms) and self.background.shutdown(timeout_ms)
                and all(side.shutdown(timeout_ms) for side in self.side_runners))

    # -- internals ------------------------------------------------------------------------------
    def _ready_to_run(self, verb: str) -> bool:
        if self.dataset is None:
            self._post_error(f"cannot {verb}: no data loaded. Open a CSV file first (File > Open data…).")
            return False
        if self.model is None:
            self._post_error(f"cannot {verb}: no model loaded. Choose the model's Python file in the Model tab "
                             "(File > Open model…).")
            return False
        if verb != "evaluate" and not self.model.has_builder:
            self._post_error(f"cannot {verb}: this model was loaded from a TorchScript or pickled file and "
                             "cannot be rebuilt from scratch. Open the Python file that defines it (Model tab).")
            return False
        return True

    def _start(self, job: Job, handlers: JobHandlers) -> bool:
        """Start ``job`` now; its outcome goes to ``handlers`` (and nowhere else)."""
        if not self.runner.start(job):
            return False
        self._handlers = handlers
        self._outcome = ""
        return True

    def _drop_queue(self) -> None:
        """Forget the queued jobs; each one's ``cancelled`` handler says it will not run."""
        dropped, self._queue = self._queue, []
        for pending in dropped:
            if pending.handlers.cancelled is not None:
                pending.handlers.cancelled()

    def _enqueue(self, pending: PendingJob) -> None:
        if self.runner.busy:
            self._queue.append(pending)
            self.status_changed.emit(f"queued: {pending.what} (after {self.runner.current_title})")
            return
        self._start_pending(pending)

    def _start_pending(self, pending: PendingJob) -> None:
        job = pending.factory()
        if job is not None:
            self._start(job, pending.handlers)

    def _post(self, level: str, text: str) -> None:
        self.messages.append((level, text))
        self.message_posted.emit(level, text)

    def _post_error(self, text: str, area: str = "") -> None:
        """An error banner that stays until a success in ``area`` ("" : any success) makes it stale."""
        self._post("error", text)
        self.error_area = area

    def _set_model(self, info: ModelInfo | None) -> None:
        self.model = info
        self.model_changed.emit(info)
        self._refresh_data_fit()
        self.actions_changed.emit()

    def _misfit(self) -> str:
        return "; the checkpoint does not fit this data (see the Model tab)" \
            if self.data_fit is not None and not self.data_fit.fits else ""

    def _refresh_data_fit(self) -> None:
        """Compare the checkpoint's recorded training columns with the data's, now (not at Evaluate)."""
        from evalstudio.core.models.data_fit import check_data_fit  # pure; no torch

        ckpt = self.model.checkpoint if self.model is not None else None
        self.data_fit = check_data_fit(ckpt, self.dataset) if ckpt is not None and self.dataset is not None else None
        self.data_fit_changed.emit(self.data_fit)

    @Slot(str)
    def _remember_status(self, text: str) -> None:
        self.last_status = text
        self._status_said = True

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        self.busy_changed.emit(busy)
        self.actions_changed.emit()

    @Slot(int, str)
    def _on_progressed(self, percent: int, text: str) -> None:
        title = self.runner.current_title or ""
        self.progress_changed.emit(percent, f"{title}: {text}" if text else title)

    @Slot(str, object)
    def _on_reported(self, kind: str, payload: object) -> None:
        handler = self._handlers.reported.get(kind) if self._handlers is not None else None
        if handler is not None:
            handler(payload)

    @Slot(str, object)
    def _on_succeeded(self, title: str, result: Any) -> None:
        self._outcome = "succeeded"
        self._status_said = False
        if self._handlers is not None:
            self._handlers.succeeded(result)

    @Slot(str, str)
    def _on_failed(self, title: str, message: str) -> None:
        self._outcome = "failed"
        self._status_said = False
        area = self._handlers.area if self._handlers is not None else ""
        if self._handlers is not None and self._handlers.failed is not None:
            self._handlers.failed(message)
        self._post_error(f"{title} failed: {message}", area)

    @Slot(str)
    def _on_cancelled(self, title: str) -> None:
        self._outcome = "cancelled"
        self._status_said = False
        if self._handlers is not None and self._handlers.cancelled is not None:
            self._handlers.cancelled()
        else:
            self._post("info", f"{title} stopped")

    @Slot(str)
    def _on_refused(self, message: str) -> None:
        self._post_error(message)

    @Slot(str)
    def _on_job_finished(self, title: str) -> None:
        handlers, outcome = self._handlers, self._outcome
        self._handlers, self._outcome = None, ""
        self._job_ended(title, handlers, outcome)
        while self._queue and not self.runner.busy:
            self._start_pending(self._queue.pop(0))

    def _job_ended(self, title: str, handlers: JobHandlers | None, outcome: str) -> None:
        """Runs once at every job end, after the job's own handler: whatever the outcome, the
        status line, the banner and the buttons then describe what is true now."""
        area = handlers.area if handlers is not None else ""
        if outcome == "succeeded" and self.error_area is not None and self.error_area in ("", area):
            self.error_area = None  # e.g. the data loads now: its loader error is history
            self.message_cleared.emit()
        if not self._status_said:  # the handler left the status line as the job had it ("training…")
            said = {"succeeded": f"{title}: done", "failed": f"{title} failed (the message below says why)",
                    "cancelled": f"{title} stopped"}.get(outcome, f"{title} ended")
            self.status_changed.emit(said)
        self._status_said = False
        self.actions_changed.emit()

    @Slot(str, object)
    def _on_background_succeeded(self, title: str, result: Any) -> None:
        if isinstance(result, DeviceList):
            self._devices_found(result)

    @Slot(str, str)
    def _on_background_failed(self, title: str, message: str) -> None:
        # The device picker keeps the CPU; say what went wrong without blocking anything.
        self.devices_changed.emit(DeviceList((("cpu", "CPU"),), "GPUs could not be listed; the CPU is used."))
        self._post("error", f"looking for devices failed: {message}")

    # -- job outcomes (each connected to its job when the job starts) -------------------------
    def _devices_found(self, devices: DeviceList) -> None:
        self.devices = devices
        self.devices_changed.emit(devices)

    def _data_loaded(self, dataset: Any) -> None:
        self.dataset = dataset
        self.data_path = dataset.source or self.requested_data_path
        self.target = dataset.target_name
        if self.data_path:
            self.recent_files_changed.emit("data", self.settings.add_recent_file("data", self.data_path))
        self.dataset_changed.emit(dataset)
        self._refresh_data_fit()  # with the model still loaded: a target switch shows at once
        self.actions_changed.emit()
        enc = getattr(dataset, "encoding", None)
        n_columns = len(enc.features) if enc is not None else dataset.n_features
        width = (f"{dataset.n_features} features" if n_columns == dataset.n_features
                 else f"{n_columns} feature columns ({dataset.n_features} model inputs)")
        self.status_changed.emit(f"loaded {dataset.n_samples:,} rows, {width}" + self._misfit())
        if self.model_path or self.checkpoint_path:
            # The model may be built for the data's width and classes: build it again.
            self._queue.insert(0, self._model_pending("loading the model"))

    def _data_replanned(self, dataset: Any) -> None:
        self.roles = getattr(self, "_pending_roles", self.roles)
        self._data_loaded(dataset)

    def _replan_failed(self, message: str) -> None:
        # (The runner has posted the message.) The columns on screen stay as they were, and the
        # table shows their roles again.
        self.dataset_changed.emit(self.dataset)

    def _replan_stopped(self) -> None:
        self.dataset_changed.emit(self.dataset)

    def _data_failed(self, message: str) -> None:
        self._data_not_loaded(message, "could not be loaded")

    def _data_stopped(self) -> None:
        self._data_not_loaded("", "was not loaded (stopped)")

    def _data_not_loaded(self, message: str, what: str) -> None:
        # The data on screen stays, and so does its target: the picker shows the target in use.
        self.target = self.dataset.target_name if self.dataset is not None else None
        name = os.path.basename(self.requested_data_path or "") or "the data"
        kept = (f"; still showing {os.path.basename(self.data_path or '')} (target {self.dataset.target_name})"
                if self.dataset is not None else "; no data loaded")
        self.status_changed.emit(f"{name} {what}{kept}")
        self.data_failed.emit(message)

    def _model_loaded(self, result: ModelInfo | PickleConsentNeeded) -> None:
        if isinstance(result, PickleConsentNeeded):
            self._set_model(None)
            self._post_error(f"loading the model stopped: {result.message}", "model")
            self.status_changed.emit("the checkpoint is a pickle that runs code: waiting for your answer")
            self.pickle_consent_needed.emit(result.checkpoint_path, result.unsafe_globals)
            return
        self._set_model(result)
        weights = f" with weights from {os.path.basename(result.checkpoint_path)}" if result.checkpoint_path else ""
        self.status_changed.emit(f"model loaded{weights}: {result.headline}" + self._misfit())

    def _model_failed(self, message: str) -> None:
        self._set_model(None)
        self.model_failed.emit(message)
        self.status_changed.emit("the model could not be loaded; no model is loaded")

    def _model_stopped(self) -> None:
        self.model_load_stopped.emit()
        self.status_changed.emit("loading the model was stopped" + (
            "; the model loaded before is still in use" if self.model is not None else "; no model is loaded"))

    def _epoch_finished(self, payload: Any) -> None:
        _fold, metrics = payload
        self.history.append(metrics)
        self.epoch_added.emit(metrics)

    def _training_finished(self, result: Any) -> None:
        self.train_result = result
        self._run_data_path = self.data_path
        self.status_changed.emit(f"training finished ({len(result.history)} epochs)")
        self.training_finished.emit(result, tuple(result.history))
        best = f"best epoch {result.best_epoch} ({result.monitor} {result.best_score:.4g})" \
            if result.best_epoch is not None and result.best_score is not None else "no best epoch"
        self._post("info", f"training finished after {len(result.history)} epochs; {best}"
                   + (f"; {result.stop_reason}" if result.stop_reason else "")
                   + (f". Checkpoints kept in {self.run_dir}" if self.run_dir else ""))
        ckpts = tuple(p for p in (result.best_checkpoint, result.last_checkpoint) if p)
        val = result.val_predictions
        if val is not None:
            self.report_context = (
                {"rows scored": "validation rows", "device": str(self._train_settings.get("device", "cpu")),
                 **{f"training {k}": v for k, v in self._train_settings.items() if k != "device"}},
                self._files(self.data_path) | {"checkpoint": ckpts[0] if ckpts else ""},
            )
            self.predictions_shown.emit(val, "validation rows, best epoch", None)
        ckpt = result.best_checkpoint or result.last_checkpoint
        if ckpt:
            # Evaluate from now on uses the trained weights (and their standardisation).
            self.checkpoint_path = ckpt
            self.model_paths_changed.emit(self.model_path or "", ckpt)
            self._queue.insert(0, self._model_pending("loading the trained model"))

    def _training_failed(self, message: str) -> None:
        self._forget_empty_run_dir()
        self.training_interrupted.emit("failed", message, len(self.history))
        self.training_finished.emit(None, tuple(self.history))
        self.status_changed.emit(f"training failed {_after_epochs(len(self.history))}")

    def _forget_empty_run_dir(self) -> None:
        """A run that ended before its first checkpoint leaves no folder (the job removed it)."""
        if self.run_dir and not os.path.isdir(self.run_dir):
            self.run_dir = None

    def _training_cancelled(self) -> None:
        self._forget_empty_run_dir()
        self.training_interrupted.emit("stopped", "", len(self.history))
        self.training_finished.emit(None, tuple(self.history))
        self.status_changed.emit(f"training stopped {_after_epochs(len(self.history))}")
        self._post("info", f"training stopped after {len(self.history)} finished epochs"
                   + ("; the last finished epoch's checkpoint can be saved" if self.best_checkpoint else ""))

    def _evaluation_failed(self, message: str) -> None:
        self.status_changed.emit("evaluation failed" + (
            "; the Evaluation tab still shows the previous results" if self.evaluation is not None else ""))

    def _kfold_failed(self, message: str) -> None:
        self.status_changed.emit(f"k-fold cross-validation failed after {len(self.folds)} finished folds")

    def _evaluation_finished(self, result: Any) -> None:
        self.evaluation = result
        plan = self._eval_plan or self.evaluation_plan()
        self.report_context = (report_settings(plan, result, **self._eval_context), self._files(plan.data_file))
        self.evaluation_finished.emit(result)
        self.predictions_shown.emit(result.predictions, plan.title(result), result.dataset)
        acc = result.report.metrics.get("accuracy")
        optimistic = result.leakage is not None and result.leakage.optimistic
        self.status_changed.emit(f"evaluated {result.predictions.n_samples:,} rows"
                                 + (f": accuracy {acc:.3f}" if acc is not None else "")
                                 + (" (optimistic: includes the rows the model was trained on)" if optimistic else ""))
        # One message (the area shows the last): which rows were scored, then what the evaluation noted.
        said = ([plan.message(result)] if plan.message(result) else []) + (
            ["evaluation notes: " + "; ".join(text_for(n, "app") for n in result.notes)] if result.notes else [])
        if said:
            self._post("info", "\n".join(said))

    def _fold_finished(self, fold: Any) -> None:
        self.folds.append(fold)
        self.fold_added.emit(fold)

    def _kfold_finished(self, result: Any) -> None:
        self.cv_result = result
        self.kfold_finished.emit(result)
        self.status_changed.emit(f"k-fold cross-validation finished ({len(result.folds)} folds)")
        acc = result.summary.get("accuracy")
        if acc:
            self._post("info", f"k-fold finished: accuracy {acc['mean']:.3f} ± {acc['std']:.3f} over "
                               f"{len(result.folds)} folds")


def _after_epochs(n: int) -> str:
    return "before the first epoch finished" if n == 0 else f"after {n} finished epoch{'s' if n != 1 else ''}"
