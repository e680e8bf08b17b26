"""Wrong numbers, through the CLI: label outputs, scores that round-trip, non-finite weights, log loss, formulas."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from evalstudio.cli import main
from evalstudio.core.data.csv_write import score_format, spreadsheet_safe


def write_data(path: str, labels: tuple[str, ...] = ("no", "yes"), n: int = 120, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(labels)
    X = rng.normal(size=(n, 4)) + 0.8 * y[:, None]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "d", "label"])
        for row, label in zip(X, y):
            w.writerow([f"{v:.5f}" for v in row] + [labels[label]])


@pytest.fixture()
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_data("data.csv")
    return tmp_path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


LABEL_MODEL = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 1)

    def forward(self, x):
        return {how}
"""


@pytest.mark.parametrize(("how", "what"), [("(self.lin(x) > 0).long()", "int64 values"),
                                           ("self.lin(x) > 0", "True/False values")])
@pytest.mark.parametrize("command", ["evaluate", "train", "kfold"])
def test_a_model_returning_labels_is_refused_with_one_line_everywhere(
    here: Path, capsys: pytest.CaptureFixture[str], how: str, what: str, command: str
) -> None:
    Path("labels.py").write_text(LABEL_MODEL.format(how=how))
    extra = {"evaluate": [], "train": ["--epochs", "1", "--out", "run"], "kfold": ["--epochs", "1", "--folds", "2"]}
    rc = main([command, "--model", "labels.py", "--data", "data.csv", "--device", "cpu", "--quiet",
               *extra[command]])
    assert rc == 2
    line = error_line(capsys)
    assert f"the model returns class labels ({what}), not scores" in line


TINY_MODEL = """
import torch.nn as nn

def build_model(n_features=4, n_classes=2):
    net = nn.Linear(n_features, 1 if n_classes == 2 else n_classes)
    return net
"""


