"""The rows list under the confusion matrix (sortable by any column, one row number, columns that
fit their widest value) and the evaluation panel's use of the space (every metric, whole headers)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.report import per_row_loss


def _cell(panel, actual, predicted):  # noqa: ANN001, ANN202
    panel._on_cell_clicked(actual, predicted)
    return panel.rows.model


def _click_header(qtbot, rows, column: int) -> None:  # noqa: ANN001
    header = rows.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def _shown(model, column: int) -> list[str]:  # noqa: ANN001
    return [model.data(model.index(r, column)) for r in range(model.rowCount())]


def test_rows_sort_by_any_column_by_clicking_its_header(panel, qtbot, make_binary) -> None:
    pred = make_binary(seed=3)
    X = np.random.default_rng(2).normal(size=(pred.n_samples, 2)).astype(np.float32)
    X[5, 1] = np.nan  # a missing feature sorts last both ways
    panel.set_predictions(pred, features=X, feature_names=("glucose", "bmi"))
    model = _cell(panel, None, None)  # every row
    assert "worst loss first" in panel.rows.caption.text()
    loss = per_row_loss(pred)
    assert np.all(np.diff(loss[model.positions]) <= 0)
    keys = {0: pred.row_numbers.astype(float), 1: X[:, 0], 2: X[:, 1], 5: pred.y_score[:, 0],
            6: pred.y_score[:, 1], 7: loss}
    for column, key in keys.items():
        _click_header(qtbot, panel.rows, column)  # first click: low to high
        k = key[model.positions]
        finite = k[np.isfinite(k)]
        assert np.all(np.diff(finite) >= 0), model.header[column]
        assert np.isfinite(k[: finite.size]).all()  # NaN last
        _click_header(qtbot, panel.rows, column)  # second click: high to low
        k = key[model.positions]
        finite = k[np.isfinite(k)]
        assert np.all(np.diff(finite) <= 0), model.header[column]
        assert np.isfinite(k[: finite.size]).all()
    assert "worst loss first" in panel.rows.caption.text()  # Loss, high to low: the order rows came in
    _click_header(qtbot, panel.rows, 3)  # Actual: by class name
    names = _shown(model, 3)
    assert names == sorted(names)
    assert panel.rows.caption.text().endswith("(sorted by Actual, low to high)")
    # The same rows, just reordered; the cells still show each row's own values.
    assert sorted(model.positions.tolist()) == list(range(pred.n_samples))
    r = 7
    i = model.positions[r]
    assert model.data(model.index(r, 0)) == str(pred.row_numbers[i])
    assert model.data(model.index(r, 6)) == f"{pred.y_score[i, 1]:.4f}"


def test_a_chosen_sort_stays_while_the_threshold_moves(panel, qtbot, make_binary) -> None:
    pred = make_binary(seed=5)
    panel.set_predictions(pred)
    _cell(panel, 1, 0)
    _click_header(qtbot, panel.rows, 0)  # by row number
    panel.threshold_bar.slider.setValue(610)
    model = panel.rows.model
    rows = [int(t) for t in _shown(model, 0)]
    assert rows == sorted(rows) and len(rows) == panel.confusion.matrix[1, 0]


def test_one_row_number_and_columns_fit_their_widest_value(panel, qtbot) -> None:
    n = 20000
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    p1 = rng.random(n).astype(np.float32)
    # The largest row numbers sit at the end of the worst-loss order (easy rows).
    pred = Predictions(y, np.column_stack([1 - p1, p1]), ("no", "yes"), row_numbers=np.arange(1, n + 1) * 7)
    panel.set_predictions(pred, features=rng.normal(size=(n, 1)) * 1e5, feature_names=("income",))
    model = _cell(panel, None, None)
    table = panel.rows.table
    assert table.verticalHeader().isHidden()
    assert model.headerData(0, Qt.Orientation.Vertical) is None
    fm = table.fontMetrics()
    for column in range(model.columnCount()):
        widest = max(fm.horizontalAdvance(model.cell_text(r, column)) for r in range(model.rowCount()))
        assert table.columnWidth(column) >= widest + 6, model.header[column]
        header_text = table.horizontalHeader().fontMetrics().horizontalAdvance(model.header[column])
        assert table.columnWidth(column) >= header_text + 12, model.header[column]


def test_the_rows_splitter_is_remembered(qtbot, make_binary) -> None:
    from evalstudio.gui.evaluation.panel import EvaluationPanel

    first = EvaluationPanel()
    qtbot.addWidget(first)
    first.resize(1200, 800)
    first.show()
    sizes = first._main_splitter.sizes()
    first._main_splitter.setSizes([sizes[0] - 150, sizes[1] + 150])
    state = first.layout_state()
    second = EvaluationPanel()
    qtbot.addWidget(second)
    second.resize(1200, 800)
    second.show()
    second.restore_layout_state(state)
    qtbot.wait(10)
    assert second._main_splitter.sizes() == first._main_splitter.sizes()


def test_the_window_keeps_the_splitter_in_its_settings(qtbot, settings_path) -> None:
    from evalstudio.gui.main_window import MainWindow
    from evalstudio.gui.settings import AppSettings
    from tests.gui.conftest import ScriptedConfirm

    w = MainWindow(AppSettings(settings_path), confirm=ScriptedConfirm())
    qtbot.addWidget(w)
    w.show()
    split = w.evaluation_panel._main_splitter
    split.setSizes([200, 400])
    chosen = split.sizes()
    w.close()
    again = MainWindow(AppSettings(settings_path), confirm=ScriptedConfirm())
    qtbot.addWidget(again)
    again.show()
    assert again.evaluation_panel._main_splitter.sizes() == chosen
    again.close()


@pytest.fixture
def settings_path(tmp_path):
    return str(tmp_path / "settings.ini")


def test_every_metric_and_whole_headers_in_the_room_of_a_1366x768_screen(qtbot, make_binary) -> None:
    """A maximised 1366x768 window gives the evaluation tab about 1030 x 620 px (seen under Xvfb)."""
    from evalstudio.gui.evaluation.panel import EvaluationPanel

    panel = EvaluationPanel()
    qtbot.addWidget(panel)
    panel.resize(1030, 620)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_predictions(make_binary(seed=1))
    qtbot.wait(20)
    table = panel.metrics.table
    assert table.rowCount() >= 14
    rows_height = table.rowCount() * table.verticalHeader().defaultSectionSize()
    assert rows_height <= table.viewport().height(), "some metrics are scrolled out of sight"
    per_class = panel.metrics.per_class
    header = per_class.horizontalHeader()
    for column in range(per_class.columnCount()):
        text = per_class.horizontalHeaderItem(column).text()
        assert header.sectionSize(column) >= header.fontMetrics().horizontalAdvance(text), text
    assert not per_class.horizontalScrollBar().isVisible()
    assert panel.minimumSizeHint().height() <= 620
