"""`evalstudio train` and `evalstudio kfold`: JSON shapes, checkpoints, resume, progress, one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from evalstudio.cli import main
from evalstudio.commands.train import ProgressPrinter
from evalstudio.core.training.results import EpochMetrics

MODEL = """
import torch.nn as nn

def build_model(n_features=4):
    return nn.Sequential(nn.Linear(n_features, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 1))
"""
TUTORIAL_DATA = Path(__file__).resolve().parents[1] / "resources" / "demo" / "pima-indians-diabetes.csv"
TUTORIAL_MODEL = Path(__file__).resolve().parents[1] / "resources" / "demo" / "pima_model.py"


@pytest.fixture()
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    y = np.arange(80) % 2
    X = rng.normal(size=(80, 4)) + 1.5 * y[:, None]
    with open("data.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "d", "label"])
        for row, label in zip(X, y):
            w.writerow([f"{v:.5f}" for v in row] + [["no", "yes"][label]])
    Path("model.py").write_text(MODEL)
    return {"data": "data.csv", "model": "model.py"}


def run_cli(*argv: str) -> int:
    return main(list(argv))


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def strip_seconds(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_train_json_shape_and_checkpoints(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    rc = run_cli("train", "--model", files["model"], "--data", files["data"], "--epochs", "3", "--batch-size", "16",
                 "--device", "cpu", "--out", "run", "--json", "out.json", "--checkpoint-every", "2", "--quiet")
    assert rc == 0 and capsys.readouterr().out == ""
    out = json.loads(Path("out.json").read_text())
    assert len(out["history"]) == 3
    for h in out["history"]:
        assert {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"} <= set(h)
    assert out["best_epoch"] in (1, 2, 3)
    assert out["best_checkpoint"] == str(Path("run") / "best.pt") and out["last_checkpoint"] == str(Path("run") / "last.pt")
    assert Path(out["best_checkpoint"]).is_file() and Path("run/epoch_0002.pt").is_file()
    assert {"accuracy", "roc_auc", "f1", "log_loss"} <= set(out["metrics"])
    best_val_loss = out["history"][out["best_epoch"] - 1]["val_loss"]
    assert out["metrics"]["log_loss"] == pytest.approx(best_val_loss, rel=1e-4)
    assert out["classes"] == ["no", "yes"] and out["config"]["epochs"] == 3
    assert out["metrics_epoch"] == out["best_epoch"]


def test_train_prints_a_summary(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("train", "--model", files["model"], "--data", files["data"], "--epochs", "2", "--device", "cpu",
                   "--out", "run") == 0
    out = capsys.readouterr().out
    assert "trained 2 epochs" in out and "best epoch" in out and "confusion matrix" in out
    assert "validation (best model, epoch " in out


def test_resume_through_the_cli_equals_one_run(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    common = ("--model", files["model"], "--data", files["data"], "--device", "cpu", "--batch-size", "16", "--quiet",
              "--lr-schedule", "step")
    assert run_cli("train", *common, "--epochs", "4", "--out", "full", "--json", "full.json") == 0
    assert run_cli("train", *common, "--epochs", "2", "--out", "part") == 0
    assert run_cli("train", *common, "--epochs", "4", "--resume", "part/last.pt", "--json", "resumed.json") == 0
    full = json.loads(Path("full.json").read_text())
    resumed = json.loads(Path("resumed.json").read_text())
    assert strip_seconds(resumed["history"]) == strip_seconds(full["history"])
    assert resumed["last_checkpoint"] == str(Path("part") / "last.pt")


def test_kfold_json_shape_and_predictions(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    rc = run_cli("kfold", "--model", files["model"], "--data", files["data"], "--folds", "4", "--epochs", "2",
                 "--device", "cpu", "--json", "cv.json", "--predictions", "oof.csv")
    assert rc == 0
    text = capsys.readouterr().out
    assert "4-fold stratified cross-validation" in text and "accuracy:" in text and "(+/-" in text
    assert "batches reshuffled every epoch" in text
    out = json.loads(Path("cv.json").read_text())
    assert [f["fold"] for f in out["folds"]] == [1, 2, 3, 4]
    for f in out["folds"]:
        assert {"fold", "n_train", "n_test", "metrics", "confusion_matrix", "history"} <= set(f)
        assert f["n_train"] + f["n_test"] == 80 and len(f["history"]) == 2
        assert np.asarray(f["confusion_matrix"]).shape == (2, 2) and np.sum(f["confusion_matrix"]) == f["n_test"]
    accs = [f["metrics"]["accuracy"] for f in out["folds"]]
    assert out["summary"]["accuracy"]["mean"] == pytest.approx(np.mean(accs))
    assert out["summary"]["accuracy"]["std"] == pytest.approx(np.std(accs, ddof=0))
    assert set(out["pooled"]) >= {"metrics", "confusion_matrix"} and np.sum(out["pooled"]["confusion_matrix"]) == 80
    rows = list(csv.DictReader(Path("oof.csv").open()))
    assert len(rows) == 80 and [r["row"] for r in rows] == [str(i) for i in range(1, 81)]
    assert sorted({r["fold"] for r in rows}) == ["1", "2", "3", "4"] and {r["actual"] for r in rows} == {"no", "yes"}
    assert set(rows[0]) == {"row", "fold", "actual", "predicted", "p_no", "p_yes"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("train", "--val-fraction", "1.5"), "--val-fraction is 1.5"),
        (("train", "--lr", "-1"), "--lr is -1.0"),
        (("train", "--monitor", "val_auc"), "unknown metric to monitor: 'val_auc'"),
        (("train", "--resume", "model.py", "--epochs", "3"), "not an evalstudio training checkpoint"),
        (("train", "--resume", "missing.pt", "--epochs", "3"), "does not exist"),
        (("kfold", "--folds", "1"), "--folds is 1"),
        (("kfold", "--folds", "50"), "fewer than the 50 folds"),
        (("kfold", "--positive-class", "maybe"), "positive class 'maybe' is not one of the classes"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    command, *rest = argv
    rc = run_cli(command, "--model", files["model"], "--data", files["data"], "--epochs", "1", "--device", "cpu",
                 "--quiet", *rest)
    assert rc == 2
    assert message in one_error_line(capsys)


def test_resume_needs_the_new_total(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("train", "--model", files["model"], "--data", files["data"], "--epochs", "1", "--device", "cpu",
                   "--out", "r", "--quiet") == 0
    rc = run_cli("train", "--model", files["model"], "--data", files["data"], "--resume", "r/last.pt", "--quiet")
    assert rc == 2 and "--resume needs --epochs: the new total" in one_error_line(capsys)


def test_progress_shows_epoch_fold_and_eta() -> None:
    from evalstudio.core.training.callbacks import RunInfo
    from evalstudio.core.training.config import TrainConfig

    stream = io.StringIO()
    p = ProgressPrinter(stream, after=0.0, every=0.0)
    p.on_fold_start(2, 5)
    p.on_train_start(RunInfo(TrainConfig(epochs=10), 1, 50, 0, 4, "cpu", "logit", "train_eval_loss"))
    p.on_epoch_end(EpochMetrics(3, 1e-3, 0.5, 0.75, 0.49, None, None, 0.1))
    line = stream.getvalue()
    assert line.startswith("fold 2/5 epoch 3/10") and "loss 0.5000" in line and "ETA " in line
    quiet = io.StringIO()
    slow = ProgressPrinter(quiet, after=3600.0)  # a short run prints nothing
    slow.on_train_start(RunInfo(TrainConfig(epochs=10), 1, 50, 0, 4, "cpu", "logit", "val_loss"))
    slow.on_epoch_end(EpochMetrics(10, 1e-3, 0.5, 0.75, 0.49, 0.5, 0.7, 0.1))
    assert quiet.getvalue() == ""


def test_eta_leaves_out_the_time_spent_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen in a real run: 'fold 1/5 epoch 1/25 ... ETA 8:04' for a run that took 15 s, because
    the clock started before torch was imported and the CSV read."""
    from evalstudio.commands import train as train_cmd
    from evalstudio.core.training.callbacks import RunInfo
    from evalstudio.core.training.config import TrainConfig

    clock = [100.0]
    monkeypatch.setattr(train_cmd.time, "perf_counter", lambda: clock[0])
    stream = io.StringIO()
    p = ProgressPrinter(stream, after=3.0, every=0.0)
    clock[0] += 5.0  # imports, reading the data, building the model
    p.on_fold_start(1, 5)
    p.on_train_start(RunInfo(TrainConfig(epochs=10), 1, 50, 0, 4, "cpu", "probability", "train_eval_loss"))
    clock[0] += 0.1  # one epoch
    p.on_epoch_end(EpochMetrics(1, 1e-3, 0.5, 0.75, 0.49, None, None, 0.1))
    # 49 epochs to go at 0.1 s each: about 5 s, not 49 x 5.1 s
    assert stream.getvalue().rstrip().endswith("ETA 0:04"), stream.getvalue()


