"""The Help menu's pages: how to read each view, the keyboard shortcuts, and About.

The pages are plain HTML shown in a :class:`QTextBrowser`. :data:`VIEW_HELP` holds one section per
view, in tab order; a new view adds its section there (title, then what it shows and how to read it).
About names the versions a bug report needs without importing torch in the GUI thread (the
installed distribution's metadata says its version).
"""

from __future__ import annotations

import html
import platform
import sys
from collections.abc import Sequence
from importlib import metadata

from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

#: (view, what it shows and how to read it): one section per tab, in tab order.
VIEW_HELP: list[tuple[str, str]] = [
    ("Data", """
<p>The CSV as read: a preview of its rows, the class balance of the target, every column with its role,
and the loader's notes (delimiter, header, dropped rows). <b>Target</b> picks the label column; every other
column is a feature. A target that cannot be a label (a measurement with many values, a single class) is
refused and the picker stays on the target in use. <b>Drop rows with missing values</b> loads a file with
gaps by leaving those rows out (the notes say how many).</p>"""),
    ("Model", """
<p>What loading the model file and the checkpoint found: the architecture, its parameter count, the layers
that act differently in train mode (Dropout, BatchNorm), how the checkpoint's tensors matched the model's,
and what the checkpoint records (its target, classes and training columns). A red box appears as soon as
the checkpoint was trained on other columns, another target or other classes than the data in the Data
tab: Evaluate would then score the wrong thing. <b>Load only the tensors that fit (non-strict)</b> loads a
checkpoint that fits the model only in part and lists what was left out. <b>Outputs</b> says how Evaluate
reads the model's outputs: logits (a softmax or sigmoid is applied) or probabilities (used as they are);
auto-detect looks at the model's last layer.</p>"""),
    ("Training", """
<p>Loss (top) and accuracy (bottom) per epoch, on the training rows and on the validation rows. The
training curve is measured in eval mode after each epoch, the honest way, so the two curves compare like
with like. A validation loss that turns up while the training loss keeps falling is overfitting; the
dashed line marks the best epoch (lowest validation loss), whose weights the run keeps.</p>"""),
    ("Evaluation", """
<p>The title names the rows scored: held-out rows the model never saw, or a run's validation rows. Every
view on this tab follows one <b>decision threshold</b> (the slider, the entry, a suggestion, or dragging
the point along a curve): a row is predicted positive when its probability of the positive class is at or
above it.</p>
<ul>
<li><b>Confusion matrix</b>: rows are the actual class, columns the predicted class (scikit-learn's
convention), with totals. The colour is each cell's share of its actual row (or predicted column), on a
fixed scale. <b>Per class</b> below it gives each class's precision, recall, F1 and support (its number
of actual rows).</li>
<li><b>ROC</b>: true positive rate against false positive rate over every threshold; the point is the
current threshold. The area under it (AUC) is the chance that a random positive row scores above a random
negative one; 0.5 is guessing. <b>Precision-recall</b> is the better read when positives are rare; the
dashed line is the share of positives.</li>
<li><b>Metrics</b> at the current threshold, with macro (every class counts the same) and weighted (by
support) averages. ROC AUC, average precision and log loss do not depend on the threshold. Beside each
value, its <b>95% interval</b>: the rows are resampled 1,000 times (within each class, with replacement)
and the interval holds the middle 95% of the metric's values. It says how much the number would move on
another test set of the same size; two models whose intervals overlap widely are not told apart by these
rows. The intervals are computed in the background after the result appears ("computing…") and follow the
threshold as it moves (on a very large set, when the slider is released).</li>
<li><b>Suggested</b> thresholds: 0.5, the one with the best F1, the best Youden's J (sensitivity +
specificity - 1), and the lowest cost for the costs you give a false positive and a false negative.</li>
<li>Click a cell, a row or a column of the matrix to list exactly those rows below, worst loss first
(the loss is the cross-entropy of the actual class). Click a column header to sort by it; drag the
handle above the list to give it more room.</li>
</ul>"""),
    ("K-fold", """
<p>Cross-validation trains a fresh model on k-1 folds and scores the fold left out, k times, with folds
that keep the class balance. Folds appear as they finish; the summary gives each metric's mean ± standard
deviation over the folds (population, ddof=0), and the <b>95% interval of the mean</b> (Student's t
over the folds; the folds share training rows, so it leans optimistic). <b>ROC per fold</b> shows the
spread between folds, and <b>Pooled out-of-fold</b> evaluates every row once, by the model that did not
train on it, with the same threshold tools and intervals as the Evaluation tab.</p>"""),
    ("Train vs eval mode", """
<p>Why evaluating without <code>model.eval()</code> misleads. The left chart evaluates the same rows ten
times in train mode (Dropout active, BatchNorm using batch statistics): the dots spread, while eval mode
(the diamond) gives one answer every time, which is how evalstudio always evaluates. The right chart
compares accuracy on the rows the model was trained on with rows it never saw, on an axis from 0: a large
gap is overfitting. It fills in when you press Evaluate; the gap needs a model trained here with a
validation fraction above 0.</p>"""),
    ("Calibration", """
<p>Does a predicted 0.9 come true 90% of the time? The <b>reliability diagram</b> puts the rows in ten
equal-width bins of predicted probability (of the positive class; for several classes, of the top class)
and plots each bin's mean prediction against how often it was right; the dashed diagonal is perfect
calibration, points below it are over-confident. The bars under it count the rows in each bin. The
<b>Brier score</b> is the mean squared gap between probability and outcome, the <b>ECE</b> the rows-weighted
mean gap between the points and the diagonal.</p>
<p><b>Fit temperature</b> divides the model's logits by one number T, chosen to fit rows that are not the
ones Evaluate scores next: a training run's validation rows (once other data is loaded to evaluate on) or
a calibration file you pick. Fitting on the rows you evaluate would flatter them, so the button stays off
then and says why. The before and after curves are overlaid; <b>Save calibrated checkpoint…</b> writes
the model with T, and the evaluations that follow apply it (the notes say so). T changes no decision at
0.5 and no ranking: accuracy and ROC AUC stay, log loss, Brier and ECE move.</p>"""),
    ("Compare", """
<p>Is B better than A? <b>A</b> is the loaded model; <b>B</b> is a model file and checkpoint, or the model
trained in this window (A is then the checkpoint loaded before training). <b>Compare</b> scores both exactly
as Evaluate does, each leaving out the rows that trained it, on the rows Evaluate would score, and pairs them
row by row: the title says which rows.</p>
<ul>
<li>One <b>threshold</b> for both: each model's point moves along its ROC and precision-recall curve, and
both confusion matrices follow.</li>
<li>The <b>agreement table</b> counts the rows both get right, only A, only B, both wrong; click a cell to list
its rows. Only the two disagreement cells tell the models apart: <b>McNemar's test</b> asks whether their
split (B right where A is wrong, and the reverse) is more lopsided than a coin would make it.</li>
<li><b>DeLong's test</b> compares the ROC AUCs: how well each model ranks positives above negatives, at every
threshold at once. Two models can rank differently and still decide alike at one threshold.</li>
<li><b>Metrics</b> gives each metric for A and B, the difference B - A and its <b>paired bootstrap interval</b>:
both models scored on the same resampled rows, so the interval of the difference is much narrower than the
two models' own intervals (in each cell's tooltip) suggest. An interval that holds 0 does not tell the models
apart.</li>
<li><b>Two k-fold runs</b> compares two K-fold runs of this window made on the same data and folds (for
instance two learning rates), fold by fold, with the corrected resampled t-test of Nadeau and Bengio (folds
share training rows, so the plain t-test would be far too sure).</li>
</ul>"""),
]

