"""The data panel's column table on a mixed table: what it shows, and re-planning from its pickers."""

from __future__ import annotations

import torch

from evalstudio.resources import resource_path
from tests.gui.conftest import wait_idle

CHURN = str(resource_path("demo", "churn.csv"))


def _row(window, name):
    return next(r for r in window.data_panel.columns_view.rows() if r.name == name)


def _cell(window, name, column):
    view = window.data_panel.columns_view
    r = [row.name for row in view.rows()].index(name)
    return view.table.item(r, column).text()


def test_the_column_table_shows_kinds_counts_examples_and_why_a_column_was_set_aside(qtbot, window):
    window.open_data(CHURN)
    wait_idle(qtbot, window)
    data = window.controller.dataset
    assert data is not None and data.target_name == "Churn"
    view = window.data_panel.columns_view
    names = [r.name for r in view.rows()]
    assert names == [*data.table.names, "Churn"]  # every column, in file order, then the target
    assert _cell(window, "customerID", 1) == "ignored"
    assert _cell(window, "customerID", 4) == "2,000"
    assert _cell(window, "customerID", 6).startswith("one value per row")
    assert view.picker("customerID").currentData() == "ignored"
    assert _cell(window, "TotalCharges", 3) == "11"  # the blank (" ") cells
    assert view.picker("TotalCharges").currentData() == "numeric"
    assert _cell(window, "Contract", 1) == "categorical" and _cell(window, "Contract", 4) == "3"
    assert "Month-to-month" in _cell(window, "Contract", 5)
    assert "rare value" in _cell(window, "Region", 6)  # two regions seen fewer than 5 times
    assert view.picker("Churn").currentData() == "target"
    # Text cannot be read as numbers, so its picker does not offer it.
    contract = view.picker("Contract")
    assert [contract.itemData(i) for i in range(contract.count())] == ["categorical", "ignored", "target"]
    assert "31 model inputs" in view.summary.text() and "1 set aside" in view.summary.text()
    # The rows table shows the cells as read: text as text, a blank as empty.
    model = window.data_panel.table_model
    header = [model.headerData(c, 1) for c in range(model.columnCount())]
    assert header[:3] == ["row", "customerID", "gender"]
    assert model.data(model.index(0, header.index("Contract"))) == "Month-to-month"


def test_picking_another_use_replans_without_reading_the_file_and_training_uses_it(qtbot, window, tmp_path):
    window.open_data(CHURN)
    wait_idle(qtbot, window)
    c = window.controller
    before = c.dataset
    view = window.data_panel.columns_view
    senior = view.picker("SeniorCitizen")
    senior.setCurrentIndex(senior.findData("categorical"))
    wait_idle(qtbot, window)
    after = c.dataset
    assert after is not before and after.table is before.table  # the rows already read, planned again
    assert "SeniorCitizen=0" in after.feature_names and "SeniorCitizen" not in after.feature_names
    assert _row(window, "SeniorCitizen").chosen and _row(window, "SeniorCitizen").kind == "categorical"
    region = view.picker("Region")
    region.setCurrentIndex(region.findData("ignored"))
    wait_idle(qtbot, window)
    assert not any(n.startswith("Region=") for n in c.dataset.feature_names)
    region_inputs = sum(n.startswith("Region=") for n in before.feature_names)
    assert region_inputs == 6  # five regions and "(other)" for the rare ones
    assert c.dataset.n_features == before.n_features + 1 - region_inputs  # SeniorCitizen: 2 inputs instead of 1
    assert c.roles.categorical == ("SeniorCitizen",) and c.roles.ignore == ("Region",)

    # Train uses the roles shown: its checkpoint's encoding has them.
    window.choose_model(str(resource_path("demo", "churn_model.py")))
    wait_idle(qtbot, window)
    assert c.model is not None and c.model.loaded.module[0].in_features == c.dataset.n_features
    window.training_panel.epochs.setValue(1)
    with qtbot.waitSignal(c.training_finished, timeout=120000):
        window.train()
    wait_idle(qtbot, window)
    saved = torch.load(c.train_result.best_checkpoint or c.train_result.last_checkpoint, weights_only=True)
    kinds = {col["name"]: col["kind"] for col in saved["encoding"]["columns"]}
    assert kinds["SeniorCitizen"] == "categorical" and kinds["Region"] == "ignored"
    assert kinds["customerID"] == "ignored" and kinds["Contract"] == "categorical"


