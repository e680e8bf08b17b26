"""Start-up, files by kind, consent for code, settings that persist, and closing during training."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from evalstudio.core.data.dataset import Dataset
from evalstudio.gui.files import classify_file
from evalstudio.gui.main_window import MainWindow
from evalstudio.gui.settings import AppSettings
from evalstudio.gui.table_model import DatasetTableModel
from evalstudio.resources import resource_path
from tests.gui.conftest import ScriptedConfirm, load_demo, wait_idle

REPO = Path(__file__).resolve().parents[2]
MODEL_SRC = textwrap.dedent(
    """
    import torch.nn as nn

    def build_model(n_features=8):
        return nn.Sequential(nn.Linear(n_features, 4), nn.ReLU(), nn.Dropout(0.2), nn.Linear(4, 1))
    """
)


def test_lazy_table_reads_a_million_rows_from_the_arrays_without_copying():
    n = 1_000_000
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = (np.arange(n) % 2).astype(np.int64)
    data = Dataset(X, y, ("no", "yes"), ("a", "b", "c"), "label", np.arange(1, n + 1, dtype=np.int64))
    model = DatasetTableModel()
    model.set_dataset(data)
    assert model.rowCount() == n and model.columnCount() == 5
    assert model.data(model.index(n - 1, 0)) == str(n)
    assert model.data(model.index(n - 1, 3)) == f"{float(X[n - 1, 2]):.6g}"
    assert model.data(model.index(n - 1, 4)) == "yes"
    assert model.headerData(4, Qt.Orientation.Horizontal) == "label (target)"
    assert model.dataset().X is X  # the view reads the dataset's own array


def test_k_fold_reports_folds_live_and_ends_with_the_summary(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    window.training_panel.epochs.setValue(2)
    window.training_panel.folds.setValue(3)
    with qtbot.waitSignal(c.kfold_finished, timeout=120000) as blocker:
        qtbot.mouseClick(window.training_panel.kfold_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert len(result.folds) == 3
    assert [f.fold for f in c.folds] == [1, 2, 3]  # each arrived as it finished
    assert window.current_view() is window.kfold_panel


def test_files_open_by_content(qtbot, window, tmp_path):
    csv = resource_path("demo", "pima-indians-diabetes.csv")
    assert classify_file(str(csv)) == "data"
    assert classify_file(str(resource_path("demo", "pima_model.py"))) == "model"
    import torch

    ckpt = tmp_path / "weights.bin"
    torch.save({"w": torch.zeros(2)}, ckpt)
    assert classify_file(str(ckpt)) == "checkpoint"
    # Dropping a CSV on the window loads it.
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(csv))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    wait_idle(qtbot, window)
    assert window.controller.dataset is not None and window.controller.dataset.n_samples == 768
    assert window.settings.recent_files("data") == [os.path.abspath(csv)]
    assert window.data_panel.recent_menu.actions()[0].data() == os.path.abspath(csv)


def test_code_files_ask_once_per_content_and_a_refusal_loads_nothing(qtbot, window, confirm, tmp_path):
    model = tmp_path / "my_model.py"
    model.write_text(MODEL_SRC)
    confirm.answer = False
    window.choose_model(str(model))
    assert len(confirm.questions) == 1
    title, text = confirm.questions[0]
    assert text.startswith("my_model.py contains code. Loading it runs that code with your permissions")
    assert window.controller.model_path is None
    confirm.answer = True
    window.choose_model(str(model))
    wait_idle(qtbot, window)
    assert len(confirm.questions) == 2
    assert window.controller.model is not None
    assert "Dropout" in window.model_panel.report.toPlainText()
    window.choose_model(str(model))  # same content: no question
    wait_idle(qtbot, window)
    assert len(confirm.questions) == 2
    model.write_text(MODEL_SRC + "\n# edited\n")  # new content: ask again
    window.choose_model(str(model))
    wait_idle(qtbot, window)
    assert len(confirm.questions) == 3
    # The bundled demo model is part of evalstudio itself: no question.
    window.choose_model(str(resource_path("demo", "pima_model.py")))
    wait_idle(qtbot, window)
    assert len(confirm.questions) == 3


def test_a_model_that_fails_to_load_says_why(qtbot, window, tmp_path):
    bad = tmp_path / "broken_model.py"
    bad.write_text("import torch.nn as nn\n\ndef build_model(:\n")
    window.choose_model(str(bad))
    wait_idle(qtbot, window)
    assert window.message_area.level == "error"
    assert window.message_area.text.startswith("⚠ loading the model failed: ")
    assert "broken_model.py" in window.message_area.text
    assert window.controller.model is None
    assert window.model_panel.headline.text() == "The model could not be loaded; no model is loaded."


def test_settings_persist_across_windows(qtbot, settings_path):
    first = MainWindow(AppSettings(settings_path), confirm=ScriptedConfirm())
    qtbot.addWidget(first)
    first.show()
    first.training_panel.epochs.setValue(17)
    first.training_panel.lr.setValue(0.0123)
    first.training_panel.standardize.setChecked(False)
    first.settings.add_recent_file("data", "/tmp/some.csv")
    first.close()
    saved = first.saveGeometry()
    second = MainWindow(AppSettings(settings_path), confirm=ScriptedConfirm())
    qtbot.addWidget(second)
    s = second.training_panel.settings()
    assert (s["epochs"], s["lr"], s["standardize"]) == (17, pytest.approx(0.0123), False)
    # The window's geometry went to the settings file and comes back from it (the offscreen
    # screen is too small to test sizes themselves: it clamps every window to ~800 px).
    assert AppSettings(settings_path).geometry() == saved
    assert second.restoreGeometry(AppSettings(settings_path).geometry())
    assert second.settings.recent_files("data")[0] == "/tmp/some.csv"


def test_close_during_training_asks_stops_and_waits(qtbot, settings_path):
    confirm = ScriptedConfirm(answer=False)
    w = MainWindow(AppSettings(settings_path), confirm=confirm)
    qtbot.addWidget(w)
    w.show()
    load_demo(qtbot, w)
    c = w.controller
    w.training_panel.epochs.setValue(5000)
    w.train()
    qtbot.waitUntil(lambda: len(c.history) >= 1, timeout=30000)
    assert not w.close()  # "No": keep running
    assert c.busy and w.isVisible()
    assert confirm.questions[-1] == ("Stop and quit?", "Training is still running. Stop it and quit?")
    confirm.answer = True
    assert w.close()
    assert not c.busy  # the thread was waited for
    assert c.runner._thread is None


CLOSE_SCRIPT = """
import sys
from PySide6.QtCore import QTimer
from evalstudio import app

