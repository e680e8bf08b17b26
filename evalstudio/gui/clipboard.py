"""Edit > Copy: a table's cells as tab-separated text, a plot or a whole view as an image.

Tab-separated text pastes into a spreadsheet cell by cell. The table copied is the one the user
clicked (it has the keyboard focus): its selected cells, or all of it when nothing is selected,
with its header row. A lazy table of a million rows copies at most :data:`MAX_ROWS` rows and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QClipboard, QCursor, QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget

#: More rows than this are not put on the clipboard (a spreadsheet would choke on them anyway).
MAX_ROWS = 100_000


@dataclass(frozen=True)
class Copied:
    """What went to the clipboard, in words for the status line."""

    what: str


def _clean(text: object) -> str:
    # A tab or a line break inside a cell would split it in the spreadsheet.
    return "" if text is None else str(text).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def table_text(view: QAbstractItemView, max_rows: int = MAX_ROWS) -> tuple[str, int, int, bool]:
    """(tab-separated text with a header row, rows, columns, cut short?) of ``view``'s selection
    (every selected row and column) or, with nothing selected, of the whole table."""
    model = view.model()
    selection = view.selectionModel()
    picked = selection.selectedIndexes() if selection is not None else []
    if picked:
        rows = sorted({i.row() for i in picked})
        columns = sorted({i.column() for i in picked})
    else:
        rows = list(range(model.rowCount()))
        columns = list(range(model.columnCount()))
    hidden = getattr(view, "isColumnHidden", None)
    if hidden is not None:
        columns = [c for c in columns if not hidden(c)]
    cut = len(rows) > max_rows
    rows = rows[:max_rows]
    lines = ["\t".join(_clean(model.headerData(c, Qt.Orientation.Horizontal)) for c in columns)]
    for r in rows:
        lines.append("\t".join(_clean(model.data(model.index(r, c))) for c in columns))
    return "\n".join(lines) + "\n", len(rows), len(columns), cut


def copyable_at(widget: QWidget | None) -> QAbstractItemView | pg.GraphicsView | None:
    """The table or plot that ``widget`` is or sits in (None: neither)."""
    w = widget
    while w is not None:
        if isinstance(w, (QAbstractItemView, pg.GraphicsView)):
            return w
        w = w.parentWidget()
    return None


def copy_target() -> QAbstractItemView | pg.GraphicsView | None:
    """The table or plot the user means: the one with the keyboard focus (clicked last), else the
    one under the mouse pointer."""
    return copyable_at(QApplication.focusWidget()) or copyable_at(QApplication.widgetAt(QCursor.pos()))


def copy_table(view: QAbstractItemView, clipboard: QClipboard | None = None) -> Copied:
    text, n_rows, n_cols, cut = table_text(view)
    (clipboard or QGuiApplication.clipboard()).setText(text)
    what = f"copied {n_rows:,} row{'s' if n_rows != 1 else ''} × {n_cols} column{'s' if n_cols != 1 else ''}"
    if cut:
        what += f" (the first {MAX_ROWS:,}; export the rest as CSV)"
    return Copied(what + " as tab-separated text")


def copy_image(widget: QWidget, what: str, clipboard: QClipboard | None = None) -> Copied:
    """``widget`` as it looks now, as an image (a plot, or a whole view)."""
    image = widget.grab().toImage()
    # setImage, not setMimeData(QMimeData()): a QMimeData made in Python is owned twice (by its
    # wrapper and by the clipboard) and the process segfaulted at exit (offscreen Qt, PySide6 6.11).
    (clipboard or QGuiApplication.clipboard()).setImage(image)
    return Copied(f"copied {what} as an image ({image.width()}x{image.height()} px)")


def copy_from(target: QAbstractItemView | pg.GraphicsView | None) -> Copied | None:
    """Copy ``target`` (a table as text, a plot as an image); None when there is nothing to copy."""
    if isinstance(target, QAbstractItemView) and target.model() is not None:
        return copy_table(target)
    if isinstance(target, pg.GraphicsView):
        return copy_image(target, "the plot")
    return None


def let_plots_take_focus(root: QWidget) -> None:
    """A click on a plot gives it the keyboard focus, so Edit > Copy knows which plot was meant."""
    for view in root.findChildren(pg.GraphicsView):
        if view.focusPolicy() == Qt.FocusPolicy.NoFocus:
            view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
