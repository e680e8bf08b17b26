"""The app keeps every training run in its own folder under the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices

from evalstudio.gui.main_window import MainWindow
from evalstudio.gui.settings import AppSettings
from tests.gui.conftest import ScriptedConfirm, load_demo


def test_trained_checkpoints_survive_closing_the_window_and_the_folder_opens(qtbot, settings_path, monkeypatch):
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    settings = AppSettings(settings_path)
    settings.set_confirm_close_while_running(False)
    w = MainWindow(settings, confirm=ScriptedConfirm(True))
    qtbot.addWidget(w)
    w.show()
    load_demo(qtbot, w)
    c = w.controller
    w.training_panel.epochs.setValue(2)
    with qtbot.waitSignal(c.training_finished, timeout=120000):
        w.train()
    run_dir = Path(c.run_dir)
    runs = Path(settings.runs_folder())
    assert run_dir.parent == runs and run_dir.name.startswith("train-")
    assert (run_dir / "best.pt").is_file() and (run_dir / "last.pt").is_file()
    # The panel says where they are, and "Open folder" shows that folder.
    assert w.training_panel.run_folder.isVisibleTo(w) and str(run_dir) in w.training_panel.run_folder.text()
    qtbot.mouseClick(w.training_panel.open_folder_button, Qt.MouseButton.LeftButton)
    assert [u.toLocalFile() for u in opened] == [str(run_dir)]
    assert any(str(run_dir) in text for _level, text in c.messages)
    # Closing the window keeps them (it used to delete the run's temp folder).
    assert w.close()
    assert (run_dir / "best.pt").is_file() and (run_dir / "last.pt").is_file()
    assert not (run_dir / ".evalstudio.lock").exists()


def test_the_runs_folder_follows_the_environment_and_the_settings_file(tmp_path, monkeypatch):
    monkeypatch.delenv("EVALSTUDIO_RUNS_DIR", raising=False)
    assert AppSettings(str(tmp_path / "s.ini")).runs_folder() == str(tmp_path / "runs")
    monkeypatch.setenv("EVALSTUDIO_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert AppSettings(str(tmp_path / "s.ini")).runs_folder() == str(tmp_path / "elsewhere")


def test_a_run_stopped_before_its_first_checkpoint_leaves_no_folder(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    window.training_panel.epochs.setValue(5000)
    window.training_panel.batch_size.setValue(1)
    with qtbot.waitSignal(c.training_started, timeout=10000):
        window.train()
    run_dir = c.run_dir
    assert run_dir and os.path.isdir(run_dir)
    with qtbot.waitSignal(c.training_finished, timeout=60000):
        c.stop()
    if c.history:  # the first epoch finished before Stop arrived: its checkpoints are kept
        assert os.path.isfile(os.path.join(run_dir, "last.pt"))
    else:
        assert not os.path.exists(run_dir) and c.run_dir is None


def test_saving_the_checkpoint_never_replaces_an_input_and_a_full_disk_is_a_message(qtbot, window, tmp_path,
                                                                                    monkeypatch):
    import errno
    import hashlib
    import shutil

    from evalstudio.resources import resource_path
    from tests.gui.conftest import wait_idle

    data = tmp_path / "pima.csv"
    model = tmp_path / "pima_model.py"
    shutil.copyfile(resource_path("demo", "pima-indians-diabetes.csv"), data)
    shutil.copyfile(resource_path("demo", "pima_model.py"), model)
    c = window.controller
    c.open_data(str(data))
    window.choose_model(str(model))
    wait_idle(qtbot, window)
    window.training_panel.epochs.setValue(1)
    with qtbot.waitSignal(c.training_finished, timeout=60000):
        window.train()
    wait_idle(qtbot, window)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (data, model)}
    for victim in (data, model):
        assert c.save_checkpoint(str(victim)) == ""
        assert window.message_area.level == "error" and "which it would replace" in window.message_area.text
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (data, model)} == before
    target = tmp_path / "kept.pt"
    target.write_bytes(b"an older checkpoint")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", full)
    assert c.save_checkpoint(str(target)) == ""
    assert "no space left on the device" in window.message_area.text
    assert target.read_bytes() == b"an older checkpoint"
