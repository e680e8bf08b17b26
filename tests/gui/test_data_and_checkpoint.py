"""Data panel intents (target picker, dropping rows with missing values) and saving a trained checkpoint."""

from __future__ import annotations

import numpy as np
import torch

from tests.gui.conftest import load_demo, wait_idle

CSV = "a,b,kind\n0,2,5\n1,,7\n0,6,5\n1,8,7\n1,10,5\n0,12,7\n"


def test_target_picker_and_drop_missing_reload_the_data_and_show_the_notes(qtbot, window, tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text(CSV)
    c = window.controller
    window.open_data(str(path))
    wait_idle(qtbot, window)
    # A missing value is filled (the training rows' median, plus a "(missing)" input) ...
    assert c.dataset is not None and c.dataset.n_samples == 6
    assert "b (missing)" in c.dataset.feature_names
    # ... or, when the user asks, its row is dropped.
    window.data_panel.drop_missing.setChecked(True)
    wait_idle(qtbot, window)
    assert c.dataset is not None and c.dataset.n_samples == 5
    assert c.dataset.classes == ("5", "7")
    assert window.data_panel.table_model.rowCount() == 5
    notes = window.data_panel.notes_label.text()
    assert any(n in notes for n in c.dataset.notes) and "drop" in notes.lower()
    assert window.data_panel.balance.counts.tolist() == [3, 2]
    # Pick another column as the target: the data is loaded again around it.
    n_messages = len(c.messages)
    window.data_panel.target_combo.setCurrentText("a")
    wait_idle(qtbot, window)
    assert c.messages[n_messages:] == []
    assert c.dataset.target_name == "a"
    assert "a" not in c.dataset.feature_names
    assert window.data_panel.target_combo.currentText() == "a"
    assert window.data_panel.balance.classes == ("0", "1")


def test_a_trained_checkpoint_can_be_saved_from_the_window(qtbot, window, tmp_path):
    load_demo(qtbot, window)
    c = window.controller
    window.training_panel.epochs.setValue(2)
    with qtbot.waitSignal(c.training_finished, timeout=60000):
        window.train()
    wait_idle(qtbot, window)
    target = tmp_path / "mine.pt"
    src = c.save_checkpoint(str(target))
    assert src == c.train_result.best_checkpoint
    saved = torch.load(target, weights_only=True)
    assert saved["format"] == "evalstudio-checkpoint"
    assert window.message_area.text == f"checkpoint saved to {target}"


def test_a_pickled_model_asks_naming_its_globals_and_loads_once_trusted(qtbot, window, confirm, tmp_path):
    path = tmp_path / "whole_model.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(8, 1), torch.nn.Sigmoid()), path)
    confirm.answer = False
    window.choose_checkpoint(str(path))
    wait_idle(qtbot, window)
    c = window.controller
    assert c.model is None
    title, text = confirm.questions[-1]
    assert title == "This checkpoint runs code"
    assert "torch.nn.modules.container.Sequential" in text
    assert window.message_area.text.startswith("⚠ loading the model stopped: ")
    assert not window.model_panel.trust_pickle.isChecked()
    confirm.answer = True
    window.choose_checkpoint(str(path))
    wait_idle(qtbot, window)
    assert window.model_panel.trust_pickle.isChecked()
    assert c.model is not None and c.model.loaded.kind == "pickle"
    assert "Sequential" in window.model_panel.headline.text()


def test_class_balance_labels_read_as_numbers_with_thousands_separators(qtbot):
    from evalstudio.gui.class_balance import ClassBalancePlot

    plot = ClassBalancePlot()
    qtbot.addWidget(plot)
    plot.set_counts(("0", "1"), np.array([587_275, 412_725]))
    assert [t.textItem.toPlainText() for t in plot._labels] == ["587,275 (59%)", "412,725 (41%)"]