@pytest.mark.slow
@pytest.mark.skipif(not TUTORIAL_MODEL.is_file(), reason="the demo model file is missing")
@pytest.mark.parametrize("batches", [(), ("--no-shuffle", "--drop-last")], ids=["shuffled", "tutorial-order"])
def test_first_tutorial_protocol_lands_in_its_reported_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], batches: tuple[str, ...]
) -> None:
    """8-12-8-1 + Sigmoid, BCELoss, Adam 1e-4, 25 epochs, batch 10, raw features, 5 stratified folds:
    the tutorial reports about 64 % +/- 3 % (its runs: 65.62 +/- 1.32, 66.67 +/- 3.76). Its loop walks
    the training rows in order and drops the last partial batch: --no-shuffle --drop-last."""
    out = tmp_path / "cv.json"
    rc = run_cli("kfold", "--model", str(TUTORIAL_MODEL), "--data", str(TUTORIAL_DATA), "--folds", "5", "--epochs", "25",
                 "--batch-size", "10", "--lr", "1e-4", "--optimizer", "adam", "--no-standardize", "--device", "cpu",
                 "--seed", "0", "--json", str(out), "--quiet", *batches)
    assert rc == 0
    acc = json.loads(out.read_text())["summary"]["accuracy"]
    assert 0.62 <= acc["mean"] <= 0.68 and 0.005 <= acc["std"] <= 0.05


