"""The main window: data, model and training panels, the evaluation tabs, status and messages.

It wires widgets' intent signals to the controller and the controller's state signals back to
the widgets; it computes nothing itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QEventLoop, Qt, QUrl, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from evalstudio import __version__
from evalstudio.gui.clipboard import let_plots_take_focus
from evalstudio.gui.compare_controller import CompareController
from evalstudio.gui.consent import consent_text, file_sha256, runs_code
from evalstudio.gui.controller import Controller
from evalstudio.gui.data_panel import DataPanel
from evalstudio.gui.evaluation.compare_view import CompareView
from evalstudio.gui.evaluation_tabs import EvaluationTabs
from evalstudio.gui.files import classify_file, is_bundled
from evalstudio.gui.menus import WindowMenus
from evalstudio.gui.messages import MessageArea
from evalstudio.gui.model_panel import ModelPanel
from evalstudio.gui.settings import AppSettings
from evalstudio.gui.training_panel import TrainingPanel
from evalstudio.gui.training_plot import TrainingCurvesPlot

#: Asks the user a yes/no question: (title, text) -> yes?  Tests swap in an answer.
Confirm = Callable[[str, str], bool]

class MainWindow(QMainWindow):
    """evalstudio's window. ``confirm`` asks yes/no questions (consent, closing while running)."""

    def __init__(self, settings: AppSettings | None = None, *, confirm: Confirm | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"evalstudio {__version__}")
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        self.confirm: Confirm = confirm or self._ask
        self.controller = Controller(self.settings, self)
        self._closing = False

        # -- widgets ------------------------------------------------------------------------------
        self.data_panel = DataPanel()
        self.model_panel = ModelPanel()
        self.training_plot = TrainingCurvesPlot()
        self.training_panel = TrainingPanel()
        self.evaluation_tabs = EvaluationTabs(self)
        self.evaluation_panel = self.evaluation_tabs.evaluation_panel
        self.kfold_panel = self.evaluation_tabs.kfold_panel
        self.audit_panel = self.evaluation_tabs.audit_panel
        self.has_audit_panel = self.evaluation_tabs.has_audit_panel
        self.calibration_panel = self.evaluation_tabs.calibration_panel
        self.compare_view = CompareView()

        self.tabs = QTabWidget()
        # The wide views sit in scroll areas: a view that grows wide once it has results (the
        # evaluation view reached 1,156 px) scrolls inside its tab instead of widening the window
        # past the screen and pushing the training panel (and its Stop button) off it. Not the
        # narrow ones: a scroll area sizes a view with word-wrapped text by its preferred height
        # (the training curves wanted 1,008 px and got a vertical scroll bar).
        for view, title, wide in ((self.data_panel, "Data", True), (self.model_panel, "Model", True),
                                  (self.training_plot, "Training", False),
                                  (self.evaluation_panel, "Evaluation", True), (self.kfold_panel, "K-fold", True),
                                  (self.audit_panel, "Train vs eval mode", False),
                                  (self.calibration_panel, "Calibration", False),
                                  (self.compare_view, "Compare", True)):
            self.tabs.addTab(_scrolling(view) if wide else view, title)
        self.evaluation_tabs.attach(self.tabs)

        side = QScrollArea()
        side.setWidget(self.training_panel)
        side.setWidgetResizable(True)
        side.setFrameShape(QScrollArea.Shape.NoFrame)
        # The form fits its column: scroll vertically on a short screen, never sideways.
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side.setMinimumWidth(self.training_panel.minimumSizeHint().width() + 24)
        split = QSplitter()
        split.addWidget(self.tabs)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setSizes([1000, side.minimumWidth()])

        self.message_area = MessageArea()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        # Messages appear below the work area, not above it: a message arriving at the top pushed
        # every button down ~37 px as the user reached for one (seen under Xvfb: K-fold clicked, Train hit).
        layout.addWidget(split, 1)
        layout.addWidget(self.message_area)
        self.setCentralWidget(central)

        self.status_label = QLabel("Ready. Open a CSV file (File > Open data…) and a model (File > Open model…), "
                                   "or drop them on the window.")
        # Its text changes with every progress report; an Ignored width keeps those changes from
        # asking the whole window for a new layout (and a repaint) each time.
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self._build_menu()
        self.compare = CompareController(self.controller, self.compare_view, self.training_panel.settings, self)

        # -- intent: widgets -> controller --------------------------------------------------------
        self.data_panel.open_requested.connect(self.open_data)
        self.data_panel.target_changed.connect(self.controller.set_target)
        self.data_panel.drop_missing_changed.connect(self.controller.set_drop_missing)
        self.data_panel.column_kind_changed.connect(self.controller.set_column_kind)
        self.model_panel.model_chosen.connect(self.choose_model)
        self.model_panel.checkpoint_chosen.connect(self.choose_checkpoint)
        self.model_panel.reload_requested.connect(self.controller.reload_model)
        self.model_panel.trust_pickle_changed.connect(self.controller.set_trust_pickle)
        self.model_panel.non_strict_changed.connect(self._on_non_strict_changed)
        self.model_panel.outputs_changed.connect(self.controller.set_outputs)
        self.training_panel.train_requested.connect(self.train)
        self.training_panel.evaluate_requested.connect(self.evaluate)
        self.training_panel.include_training_rows_changed.connect(self.controller.set_include_training_rows)
        self.training_panel.kfold_requested.connect(self.kfold)
        self.training_panel.stop_requested.connect(self.controller.stop)
        self.training_panel.save_checkpoint_requested.connect(self.save_checkpoint)
        self.training_panel.open_run_folder_requested.connect(self.open_run_folder)

        # -- state: controller -> widgets ---------------------------------------------------------
        c = self.controller
        c.dataset_changed.connect(self._on_dataset_changed)
        c.model_changed.connect(self.model_panel.set_model_info)
        c.model_paths_changed.connect(self._on_model_paths_changed)
        c.devices_changed.connect(self._on_devices_changed)
        c.busy_changed.connect(self._on_busy_changed)
        c.actions_changed.connect(self._refresh_actions)
        c.progress_changed.connect(self._on_progress)
        c.status_changed.connect(self.status_label.setText)
        c.message_posted.connect(self.message_area.show_message)
        c.message_cleared.connect(self.message_area.clear_error)
        c.dataset_changed.connect(self.message_area.retire_notice)
        c.data_failed.connect(self._on_data_failed)
        c.model_failed.connect(self.model_panel.set_failure)
        c.model_load_stopped.connect(self._on_model_load_stopped)
        c.data_fit_changed.connect(self._on_data_fit_changed)
        c.training_interrupted.connect(self._on_training_interrupted)
        c.training_started.connect(self._on_training_started)
        c.epoch_added.connect(self.training_plot.add_epoch)
        c.training_finished.connect(self._on_training_finished)
        c.evaluation_finished.connect(self.evaluation_tabs.show_evaluation)
        c.model_changed.connect(self.evaluation_tabs.forget_audit)
        c.predictions_shown.connect(self.evaluation_tabs.show_predictions)
        c.kfold_started.connect(self.evaluation_tabs.start_kfold)
        c.fold_added.connect(self.evaluation_tabs.add_fold)
        c.kfold_finished.connect(self.evaluation_tabs.finish_kfold)
        c.recent_files_changed.connect(self._on_recent_files_changed)
        c.pickle_consent_needed.connect(self._on_pickle_consent_needed)

        # -- restore ------------------------------------------------------------------------------
        self.training_panel.set_devices([("cpu", "CPU")], "Looking for GPUs…")
        self.training_panel.set_settings(self.settings.training_settings())
        self.data_panel.set_recent_files(self.settings.recent_files("data"))
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self._fill_screen()
        self._fit_to_screen()
        for view, name in self._remembered_layouts():
            view.restore_layout_state(self.settings.splitter_states(name))
        let_plots_take_focus(self)  # a clicked plot is what Edit > Copy copies
        self._refresh_actions()

    def _fill_screen(self) -> None:
        """First start: the whole free area of the screen (a 1280x820 window left empty bands on a
        1366x768 laptop and wasted a 1920x1080 screen), maximised where a window manager is."""
        screen = self.screen()
        if screen is None:
            self.resize(1280, 820)
            return
        room = screen.availableGeometry()
        self.setGeometry(room)
        self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def _remembered_layouts(self) -> list[tuple[Any, str]]:
        """Views whose splitters the window remembers, with their settings names."""
        views = [(self.evaluation_panel, "evaluation"), (getattr(self.kfold_panel, "pooled", None), "kfold_pooled")]
        return [(v, name) for v, name in views if hasattr(v, "restore_layout_state")]

    def _fit_to_screen(self) -> None:
        """Never larger than the screen's free area (a 1366x768 laptop must see the status bar)."""
        screen = self.screen()
        if screen is None or self.windowState() & Qt.WindowState.WindowMaximized:
            return  # a maximised window is the window manager's to fit
        room = screen.availableGeometry()
        # Leave room for the window manager's title bar and frame.
        width, height = min(self.width(), room.width()), min(self.height(), max(room.height() - 40, 400))
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)

    # -- views ----------------------------------------------------------------------------------
    def show_view(self, view: QWidget) -> None:
        """Bring the tab holding ``view`` forward."""
        page = _page_of(self.tabs, view)
        if page is not None:
            self.tabs.setCurrentWidget(page)

    def current_view(self) -> QWidget | None:
        """The view in the current tab (not the scroll area around it)."""
        page = self.tabs.currentWidget()
        return page.widget() if isinstance(page, QScrollArea) else page

    # -- menu -----------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, slot, key in (
            ("Open &data…", self.data_panel._browse, QKeySequence.StandardKey.Open),
            ("Open &model…", self.model_panel._browse_model, None),
            ("Open &checkpoint…", self.model_panel._browse_checkpoint, None),
            ("&Save checkpoint…", self.save_checkpoint, QKeySequence.StandardKey.Save),
        ):
            action = QAction(text, self)
            if key is not None:
                action.setShortcut(key)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.menus = WindowMenus(self)  # Edit (copy tables and plots), View (tabs), Help (guide, About)

    # -- intents ----------------------------------------------------------------------------------
    @Slot(str)
    def open_data(self, path: str) -> None:
        self.controller.open_data(path)

    def _refuse_special_file(self, path: str, what: str) -> bool:
        """Say so and return True when ``path`` is a named pipe, a device or a socket: reading one
        (to tell its kind, to ask consent) could block the window forever."""
        from evalstudio.core.errors import EvalStudioError
        from evalstudio.core.paths import require_regular_file

        try:
            require_regular_file(path, what)
        except EvalStudioError as exc:
            self.message_area.show_message("error", exc.text("app"))
            return True
        return False

    @Slot(str)
    def choose_model(self, path: str) -> None:
        if path and self._refuse_special_file(path, "the model file"):
            return
        if path and not self.consent_to_code(path):
            self.message_area.show_message("info", f"{os.path.basename(path)} was not loaded.")
            return
        self.controller.set_model_path(path)

    @Slot(str)
    def choose_checkpoint(self, path: str) -> None:
        if path and self._refuse_special_file(path, "the checkpoint"):
            return
        if path and runs_code(path) and classify_file(path) == "model":
            # A TorchScript archive given as a checkpoint is a model: treat it as one.
            self.choose_model(path)
            return
        self.controller.set_checkpoint_path(path)

    def consent_to_code(self, path: str) -> bool:
        """Ask once per file content before running a .py / TorchScript file (bundled demo exempt)."""
        if not runs_code(path) or is_bundled(path):
            return True
        try:
            digest = file_sha256(path)
        except OSError:
            return True  # the loader will say what is wrong with the file
        if self.settings.is_trusted(digest):
            return True
        if self.confirm("This file runs code", consent_text(path)):
            self.settings.trust(digest)
            return True
        return False

    def open_files(self, paths: Sequence[str]) -> None:
        """Open each file as what it is: data, a model definition or a checkpoint."""
        for path in paths:
            if self._refuse_special_file(path, "the file"):
                continue
            if not os.path.isfile(path):
                self.message_area.show_message("error", f"{path} is not a file that exists. Check the path.")
                continue
            kind = classify_file(path)
            if kind == "data":
                self.open_data(path)
            elif kind == "model":
                self.choose_model(path)
            else:
                self.choose_checkpoint(path)

    @Slot()
    def train(self) -> None:
        self.controller.train(self.training_panel.settings())

    @Slot()
    def evaluate(self) -> None:
        self.controller.evaluate(self.training_panel.settings())

    @Slot()
    def kfold(self) -> None:
        self.controller.kfold(self.training_panel.settings())

    @Slot()
    def save_checkpoint(self) -> None:
        if not self.controller.best_checkpoint:
            self.message_area.show_message("error", "there is no checkpoint to save yet. Train a model first.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the checkpoint", "checkpoint.pt", "Checkpoints (*.pt)")
        if path:
            self.controller.save_checkpoint(path)

    # -- state ------------------------------------------------------------------------------------
    @Slot(object)
    def _on_dataset_changed(self, data: Any) -> None:
        self.data_panel.set_dataset(data)

    @Slot(str)
    def _on_data_failed(self, _message: str) -> None:
        # The picker shows the target of the data in use, not the one that failed to load.
        data = self.controller.dataset
        self.data_panel.show_target(data.target_name if data is not None else None)

    @Slot(bool)
    def _on_non_strict_changed(self, checked: bool) -> None:
        self.controller.set_strict(not checked)

    @Slot(object)
    def _on_data_fit_changed(self, fit: Any) -> None:
        model, data = self.controller.model, self.controller.dataset
        trained = getattr(model.checkpoint if model is not None else None, "target", None)
        # Name the target to pick only when the target is what differs.
        self.model_panel.set_data_fit(fit, trained if data is not None and trained != data.target_name else None)
        # The Model tab says so even while another tab is in front (the target is picked in the Data tab).
        index = self.tabs.indexOf(_page_of(self.tabs, self.model_panel) or self.model_panel)
        if index >= 0:
            warn = fit is not None and not fit.fits
            self.tabs.setTabText(index, "Model ⚠" if warn else "Model")
            self.tabs.setTabToolTip(index, "This checkpoint does not fit the loaded data: see the Model tab."
                                    if warn else "")

    @Slot()
    def _on_model_load_stopped(self) -> None:
        self.model_panel.set_model_info(self.controller.model)
        self.model_panel.set_pending(
            "Loading was stopped: the model below is the one still in use. Press Reload to load the chosen files."
            if self.controller.model is not None else "Loading was stopped; no model is loaded. Press Reload to load it.")

    @Slot(str, str)
    def _on_model_paths_changed(self, model: str, checkpoint: str) -> None:
        self.model_panel.set_paths(model or None, checkpoint or None)
        self.model_panel.set_pending("Loading…")

    @Slot(object)
    def _on_devices_changed(self, devices: Any) -> None:
        self.training_panel.set_devices(list(devices.devices), devices.note)
        saved = self.settings.training_settings().get("device")
        if saved:
            self.training_panel.set_settings({**self.training_panel.settings(), "device": saved})

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        if busy:
            # Indeterminate until the job reports a percentage (loading jobs never do).
            self.progress.setRange(0, 0)
            self.status_label.setText(f"{self.controller.runner.current_title}…")
        self._refresh_actions()

    @Slot()
    def _refresh_actions(self) -> None:
        c = self.controller
        self.training_panel.set_state(busy=c.busy, can_train=c.can_train, can_evaluate=c.can_evaluate,
                                      has_checkpoint=c.best_checkpoint is not None)
        # Say before the click which rows Evaluate will score (those that did not train the checkpoint).
        self.training_panel.evaluate_button.setToolTip(
            "Evaluate scores " + c.evaluation_plan().before if c.can_evaluate else "Load data and a model to evaluate.")

    @Slot(int, str)
    def _on_progress(self, percent: int, text: str) -> None:
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 100)
        self.progress.setValue(percent)
        self.status_label.setText(text)

    @Slot()
    def _on_training_started(self) -> None:
        if self.message_area.level == "info":  # last run's "training finished…" would read as this run's
            self.message_area.dismiss()
        self.training_plot.clear(total_epochs=int(self.training_panel.settings()["epochs"]))
        self.training_panel.set_run_folder(self.controller.run_dir)
        self.show_view(self.training_plot)

    @Slot()
    def open_run_folder(self) -> None:
        """Show the last run's folder in the system's file manager."""
        folder = self.controller.run_dir
        if folder and os.path.isdir(folder):
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    @Slot(str, str, int)
    def _on_training_interrupted(self, how: str, message: str, epochs: int) -> None:
        self.training_plot.show_interrupted(how, message, epochs)

    @Slot(object, object)
    def _on_training_finished(self, result: Any, history: Any) -> None:
        self.training_panel.set_run_folder(self.controller.run_dir)
        if result is None:  # failed or stopped: _on_training_interrupted said so
            return
        caption = self.training_plot.caption.text()
        if result.best_epoch is not None and result.best_score is not None:
            caption += f"  |  best epoch {result.best_epoch}: {result.monitor} {result.best_score:.4f} (dashed line)"
        self.training_plot.set_history(result.history, result.best_epoch, caption)

    @Slot(str, object)
    def _on_pickle_consent_needed(self, path: str, unsafe_globals: Any) -> None:
        names = "\n".join(f"  • {g}" for g in list(unsafe_globals)[:15])
        more = f"\n  … and {len(unsafe_globals) - 15} more" if len(unsafe_globals) > 15 else ""
        text = (f"{os.path.basename(path)} is a pickle: loading it imports and runs these with your "
                f"permissions:\n{names}{more}\n\nLoad it only if you made it or trust where it came from. "
                "(A state_dict saved with torch.save(model.state_dict(), ...) needs no such trust.)")
        if self.confirm("This checkpoint runs code", text):
            self.model_panel.trust_pickle.setChecked(True)  # -> controller.set_trust_pickle -> reload

    @Slot(str, object)
    def _on_recent_files_changed(self, kind: str, paths: Any) -> None:
        if kind == "data":
            self.data_panel.set_recent_files(list(paths))

    # -- drag and drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_files(paths)

    # -- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        c = self.controller
        if c.busy and not self._closing and self.settings.confirm_close_while_running():
            title = c.runner.current_title or "a job"
            if not self.confirm("Stop and quit?", f"{title.capitalize()} is still running. Stop it and quit?"):
                event.ignore()
                return
        self._closing = True
        self.status_label.setText("stopping…")
        if not self._stop_jobs(STOP_WAIT_MS):
            # Code that never returns (a loop in the model's forward() on the real rows) ignores Stop,
            # and a Python thread cannot be killed: the person decides, the window stays responsive.
            title = c.runner.current_title or "the running job"
            if self.confirm("Quit anyway?", (
                    f"{title.capitalize()} has not stopped {STOP_WAIT_MS // 1000} s after Stop: code in the model "
                    "file may be stuck (for example a loop in forward() that never returns).\n\nQuit anyway? "
                    "Checkpoints already written are kept whole; the job's unfinished work is lost.")):
                self._save_window_state()
                self._quit_now()
                event.ignore()  # only reached when _quit_now is replaced (tests)
                return
            self._closing = False
            self.message_area.show_message(
                "error", f"{title} did not stop; the window stays open so nothing is lost. "
                "Close the window again to quit anyway.")
            event.ignore()
            return
        self._save_window_state()
        event.accept()

    def _stop_jobs(self, timeout_ms: int) -> bool:
        """Stop every job; wait up to ``timeout_ms`` while the window keeps painting (True: all ended)."""
        from PySide6.QtWidgets import QApplication

        c = self.controller
        deadline = time.monotonic() + timeout_ms / 1000
        while not c.shutdown(20):
            if time.monotonic() >= deadline:
                return False
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents, 30)
        return True

    def _save_window_state(self) -> None:
        self.settings.set_geometry(self.saveGeometry())
        for view, name in self._remembered_layouts():
            self.settings.set_splitter_states(name, view.layout_state())
        self.settings.set_training_settings(self.training_panel.settings())
        self.settings.sync()

    def _quit_now(self) -> None:
        """End the process at once: the only way past a thread stuck in user code."""
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes


#: How long closing waits for a stopped job before offering to quit anyway.
STOP_WAIT_MS = 10000


def _scrolling(view: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(view)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


def _page_of(tabs: QTabWidget, view: QWidget) -> QWidget | None:
    """The page of ``tabs`` that is ``view`` or holds it."""
    w: QWidget | None = view
    while w is not None and tabs.indexOf(w) < 0:
        w = w.parentWidget()
    return w


__all__ = ["MainWindow", "classify_file"]
