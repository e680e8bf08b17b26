"""Every job end leaves the window telling the truth: status line, captions, buttons, banners.

Each kind of failure (data, model, evaluation, training) is driven through the real window; then
a success of the same kind must clear the error banner. The target picker shows the target in
use; at start-up the buttons work as soon as data and model are shown.
"""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from evalstudio.resources import resource_path
from tests.gui.conftest import evaluate_and_wait, load_demo, wait_idle

# A missing label is refused until rows with missing values are dropped (a missing feature cell is filled).
MISSING_CSV = "a,b,kind\n0,2,5\n1,4,\n0,6,5\n1,8,7\n1,10,5\n0,12,7\n"


def _busy_words(window) -> bool:
    text = window.status_label.text()
    return text.endswith("…") or "stopping" in text


def test_data_failure_then_success_clears_the_banner(qtbot, window, tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text(MISSING_CSV)
    window.open_data(str(path))
    wait_idle(qtbot, window)
    c = window.controller
    assert c.dataset is None
    assert window.message_area.isVisible() and window.message_area.level == "error"
    assert window.status_label.text() == "pets.csv could not be loaded; no data loaded"
    assert not window.progress.isVisible()
    window.data_panel.drop_missing.setChecked(True)  # the fix the message names
    wait_idle(qtbot, window)
    assert c.dataset is not None
    assert not window.message_area.isVisible()  # the loader's error is history
    assert window.status_label.text() == "loaded 5 rows, 2 features"


def test_model_failure_keeps_the_model_tab_saying_why_then_a_good_model_clears_it(qtbot, window, tmp_path):
    bad = tmp_path / "broken_model.py"
    bad.write_text("import torch.nn as nn\n\ndef build_model(:\n")
    window.choose_model(str(bad))
    wait_idle(qtbot, window)
    c = window.controller
    assert c.model is None
    assert not _busy_words(window), window.status_label.text()
    assert window.status_label.text() == "the model could not be loaded; no model is loaded"
    panel = window.model_panel
    assert panel.headline.text() == "The model could not be loaded; no model is loaded."
    report = panel.report.toPlainText()
    assert "broken_model.py" in report and "press Reload" in report  # not a blank tab
    assert window.message_area.level == "error" and window.message_area.isVisible()
    window.choose_model(str(resource_path("demo", "pima_model.py")))
    wait_idle(qtbot, window)
    assert c.model is not None
    assert not window.message_area.isVisible()
    assert window.status_label.text().startswith("model loaded")
    assert "PimaClassifier" in panel.headline.text()


def test_evaluation_failure_then_success(qtbot, window, monkeypatch):
    load_demo(qtbot, window)
    from evalstudio.core.errors import DataError
    from evalstudio.workers import jobs

    real = jobs.EvaluateJob.work

    def broken(self):  # noqa: ANN001
        raise DataError("the scored rows went away.", hint="Load them again.")

    monkeypatch.setattr(jobs.EvaluateJob, "work", broken)
    window.evaluate()
    wait_idle(qtbot, window)
    assert window.message_area.level == "error"
    assert window.message_area.text == "⚠ evaluating failed: the scored rows went away. Load them again."
    assert window.status_label.text() == "evaluation failed"
    assert window.training_panel.evaluate_button.isEnabled() and not window.training_panel.stop_button.isEnabled()
    monkeypatch.setattr(jobs.EvaluateJob, "work", real)
    evaluate_and_wait(qtbot, window)
    assert window.message_area.level != "error" or not window.message_area.isVisible()
    assert window.status_label.text().startswith("evaluated 154 rows")


def test_training_failure_caption_and_status_then_success(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    settings = window.training_panel.settings()
    settings["optimizer"] = "rmsprop"  # the core refuses it, in the worker
    assert c.train(settings)
    wait_idle(qtbot, window)
    caption = window.training_plot.caption.text()
    assert caption.startswith("Training failed before the first epoch finished: ")
    assert "rmsprop" in caption and "Training…" not in caption
    assert window.status_label.text() == "training failed before the first epoch finished"
    assert window.message_area.level == "error" and window.message_area.isVisible()
    window.training_panel.epochs.setValue(1)
    with qtbot.waitSignal(c.training_finished, timeout=60000):
        window.train()
    wait_idle(qtbot, window)
    assert not window.message_area.isVisible() or window.message_area.level != "error"
    assert not _busy_words(window), window.status_label.text()


def test_stopping_a_queued_model_load_leaves_the_panel_truthful(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    window.training_panel.epochs.setValue(5000)
    window.train()
    qtbot.waitUntil(lambda: len(c.history) >= 1, timeout=30000)
    c.reload_model()  # queued behind the training run
    assert window.model_panel.headline.text() != "No model loaded."
    c.stop()
    wait_idle(qtbot, window)
    headline = window.model_panel.headline.text()
    assert headline.startswith("Loading was stopped: the model below is the one still in use")
    assert "PimaClassifier" in window.model_panel.report.toPlainText()
    assert not _busy_words(window), window.status_label.text()


def test_a_target_that_fails_leaves_the_picker_on_the_target_in_use(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    combo = window.data_panel.target_combo
    assert combo.currentText() == "target"
    combo.setCurrentText("BMI")  # a measurement, not a label: the loader refuses it
    wait_idle(qtbot, window)
    assert window.message_area.level == "error" and "BMI" in window.message_area.text
    assert c.dataset.target_name == "target"
    assert combo.currentText() == "target"
    assert c.target == "target"
    assert window.status_label.text() == (
        "pima-indians-diabetes.csv could not be loaded; still showing pima-indians-diabetes.csv (target target)")


def test_buttons_work_as_soon_as_data_and_model_are_shown(qtbot, window, monkeypatch):
    """The device check and import warm-up run beside the user's work, not in front of it."""
    from evalstudio.app import open_startup_files
    from evalstudio.workers import jobs

    release = threading.Event()
    real = jobs.DevicesJob.work

    def slow(self):  # noqa: ANN001 -- a device check that takes as long as the test wants
        release.wait(30)
        return real(self)

    monkeypatch.setattr(jobs.DevicesJob, "work", slow)
    c = window.controller
    panel = window.training_panel
    before = panel.train_button.mapTo(window, panel.train_button.rect().topLeft())
    try:
        open_startup_files(window, [], demo=True)
        qtbot.waitUntil(lambda: c.model is not None and not c.busy and not c._queue, timeout=60000)
        assert c.background.busy  # still looking for devices
        assert panel.train_button.isEnabled() and panel.evaluate_button.isEnabled()
        assert not panel.stop_button.isEnabled()
        assert "starting up" not in window.status_label.text()
        assert panel.device_note.text() == "Looking for GPUs…"
        with qtbot.waitSignal(c.evaluation_finished, timeout=60000):
            qtbot.mouseClick(panel.evaluate_button, Qt.MouseButton.LeftButton)  # the first click works
    finally:
        release.set()
    wait_idle(qtbot, window)
    assert c.devices is not None
    assert panel.device_note.text()  # "No GPU found…" or "1 GPU found."
    qtbot.wait(20)
    assert panel.train_button.mapTo(window, panel.train_button.rect().topLeft()) == before  # no jump


@pytest.mark.parametrize("note", ["No GPU found: training and evaluation run on the CPU.", ""])
def test_the_device_note_never_moves_the_form(qtbot, window, note):
    panel = window.training_panel
    qtbot.wait(20)
    before = panel.epochs.mapTo(window, panel.epochs.rect().topLeft())
    devices = [("cpu", "CPU")] + ([] if note else [("cuda:0", "cuda:0 - a GPU")])
    panel.set_devices(devices, note)
    qtbot.wait(20)
    assert panel.epochs.mapTo(window, panel.epochs.rect().topLeft()) == before
    assert panel.device_note.text() == (note or "1 GPU found.")


def test_another_target_flags_the_checkpoint_in_the_model_panel_at_once(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    panel = window.model_panel
    assert panel.fit_warning.isHidden() and c.data_fit is not None and c.data_fit.fits
    model_tab = window.tabs.indexOf(window.model_panel.parentWidget().parentWidget())
    assert window.tabs.tabText(model_tab) == "Model"
    old_model = c.model
    flagged_with_the_old_model: list[bool] = []
    c.data_fit_changed.connect(lambda fit: flagged_with_the_old_model.append(c.model is old_model and not fit.fits))
    with qtbot.waitSignal(c.dataset_changed, timeout=60000):
        window.data_panel.target_combo.setCurrentText("NumTimesPrg")
    # At once: the model is still the one loaded for the old target (its reload comes next).
    assert flagged_with_the_old_model and flagged_with_the_old_model[0]
    assert not panel.fit_warning.isHidden()
    text = panel.fit_warning.text()
    assert "does not fit the data" in text and "&#x27;NumTimesPrg&#x27; is now the target" in text
    assert "Choose &#x27;target&#x27; in the Target picker of the Data tab" in text
    assert window.tabs.tabText(model_tab) == "Model ⚠"
    wait_idle(qtbot, window)
    assert c.model is not None and not c.data_fit.fits  # reloaded for the new data: still flagged
    assert not panel.fit_warning.isHidden()
    assert window.status_label.text().endswith("; the checkpoint does not fit this data (see the Model tab)")
    assert window.data_panel.target_combo.currentText() == "NumTimesPrg"  # the target in use
    window.data_panel.target_combo.setCurrentText("target")
    wait_idle(qtbot, window)
    assert panel.fit_warning.isHidden() and window.tabs.tabText(model_tab) == "Model"


def test_non_strict_loading_from_the_model_panel(qtbot, window, tmp_path):
    import torch

    load_demo(qtbot, window)
    c = window.controller
    state = torch.load(resource_path("demo", "pima_checkpoint.pt"), weights_only=True)["model_state_dict"]
    del state["output.bias"]
    partial = tmp_path / "partial.pt"
    torch.save(state, partial)
    window.choose_checkpoint(str(partial))
    wait_idle(qtbot, window)
    assert c.model is None
    said = window.message_area.text
    assert "--" not in said and "Load only the tensors that fit (non-strict)" in said
    window.model_panel.non_strict.setChecked(True)
    wait_idle(qtbot, window)
    assert c.strict is False and c.model is not None
    assert not window.message_area.isVisible()  # a model loads now: the error is history
    assert "5 of 6 model tensors loaded (partial load)" in window.model_panel.report.toPlainText()


def test_the_outputs_picker_reaches_the_evaluation(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    panel = window.model_panel
    panel.outputs.setCurrentIndex(panel.outputs.findData("logits"))
    assert c.outputs == "logits"
    with qtbot.waitSignal(c.evaluation_finished, timeout=60000) as blocker:
        window.evaluate()
    assert blocker.args[0].spec.outputs == "logits"


def test_no_window_message_names_a_command_line_flag(qtbot, window, tmp_path):
    """The messages the earlier tests provoke, collected: none names a flag the window lacks."""
    import re

    path = tmp_path / "pets.csv"
    path.write_text(MISSING_CSV)
    window.open_data(str(path))
    wait_idle(qtbot, window)
    load_demo(qtbot, window)
    window.data_panel.target_combo.setCurrentText("BMI")
    wait_idle(qtbot, window)
    settings = window.training_panel.settings()
    settings["optimizer"] = "rmsprop"
    window.controller.train(settings)
    wait_idle(qtbot, window)
    texts = [t for _, t in window.controller.messages]
    assert len([t for t in texts if "failed" in t]) == 3, texts
    for text in texts:
        assert not re.search(r"(?<![\w-])--[a-z]|target=NAME", text), text


def test_training_a_new_model_retires_the_audit_of_the_old_one(qtbot, window):
    """The train vs eval mode tab never shows the audit of a model that is no longer loaded."""
    load_demo(qtbot, window)
    c = window.controller
    evaluate_and_wait(qtbot, window)
    audit = window.audit_panel
    assert not audit.is_empty and audit.audit is not None
    window.training_panel.epochs.setValue(1)
    with qtbot.waitSignal(c.training_finished, timeout=60000):
        window.train()
    wait_idle(qtbot, window)  # the trained model loads after the run
    assert c.checkpoint_path and c.model is not None
    assert audit.is_empty and audit.audit is None
    assert "model changed" in audit.empty.text() and "Evaluate" in audit.empty.text()
    evaluate_and_wait(qtbot, window)  # the new model's audit
    assert not audit.is_empty and audit.audit is not None


def test_opening_other_data_retires_the_last_evaluations_notice(qtbot, window, tmp_path):
    """"576 of 768 rows trained this checkpoint…" is about the data evaluated, not the data opened next."""
    load_demo(qtbot, window)
    c = window.controller
    evaluate_and_wait(qtbot, window)
    area = window.message_area
    assert area.isVisible() and area.level == "info" and "trained this checkpoint" in area.text
    window.open_data(str(resource_path("demo", "pima-holdout.csv")))
    wait_idle(qtbot, window)
    assert c.data_path.endswith("pima-holdout.csv")
    assert not area.isVisible()
    path = tmp_path / "pets.csv"
    path.write_text(MISSING_CSV)  # an error is not a notice: it shows, and stays after the data changes
    window.open_data(str(path))
    wait_idle(qtbot, window)
    assert area.isVisible() and area.level == "error"
