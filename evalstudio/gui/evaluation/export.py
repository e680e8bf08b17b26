"""Export: plots to PNG / SVG (the widget as shown, rendered by Qt), tables to CSV / JSON.

Writes go through the core's atomic writer, so a failed export never leaves half a file.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRectF, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsView, QWidget

from evalstudio.core.atomic import atomic_write
from evalstudio.core.data.csv_write import safe_rows, safe_texts
from evalstudio.core.errors import EvalStudioError


def _widget(plot: pg.PlotWidget | QWidget) -> QWidget:
    if not isinstance(plot, QWidget):
        raise TypeError(f"expected a plot widget, got {type(plot).__name__}")
    return plot


def plot_png_bytes(plot: pg.PlotWidget | QWidget) -> bytes:
    """Render a plot widget to PNG bytes, exactly as shown (``QWidget.grab``).

    Grabbing the widget (rather than pyqtgraph's ``ImageExporter``) keeps text, legend and
    axes in the proportions the user sees; ``ImageExporter`` scales the plot but not its legend.
    """
    return qimage_png_bytes(_widget(plot).grab().toImage())


def plot_svg_bytes(plot: pg.PlotWidget | QWidget) -> bytes:
    """Render a plot widget to SVG (vector) bytes with Qt's SVG generator.

    pyqtgraph 0.14's ``SVGExporter`` cannot parse the path syntax Qt 6.11 writes
    (``ValueError: not enough values to unpack``), so it is not used.
    """
    w = _widget(plot)
    size = w.size()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(size.width(), size.height()))
    generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
    generator.setTitle("evalstudio plot")
    # The screen's resolution, so fonts and items that ignore transforms (the cell counts)
    # keep their on-screen size and place (the generator's default is 90 dpi).
    generator.setResolution(w.logicalDpiX())
    painter = QPainter(generator)
    try:
        if isinstance(w, QGraphicsView):
            w.render(painter)  # the scene, as the view shows it
        else:
            w.render(painter, QPoint())  # a widget holding plots (e.g. the mode audit's two charts)
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


def qimage_png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def export_plot(plot: pg.PlotWidget | QWidget, path: str | Path) -> Path:
    """Write a plot to ``path``: PNG when it ends in .png, SVG when it ends in .svg."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".png":
        payload = plot_png_bytes(plot)
        with atomic_write(target, "wb") as fh:
            fh.write(payload)
    elif suffix == ".svg":
        payload = plot_svg_bytes(plot)
        with atomic_write(target, "wb") as fh:
            fh.write(payload)
    else:
        raise EvalStudioError(
            f"cannot export a plot as {target.name!r}: unknown file type {suffix or '(none)'}.",
            hint="Use a name ending in .png or .svg.",
        )
    return target


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
              checked: bool = False) -> Path:
    """Write a header and rows as CSV (numbers at full precision, missing values empty).

    Text a spreadsheet would run as a formula (a class named ``=HYPERLINK(...)``) is neutralised
    with a leading quote; numbers are left as they are.
    ``checked=True``: the rows hold no NaN or infinity (None is written empty by ``csv``
    itself), so the per-value check is skipped -- it was half the time of a million-row export.
    """
    target = Path(path)
    with atomic_write(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(safe_texts(header))
        if checked:
            writer.writerows(safe_rows(rows))
        else:
            for row in safe_rows(rows):
                writer.writerow(["" if _missing(v) else v for v in row])
    return target


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def _jsonable(value: Any) -> Any:
    """Plain JSON: numpy scalars to Python, NaN to null (strict JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, payload: Any) -> Path:
    """Write ``payload`` as strict JSON (NaN becomes null)."""
    target = Path(path)
    with atomic_write(target, "w", encoding="utf-8") as fh:
        json.dump(_jsonable(payload), fh, indent=2, allow_nan=False)
        fh.write("\n")
    return target


def write_table(path: str | Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """CSV or JSON (a list of objects) by the file's extension."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return write_csv(path, header, rows)
    if suffix == ".json":
        return write_json(path, [dict(zip(header, row)) for row in rows])
    raise EvalStudioError(
        f"cannot export a table as {Path(path).name!r}: unknown file type {suffix or '(none)'}.",
        hint="Use a name ending in .csv or .json.",
    )


def export_button(parent: QWidget, entries: Sequence[tuple[str, str, str]], handler: Callable[[str, str], None]):
    """An "Export" tool button whose menu asks for a file name and calls ``handler(key, path)``.

    ``entries`` are (menu text, key, file-dialog filter). Errors are shown in a message box:
    the dialog is the user's, so is the message.
    """
    from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QToolButton

    button = QToolButton(parent)
    button.setText("Export")
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(button)

    def run(text: str, key: str, filt: str) -> None:  # pragma: no cover - needs a person
        path, chosen = QFileDialog.getSaveFileName(parent, text.rstrip("…"), "", filt)
        if not path:
            return
        if not Path(path).suffix:
            path += "." + chosen.split("*.")[1].rstrip(")")
        try:
            handler(key, path)
        except (EvalStudioError, OSError) as exc:
            QMessageBox.warning(parent, "Export failed", str(exc))

    for text, key, filt in entries:
        action = menu.addAction(text)
        action.triggered.connect(lambda _checked=False, t=text, k=key, f=filt: run(t, k, f))
    button.setMenu(menu)
    return button
