"""Intervals, calibration and temperature through the CLI: evaluate, kfold, calibrate, train --calibrate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from evalstudio.cli import main
from evalstudio.resources import resource_path

DEMO = resource_path("demo")
INTERVAL = {"method": "stratified bootstrap (percentile)", "confidence": 0.95, "resamples": 1000, "seed": 0}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _pima(*extra: str) -> list[str]:
    return ["--model", str(DEMO / "pima_model.py"), "--checkpoint", str(DEMO / "pima_checkpoint.pt"),
            "--data", str(DEMO / "pima-holdout.csv"), "--device", "cpu", *extra]


@pytest.mark.parametrize("demo", ["pima", "wine"])
def test_every_metric_has_an_interval_in_the_table_and_the_json(
    demo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    js = tmp_path / "out.json"
    code, out, err = run_cli(capsys, "evaluate", "--demo", demo, "--json", str(js), "--device", "cpu")
    assert code == 0, err
    data = json.loads(js.read_text())
    assert set(data["intervals"]) == set(data["metrics"])
    for key, value in data["metrics"].items():
        lo, hi = data["intervals"][key]["low"], data["intervals"][key]["high"]
        assert lo <= hi, key
        assert lo - 1e-9 <= value <= hi + 1e-9 or key == "log_loss", key
    assert data["interval"] == INTERVAL
    acc = data["metrics"]["accuracy"]
    lo, hi = data["intervals"]["accuracy"]["low"], data["intervals"]["accuracy"]["high"]
    assert re.search(rf"^accuracy +{acc:.4f} \[{lo:.4f}, {hi:.4f}\]$", out, re.M), out
    cal = data["calibration"]
    assert len(cal["bins"]) == 10 and sum(b["count"] for b in cal["bins"]) == data["n_samples"]
    assert set(cal["bins"][0]) == {"low", "high", "count", "mean_predicted", "fraction_positive"}
    assert 0 <= cal["ece"] <= 1 and 0 <= cal["brier"] <= 2
    assert data["temperature"] is None
    # seeded: a rerun gives identical numbers
    js2 = tmp_path / "again.json"
    assert run_cli(capsys, "evaluate", "--demo", demo, "--json", str(js2), "--device", "cpu")[0] == 0
    assert json.loads(js2.read_text())["intervals"] == data["intervals"]


def test_interval_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    js = tmp_path / "out.json"
    code, out, err = run_cli(capsys, "evaluate", "--demo", "--json", str(js), "--resamples", "300",
                             "--confidence", "0.8", "--interval-seed", "7", "--calibration-bins", "4")
    assert code == 0, err
    data = json.loads(js.read_text())
    assert data["interval"] == {**INTERVAL, "confidence": 0.8, "resamples": 300, "seed": 7}
    assert len(data["calibration"]["bins"]) == 4
    assert "80% intervals" in out
    code, out, err = run_cli(capsys, "evaluate", "--demo", "--json", str(js), "--no-intervals")
    assert code == 0, err
    assert "intervals" not in json.loads(js.read_text()) and "[" not in out.split("metric")[1].split("\n")[1]
    for flags, word in ((["--confidence", "1.5"], "confidence"), (["--resamples", "1"], "resamples"),
                        (["--calibration-bins", "0"], "calibration-bins")):
        code, out, err = run_cli(capsys, "evaluate", "--demo", *flags)
        assert code == 2 and err.startswith("error:") and word in err and len(err.strip().splitlines()) == 1


def test_evaluate_runs_the_bootstrap_in_worker_processes_with_the_same_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalstudio.commands import evaluate
    from evalstudio.core.evaluation import bootstrap

    if not bootstrap.fork_is_safe():
        pytest.skip("worker processes are forked on Linux only")
    forked: list[int] = []
    real = bootstrap._run_in_processes

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        left = real(*args, **kwargs)
        forked.append(len(args[2]) - len(left))
        return left

    monkeypatch.setattr(bootstrap, "_run_in_processes", spy)
    results = []
    for threads in (2, 1):  # 2500 resamples of the demo's rows: three blocks
        monkeypatch.setattr(evaluate, "interval_threads", lambda threads=threads: threads)
        js = tmp_path / f"out{threads}.json"
        code, out, err = run_cli(capsys, "evaluate", "--demo", "--json", str(js), "--resamples", "2500")
        assert code == 0, err
        results.append(json.loads(js.read_text()))
    assert forked == [3]  # two workers ran all three blocks; one thread forks nothing
    assert results[0]["intervals"] == results[1]["intervals"]
    assert results[0]["interval"]["resamples"] == 2500


def test_calibrate_writes_a_checkpoint_that_evaluate_applies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new, js, ev = tmp_path / "calibrated.pt", tmp_path / "cal.json", tmp_path / "ev.json"
    code, out, err = run_cli(capsys, "calibrate", *_pima("--out", str(new), "--json", str(js)))
    assert code == 0, err
    cal = json.loads(js.read_text())
    assert set(cal) >= {"temperature", "n_samples", "before", "after"}
    assert set(cal["before"]) == set(cal["after"]) == {"log_loss", "brier", "ece"}
    assert cal["n_samples"] == 154 and cal["after"]["log_loss"] <= cal["before"]["log_loss"]
    assert f"T = {cal['temperature']:.4f}" in out
    # the calibrated checkpoint: plain data, the original's weights and standardisation, plus T
    original = torch.load(DEMO / "pima_checkpoint.pt", weights_only=True)
    written = torch.load(new, weights_only=True)
    assert written["format_version"] == 2
    assert written["temperature"]["value"] == pytest.approx(cal["temperature"])
    assert written["temperature"]["fitted_on"] == "pima-holdout.csv"
    assert set(written["preprocessing"]) == set(original["preprocessing"])
    for key, value in original["preprocessing"].items():
        assert torch.equal(written["preprocessing"][key], value) if torch.is_tensor(value) else \
            written["preprocessing"][key] == value, key
    assert written["classes"] == original["classes"] and written["feature_names"] == original["feature_names"]
    for k, v in original["model_state_dict"].items():
        assert torch.equal(written["model_state_dict"][k], v)
    # evaluate applies it and says so: same decisions, the log loss calibrate reported
    code, out, err = run_cli(capsys, "evaluate", "--model", str(DEMO / "pima_model.py"), "--checkpoint", str(new),
                             "--data", str(DEMO / "pima-holdout.csv"), "--json", str(ev), "--no-intervals")
    assert code == 0, err
    data = json.loads(ev.read_text())
    assert data["temperature"]["value"] == pytest.approx(cal["temperature"])
    assert "temperature" in out and "applied" in out
    assert data["metrics"]["log_loss"] == pytest.approx(cal["after"]["log_loss"], abs=1e-9)
    assert data["calibration"]["ece"] == pytest.approx(cal["after"]["ece"], abs=1e-9)
    raw = tmp_path / "raw.json"
    assert run_cli(capsys, "evaluate", *_pima("--json", str(raw), "--no-intervals"))[0] == 0
    raw_data = json.loads(raw.read_text())
    assert raw_data["confusion_matrix"] == data["confusion_matrix"]
    assert raw_data["metrics"]["roc_auc"] == pytest.approx(data["metrics"]["roc_auc"], abs=1e-9)
    # --no-temperature reads the raw probabilities again
    code, out, err = run_cli(capsys, "evaluate", "--model", str(DEMO / "pima_model.py"), "--checkpoint", str(new),
                             "--data", str(DEMO / "pima-holdout.csv"), "--json", str(ev), "--no-intervals",
                             "--no-temperature")
    assert json.loads(ev.read_text())["metrics"]["log_loss"] == pytest.approx(raw_data["metrics"]["log_loss"])
    # calibrating a calibrated checkpoint starts from the raw probabilities: the same T
    again = tmp_path / "again.pt"
    code, out, err = run_cli(capsys, "calibrate", "--model", str(DEMO / "pima_model.py"), "--checkpoint", str(new),
                             "--data", str(DEMO / "pima-holdout.csv"), "--out", str(again), "--json", str(js))
    assert code == 0, err
    assert json.loads(js.read_text())["temperature"] == pytest.approx(cal["temperature"], rel=1e-9)


def test_calibrate_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "calibrate", *_pima("--out", str(DEMO / "pima_checkpoint.pt")))
    assert code == 2 and "same file" in err and len(err.strip().splitlines()) == 1
    one_class = tmp_path / "ones.csv"
    lines = (DEMO / "pima-holdout.csv").read_text().splitlines()
    one_class.write_text("\n".join([lines[0], *[ln for ln in lines[1:] if ln.endswith(",1")]]) + "\n")
    code, out, err = run_cli(capsys, "calibrate", "--model", str(DEMO / "pima_model.py"), "--checkpoint",
                             str(DEMO / "pima_checkpoint.pt"), "--data", str(one_class), "--out",
                             str(tmp_path / "x.pt"))
    assert code == 2 and "one class" in err, err
    assert not (tmp_path / "x.pt").exists()
    # the demo checkpoint records the rows that trained it: the full CSV holds them, and is refused
    code, out, err = run_cli(capsys, "calibrate", "--model", str(DEMO / "pima_model.py"), "--checkpoint",
                             str(DEMO / "pima_checkpoint.pt"), "--data", str(DEMO / "pima-indians-diabetes.csv"),
                             "--out", str(tmp_path / "y.pt"))
    assert code == 2 and "trained this checkpoint" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "y.pt").exists()


def test_train_calibrate_stores_the_temperature_in_the_best_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir, js = tmp_path / "run", tmp_path / "train.json"
    code, out, err = run_cli(capsys, "train", "--model", str(DEMO / "pima_model.py"), "--data",
                             str(DEMO / "pima-indians-diabetes.csv"), "--epochs", "3", "--out", str(out_dir),
                             "--calibrate", "--json", str(js), "--quiet", "--resamples", "200")
    assert code == 0, err
    data = json.loads(js.read_text())
    t = data["temperature"]
    assert t["fitted_on"] == "validation rows of the training run" and t["n_samples"] == 154
    best = torch.load(out_dir / "best.pt", weights_only=True)
    assert best["temperature"]["value"] == pytest.approx(t["temperature"])
    assert set(data["intervals"]) == set(data["metrics"])
    code, out, err = run_cli(capsys, "train", "--model", str(DEMO / "pima_model.py"), "--data",
                             str(DEMO / "pima-indians-diabetes.csv"), "--epochs", "1", "--out", str(tmp_path / "r2"),
                             "--calibrate", "--val-fraction", "0")
    assert code == 2 and "validation rows" in err and len(err.strip().splitlines()) == 1


def test_kfold_gives_fold_mean_and_pooled_intervals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    js = tmp_path / "cv.json"
    code, out, err = run_cli(capsys, "kfold", "--model", str(DEMO / "pima_model.py"), "--data",
                             str(DEMO / "pima-indians-diabetes.csv"), "--epochs", "2", "--folds", "3",
                             "--json", str(js), "--resamples", "200", "--quiet")
    assert code == 0, err
    data = json.loads(js.read_text())
    from scipy import stats

    accs = [f["metrics"]["accuracy"] for f in data["folds"]]
    lo, hi = stats.t.interval(0.95, 2, loc=np.mean(accs), scale=stats.sem(accs))
    iv = data["summary"]["accuracy"]["interval"]
    assert iv["low"] == pytest.approx(max(lo, 0.0)) and iv["high"] == pytest.approx(min(hi, 1.0))
    assert set(data["pooled"]["intervals"]) == set(data["pooled"]["metrics"])
    assert data["pooled"]["interval"]["resamples"] == 200
    assert "calibration" in data["pooled"]