def test_picking_target_in_the_table_reloads_around_that_column(qtbot, window):
    window.open_data(CHURN)
    wait_idle(qtbot, window)
    c = window.controller
    view = window.data_panel.columns_view
    partner = view.picker("Partner")
    partner.setCurrentIndex(partner.findData("target"))
    wait_idle(qtbot, window)
    assert c.dataset.target_name == "Partner" and c.dataset.classes == ("No", "Yes")
    assert window.data_panel.target_combo.currentText() == "Partner"
    assert view.picker("Churn").currentData() == "categorical"  # the old label is a feature now
    assert not any(level == "error" for level, _ in c.messages), c.messages


def test_a_failed_replan_keeps_the_columns_and_says_why(qtbot, window, tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{'xy'[i % 2]},{i % 2}\n" for i in range(30)))
    window.open_data(str(path))
    wait_idle(qtbot, window)
    c = window.controller
    before = c.dataset
    # Setting the only two features aside leaves nothing to learn from: refused, named.
    window.data_panel.columns_view.picker("a").setCurrentIndex(
        window.data_panel.columns_view.picker("a").findData("ignored"))
    wait_idle(qtbot, window)
    window.data_panel.columns_view.picker("b").setCurrentIndex(
        window.data_panel.columns_view.picker("b").findData("ignored"))
    wait_idle(qtbot, window)
    errors = [t for level, t in c.messages if level == "error"]
    assert len(errors) == 1 and "no feature column is left" in errors[0] and "--" not in errors[0]
    assert "a: set to ignored; b: set to ignored" in errors[0]
    assert c.dataset.feature_names == ("b=x", "b=y")  # the last plan that worked stays
    assert window.data_panel.columns_view.picker("b").currentData() == "categorical"
    assert c.roles.ignore == ("a",)
    assert before.table is c.dataset.table


def test_kfold_and_evaluate_use_the_roles_shown(qtbot, window):
    """K-fold fits each fold's encoding with the kinds picked in the table; Evaluate of the model
    trained in the window reads the columns as the table shows them."""
    window.open_data(CHURN)
    wait_idle(qtbot, window)
    c = window.controller
    for name, use in (("SeniorCitizen", "categorical"), ("Region", "ignored")):
        picker = window.data_panel.columns_view.picker(name)
        picker.setCurrentIndex(picker.findData(use))
        wait_idle(qtbot, window)
    window.choose_model(str(resource_path("demo", "churn_model.py")))
    wait_idle(qtbot, window)
    tp = window.training_panel
    tp.set_settings({**tp.settings(), "epochs": 1, "folds": 2})
    with qtbot.waitSignal(c.kfold_finished, timeout=120000) as blocker:
        window.kfold()
    wait_idle(qtbot, window)
    for fold in blocker.args[0].folds:
        kinds = {col.name: type(col).__name__ for col in fold.encoding.columns}
        assert kinds["SeniorCitizen"] == "CategoricalEncoding" and kinds["Region"] == "IgnoredColumn"
        assert fold.encoding.input_names == c.dataset.feature_names
    # A model file alone (no checkpoint, so no encoding of its own) reads numbers only, as before.
    window.evaluate()
    wait_idle(qtbot, window)
    errors = [t for level, t in c.messages if level == "error"]
    assert len(errors) == 1 and "non-numeric feature column" in errors[0] and "'gender'" in errors[0]
    # Trained in the window, the model evaluates with the encoding of the roles shown.
    window.training_panel.epochs.setValue(1)
    with qtbot.waitSignal(c.training_finished, timeout=120000):
        window.train()
    wait_idle(qtbot, window)
    window.evaluate()
    wait_idle(qtbot, window)
    assert len([t for level, t in c.messages if level == "error"]) == 1, c.messages
    done = c.evaluation
    assert done is not None and done.dataset.feature_names == c.dataset.feature_names
    assert "SeniorCitizen=1" in done.dataset.feature_names