#: (keys, what they do) for the shortcuts page; the menu items show theirs too.
SHORTCUTS: list[tuple[str, str]] = [
    ("Ctrl+O", "Open a CSV file (File > Open data…)"),
    ("Ctrl+S", "Save the trained checkpoint (File > Save checkpoint…)"),
    ("Ctrl+C", "Copy the selected cells of the table you clicked (all of it when nothing is selected), "
               "or the plot you clicked, as an image (Edit > Copy)"),
    ("Ctrl+Shift+C", "Copy the whole view in front as an image (Edit > Copy view as image)"),
    ("Ctrl+1 … Ctrl+9", "Show the first … ninth tab: Data, Model, Training, Evaluation, … (View menu)"),
    ("F1", "How to read these views (Help)"),
    ("Ctrl+Q", "Quit (a running job is stopped first)"),
    ("Drag and drop", "Drop CSV, model and checkpoint files on the window to open them"),
]


def views_html(sections: Sequence[tuple[str, str]] = ()) -> str:
    """The "How to read these views" page (``sections`` default to :data:`VIEW_HELP`)."""
    parts = ["<h2>How to read these views</h2>",
             "<p>One section per tab. Every number comes from the raw scores of every row, computed the way "
             "scikit-learn computes it.</p>"]
    for title, body in sections or VIEW_HELP:
        parts.append(f"<h3>{html.escape(title)}</h3>{body}")
    return "\n".join(parts)


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td style='padding-right:18px'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                   for k, v in SHORTCUTS)
    return f"<h2>Keyboard shortcuts</h2><table cellspacing='4'>{rows}</table>"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def about_html(app_version: str, devices: Sequence[str] | None) -> str:
    """Versions and devices: what a bug report needs. ``devices`` None: not looked for yet."""
    import PySide6
    import pyqtgraph

    found = ", ".join(devices) if devices else "not known yet (the device check is still running)"
    rows = [
        ("evalstudio", app_version),
        ("Python", f"{platform.python_version()} ({sys.platform})"),
        ("torch", _version("torch")),
        ("scikit-learn", _version("scikit-learn")),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("pyqtgraph", pyqtgraph.__version__),
        ("Devices", found),
    ]
    table = "".join(f"<tr><td style='padding-right:18px'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                    for k, v in rows)
    return ("<h2>evalstudio</h2><p>Honest, fast evaluation of PyTorch classifiers.</p>"
            f"<table cellspacing='4'>{table}</table>"
            "<p>Include these lines when you report a problem.</p>")


class HelpDialog(QDialog):
    """A page of help text (selectable, links open in the browser); closes with Esc."""

    def __init__(self, title: str, page: str, parent: QWidget | None = None, *, size: tuple[int, int] = (720, 620)) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(page)
        self.browser.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.resize(*size)

    @property
    def text(self) -> str:
        return self.browser.toPlainText()
