"""The ``--self-test`` job that checks an installed or frozen evalstudio (fast: the default suite)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from evalstudio import selftest
from evalstudio.resources import resource_path

REPO = Path(__file__).resolve().parents[2]


def _printed_metrics(line: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"(\w+)=(-?[0-9.]+)", line.split(":", 1)[1])}


def test_self_test_trains_evaluates_and_prints_metrics_that_match_sklearn() -> None:
    lines: list[str] = []
    result = selftest.run_self_test(out=lines.append)

    assert [h.epoch for h in result.train.history] == [1, 2]
    assert all(np.isfinite(h.train_loss) and np.isfinite(h.val_loss) for h in result.train.history)
    pred = result.outcome.predictions
    # The run trained on 614 rows of the bundled Pima CSV; evaluation leaves them out and scores the
    # 154 validation rows.
    assert pred.y_score.shape == (154, 2)
    assert result.outcome.leakage.training_rows == 614 and result.outcome.leakage.validation_rows == 154
    assert "rows: 614 of 768 rows trained this checkpoint and are left out; scoring the other 154" in lines
    y_true, p1 = pred.y_true, pred.y_score[:, 1]

    metric_line = next(line for line in lines if line.startswith("metrics (trained checkpoint"))
    shown = _printed_metrics(metric_line)
    assert shown["accuracy"] == pytest.approx(accuracy_score(y_true, (p1 >= 0.5).astype(int)), abs=5e-5)
    assert shown["roc_auc"] == pytest.approx(roc_auc_score(y_true, p1), abs=5e-5)
    assert shown["log_loss"] == pytest.approx(log_loss(y_true, pred.y_score, labels=[0, 1]), abs=5e-5)
    # Two epochs of the tutorial's model already rank better than chance on the demo data.
    assert shown["roc_auc"] > 0.55
    assert result.qt_checked and any(line.startswith("qt: pyqtgraph drew") for line in lines)
    assert lines[-1].startswith("self-test passed in ")


def _fake_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, model_text: str | None) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    shutil.copy(resource_path("demo", selftest.DEMO_CSV), demo / selftest.DEMO_CSV)
    if model_text is not None:
        (demo / selftest.DEMO_MODEL).write_text(model_text)
    monkeypatch.setattr("evalstudio.resources.resource_path", lambda *parts: tmp_path.joinpath(*parts))


def test_missing_demo_file_fails_with_one_line_naming_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_resources(tmp_path, monkeypatch, model_text=None)

    assert selftest.main(["--no-qt"]) == 1

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("self-test failed at resources: ")
    assert selftest.DEMO_MODEL in err[0] and "reinstall evalstudio" in err[0]


def test_broken_model_fails_with_one_line_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_resources(tmp_path, monkeypatch, model_text="import torch.nn as nn\nmodel = nn.Linear(8, 1\n")

    assert selftest.main(["--no-qt"]) == 1

    out = capsys.readouterr()
    err = out.err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in out.err + out.out
    assert err[0].startswith("self-test failed at load model: ")
    assert selftest.DEMO_MODEL in err[0]
    assert "data: 768 rows, 8 features" in out.out  # the steps before it ran and said so


def test_app_command_line_runs_the_self_test_offscreen() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "", "PYTHONPATH": str(REPO)}
    env.pop("DISPLAY", None)  # no display: the self-test must choose offscreen itself
    proc = subprocess.run(
        [sys.executable, "-m", "evalstudio", "--self-test"], capture_output=True, text=True, env=env,
        cwd=REPO, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "metrics (trained checkpoint, 154 rows" in proc.stdout
    assert "on the 'offscreen' platform" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("self-test passed")