def ready(window):
    window.settings.set_confirm_close_while_running(False)
    c = window.controller
    state = {"started": False}

    def poll():
        if not state["started"]:
            if c.dataset is not None and c.model is not None and c.idle:
                window.training_panel.epochs.setValue(5000)
                c.train(window.training_panel.settings())
                state["started"] = True
        elif len(c.history) >= 2:
            print("closing during epoch", len(c.history) + 1, flush=True)
            window.close()
            return
        QTimer.singleShot(20, poll)

    QTimer.singleShot(20, poll)

sys.exit(app.main(["--demo", "--settings", sys.argv[1]], on_ready=ready))
"""


def test_closing_during_training_exits_cleanly_in_a_real_process(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYQTGRAPH_QT_LIB": "PySide6", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", CLOSE_SCRIPT, str(tmp_path / "s.ini")],
        capture_output=True, text=True, timeout=180, env=env, cwd=str(tmp_path),
    )
    assert "closing during epoch" in proc.stdout, proc.stderr
    assert "QThread: Destroyed" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stderr


def test_the_window_opens_before_torch_is_imported(tmp_path):
    script = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from evalstudio.gui.main_window import MainWindow\n"
        "from evalstudio.gui.settings import AppSettings\n"
        f"w = MainWindow(AppSettings({str(tmp_path / 's.ini')!r})); w.show(); app.processEvents()\n"
        "print('torch' in sys.modules, 'sklearn' in sys.modules, 'pandas' in sys.modules)\n"
        "w.close(); w.deleteLater(); app.processEvents()\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYQTGRAPH_QT_LIB": "PySide6", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False False False"


def _no_display_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(REPO)
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the no-display path is Linux's")
def test_without_a_display_the_demo_runs_headless_and_other_starts_explain(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "evalstudio", "--demo"], capture_output=True, text=True,
                          timeout=180, env=_no_display_env(), cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("evalstudio: no display found (DISPLAY is not set)")
    assert "confusion matrix" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "evalstudio", "data.csv"], capture_output=True, text=True,
                          timeout=120, env=_no_display_env(), cwd=str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: no display found (DISPLAY is not set), so the evalstudio window cannot open.")


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # torch 2.13 deprecates building TorchScript
def test_torchscript_asks_once_and_weights_only_checkpoints_never_ask(qtbot, window, confirm, tmp_path):
    import torch
    from torch import nn

    load_demo(qtbot, window)
    asked = len(confirm.questions)  # the bundled demo asks nothing
    assert asked == 0
    # A weights-only state_dict (what torch.save(model.state_dict()) writes) runs no code: no question.
    weights = tmp_path / "weights.pt"
    torch.save(window.controller.model.loaded.module.state_dict(), weights)
    window.open_files([str(weights)])
    wait_idle(qtbot, window)
    assert confirm.questions == [] and window.controller.checkpoint_path == str(weights)
    # A TorchScript archive runs code: one question, then none for the same content.
    window.model_panel.clear_checkpoint_button.click()  # its weights come with it
    wait_idle(qtbot, window)
    scripted = tmp_path / "scripted.pt"
    torch.jit.trace(nn.Sequential(nn.Linear(8, 2)), torch.zeros(1, 8)).save(str(scripted))
    window.open_files([str(scripted)])
    wait_idle(qtbot, window)
    assert [t for t, _ in confirm.questions] == ["This file runs code"]
    assert "scripted.pt" in confirm.questions[0][1]
    window.open_files([str(scripted)])
    wait_idle(qtbot, window)
    assert len(confirm.questions) == 1
    assert window.controller.model is not None and window.controller.model_path == str(scripted)


def test_a_window_saved_on_a_bigger_screen_reopens_inside_this_one(qtbot, settings_path):
    first = MainWindow(AppSettings(settings_path), confirm=ScriptedConfirm())
    qtbot.addWidget(first)
    first.show()
    first.resize(1900, 1050)  # as on a 1920x1080 monitor
    first.close()
    assert AppSettings(settings_path).geometry() is not None
    second = MainWindow(AppSettings(settings_path), confirm=ScriptedConfirm())
    qtbot.addWidget(second)
    room = second.screen().availableGeometry()  # the offscreen screen: 800x800
    assert second.width() <= room.width() and second.height() <= room.height() - 40
