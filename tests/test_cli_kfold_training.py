"""`evalstudio kfold --fold-training`: folds trained together by default when the model allows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalstudio.cli import main
from evalstudio.resources import resource_path

DEMO = resource_path("demo")


def run_kfold(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / f"kf{len(list(tmp_path.iterdir()))}.json"
    code = main(["kfold", "--model", str(DEMO / "pima_model.py"), "--data", str(DEMO / "pima-indians-diabetes.csv"),
                 "--folds", "3", "--epochs", "3", "--batch-size", "64", "--device", "cpu", "--quiet",
                 "--json", str(out), *extra])
    assert code == 0
    return json.loads(out.read_text())


def test_auto_stacks_and_matches_sequential(tmp_path: Path) -> None:
    auto = run_kfold(tmp_path)
    seq = run_kfold(tmp_path, "--fold-training", "sequential")
    assert auto["config"]["fold_training"].startswith("stacked")
    assert seq["config"]["fold_training"].startswith("sequential")
    for fa, fs in zip(auto["folds"], seq["folds"]):
        assert fa["n_test"] == fs["n_test"]
        assert fa["metrics"]["log_loss"] == pytest.approx(fs["metrics"]["log_loss"], abs=1e-4)
    assert auto["summary"]["accuracy"]["mean"] == pytest.approx(seq["summary"]["accuracy"]["mean"], abs=0.01)


def test_stacked_with_in_order_batches_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["kfold", "--model", str(DEMO / "pima_model.py"), "--data", str(DEMO / "pima-indians-diabetes.csv"),
                 "--folds", "3", "--epochs", "1", "--quiet", "--fold-training", "stacked", "--no-shuffle"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: the folds cannot be trained stacked") and err.count("\n") == 1
