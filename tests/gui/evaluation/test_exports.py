"""Every export writes a valid file: PNG magic, SVG parses as XML, CSV/JSON parse, HTML self-contained."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from evalstudio.core.errors import EvalStudioError
from evalstudio.core.evaluation.metrics import evaluate_predictions
from evalstudio.core.evaluation.report import PNG_MAGIC, file_identity



@pytest.mark.parametrize("name", ["confusion", "roc", "pr"])
def test_plots_export_to_png_and_svg(panel, make_binary, tmp_path, name) -> None:
    panel.set_predictions(make_binary())
    png = panel.export_plot(name, tmp_path / f"{name}.png")
    assert png.read_bytes().startswith(PNG_MAGIC)
    svg = panel.export_plot(name, tmp_path / f"{name}.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    with pytest.raises(EvalStudioError, match=r"unknown file type \.gif.*\.png or \.svg"):
        panel.export_plot(name, tmp_path / "x.gif")


def test_metrics_and_per_class_to_csv_and_json(panel, make_binary, tmp_path) -> None:
    pred = make_binary()
    panel.set_predictions(pred, threshold=0.4)
    core = evaluate_predictions(pred, threshold=0.4)
    rows = {r["metric"]: r["value"] for r in csv.DictReader(open(panel.export_metrics(tmp_path / "m.csv")))}
    assert float(rows["accuracy"]) == pytest.approx(core.metrics["accuracy"], rel=1e-12)
    assert set(rows) == set(core.metrics)
    data = json.loads(panel.export_metrics(tmp_path / "m.json").read_text())
    assert data["threshold"] == pytest.approx(0.4) and data["positive_class"] == "diabetic"
    assert data["confusion_matrix"] == core.confusion_matrix.tolist()
    assert data["metrics"]["mcc"] == pytest.approx(core.metrics["mcc"])
    per = list(csv.DictReader(open(panel.export_per_class(tmp_path / "pc.csv"))))
    assert [r["class"] for r in per] == ["healthy", "diabetic"]
    assert int(per[1]["support"]) == core.per_class[1]["support"]
    per_json = json.loads(panel.export_per_class(tmp_path / "pc.json").read_text())
    assert per_json[0]["f1"] == pytest.approx(core.per_class[0]["f1"])
    with pytest.raises(EvalStudioError, match=r"\.csv or \.json"):
        panel.export_metrics(tmp_path / "m.xlsx")


def test_predictions_and_rows_to_csv(panel, make_binary, qtbot, tmp_path) -> None:
    pred = make_binary(n=120)
    panel.set_predictions(pred, threshold=0.45)
    rows = list(csv.DictReader(open(panel.export_predictions(tmp_path / "p.csv"))))
    assert len(rows) == 120
    assert int(rows[0]["Row"]) == pred.row_numbers[0]
    assert rows[0]["Predicted"] == ("diabetic" if pred.y_score[0, 1] >= np.float32(0.45) else "healthy")
    assert float(rows[0]["P(diabetic)"]) == pytest.approx(float(pred.y_score[0, 1]))
    data = json.loads(panel.export_predictions(tmp_path / "p.json").read_text())
    assert len(data) == 120 and data[5]["Actual"] == pred.classes[pred.y_true[5]]
    # the rows of a clicked cell, exported
    panel.confusion.cell_clicked.emit(1, 1)
    out = panel.rows.export_csv(tmp_path / "cell.csv")
    cell = list(csv.DictReader(open(out)))
    assert len(cell) == panel.confusion.matrix[1, 1]
    losses = [float(r["Loss"]) for r in cell]
    assert losses == sorted(losses, reverse=True)


def test_html_report_is_self_contained(panel, make_binary, tmp_path) -> None:
    pred = make_binary()
    data_file = tmp_path / "data.csv"
    data_file.write_text("a,b\n1,0\n")
    panel.set_predictions(pred, title="Held-out evaluation", threshold=0.35)
    out = panel.export_report(tmp_path / "report.html", settings={"device": "cpu"},
                              identity={"data": file_identity(data_file)})
    text = out.read_text(encoding="utf-8")
    core = evaluate_predictions(pred, threshold=0.35)
    assert "Held-out evaluation" in text and "threshold 0.3500" in text
    assert f"{core.metrics['accuracy']:.4f}" in text and f"{core.metrics['roc_auc']:.4f}" in text
    assert text.count('src="data:image/png;base64,') == 3
    assert file_identity(data_file)["sha256"] in text
    assert "http://" not in text and "https://" not in text


def test_export_before_any_evaluation_says_so(panel, tmp_path) -> None:
    with pytest.raises(EvalStudioError, match="no evaluation to export yet"):
        panel.export_metrics(tmp_path / "m.csv")


def test_report_context_hashes_the_files_at_export(panel, make_binary, tmp_path) -> None:
    data_file = tmp_path / "pima.csv"
    model_file = tmp_path / "model.py"
    data_file.write_text("x,y\n1,0\n")
    model_file.write_text("import torch\n")
    panel.set_predictions(make_binary())
    panel.set_report_context(settings={"device": "cpu", "batch size": 65536},
                             files={"data": data_file, "model": model_file, "checkpoint": None})
    data_file.write_text("x,y\n1,1\n")  # changed after the context was set: the report hashes now
    text = panel.export_report(tmp_path / "r.html").read_text(encoding="utf-8")
    assert file_identity(data_file)["sha256"] in text and file_identity(model_file)["sha256"] in text
    assert "65536" in text and "checkpoint" not in text


def test_report_in_the_app_names_the_files_the_window_had_loaded(qtbot, make_binary, tmp_path) -> None:
    """No set_report_context: the panel reads the window's controller when the evaluation is shown."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from evalstudio.gui.evaluation.panel import EvaluationPanel

    data_file, model_file, ckpt = tmp_path / "pima.csv", tmp_path / "model.py", tmp_path / "best.pt"
    for f, text in ((data_file, "x,y\n1,0\n"), (model_file, "import torch\n"), (ckpt, "weights")):
        f.write_text(text)
    window = QWidget()
    window.controller = SimpleNamespace(data_path=str(data_file), model_path=str(model_file),
                                        checkpoint_path=str(ckpt))
    qtbot.addWidget(window)
    panel = EvaluationPanel()
    QVBoxLayout(window).addWidget(panel)
    panel.set_predictions(make_binary(), title="in the app")
    other = tmp_path / "other.csv"
    other.write_text("x,y\n2,1\n")
    window.controller.data_path = str(other)  # opened after the evaluation: not this report's data
    text = panel.export_report(tmp_path / "r.html").read_text(encoding="utf-8")
    for f in (data_file, model_file, ckpt):
        assert file_identity(f)["sha256"] in text
    assert file_identity(other)["sha256"] not in text and "Not recorded" not in text
    # An explicit context wins over the window's files.
    panel.set_report_context(files={"data": other})
    text = panel.export_report(tmp_path / "r2.html").read_text(encoding="utf-8")
    assert file_identity(other)["sha256"] in text and file_identity(model_file)["sha256"] not in text


