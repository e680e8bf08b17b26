"""The live training curves as drawn: grid lines at the ticks, no stray frame line."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from evalstudio.gui.training_plot import TrainingCurvesPlot


def _pixels(widget) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return raw[:, : image.width(), :3].astype(int)


def _view_box_pixels(plot) -> np.ndarray:
    """The pixels inside the accuracy plot's data area (inset by 3 px from its edges)."""
    view = plot.plotItem.getViewBox()
    rect = view.mapRectToScene(view.boundingRect())
    top_left = plot.mapFromScene(rect.topLeft())
    bottom_right = plot.mapFromScene(rect.bottomRight())
    img = _pixels(plot)
    return img[top_left.y() + 3 : bottom_right.y() - 3, top_left.x() + 3 : bottom_right.x() + 1]


def test_accuracy_plot_draws_a_horizontal_grid_line_at_each_tick_and_no_right_frame(qtbot) -> None:
    w = TrainingCurvesPlot()
    qtbot.addWidget(w)
    w.resize(460, 640)
    w.show()
    w.clear(total_epochs=10)
    for e in range(1, 4):
        w.add_epoch(SimpleNamespace(epoch=e, train_eval_loss=1 / e, val_loss=1.1 / e, train_loss=1 / e,
                                    train_accuracy=0.5 + e / 10, val_accuracy=0.45 + e / 10))
    qtbot.wait(50)
    area = _view_box_pixels(w.acc_plot)
    # Right of the curves (3 of 10 epochs drawn): a major grid row is light grey all across (no white).
    inner = area[:, int(area.shape[1] * 0.6) : -2]
    grey_rows = [r for r in range(inner.shape[0])
                 if (inner[r] <= 240).all() and (inner[r] >= 200).all()]
    runs = 1 + sum(1 for a, b in zip(grey_rows, grey_rows[1:]) if b != a + 1) if grey_rows else 0
    assert runs >= 3, f"expected grid lines at 0.4, 0.6, 0.8 and 1.0 (the legend covers the lower ones), found {runs}"
    # The last column of the data area is background or grid, never a dark axis line.
    assert (area[:, -1] >= 200).all()


def _epoch(e: int, loss: float) -> SimpleNamespace:
    return SimpleNamespace(epoch=e, train_eval_loss=loss, val_loss=loss * 1.1, train_loss=loss,
                           train_accuracy=0.7, val_accuracy=0.6)


def test_loss_axis_follows_the_losses_until_the_person_zooms(qtbot) -> None:
    w = TrainingCurvesPlot()
    qtbot.addWidget(w)
    w.show()
    w.clear(total_epochs=5)
    for e, loss in enumerate([0.9, 0.5, 0.3], start=1):
        w.add_epoch(_epoch(e, loss))
        lo, hi = w.loss_plot.getViewBox().viewRange()[1]
        assert lo < loss and hi > 0.9 * 1.1 - 1e-9  # every loss so far is in view
    view = w.loss_plot.getViewBox()
    view.setYRange(0.25, 0.35, padding=0)
    view.sigRangeChangedManually.emit([False, True])  # as a wheel zoom or drag does
    w.add_epoch(_epoch(4, 0.2))
    assert view.viewRange()[1] == [0.25, 0.35]  # the person's zoom stays
    w.clear(total_epochs=5)
    w.add_epoch(_epoch(1, 2.0))
    assert view.viewRange()[1][1] > 2.0  # a new run follows its losses again


def test_a_caption_that_wraps_to_two_lines_does_not_resize_the_plots(qtbot) -> None:
    """Each epoch rewrites the caption; if its height followed the text, both plots would be laid
    out and repainted again whenever it wrapped (a stall while epochs stream)."""
    w = TrainingCurvesPlot()
    qtbot.addWidget(w)
    w.resize(420, 600)
    w.show()
    w.caption.setText("epoch 1")
    qtbot.wait(20)
    before = (w.loss_plot.height(), w.acc_plot.height())
    w.caption.setText("epoch 12 · train loss 0.4603 · train acc 0.785 · val loss 0.4447 · val acc 0.781 | best epoch 9")
    qtbot.wait(20)
    assert w.caption.heightForWidth(w.caption.width()) > w.caption.fontMetrics().lineSpacing()  # it does wrap
    assert (w.loss_plot.height(), w.acc_plot.height()) == before
