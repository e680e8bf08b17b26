"""The real window, offscreen: demo, training curves, stop, bad input, one job at a time."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from evalstudio.workers.heartbeat import Heartbeat
from tests.gui.conftest import evaluate_and_wait, load_demo, wait_idle


def test_demo_opens_with_data_model_and_devices(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    panel = window.data_panel
    assert panel.table_model.rowCount() == c.dataset.n_samples == 768
    assert panel.table_model.columnCount() == 8 + 2
    assert panel.target_combo.currentText() == c.dataset.target_name
    # The class balance shows the loader's counts.
    assert panel.balance.counts.tolist() == np.bincount(c.dataset.y).tolist()
    assert panel.balance.classes == c.dataset.classes
    assert "768" in panel.summary_label.text()
    # Model panel: summary, parameter count (8*12+12 + 12*8+8 + 8+1 = 221).
    assert "PimaClassifier" in window.model_panel.headline.text()
    assert "221 parameters" in window.model_panel.headline.text()
    assert "Dropout" in window.model_panel.report.toPlainText()  # the section is there, saying none found
    # Device picker: CPU at least; a plain note when there is no GPU.
    combo = window.training_panel.device_combo
    assert combo.itemData(0) == "cpu"
    if combo.count() == 1:
        assert "No GPU" in window.training_panel.device_note.text()
    assert window.training_panel.train_button.isEnabled()
    assert window.training_panel.evaluate_button.isEnabled()
    assert not window.training_panel.stop_button.isEnabled()
    # Device detection ran last; the status bar says what loaded, not "starting up…" for ever.
    assert window.status_label.text().startswith("model loaded with weights from pima_checkpoint.pt: ")


def test_train_three_epochs_draws_three_points_per_curve(qtbot, window):
    load_demo(qtbot, window)
    window.training_panel.epochs.setValue(3)
    window.training_panel.batch_size.setValue(16)
    with qtbot.waitSignal(window.controller.training_finished, timeout=60000) as blocker:
        qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    result, history = blocker.args
    assert result is not None and len(history) == 3
    plot = window.training_plot
    for name in ("train_loss", "val_loss", "train_acc", "val_acc"):
        x, y = plot.curve_data(name)
        assert x.tolist() == [1.0, 2.0, 3.0], name
    # The curves show the core's numbers.
    assert plot.curve_data("val_loss")[1].tolist() == pytest.approx([m.val_loss for m in result.history])
    assert plot.curve_data("train_acc")[1].tolist() == pytest.approx([m.train_accuracy for m in result.history])
    assert plot.best_epoch == result.best_epoch and plot.best_lines[0].isVisible()
    assert window.current_view() is plot
    wait_idle(qtbot, window)
    # The trained weights become the model the window evaluates, and can be saved.
    assert window.controller.checkpoint_path == (result.best_checkpoint or result.last_checkpoint)
    assert window.training_panel.save_button.isEnabled()


def test_event_loop_keeps_turning_while_training(qtbot, window, record_property):
    """A 10 ms heartbeat on the GUI thread keeps ticking through a whole training run.

    The stall itself is a timing figure, so the 100 ms / 50 ms targets are checked by the
    benchmark (``python -m bench``, item 7, same Heartbeat helper) on a quiet machine; here the
    assertion is only that the window was never frozen (no gap of a second or more) while the
    worker trained, which no amount of machine load should break. The figure is recorded.
    """
    load_demo(qtbot, window)
    window.training_panel.epochs.setValue(30)
    window.training_panel.batch_size.setValue(16)
    hb = Heartbeat(interval_ms=10)
    hb.start()
    with qtbot.waitSignal(window.controller.training_finished, timeout=120000):
        window.train()
    hb.stop()
    wait_idle(qtbot, window)
    record_property("max_event_loop_stall_ms", round(hb.max_stall_ms, 1))
    assert len(window.controller.history) == 30
    assert hb.n_ticks > 0
    assert hb.max_stall_ms < 1000, f"the window froze for {hb.max_stall_ms:.0f} ms during training"


def test_stop_mid_run_cancels_and_the_app_can_train_again(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    window.training_panel.epochs.setValue(5000)
    window.training_panel.batch_size.setValue(4)
    with qtbot.waitSignal(c.runner.job_finished, timeout=60000):
        qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(c.history) >= 2, timeout=30000)
        assert window.training_panel.stop_button.isEnabled()
        assert not window.training_panel.train_button.isEnabled()
        qtbot.mouseClick(window.training_panel.stop_button, Qt.MouseButton.LeftButton)
    assert c.train_result is None
    assert 2 <= len(c.history) < 5000
    assert window.training_plot.n_points == len(c.history)  # the curves stay
    assert window.message_area.isVisible()
    assert window.message_area.text.startswith(f"training stopped after {len(c.history)} finished epochs")
    wait_idle(qtbot, window)
    assert window.status_label.text() != "stopping training…"
    assert window.training_panel.train_button.isEnabled() and not window.training_panel.stop_button.isEnabled()
    window.training_panel.epochs.setValue(2)
    with qtbot.waitSignal(c.training_finished, timeout=60000) as blocker:
        window.train()
        assert not window.message_area.isVisible()  # the stopped run's notice went with it
    assert blocker.args[0] is not None and window.training_plot.n_points == 2


def test_bad_csv_shows_its_message_and_the_app_still_works(qtbot, window, tmp_path):
    load_demo(qtbot, window)
    c = window.controller
    good = c.dataset
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"PK\x03\x04 this is a zip, not a csv" + bytes(range(256)))
    window.open_data(str(bad))
    wait_idle(qtbot, window)
    assert window.message_area.isVisible()
    text = window.message_area.text
    assert text.startswith("⚠ loading data failed: ")
    assert "broken.csv" in text
    assert "Traceback" not in text
    assert c.dataset is good  # the previous data stays
    assert window.data_panel.table_model.rowCount() == 768
    # And the app still works: evaluate the demo.
    with qtbot.waitSignal(c.evaluation_finished, timeout=60000) as blocker:
        qtbot.mouseClick(window.training_panel.evaluate_button, Qt.MouseButton.LeftButton)
    outcome = blocker.args[0]
    assert outcome.predictions.n_samples == 154  # the rows that did not train the demo checkpoint
    # The evaluation tab comes forward with these predictions; the mode audit got its result.
    assert window.current_view() is window.evaluation_panel
    assert window.evaluation_panel.title_label.text() == (
        "pima-indians-diabetes.csv: 154 rows scored, the 614 that trained pima_checkpoint.pt left out")
    assert outcome.audit is not None
    # Which rows were scored, then what the evaluation noted (154 rows: every row audited, no sample note).
    assert window.message_area.text.endswith("\nevaluation notes: " + "; ".join(outcome.notes))
    assert "standardisation from the checkpoint applied" in window.message_area.text


def test_a_failing_training_job_shows_its_message_and_does_not_stay_running(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    settings = window.training_panel.settings()
    settings["optimizer"] = "rmsprop"  # the core refuses it, in the worker
    with qtbot.waitSignal(c.runner.job_finished, timeout=30000):
        assert c.train(settings)
    assert window.message_area.level == "error"
    assert window.message_area.text == (
        "⚠ training failed: Optimizer is 'rmsprop'. Use adam | adamw | sgd."
    )
    assert not c.busy and window.training_panel.train_button.isEnabled()
    assert not window.progress.isVisible()


def test_a_second_job_while_training_is_refused_visibly(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    window.training_panel.epochs.setValue(5000)
    with qtbot.waitSignal(c.runner.job_finished, timeout=60000):
        window.train()
        qtbot.waitUntil(lambda: len(c.history) >= 1, timeout=30000)
        assert not c.evaluate(window.training_panel.settings())
        assert window.message_area.text == (
            "⚠ cannot start evaluating: training is still running. "
            "Press Stop or wait for it to finish, then try again."
        )
        c.stop()


def test_status_bar_shows_epoch_progress_with_eta(qtbot, window):
    load_demo(qtbot, window)
    c = window.controller
    seen: list[str] = []
    window.training_panel.epochs.setValue(6)
    window.training_panel.batch_size.setValue(8)
    with qtbot.waitSignal(c.training_finished, timeout=60000):
        window.train()
        qtbot.waitUntil(lambda: "ETA" in window.status_label.text() or len(c.history) >= 6, timeout=30000)
        seen.append(window.status_label.text())
    assert seen[0].startswith("training: epoch ")
    assert "/6" in seen[0]


def test_results_in_the_evaluation_tab_never_widen_the_window_past_the_screen(qtbot, window):
    """Reported: after Evaluate the window grew to 1,489 px and cut off the training panel at 1366x768."""
    load_demo(qtbot, window)
    room = window.screen().availableGeometry()
    assert window.width() <= room.width() and window.height() <= room.height()
    width = window.width()
    evaluate_and_wait(qtbot, window)
    qtbot.wait(50)
    assert window.current_view() is window.evaluation_panel
    # The view wants more than it gets here; it scrolls inside its tab instead of growing the window.
    assert window.evaluation_panel.minimumSizeHint().width() > window.tabs.width()
    assert window.minimumSizeHint().width() < 1024 and window.width() == width
    for i in range(window.tabs.count()):
        assert window.tabs.widget(i).minimumSizeHint().width() < 600, window.tabs.tabText(i)
    # The training panel (Stop included) stays inside the window.
    stop = window.training_panel.stop_button
    right_edge = stop.mapTo(window, stop.rect().topRight()).x()
    assert 0 < right_edge < window.width()


def test_a_message_does_not_move_the_buttons(qtbot, window):
    load_demo(qtbot, window)
    button = window.training_panel.train_button
    before = button.mapTo(window, button.rect().topLeft())
    window.message_area.show_message("info", "a notice")
    qtbot.waitUntil(window.message_area.isVisible)
    qtbot.wait(20)
    assert button.mapTo(window, button.rect().topLeft()) == before