def test_report_matrix_image_leaves_out_the_clicked_cell_outline(panel, make_binary) -> None:
    from evalstudio.gui.evaluation import export

    panel.set_predictions(make_binary())
    from PySide6.QtGui import QImage

    def orange_pixels(png: bytes) -> int:  # the outline's colour, (230, 120, 0)
        image = QImage.fromData(png)
        return sum(1 for x in range(image.width()) for y in range(0, image.height(), 2)
                   if image.pixelColor(x, y).getRgb()[:3] == (230, 120, 0))

    panel.confusion.select(1, 0)
    assert orange_pixels(export.plot_png_bytes(panel.confusion.plot)) > 50
    assert orange_pixels(panel.report_images()["Confusion matrix"]) == 0
    assert panel.confusion._selection.isVisible()  # the screen keeps it


def test_predictions_export_has_every_row_the_table_shows_and_names_a_bad_file_type(
    panel, make_binary, tmp_path
) -> None:
    """The column-wise export (fast for a million rows) writes exactly the table's values."""
    from evalstudio.core.evaluation.report import per_row_loss

    pred = make_binary(n=200)
    features = np.arange(200 * 3, dtype=np.float32).reshape(200, 3) / 7
    panel.set_predictions(pred, threshold=0.4, features=features, feature_names=("a", "b", "c"))
    rows = list(csv.reader(open(panel.export_predictions(tmp_path / "p.csv"))))
    assert rows[0] == ["Row", "a", "b", "c", "Actual", "Predicted", "P(healthy)", "P(diabetic)", "Loss"]
    loss = per_row_loss(pred)
    for i in (0, 57, 199):
        r = rows[i + 1]
        assert int(r[0]) == pred.row_numbers[i]
        assert [float(v) for v in r[1:4]] == features[i].tolist()  # full precision
        assert r[4] == pred.classes[pred.y_true[i]]
        assert float(r[7]) == float(pred.y_score[i, 1]) and float(r[8]) == loss[i]
    panel.confusion.cell_clicked.emit(0, 1)
    model = panel.rows.model
    assert list(model.iter_rows()) == [model.row_values(r) for r in range(model.rowCount())]
    with pytest.raises(EvalStudioError, match=r"cannot export a table as 'p.txt'.*\.csv or \.json"):
        panel.export_predictions(tmp_path / "p.txt")