def test_fine_tune_starts_from_the_checkpoint_weights(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    common = ("--model", files["model"], "--data", files["data"], "--device", "cpu", "--quiet")
    assert run_cli("train", *common, "--epochs", "5", "--lr", "0.01", "--out", "a", "--json", "a.json") == 0
    first = json.loads(Path("a.json").read_text())
    # A vanishing learning rate: epoch 1 of the fine-tune scores what the checkpoint scored.
    assert run_cli("train", *common, "--checkpoint", "a/last.pt", "--epochs", "1", "--lr", "1e-12",
                   "--out", "b", "--json", "b.json") == 0
    tuned = json.loads(Path("b.json").read_text())
    assert tuned["history"][0]["val_loss"] == pytest.approx(first["history"][-1]["val_loss"], rel=1e-6)
    assert run_cli("train", *common, "--epochs", "1", "--lr", "1e-12", "--out", "c", "--json", "c.json") == 0
    fresh = json.loads(Path("c.json").read_text())
    assert fresh["history"][0]["val_loss"] != pytest.approx(first["history"][-1]["val_loss"], rel=1e-3)


def test_fine_tune_keeps_the_checkpoints_scaler(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """New data on another scale: the starting weights keep seeing inputs scaled as they learned them."""
    import pandas as pd

    common = ("--model", files["model"], "--device", "cpu", "--quiet")
    assert run_cli("train", *common, "--data", files["data"], "--epochs", "2", "--out", "a") == 0
    frame = pd.read_csv(files["data"])
    features = [c for c in frame.columns if c != frame.columns[-1]]
    frame[features] = frame[features] * 3.0 + 7.0
    frame.to_csv("shifted.csv", index=False)
    assert run_cli("train", *common, "--data", "shifted.csv", "--checkpoint", "a/last.pt", "--epochs", "1",
                   "--out", "b", "--json", "b.json") == 0
    a = torch.load("a/last.pt", weights_only=True)["preprocessing"]
    b = torch.load("b/last.pt", weights_only=True)["preprocessing"]
    assert torch.equal(a["mean"], b["mean"]) and torch.equal(a["scale"], b["scale"])
    assert any("standardisation reused from the starting checkpoint" in n for n in json.loads(Path("b.json").read_text())["notes"])
    # Without a starting checkpoint the scaler is fitted on the new training rows.
    assert run_cli("train", *common, "--data", "shifted.csv", "--epochs", "1", "--out", "c") == 0
    c = torch.load("c/last.pt", weights_only=True)["preprocessing"]
    assert not torch.allclose(a["mean"], c["mean"])


def test_val_data_and_early_stopping(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    lines = Path(files["data"]).read_text().splitlines()
    Path("val.csv").write_text("\n".join(lines[:1] + lines[1:21]) + "\n")
    rc = run_cli("train", "--model", files["model"], "--data", files["data"], "--val-data", "val.csv", "--epochs", "40",
                 "--early-stopping", "2", "--min-delta", "5", "--device", "cpu", "--out", "r", "--json", "o.json", "--quiet")
    assert rc == 0
    out = json.loads(Path("o.json").read_text())
    assert len(out["history"]) == 3 and out["stopped_early"] and "best at epoch 1" in out["stop_reason"]
    # min_delta decides when to stop; best.pt is still the lowest val_loss of the run.
    losses = [h["val_loss"] for h in out["history"]]
    assert out["best_epoch"] == int(np.argmin(losses)) + 1 and out["best_score"] == min(losses)
    assert torch.load("r/best.pt", weights_only=True)["epoch"] == out["best_epoch"]
    assert out["config"]["early_stopping"] == 2


def test_val_fraction_and_val_data_are_exclusive(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli("train", "--model", files["model"], "--data", files["data"], "--val-fraction", "0.2", "--val-data", "x.csv")
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_batch_order_flags_reach_the_run(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    common = ("--model", files["model"], "--data", files["data"], "--epochs", "2", "--batch-size", "16",
              "--device", "cpu", "--quiet")
    assert run_cli("kfold", *common[:-1], "--folds", "2", "--no-shuffle", "--drop-last", "--json", "k.json") == 0
    assert "batches in row order (last partial batch dropped)" in capsys.readouterr().out
    assert {k: json.loads(Path("k.json").read_text())["config"][k] for k in ("shuffle", "drop_last")} == \
        {"shuffle": False, "drop_last": True}
    assert run_cli("train", *common, "--out", "r", "--json", "t.json") == 0
    cfg = json.loads(Path("t.json").read_text())["config"]
    assert cfg["shuffle"] is True and cfg["drop_last"] is False
    with pytest.raises(SystemExit):
        run_cli("train", *common, "--shuffle", "--no-shuffle")
    assert "not allowed with argument --shuffle" in capsys.readouterr().err


def test_kfold_starts_every_fold_from_the_checkpoint(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """With --checkpoint and a vanishing learning rate each fold's model still holds the
    checkpoint's weights: the pooled out-of-fold scores are the checkpoint's own (raw features,
    so no per-fold scaler changes the inputs)."""
    common = ("--model", files["model"], "--data", files["data"], "--device", "cpu", "--no-standardize", "--quiet")
    assert run_cli("train", *common, "--epochs", "5", "--lr", "0.05", "--out", "a") == 0
    assert run_cli("evaluate", "--model", files["model"], "--checkpoint", "a/last.pt", "--data", files["data"],
                   "--device", "cpu", "--predictions", "ckpt.csv", "--include-training-rows", "--quiet") == 0
    assert run_cli("kfold", *common, "--checkpoint", "a/last.pt", "--epochs", "1", "--lr", "1e-12", "--folds", "3",
                   "--weight-decay", "0", "--lr-schedule", "cosine", "--predictions", "tuned.csv", "--json", "k.json") == 0
    assert run_cli("kfold", *common, "--epochs", "1", "--lr", "1e-12", "--folds", "3", "--predictions", "fresh.csv") == 0

    def p_yes(path: str) -> np.ndarray:
        return np.array([float(r["p_yes"]) for r in csv.DictReader(Path(path).open())])

    np.testing.assert_allclose(p_yes("tuned.csv"), p_yes("ckpt.csv"), rtol=1e-4, atol=1e-6)
    assert not np.allclose(p_yes("fresh.csv"), p_yes("ckpt.csv"), atol=1e-3)
    assert json.loads(Path("k.json").read_text())["config"]["lr_schedule"] == "cosine"
    # a.last.pt was trained on 64 of these 80 rows: the folds' held-out rows include them, and k-fold says so
    assert any("trained on 64 of these 80 rows" in n and "optimistic" in n
               for n in json.loads(Path("k.json").read_text())["notes"])
