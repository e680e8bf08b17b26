"""The HTML report and the per-row helpers (no Qt)."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from sklearn.metrics import log_loss

from evalstudio.core.errors import EvalStudioError
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.report import (
    PNG_MAGIC,
    auc_band,
    build_html_report,
    file_identity,
    file_sha256,
    one_vs_rest_codes,
    per_row_loss,
    predicted_labels,
    rows_in_cell,
    rows_by_loss,
    write_html_report,
)

# The smallest valid PNG (1x1 transparent pixel).
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def _pred(n: int = 60, k: int = 3, seed: int = 0) -> Predictions:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = rng.integers(0, k, size=n)
    return Predictions(y, p, tuple(f"c{i}" for i in range(k)))


def test_per_row_loss_mean_is_sklearn_log_loss() -> None:
    pred = _pred()
    loss = per_row_loss(pred)
    assert loss.shape == (pred.n_samples,)
    assert loss.mean() == pytest.approx(log_loss(pred.y_true, pred.y_score, labels=[0, 1, 2]), rel=1e-9)
    # Row-wise: -log p(actual).
    assert loss[3] == pytest.approx(-np.log(pred.y_score[3, pred.y_true[3]]))


def test_per_row_loss_is_finite_for_a_confident_miss() -> None:
    pred = Predictions(np.array([1, 0]), np.array([[1.0, 0.0], [1.0, 0.0]]), ("a", "b"))
    loss = per_row_loss(pred)
    assert np.isfinite(loss).all() and loss[0] > 30 and loss[1] == pytest.approx(0.0, abs=1e-12)


def test_rows_by_loss_orders_worst_first_and_keeps_ties_in_row_order() -> None:
    loss = np.array([0.1, 0.9, 0.5, 0.9, 0.0])
    assert rows_by_loss(np.array([0, 1, 2, 3, 4]), loss).tolist() == [1, 3, 2, 0, 4]
    assert rows_by_loss(np.array([4, 2, 0]), loss).tolist() == [2, 0, 4]
    assert rows_by_loss(np.array([], dtype=int), loss).tolist() == []


@pytest.mark.parametrize(
    ("auc", "word"),
    [(0.95, "excellent"), (0.9, "excellent"), (0.85, "good"), (0.8, "good"), (0.75, "fair"),
     (0.65, "poor"), (0.6, "poor"), (0.59, "fail"), (None, "n/a"), (float("nan"), "n/a")],
)
def test_auc_band(auc: float | None, word: str) -> None:
    assert auc_band(auc) == word


def test_file_sha256_and_identity(tmp_path) -> None:
    f = tmp_path / "data.csv"
    f.write_bytes(b"a,b\n1,2\n")
    assert file_sha256(f) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    ident = file_identity(f)
    assert ident["sha256"] == file_sha256(f) and ident["bytes"] == 8
    assert file_identity(None) == {}
    with pytest.raises(EvalStudioError, match=r"cannot read .*missing\.csv.*Check that the file"):
        file_sha256(tmp_path / "missing.csv")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("data:"):
                self.external.append(value)
            if tag == "img" and name == "src":
                self.imgs.append(value or "")


def test_report_is_self_contained_and_holds_everything(tmp_path) -> None:
    data = tmp_path / "pima.csv"
    data.write_text("x,y\n1,0\n")
    cm = np.array([[40, 10], [5, 45]])
    text = build_html_report(
        title="Pima <held-out>",
        metrics={"accuracy": 0.85, "roc_auc": 0.912345, "log_loss": float("nan"), "custom": 3, "f1_macro": 0.5},
        confusion_matrix=cm,
        classes=("no", "yes & more"),
        threshold=0.37,
        per_class=[{"class": "no", "precision": 0.9, "recall": 0.8, "f1": 0.85, "support": 50}],
        settings={"device": "cpu", "positive class": "yes"},
        identity={"data": file_identity(data)},
        images={"ROC": TINY_PNG, "PR": TINY_PNG},
    )
    assert text.startswith("<!DOCTYPE html>")
    assert "Pima &lt;held-out&gt;" in text and "yes &amp; more" in text  # escaped
    assert "Accuracy" in text and "0.8500" in text and "ROC AUC" in text and "0.9123" in text
    assert "n/a" in text and "custom" in text
    assert "F1 (macro)" in text and "f1_macro" not in text  # the names the app's metrics table shows
    assert "threshold 0.3700" in text
    assert file_sha256(data) in text
    assert re.search(r"<td class=\"num\">100</td>", text)  # grand total
    parser = _Collect()
    parser.feed(text)
    assert len(parser.imgs) == 2 and all(s.startswith("data:image/png;base64,") for s in parser.imgs)
    assert base64.b64decode(parser.imgs[0].split(",", 1)[1]).startswith(PNG_MAGIC)
    assert parser.external == []  # opens with no network
    assert "Not recorded" not in text
    out = write_html_report(tmp_path / "sub" / "report.html", title="t", metrics={}, confusion_matrix=cm,
                            classes=("a", "b"))
    bare = out.read_text(encoding="utf-8")
    assert bare.endswith("</html>")
    # No files given: the report says so instead of silently leaving the identity out.
    assert "Not recorded: no data or model file was given" in bare


def test_report_rejects_non_png_and_wrong_matrix() -> None:
    with pytest.raises(ValueError, match="not PNG"):
        build_html_report(title="t", metrics={}, confusion_matrix=np.eye(2), classes=("a", "b"),
                          images={"x": b"GIF89a"})
    with pytest.raises(ValueError, match=r"shape \(2, 2\) but there are 3 classes"):
        build_html_report(title="t", metrics={}, confusion_matrix=np.eye(2), classes=("a", "b", "c"))


def test_report_module_is_qt_free() -> None:
    import evalstudio.core.evaluation.report as report

    source = open(report.__file__, encoding="utf-8").read()
    assert "PySide6" not in source and "pyqtgraph" not in source


def test_predicted_labels_follow_the_threshold_tables_rule() -> None:
    from evalstudio.core.evaluation.thresholds import ThresholdTable

    s = np.array([0.3, 0.5, 0.7, 0.5, 0.1], dtype=np.float32)
    pred = Predictions(np.array([0, 1, 1, 0, 1]), np.column_stack([1 - s, s]), ("n", "p"))
    labels = predicted_labels(pred, threshold=0.5)
    assert labels.tolist() == [0, 1, 1, 1, 0]  # a score equal to the threshold is positive
    tn, fp, fn, tp = ThresholdTable.from_scores(pred.y_true == 1, s).counts_at(0.5)
    assert (tp, fp) == (int(np.sum((labels == 1) & (pred.y_true == 1))), int(np.sum((labels == 1) & (pred.y_true == 0))))
    assert predicted_labels(pred, threshold=0.6, positive=0).tolist() == [0, 1, 1, 1, 0]  # P(n) >= 0.6
    multi = _pred()
    assert predicted_labels(multi, threshold=0.9).tolist() == multi.argmax().tolist()


def test_one_vs_rest_codes_and_rows_in_cell() -> None:
    pred = _pred(n=50)
    actual, predicted = one_vs_rest_codes(pred, 2, 0.4)
    assert actual.tolist() == (pred.y_true == 2).astype(int).tolist()
    assert predicted.tolist() == (pred.y_score[:, 2] >= 0.4).astype(int).tolist()
    loss = per_row_loss(pred)
    cell = rows_in_cell(actual, predicted, 1, 0, loss)
    assert sorted(cell.tolist()) == np.flatnonzero((actual == 1) & (predicted == 0)).tolist()
    assert np.all(np.diff(loss[cell]) <= 0)
    assert sorted(rows_in_cell(actual, predicted, None, 1, loss).tolist()) == np.flatnonzero(predicted == 1).tolist()
    assert rows_in_cell(actual, predicted, None, None, loss).size == 50