def test_predictions_scores_read_back_exactly_and_agree_with_the_json(here: Path) -> None:
    Path("tiny.py").write_text(TINY_MODEL)
    torch.manual_seed(0)
    weights = {"weight": torch.randn(1, 4) * 1e-5, "bias": torch.zeros(1)}  # every score within 1e-4 of 0.5
    torch.save(weights, "tiny.pt")
    assert main(["evaluate", "--model", "tiny.py", "--checkpoint", "tiny.pt", "--data", "data.csv", "--quiet",
                 "--predictions", "pred.csv", "--json", "out.json"]) == 0
    rows = list(csv.DictReader(open("pred.csv")))
    p_yes = np.array([float(r["p_yes"]) for r in rows])
    actual = np.array([r["actual"] == "yes" for r in rows])
    # The scores the model gives, in float32, are exactly what the file holds.
    X = np.loadtxt("data.csv", delimiter=",", skiprows=1, usecols=range(4), dtype=np.float32)
    with torch.no_grad():
        expected = torch.sigmoid(torch.from_numpy(X) @ weights["weight"].T + weights["bias"]).numpy().ravel()
    np.testing.assert_array_equal(p_yes.astype(np.float32), expected)
    assert len(np.unique(p_yes)) == len(np.unique(expected)) > 100
    # The file's predicted column is its own p >= 0.5, and its numbers are the JSON's.
    predicted = np.array([r["predicted"] == "yes" for r in rows])
    np.testing.assert_array_equal(predicted, p_yes >= 0.5)
    out = json.loads(Path("out.json").read_text())
    assert out["metrics"]["accuracy"] == pytest.approx(float(np.mean(predicted == actual)), abs=1e-12)
    assert out["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(actual, p_yes), abs=1e-12)


def test_kfold_predictions_read_back_exactly(here: Path) -> None:
    Path("tiny.py").write_text(TINY_MODEL)
    assert main(["kfold", "--model", "tiny.py", "--data", "data.csv", "--folds", "2", "--epochs", "1", "--quiet",
                 "--predictions", "oof.csv", "--lr", "1e-6"]) == 0
    text = Path("oof.csv").read_text().splitlines()[1].split(",")[-1]
    assert len(text.replace("0.", "").lstrip("0")) > 6  # more than the 6 significant digits of before
    assert score_format(np.float32) == "%.9g" and score_format(np.float64) == "%.17g"


def test_an_infinite_bias_is_an_error_naming_the_tensor(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("tiny.py").write_text(TINY_MODEL)
    torch.save({"weight": torch.ones(1, 4), "bias": torch.tensor([float("inf")])}, "inf.pt")
    assert main(["evaluate", "--model", "tiny.py", "--checkpoint", "inf.pt", "--data", "data.csv", "--quiet"]) == 2
    line = error_line(capsys)
    assert "the checkpoint's weights are not finite: bias (1 infinite of 1 values)" in line
    torch.save({"weight": torch.full((1, 4), float("nan")), "bias": torch.zeros(1)}, "nan.pt")
    assert main(["train", "--model", "tiny.py", "--checkpoint", "nan.pt", "--data", "data.csv", "--quiet",
                 "--epochs", "1", "--out", "run"]) == 2
    assert "weight (4 NaN of 4 values)" in error_line(capsys)


def test_multiclass_log_loss_equals_sklearn_on_the_exported_probabilities(here: Path) -> None:
    write_data("three.csv", labels=("a", "b", "c"), n=150)
    Path("tiny.py").write_text(TINY_MODEL)
    torch.manual_seed(1)
    torch.save({"weight": torch.randn(3, 4) * 40, "bias": torch.zeros(3)}, "sharp.pt")  # confident, often wrong
    assert main(["evaluate", "--model", "tiny.py", "--checkpoint", "sharp.pt", "--data", "three.csv", "--quiet",
                 "--predictions", "pred.csv", "--json", "out.json"]) == 0
    rows = list(csv.DictReader(open("pred.csv")))
    proba = np.array([[float(r[f"p_{c}"]) for c in "abc"] for r in rows])
    y = np.array(["abc".index(r["actual"]) for r in rows])
    assert (proba[np.arange(len(y)), y] < 1e-7).sum() > 5  # rows where float32 clipping used to differ
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = skm.log_loss(y, proba, labels=[0, 1, 2])
    assert json.loads(Path("out.json").read_text())["metrics"]["log_loss"] == pytest.approx(reference, rel=1e-7)


def test_labels_that_spreadsheets_would_run_are_neutralised_in_exports(here: Path) -> None:
    write_data("formula.csv", labels=("=2+3", "@SUM(A1)"))
    Path("tiny.py").write_text(TINY_MODEL)
    assert main(["evaluate", "--model", "tiny.py", "--data", "formula.csv", "--quiet", "--predictions", "p.csv"]) == 0
    assert main(["kfold", "--model", "tiny.py", "--data", "formula.csv", "--folds", "2", "--epochs", "1", "--quiet",
                 "--predictions", "oof.csv"]) == 0
    for name in ("p.csv", "oof.csv"):
        rows = list(csv.reader(open(name)))
        cells = {c for r in rows[1:] for c in (r[1], r[2])} | {c for r in rows[1:] for c in (r[2], r[3])}
        assert {"'=2+3", "'@SUM(A1)"} <= cells, (name, rows[:3])
        assert not any(c.startswith(("=", "@")) for r in rows for c in r), name
        assert "p_'=2+3" not in rows[0]  # the header's class names are behind "p_" already


@pytest.mark.parametrize(("cell", "safe"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+cmd", "'+cmd"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("-1", "-1"), ("+3.5", "+3.5"), ("-2e-3", "-2e-3"), ("yes", "yes"), (-1.5, -1.5), (3, 3),
])
def test_spreadsheet_safe(cell: object, safe: object) -> None:
    assert spreadsheet_safe(cell) == safe
