"""The CLI on tables people have: column flags, the JSON ``features`` block, labels written differently."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from evalstudio.cli import main
from tests.tables import adult_like, churn_like

MODEL = """
import torch.nn as nn

def build_model(n_features, n_classes=2):
    return nn.Sequential(nn.Linear(n_features, 8), nn.ReLU(), nn.Linear(8, n_classes))
"""
FAST = ["--epochs", "3", "--batch-size", "32", "--device", "cpu", "--quiet"]


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("model.py").write_text(MODEL)
    return tmp_path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_train_writes_the_features_block_and_evaluate_applies_the_encoding(workdir: Path) -> None:
    churn_like(workdir / "churn.csv", n=300)
    assert main(["train", "--model", "model.py", "--data", "churn.csv", "--out", "run", "--json", "train.json",
                 *FAST]) == 0
    f = json.loads(Path("train.json").read_text())["features"]
    cols = {c["name"]: c for c in f["columns"]}
    assert "Churn" not in cols  # the target is not listed
    assert cols["customerID"] == {"name": "customerID", "kind": "ignored", "reason": "one value per row"}
    contract = cols["Contract"]
    assert contract["kind"] == "categorical" and contract["categories"] == ["Month-to-month", "One year", "Two year"]
    assert contract["missing"] == 0 and contract["unseen"] == 0
    assert cols["TotalCharges"]["kind"] == "numeric" and cols["TotalCharges"]["missing"] == 7
    assert "TotalCharges (missing)" in f["inputs"] and "Contract=Two year" in f["inputs"]
    assert f["input_width"] == len(f["inputs"])
    saved = torch.load("run/best.pt", weights_only=True)
    assert saved["encoding"]["inputs"] == f["inputs"]

    # The same rows, columns in another order plus one more: the same evaluation.
    rows = list(csv.reader(Path("churn.csv").read_text().splitlines()))
    with open("shuffled.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        for k, r in enumerate(rows):
            w.writerow(r[::-1] + (["note"] if k == 0 else ["x"]))
    for name in ("churn.csv", "shuffled.csv"):
        assert main(["evaluate", "--model", "model.py", "--checkpoint", "run/best.pt", "--data", name,
                     "--json", f"{name}.json", "--quiet"]) == 0
    a, b = (json.loads(Path(f"{n}.json").read_text()) for n in ("churn.csv", "shuffled.csv"))
    assert a["metrics"] == b["metrics"]
    assert b["features"]["input_width"] == f["input_width"]
    assert {c["name"]: c["kind"] for c in b["features"]["columns"]} == {c["name"]: c["kind"] for c in f["columns"]}


@pytest.mark.parametrize(("flags", "words"), [
    (["--numeric", "Contract"], ["--numeric Contract", "holds text, such as"]),
    (["--ignore", "nosuch"], ["--ignore nosuch", "no column 'nosuch'"]),
    (["--features", "tenure,Nope"], ["--features Nope", "no column 'Nope'"]),
    (["--min-category-count", "0"], ["--min-category-count is 0"]),
])
def test_bad_column_flags_exit_2_with_one_line(workdir: Path, capsys: pytest.CaptureFixture[str],
                                               flags: list[str], words: list[str]) -> None:
    churn_like(workdir / "churn.csv", n=60)
    for command in ("train", "kfold"):
        assert main([command, "--model", "model.py", "--data", "churn.csv", *flags, *FAST]) == 2
        line = one_error_line(capsys)
        for w in words:
            assert w in line


def test_column_flags_take_lists_and_repeat(workdir: Path) -> None:
    churn_like(workdir / "churn.csv", n=120)
    assert main(["train", "--model", "model.py", "--data", "churn.csv", "--ignore", "tenure,gender",
                 "--ignore", "Partner", "--categorical", "Senior", "--min-category-count", "1",
                 "--json", "t.json", "--out", "run", *FAST]) == 0
    cols = {c["name"]: c for c in json.loads(Path("t.json").read_text())["features"]["columns"]}
    assert [cols[n]["kind"] for n in ("tenure", "gender", "Partner")] == ["ignored"] * 3
    assert cols["tenure"]["reason"] == "--ignore"
    assert cols["Senior"]["kind"] == "categorical" and cols["Senior"]["categories"] == ["0", "1"]


def test_kfold_reports_features_and_unseen_per_fold(workdir: Path) -> None:
    churn_like(workdir / "churn.csv", n=150)
    assert main(["kfold", "--model", "model.py", "--data", "churn.csv", "--folds", "3", "--json", "cv.json",
                 *FAST]) == 0
    out = json.loads(Path("cv.json").read_text())
    f = out["features"]
    assert f["input_width"] == len(f["inputs"])
    assert {c["name"] for c in f["columns"] if c["kind"] == "ignored"} == {"customerID", "Country"}
    assert all("unseen" in fold for fold in out["folds"])


def test_held_out_labels_written_differently_are_refused(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The adult test file writes '>50K.' where the training file writes '>50K': no guessing."""
    adult_like(workdir / "adult.csv", n=200)
    test = adult_like(workdir / "adult-test.csv", n=50, seed=1, test_file=True)
    test.write_text("|1x3 Cross validator\n" + test.read_text())  # the test file's first line, as published
    assert main(["train", "--model", "model.py", "--data", "adult.csv", "--out", "run", *FAST]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", "model.py", "--checkpoint", "run/best.pt", "--data", "adult-test.csv",
                 "--quiet"]) == 2
    line = one_error_line(capsys)
    assert "'>50K.'" in line and "is not one of the classes (<=50K, >50K)" in line
    assert "'>50K.' for '>50K'" in line and "line 2." in line  # row 1 is the line below the title
    # written as the training file writes them, the same file evaluates
    Path("adult-fixed.csv").write_text(Path("adult-test.csv").read_text().replace("K.\n", "K\n"))
    assert main(["evaluate", "--model", "model.py", "--checkpoint", "run/best.pt", "--data", "adult-fixed.csv",
                 "--quiet"]) == 0
