"""Edit > Copy (tables as tab-separated text, plots and views as images), View (tabs), Help, About."""

from __future__ import annotations

from importlib import metadata

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication

from tests.gui.conftest import evaluate_and_wait, load_demo


def _evaluated(qtbot, window):  # noqa: ANN001, ANN202
    load_demo(qtbot, window)
    evaluate_and_wait(qtbot, window)
    return window.evaluation_panel


def test_copy_a_whole_table_as_tab_separated_text(qtbot, window):
    panel = _evaluated(qtbot, window)
    table = panel.metrics.table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus)
    done = window.menus.copy()
    # the intervals have arrived (wait_idle waits for their background job): the third column
    assert done is not None and done.what.startswith(f"copied {table.rowCount()} rows × 3 columns")
    lines = QGuiApplication.clipboard().text().splitlines()
    assert lines[0] == "Metric\tValue\t95% interval"
    assert lines[1:] == ["\t".join(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]
    assert window.status_label.text() == done.what


def test_copy_the_selected_rows_of_the_rows_list(qtbot, window):
    panel = _evaluated(qtbot, window)
    panel._on_cell_clicked(1, 0)
    view = panel.rows.table
    model = view.model()
    view.setFocus()
    for r in (0, 2):
        view.selectionModel().select(model.index(r, 0),
                                     QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    window.menus.copy_action.trigger()
    lines = QGuiApplication.clipboard().text().splitlines()
    assert lines[0].split("\t") == list(model.header)
    assert lines[1].split("\t") == [model.cell_text(0, c) for c in range(model.columnCount())]
    assert lines[2].split("\t") == [model.cell_text(2, c) for c in range(model.columnCount())]
    assert len(lines) == 3


def test_copy_a_clicked_plot_and_a_whole_view_as_images(qtbot, window):
    import pyqtgraph as pg

    from evalstudio.gui.clipboard import copyable_at

    panel = _evaluated(qtbot, window)
    roc = panel.roc
    graphics = roc.findChildren(pg.GraphicsView)[0] if not isinstance(roc, pg.GraphicsView) else roc
    assert graphics.focusPolicy() != Qt.FocusPolicy.NoFocus  # a click gives it the focus
    graphics.setFocus()
    qtbot.waitUntil(graphics.hasFocus)
    assert copyable_at(graphics) is graphics
    done = window.menus.copy()
    assert done is not None and done.what.startswith("copied the plot as an image")
    image = QGuiApplication.clipboard().image()
    assert not image.isNull() and image.width() == graphics.width()
    done = window.menus.copy_view()
    assert done.what.startswith("copied the Evaluation view as an image")
    assert QGuiApplication.clipboard().image().width() == panel.width()


def test_copy_with_nothing_clicked_says_what_to_do(qtbot, window):
    from PySide6.QtGui import QCursor

    button = window.training_panel.train_button
    button.setFocus()
    QCursor.setPos(button.mapToGlobal(button.rect().center()))  # the pointer on a button, not a plot
    assert window.menus.copy() is None
    assert window.status_label.text().startswith("nothing copied: click a table or a plot first")


def test_view_shortcuts_bring_tabs_forward(qtbot, window):
    window.menus.tab_actions[3].trigger()  # Ctrl+4
    assert window.current_view() is window.evaluation_panel
    window.menus._fill_view_menu()
    names = [a.text() for a in window.menus.view_menu.actions()]
    assert names[:4] == ["Data", "Model", "Training", "Evaluation"]


def test_help_pages_and_about(qtbot, window):
    dialog = window.menus.show_views_help()
    qtbot.addWidget(dialog)
    text = dialog.text
    for i in range(window.tabs.count()):
        title = window.tabs.tabText(i).replace(" ⚠", "")
        assert title in text, f"the help page has no section for the {title} tab"
    assert "rows are the actual class, columns the predicted class" in text
    dialog = window.menus.show_shortcuts()
    assert "Ctrl+C" in dialog.text and "Ctrl+O" in dialog.text
    load_demo(qtbot, window)
    dialog = window.menus.show_about()
    text = dialog.text
    import PySide6

    assert metadata.version("torch") in text and PySide6.__version__ in text
    assert window.controller.devices.devices[0][1] in text  # the device list (CPU at least)


def test_a_copied_image_does_not_crash_the_process_at_exit(tmp_path) -> None:
    """Copying a plot as an image once segfaulted Python at exit (a QMimeData owned twice)."""
    import os
    import subprocess
    import sys

    code = (
        "from PySide6.QtWidgets import QApplication, QLabel\n"
        "from evalstudio.gui.clipboard import copy_image\n"
        "app = QApplication([])\n"
        "label = QLabel('plot'); label.resize(50, 20)\n"
        "print(copy_image(label, 'the plot').what)\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "copied the plot as an image" in done.stdout
