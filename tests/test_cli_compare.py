"""`evalstudio compare`: two checkpoints on the same rows, and two k-fold runs; the refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evalstudio.cli import main
from evalstudio.resources import resource_path

DEMO = resource_path("demo")
PIMA = str(DEMO / "pima_model.py")
PIMA_CKPT = str(DEMO / "pima_checkpoint.pt")
HOLDOUT = str(DEMO / "pima-holdout.csv")


def test_two_checkpoints_binary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo checkpoint against the same network trained on raw features (same rows, same split)."""
    second_checkpoint = str(DEMO / "pima_checkpoint_raw.pt")
    out = tmp_path / "c.json"
    code = main(["compare", "--model", PIMA, "--checkpoint", PIMA_CKPT, "--model", PIMA, "--checkpoint",
                 second_checkpoint, "--data", HOLDOUT, "--device", "cpu", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    js = json.loads(out.read_text())
    assert js["n_samples"] == 154 and js["threshold"] == 0.5
    assert [m["name"] for m in js["models"]] == ["A", "B"]
    assert js["mcnemar"]["b"] + js["mcnemar"]["c"] > 0
    assert js["delong"]["auc"][0] == pytest.approx(js["models"][0]["metrics"]["roc_auc"])
    assert js["differences"]["accuracy"]["value"] == pytest.approx(
        js["models"][1]["metrics"]["accuracy"] - js["models"][0]["metrics"]["accuracy"])
    assert js["source"]["models"][1]["checkpoint"] == second_checkpoint
    m = js["mcnemar"]
    a_acc, b_acc = (mm["metrics"]["accuracy"] for mm in js["models"])
    assert m["b"] - m["c"] == round((a_acc - b_acc) * 154)  # the discordant rows make the accuracy gap
    assert js["delong"]["auc"] == pytest.approx([mm["metrics"]["roc_auc"] for mm in js["models"]], abs=1e-12)
    acc = js["differences"]["accuracy"]
    assert acc["low"] < acc["value"] < acc["high"]
    assert js["interval"] == {"method": "paired stratified bootstrap (percentile)", "confidence": 0.95,
                              "resamples": 1000, "seed": 0, "threshold": 0.5}
    assert set(js["models"][1]["intervals"]) == set(js["models"][1]["metrics"])
    assert js["models"][0]["leakage"]["training_rows"] == 0  # the held-out file: no row trained either
    # The demo network on raw features is the weaker one; the sentence says so in the words, the
    # interval in the sentence's direction ("less accurate by": A - B).
    assert acc["value"] < 0
    pv = m["p_value"]
    p_words = f"p = {pv:.3f}" if pv < 0.1 else f"p = {pv:.2f}"
    assert (f"B is less accurate by {-acc['value'] * 100:.1f} points (95 % interval {-acc['high'] * 100:.1f} to "
            f"{-acc['low'] * 100:.1f}); McNemar {p_words} (B right where A is wrong on {m['c']} rows, "
            f"the reverse on {m['b']})") in text
    d = js["delong"]
    assert f"B's ROC AUC is {d['auc'][1]:.3f} against A's {d['auc'][0]:.3f}: lower by {-d['difference']:.3f}" in text
    assert f"but A ranks the rows better (ROC AUC higher by {-d['difference']:.3f}, DeLong p = {d['p_value']:.3f})" in text


def test_models_leave_out_their_own_training_rows_and_pair_on_the_rest(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """On the full demo CSV both checkpoints leave out the 614 rows that trained them (their guard)."""
    out = tmp_path / "c.json"
    code = main(["compare", "--model", PIMA, "--checkpoint", PIMA_CKPT, "--model", PIMA, "--checkpoint",
                 str(DEMO / "pima_checkpoint_raw.pt"), "--data", str(DEMO / "pima-indians-diabetes.csv"),
                 "--no-intervals", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    js = json.loads(out.read_text())
    assert js["n_samples"] == 154
    assert [mm["leakage"]["training_rows"] for mm in js["models"]] == [614, 614]
    assert "model A: 614 of 768 rows trained this checkpoint and are left out; scoring the other 154" in text


def test_no_intervals_and_other_resamples(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    base = ["compare", "--model", PIMA, "--checkpoint", PIMA_CKPT, "--model", PIMA, "--checkpoint",
            str(DEMO / "pima_checkpoint_raw.pt"), "--data", HOLDOUT, "--quiet", "--json", str(out)]
    assert main([*base, "--no-intervals"]) == 0
    js = json.loads(out.read_text())
    assert "interval" not in js and "intervals" not in js["models"][0]
    assert js["differences"]["accuracy"]["low"] is None
    assert main([*base, "--resamples", "200", "--confidence", "0.9"]) == 0
    js = json.loads(out.read_text())
    assert js["interval"]["resamples"] == 200 and js["interval"]["confidence"] == 0.9


def test_multiclass_and_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wine = str(DEMO / "wine_model.py")
    ckpt = str(DEMO / "wine_checkpoint.pt")
    out = tmp_path / "w.json"
    # The same model twice: identical decisions, McNemar p = 1 and DeLong per class p = 1.
    code = main(["compare", "--model", wine, "--checkpoint", ckpt, "--model", wine, "--checkpoint", ckpt,
                 "--name", "left", "--name", "right", "--data", str(DEMO / "wine-holdout.csv"), "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    js = json.loads(out.read_text())
    assert js["task"] == "multiclass" and js["threshold"] is None and js["delong"] is None
    assert js["mcnemar"] == {"b": 0, "c": 0, "p_value": 1.0, "both_right": js["mcnemar"]["both_right"],
                             "both_wrong": js["mcnemar"]["both_wrong"]}
    assert all(r["p_value"] == 1.0 for r in js["delong_per_class"])
    assert "right and left are equally accurate" in text
    assert "left and right make the same decisions on every row" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", PIMA, "--checkpoint", PIMA_CKPT, "--data", HOLDOUT], "compare needs at least two models; 1 given"),
        (["--model", PIMA, "--checkpoint", PIMA_CKPT, "--model", PIMA, "--checkpoint", PIMA_CKPT],
         "no dataset given"),
        (["--model", PIMA, "--checkpoint", PIMA_CKPT, "--model", PIMA, "--checkpoint", PIMA_CKPT, "--name", "x",
          "--data", HOLDOUT], "1 --name for 2 models"),
        (["--checkpoint", PIMA_CKPT, "--model", PIMA, "--checkpoint", PIMA_CKPT, "--data", HOLDOUT],
         "model 1 has a checkpoint"),
        (["--model", PIMA, "--checkpoint", PIMA_CKPT, "--model", PIMA, "--checkpoint",
          str(DEMO / "wine_checkpoint.pt"), "--data", HOLDOUT], "model B: "),
        (["--kfold", "a.json", "b.json", "--model", PIMA], "--kfold compares two k-fold runs"),
        (["--kfold", "missing-a.json", "missing-b.json"], "missing-a.json does not exist"),
        (["--model", PIMA, "--checkpoint", PIMA_CKPT, "--model", PIMA, "--checkpoint", PIMA_CKPT, "--data", HOLDOUT,
          "--resamples", "1"], "1 resamples are too few"),
    ],
)
def test_refusals_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["compare", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def _kfold(tmp_path: Path, name: str, data: str, *extra: str) -> Path:
    out = tmp_path / name
    code = main(["kfold", "--model", PIMA, "--data", data, "--folds", "3", "--epochs", "2", "--batch-size", "64",
                 "--device", "cpu", "--quiet", "--json", str(out), *extra])
    assert code == 0
    return out


@pytest.mark.slow
def test_two_kfold_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(DEMO / "pima-indians-diabetes.csv")
    a = _kfold(tmp_path, "a.json", data)
    b = _kfold(tmp_path, "b.json", data, "--lr", "0.01")
    ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
    assert len(ja["data_sha256"]) == 64 and ja["data_sha256"] == jb["data_sha256"]
    assert ja["folds_fingerprint"] == jb["folds_fingerprint"]
    out = tmp_path / "k.json"
    capsys.readouterr()
    assert main(["compare", "--kfold", str(a), str(b), "--metric", "roc_auc", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    js = json.loads(out.read_text())
    assert list(js)[:8] == ["metric", "folds", "differences", "mean", "t", "df", "p_value", "method"]
    expected = [fb["metrics"]["roc_auc"] - fa["metrics"]["roc_auc"] for fa, fb in zip(ja["folds"], jb["folds"])]
    assert js["differences"] == pytest.approx(expected)
    assert js["df"] == 2 and "corrected resampled t-test (Nadeau and Bengio 2003)" in text

    other_seed = _kfold(tmp_path, "c.json", data, "--seed", "1")
    assert main(["compare", "--kfold", str(a), str(other_seed)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the two runs used different folds (seed 0 vs 1)") and err.count("\n") == 1

    copy = tmp_path / "pima-less.csv"
    lines = Path(data).read_text().splitlines(keepends=True)
    copy.write_text("".join(lines[:-1]))
    other_data = _kfold(tmp_path, "d.json", str(copy))
    assert main(["compare", "--kfold", str(a), str(other_data)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the two runs used different data") and err.count("\n") == 1

    old = tmp_path / "old.json"
    del ja["data_sha256"], ja["folds_fingerprint"]
    old.write_text(json.dumps(ja))
    assert main(["compare", "--kfold", str(old), str(b)]) == 2
    assert "older evalstudio" in capsys.readouterr().err


def test_kfold_file_that_is_not_a_kfold_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "e.json"
    bad.write_text('{"task": "binary"}')
    text = tmp_path / "t.json"
    text.write_text("not json")
    shutil.copy(bad, tmp_path / "f.json")
    assert main(["compare", "--kfold", str(bad), str(tmp_path / "f.json")]) == 2
    assert "is not the JSON output of 'evalstudio kfold --json'" in capsys.readouterr().err
    assert main(["compare", "--kfold", str(text), str(bad)]) == 2
    assert "t.json is not JSON" in capsys.readouterr().err
