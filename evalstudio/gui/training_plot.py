"""Live training curves: loss and accuracy per epoch, train vs validation, best epoch marked.

Items are created once; each finished epoch appends one point and feeds the arrays again with
``setData``. Train accuracy is the honest one (eval mode on the training rows), so a validation
curve turning down while it climbs is overfitting, not dropout noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from evalstudio.gui.axes import cached_horizontal_grid, whole_number_axes

TRAIN_PEN = pg.mkPen((31, 119, 180), width=2)
VAL_PEN = pg.mkPen((255, 127, 14), width=2)
BEST_PEN = pg.mkPen((44, 160, 44), width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine)


def _plot(title: str, ylabel: str, legend_offset: tuple[int, int] = (-10, 10)) -> pg.PlotWidget:
    w = pg.PlotWidget(background="w", axisItems=whole_number_axes("bottom"))  # epoch 1, 2, 3: never 1.5
    w.setTitle(title, color="k", size="11pt")
    w.setLabel("bottom", "epoch")
    w.setLabel("left", ylabel)
    w.getAxis("left").enableAutoSIPrefix(False)  # "loss (x0.001)" reads worse than 0.45
    # The horizontal grid lines come from a hidden right axis whose rendering is cached: drawn
    # by the (uncached) left axis they cost ~8 ms of every repaint offscreen, which the GUI
    # thread paid at each epoch while training (measured: 13.5 -> 3.5 ms per epoch for both plots).
    w.showGrid(x=True, y=False, alpha=0.2)
    cached_horizontal_grid(w, 0.2)
    w.addLegend(offset=legend_offset, labelTextColor="k", brush=pg.mkBrush(255, 255, 255, 200))
    w.setMenuEnabled(False)
    # Axis labels are replayed from a QPicture on every paint (~6 ms each offscreen); caching the
    # rendered epoch axis (its range is fixed for a run) keeps an epoch's repaint to what changed.
    # Not the left axes: a cached axis clips its end labels (seen under Xvfb: "1.0" and "0" gone).
    w.getAxis("bottom").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return w


class TrainingCurvesPlot(QWidget):
    """Two plots (loss, accuracy), each with a train and a validation curve."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = _plot("Loss", "loss")
        # Accuracy climbs towards the top: its legend goes bottom right, out of the way.
        self.acc_plot = _plot("Accuracy", "accuracy", legend_offset=(-10, -10))
        sym = {"symbol": "o", "symbolSize": 5}
        self.train_loss = self.loss_plot.plot([], [], pen=TRAIN_PEN, name="train (eval mode)", symbolBrush=(31, 119, 180), **sym)
        self.val_loss = self.loss_plot.plot([], [], pen=VAL_PEN, name="validation", symbolBrush=(255, 127, 14), **sym)
        self.train_acc = self.acc_plot.plot([], [], pen=TRAIN_PEN, name="train (eval mode)", symbolBrush=(31, 119, 180), **sym)
        self.val_acc = self.acc_plot.plot([], [], pen=VAL_PEN, name="validation", symbolBrush=(255, 127, 14), **sym)
        self.best_lines = [pg.InfiniteLine(angle=90, movable=False, pen=BEST_PEN) for _ in range(2)]
        for plot, line in zip((self.loss_plot, self.acc_plot), self.best_lines):
            plot.addItem(line, ignoreBounds=True)
            line.setVisible(False)
        # Accuracy lives in [0, 1]: a fixed axis reads the same across runs.
        # A margin past 0 and 1 so pyqtgraph does not hide the end labels as overflowing.
        self.acc_plot.setYRange(-0.06, 1.06, padding=0)
        self.acc_plot.enableAutoRange(y=False)
        self.loss_plot.enableAutoRange(y=False)  # set per epoch in _redraw
        # ... until the person zooms or pans it (as auto-range would stop); a new run follows again.
        self._loss_axis_follows = True
        self.loss_plot.getViewBox().sigRangeChangedManually.connect(self._stop_following)
        self.total_epochs: int | None = None
        self.caption = QLabel("Train a model to see its curves here.")
        self.caption.setWordWrap(True)
        # Room for two lines from the start: a caption that wraps onto a second line mid-run would
        # otherwise shrink both plots (a full re-layout and repaint of each) while epochs stream.
        self.caption.setMinimumHeight(2 * self.caption.fontMetrics().lineSpacing() + 4)
        layout = QVBoxLayout(self)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.acc_plot, 1)
        layout.addWidget(self.caption)
        self._history: list[Any] = []
        self.best_epoch: int | None = None

    @property
    def n_points(self) -> int:
        """Epochs drawn so far."""
        return len(self._history)

    def clear(self, total_epochs: int | None = None) -> None:
        """Empty the plots for a new run; with ``total_epochs`` the epoch axis is fixed up front
        (so it does not rescale, and repaint, at every epoch)."""
        self._history = []
        self.total_epochs = total_epochs
        for plot in (self.loss_plot, self.acc_plot):
            if total_epochs:
                plot.setXRange(0.5, total_epochs + 0.5, padding=0.02)
                plot.enableAutoRange(x=False)
            else:
                plot.enableAutoRange(x=True)
        self.best_epoch = None
        self._loss_axis_follows = True
        for curve in (self.train_loss, self.val_loss, self.train_acc, self.val_acc):
            curve.setData([], [])
        for line in self.best_lines:
            line.setVisible(False)
        self.caption.setText("Training…")

    def show_interrupted(self, how: str, message: str, epochs: int) -> None:
        """The run ``how`` ("failed" or "stopped") after ``epochs`` finished epochs: the curves stay."""
        when = "before the first epoch finished" if epochs == 0 else \
            f"after {epochs} finished epoch{'s' if epochs != 1 else ''}"
        text = f"Training {how} {when}" + (f": {message}" if message else ".")
        if epochs:
            text += "  The curves show the finished epochs."
        self.caption.setText(text)

    def add_epoch(self, m: Any) -> None:
        """Append one :class:`~evalstudio.core.training.results.EpochMetrics`."""
        self._history.append(m)
        self._redraw()

    def set_history(self, history: Any, best_epoch: int | None = None, caption: str = "") -> None:
        """Show a finished run (its curves stay until the next run)."""
        self._history = list(history)
        if self._history and self.total_epochs and self._history[-1].epoch < self.total_epochs:
            # Stopped early: zoom to the epochs that ran.
            for plot in (self.loss_plot, self.acc_plot):
                plot.setXRange(0.5, self._history[-1].epoch + 0.5, padding=0.02)
        self._redraw()
        self.set_best_epoch(best_epoch)
        if caption:
            self.caption.setText(caption)

    def set_best_epoch(self, epoch: int | None) -> None:
        self.best_epoch = epoch
        for line in self.best_lines:
            line.setVisible(epoch is not None)
            if epoch is not None:
                line.setValue(epoch)

    def _stop_following(self, *_: Any) -> None:
        self._loss_axis_follows = False

    def curve_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) arrays a curve shows: "train_loss", "val_loss", "train_acc" or "val_acc"."""
        x, y = getattr(self, name).getData()
        return (np.zeros(0) if x is None else x), (np.zeros(0) if y is None else y)

    def _redraw(self) -> None:
        h = self._history
        epochs = np.array([m.epoch for m in h], dtype=float)

        def column(attr: str) -> tuple[np.ndarray, np.ndarray]:
            vals = [getattr(m, attr) for m in h]
            keep = np.array([v is not None for v in vals], dtype=bool)
            y = np.array([v for v in vals if v is not None], dtype=float)
            return epochs[keep] if len(h) else epochs, y

        train_loss, val_loss = column("train_eval_loss"), column("val_loss")
        self.train_loss.setData(*train_loss)
        self.val_loss.setData(*val_loss)
        # The loss axis follows the data, set here rather than by pyqtgraph's auto-range, which
        # finds the new range while painting and so paints every epoch twice.
        losses = np.concatenate([train_loss[1], val_loss[1]])
        losses = losses[np.isfinite(losses)]
        if losses.size and self._loss_axis_follows:
            lo, hi = float(losses.min()), float(losses.max())
            self.loss_plot.setYRange(lo, hi if hi > lo else lo + 1e-3, padding=0.05)
        self.train_acc.setData(*column("train_accuracy"))
        self.val_acc.setData(*column("val_accuracy"))
        if h:
            last = h[-1]
            parts = [f"epoch {last.epoch}", f"train loss {last.train_eval_loss:.4f}", f"train acc {last.train_accuracy:.3f}"]
            if last.val_loss is not None:
                parts += [f"val loss {last.val_loss:.4f}", f"val acc {last.val_accuracy:.3f}"]
            self.caption.setText(" · ".join(parts))


if __name__ == "__main__":  # pragma: no cover -- python -m evalstudio.gui.training_plot
    import sys

    from PySide6.QtWidgets import QApplication

    from evalstudio.core.training.results import EpochMetrics

    app = QApplication(sys.argv)
    view = TrainingCurvesPlot()
    view.clear(total_epochs=40)
    for e in range(1, 41):  # a made-up run that starts to overfit after epoch 20
        over = max(0, e - 20) * 0.004
        view.add_epoch(EpochMetrics(e, 1e-3, 0.7 / e**0.3, 0.6 + 0.3 * (1 - 1 / e), 0.68 / e**0.3,
                                    0.66 / e**0.25 + over, 0.62 + 0.18 * (1 - 1 / e) - over, 0.1))
    view.set_best_epoch(20)
    view.resize(900, 650)
    view.show()
    sys.exit(app.exec())
