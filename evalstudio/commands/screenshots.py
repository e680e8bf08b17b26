"""``evalstudio screenshots DIR``: drive the demo workflow offscreen and save one PNG per view.

Loads the bundled demo, compares the demo checkpoint with a second demo checkpoint, trains a few
epochs, evaluates, runs a quick k-fold, and saves data.png, model.png, compare.png, training.png (the
real main window on each tab) plus the evaluation views' confusion.png, roc.png, metrics.png,
kfold.png when those views are installed; then loads the demo's held-out file, evaluates it, fits a
temperature on the training run's validation rows and saves calibration.png (the Calibration view,
before and after).
Last, columns.png: the data panel's column table on the bundled mixed-type demo (churn.csv).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from evalstudio.core.errors import EvalStudioError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "screenshots",
        help="save a PNG of every view after a headless demo run",
        description="Run the demo workflow (load, train, evaluate, k-fold) offscreen and save a PNG per view.",
    )
    p.add_argument("out_dir", metavar="DIR", help="folder for the PNG files (created if missing)")
    p.add_argument("--epochs", type=int, default=40, help="training epochs for the demo run (default 40)")
    p.add_argument("--folds", type=int, default=3, help="folds of the quick k-fold (default 3)")
    p.add_argument("--kfold-epochs", type=int, default=15, help="epochs per fold (default 15)")
    p.add_argument("--size", default="1400x900", help="window size WIDTHxHEIGHT (default 1400x900)")
    return p


def run(args: argparse.Namespace) -> int:
    # Headless unless the caller chose a platform (e.g. xcb under Xvfb to check real rendering).
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise EvalStudioError(f"--size {args.size!r} is not WIDTHxHEIGHT.", hint="Write e.g. --size 1400x900.") from None
    if args.epochs < 1 or args.folds < 2 or args.kfold_epochs < 1:
        raise EvalStudioError("--epochs and --kfold-epochs must be at least 1 and --folds at least 2.")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = take_screenshots(out, epochs=args.epochs, folds=args.folds, kfold_epochs=args.kfold_epochs,
                               size=(width, height))
    for path in written:
        print(path)
    return 0


def _wait(app: Any, condition: Any, what: str, timeout_s: float = 300.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise EvalStudioError(f"the screenshot run timed out while {what}.")
        app.processEvents()
        time.sleep(0.005)


def take_screenshots(out: Path, *, epochs: int, folds: int, kfold_epochs: int, size: tuple[int, int]) -> list[Path]:
    """Run the demo in a real MainWindow and save the PNGs; returns their paths."""
    import tempfile

    from PySide6.QtWidgets import QApplication

    from evalstudio.app import open_startup_files, shutdown_window
    from evalstudio.gui.main_window import MainWindow
    from evalstudio.gui.settings import AppSettings

    _quiet_offscreen_warnings()
    app = QApplication.instance() or QApplication(["evalstudio-screenshots"])
    with tempfile.TemporaryDirectory(prefix="evalstudio-shots-") as tmp:
        settings = AppSettings(str(Path(tmp) / "settings.ini"))  # never the user's settings
        settings.set_confirm_close_while_running(False)
        window = MainWindow(settings, confirm=lambda title, text: True)
        try:
            from PySide6.QtCore import Qt

            window.setWindowState(Qt.WindowState.WindowNoState)  # the size asked for, not the screen's
            window.resize(*size)
            window.show()
            c = window.controller

            def idle() -> bool:
                return c.idle

            def check(what: str) -> None:
                errors = [t for level, t in c.messages if level == "error"]
                if errors:
                    raise EvalStudioError(f"the demo run failed while {what}: {errors[-1]}")

            open_startup_files(window, [], demo=True)
            _wait(app, lambda: idle() and c.dataset is not None and c.model is not None, "loading the demo")
            check("loading the demo")
            written = [_grab(app, window, window.data_panel, out / "data.png")]
            written.append(_grab(app, window, window.model_panel, out / "model.png"))
            written.append(_compare(app, window, out / "compare.png", check))

            panel = window.training_panel
            panel.set_settings({**panel.settings(), "epochs": epochs, "batch_size": 16, "lr": 1e-3,
                                "val_fraction": 0.25, "standardize": True, "early_stopping": 0})
            window.train()
            _wait(app, lambda: idle() and c.train_result is not None, "training")
            check("training")
            written.append(_grab(app, window, window.training_plot, out / "training.png"))

            window.evaluate()
            _wait(app, lambda: idle() and c.evaluation is not None, "evaluating")
            check("evaluating")
            panel.set_settings({**panel.settings(), "epochs": kfold_epochs, "folds": folds})
            window.kfold()
            _wait(app, lambda: idle() and c.cv_result is not None, "running k-fold")
            check("running k-fold")
            written.append(_grab(app, window, window.kfold_panel, out / "window_kfold.png"))
            written.append(_grab(app, window, window.evaluation_panel, out / "window_evaluation.png"))
            if window.has_audit_panel:
                written.append(_grab(app, window, window.audit_panel, out / "mode_audit.png"))
            written += _evaluation_views(out, c)
            written += _calibration_view(app, window, out, _wait, check)
            written.append(_columns_view(app, window, out / "columns.png"))
        finally:
            shutdown_window(window)
    return written


def _compare(app: Any, window: Any, path: Path, check: Any) -> Path:
    """The demo checkpoint (A) against the same network trained on raw features (B), both never having
    seen pima-holdout.csv, compared there in the Compare tab; the threshold moved and a cell listed."""
    from evalstudio.resources import resource_path

    view = window.compare_view
    window.show_view(view)
    view.set_files(str(resource_path("demo", "pima_model.py")), str(resource_path("demo", "pima_checkpoint_raw.pt")))
    c = window.controller
    if not window.compare.compare({"source": "files", "model": view.model_path.text(),
                                   "checkpoint": view.checkpoint_path.text()}):
        check("comparing two demo checkpoints")
    _wait(app, lambda: c.idle and view.comparison is not None, "comparing two demo checkpoints")
    check("comparing two demo checkpoints")
    view.set_threshold(0.4)
    view.agreement.choose("only_a")
    return _grab(app, window, view, path)


_NOISE = ("This plugin does not support propagateSizeHints()",)


def _quiet_offscreen_warnings() -> None:
    """Drop the offscreen platform's "does not support propagateSizeHints()" lines (one per window
    shown, nothing the user can act on); every other Qt message still reaches stderr."""
    import sys

    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    def handler(kind: QtMsgType, context: Any, message: str) -> None:
        if message not in _NOISE:
            sys.stderr.write(f"{message}\n")

    qInstallMessageHandler(handler)


def _grab(app: Any, window: Any, tab: Any, path: Path) -> Path:
    """Show ``tab`` in the real window and save the whole window (status bar included)."""
    window.show_view(tab)
    for _ in range(5):
        app.processEvents()
        time.sleep(0.02)
    if not window.grab().save(str(path), "PNG"):
        raise EvalStudioError(f"could not write {path}.", hint="Check that the folder is writable.")
    return path


def _calibration_view(app: Any, window: Any, out: Path, wait: Any, check: Any) -> list[Path]:
    """calibration.png: the demo's held-out file loaded as the data to evaluate, so the training run's
    validation rows may calibrate; a temperature is fitted there and its before/after curves shown."""
    from evalstudio.resources import resource_path

    cal = getattr(window, "calibration_panel", None)
    if cal is None or not hasattr(cal, "fit_button"):
        return []
    c = window.controller
    window.open_data(str(resource_path("demo", "pima-holdout.csv")))
    wait(app, lambda: c.idle and c.dataset is not None and c.model is not None, "loading the held-out file")
    check("loading the held-out file")
    window.evaluate()
    wait(app, lambda: c.idle, "evaluating the held-out file")
    check("evaluating the held-out file")
    if cal.fit_button.isEnabled():
        cal.fit_button.click()
        wait(app, lambda: c.idle and cal.run is not None, "fitting a temperature")
    return [_grab(app, window, cal, out / "calibration.png")]


def _columns_view(app: Any, window: Any, path: Path) -> Path:
    """The data panel's column table on the bundled mixed-type demo (text, blanks, an id column),
    with its model and checkpoint loaded, so the window shows what a real table looks like."""
    from evalstudio.resources import resource_path

    c = window.controller
    seen = len(c.messages)
    window.choose_checkpoint("")  # the Pima checkpoint does not go into the churn model
    window.choose_model(str(resource_path("demo", "churn_model.py")))
    window.choose_checkpoint(str(resource_path("demo", "churn_checkpoint.pt")))
    window.open_data(str(resource_path("demo", "churn.csv")))
    _wait(app, lambda: c.idle and c.dataset is not None and c.dataset.target_name == "Churn" and c.model is not None,
          "loading the mixed-type demo")
    errors = [t for level, t in c.messages[seen:] if level == "error"]
    if errors:
        raise EvalStudioError(f"the demo run failed while loading the mixed-type demo: {errors[-1]}")
    window.message_area.dismiss()  # its last notice is about the Pima evaluation: not this table's
    split = window.data_panel.rows_and_columns
    total = sum(split.sizes())
    split.setSizes([total // 3, total - total // 3])  # every column of the table in view, a few rows above
    return _grab(app, window, window.data_panel, path)


def _evaluation_views(out: Path, c: Any) -> list[Path]:
    """confusion.png, roc.png, metrics.png, kfold.png from the evaluation views, when installed."""
    try:
        from evalstudio.gui.evaluation.screens import write_evaluation_screenshots
    except ImportError:
        return []
    outcome = c.evaluation
    return list(write_evaluation_screenshots(
        out, predictions=outcome.predictions, features=outcome.dataset.X,
        feature_names=outcome.dataset.feature_names, cv=c.cv_result,
        title="Pima diabetes demo: the model trained here, evaluated on "
        + c.evaluation_plan().title(outcome),
    ))
