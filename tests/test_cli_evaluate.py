"""`evalstudio evaluate` end to end: the JSON contract, sklearn agreement, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from evalstudio.cli import main
from evalstudio.resources import resource_path

DEMO = resource_path("demo")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_json_shape_and_metrics_match_sklearn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    js, preds = tmp_path / "out.json", tmp_path / "pred.csv"
    code, out, err = run_cli(capsys, "evaluate", "--demo", "--json", str(js), "--predictions", str(preds),
                             "--device", "cpu")
    assert code == 0, err
    data = json.loads(js.read_text())
    assert data["task"] == "binary"
    assert data["classes"] == ["0", "1"]
    assert data["n_samples"] == 154  # the held-out rows the checkpoint never saw
    assert data["threshold"] == 0.5
    for key in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "specificity", "mcc",
                "roc_auc", "average_precision", "log_loss"):
        assert key in data["metrics"], key
    assert [r["class"] for r in data["per_class"]] == ["0", "1"]
    cm = np.array(data["confusion_matrix"])
    assert cm.shape == (2, 2) and cm.sum() == 154

    frame = pd.read_csv(preds)
    assert list(frame.columns) == ["row", "actual", "predicted", "p_0", "p_1"]
    assert frame["row"].tolist() == list(range(1, 155))
    y = frame["actual"].to_numpy()
    score = frame["p_1"].to_numpy()
    y_pred = (score >= 0.5).astype(int)
    assert (frame["predicted"].to_numpy() == y_pred).all()
    m = data["metrics"]
    # The CSV rounds probabilities to 6 digits: compare at that precision.
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, y_pred), abs=2e-3)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score), abs=1e-4)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, frame["predicted"]))
    assert m["accuracy"] > 0.7  # the demo checkpoint is a trained model, not noise
    # The readable summary names the classes and shows the matrix.
    assert "confusion matrix (rows: actual, columns: predicted)" in out
    assert "eval mode" in out


def test_positive_class_and_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli(capsys, "evaluate", "--demo", "--json", str(a), "--quiet")[0] == 0
    assert run_cli(capsys, "evaluate", "--demo", "--json", str(b), "--quiet", "--positive-class", "0",
                   "--threshold", "0.3")[0] == 0
    ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
    # Recall of class 0 at its own threshold is reported as the binary recall.
    assert jb["threshold"] == 0.3
    assert ja["metrics"]["roc_auc"] == pytest.approx(jb["metrics"]["roc_auc"], abs=1e-9)
    assert jb["metrics"]["recall"] != ja["metrics"]["recall"]


def test_multiclass_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    js = tmp_path / "w.json"
    code, out, err = run_cli(capsys, "evaluate", "--demo", "wine", "--json", str(js))
    assert code == 0, err
    data = json.loads(js.read_text())
    assert data["task"] == "multiclass"
    assert data["classes"] == ["class_0", "class_1", "class_2"]
    assert np.array(data["confusion_matrix"]).shape == (3, 3)
    assert data["metrics"]["accuracy"] > 0.85


def test_mode_audit_names_stochastic_layers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    js = tmp_path / "w.json"
    code, out, _ = run_cli(capsys, "evaluate", "--demo", "wine", "--mode-audit", "5", "--json", str(js))
    assert code == 0
    audit = json.loads(js.read_text())["mode_audit"]
    assert len(audit["train_mode_accuracies"]) == 5
    assert any("Dropout" in s for s in audit["stochastic_layers"])
    assert any("BatchNorm" in s for s in audit["stochastic_layers"])
    assert audit["max_abs_score_diff"] > 0
    accs = np.array(audit["train_mode_accuracies"])
    assert audit["max_accuracy_gap"] == pytest.approx(np.abs(accs - audit["eval_accuracy"]).max())
    assert f"train mode vs eval mode: accuracy off by up to {audit['max_accuracy_gap']:.4f}" in out
    assert "act differently in train mode" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--data", "/nonexistent/file.csv"], "/nonexistent/file.csv"),
        (["--device", "cuda"], "CUDA"),
        (["--threshold", "1.5"], "--threshold 1.5 is outside [0, 1]"),
        (["--positive-class", "yes"], "positive class 'yes' is not one of the classes (0, 1)"),
        (["--target", "nope"], "nope"),
        (["--mode-audit", "-3"], "--mode-audit -3 must be at least 1 (the number of train-mode passes)."),
        (["--batch-size", "0"], "--batch-size 0 must be at least 1."),
    ],
)
def test_bad_input_is_one_clear_line(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    if "--device" in argv:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    code, out, err = run_cli(capsys, "evaluate", "--demo", *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert needle in lines[0]
    assert "Traceback" not in err


def test_no_arguments_explain_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "evaluate", "--model", str(DEMO / "pima_model.py"))
    assert code == 2
    assert err.strip() == "error: no dataset given. Pass --data FILE.csv (or --demo for the bundled demo)."


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["evaluate", "--demo", "--threshold", "abc"],
         "error: argument --threshold: invalid float value: 'abc'. Run 'evalstudio evaluate --help' for the options."),
        (["evaluate", "--demo", "--bogus"],
         "error: unrecognized arguments: --bogus. Run 'evalstudio evaluate --help' for the options."),
        (["evaluate", "--demo", "iris"],
         "error: argument --demo: invalid choice: 'iris' (choose from 'pima', 'wine', 'churn'). "
         "Run 'evalstudio evaluate --help' for the options."),
        (["--bogus"], "error: unrecognized arguments: --bogus. Run 'evalstudio --help' for the options."),
    ],
)
def test_usage_errors_are_one_line_too(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    # argparse's own errors follow the same contract as ours: exit 2, one `error:` line, no usage block.
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    _, err = capsys.readouterr()
    assert err == expected + "\n"


def _sigmoid_in_forward(tmp_path: Path) -> Path:
    model = tmp_path / "sig.py"
    model.write_text(
        "import torch, torch.nn as nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.l = nn.Linear(8, 1)\n"
        "    def forward(self, x):\n"
        "        return torch.sigmoid(self.l(x))\n"
    )
    return model


def test_outputs_flag_and_the_double_sigmoid_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model, data = _sigmoid_in_forward(tmp_path), str(DEMO / "pima-holdout.csv")
    code, out, err = run_cli(capsys, "evaluate", "--model", str(model), "--data", data)
    assert code == 0, err
    assert "note:   warning: every raw output lies in [0, 1]" in out
    code, out, err = run_cli(capsys, "evaluate", "--model", str(model), "--data", data, "--outputs", "probabilities")
    assert code == 0, err
    assert "outputs read as probability;" in out and "warning: every raw output" not in out
    # Logits declared as probabilities are refused, not scored.
    logits = tmp_path / "logits.py"
    logits.write_text("import torch.nn as nn\nmodel = nn.Linear(8, 1)\nmodel.weight.data.fill_(0.01)\n")
    code, _, err = run_cli(capsys, "evaluate", "--model", str(logits), "--data", data, "--outputs", "probabilities")
    assert code == 2
    assert err.startswith("error: the model's outputs were read as probabilities, but they range from ")
    assert err.strip().endswith("use --outputs logits (or auto) so evalstudio applies sigmoid.")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("data.csv", b"\x1f\x8b\x08\x00rest", "looks like a gzip-compressed file, not a CSV text file. "
                                               "Decompress it first (gunzip FILE) and load the CSV inside."),
        ("data.csv", b"a,b,target\n1,2,0\n3,4,1,9\n", "line 3 of {path} (data row 2) has 4 fields but the header has 3"),
        ("data.csv", b"a,b,target\n1,,0\n3,4,1\n5,?,0\n", "{path} has missing values in 'b' (2 rows; first at row 1, "
                                                      "line 2). Fill them in or remove those rows"),
        ("data.csv", b"a,b,target\n1,2,0\n3,4,0\n", "the target column 'target' of {path} has a single class"),
    ],
)
def test_bad_data_files_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, expected: str
) -> None:
    data = tmp_path / name
    data.write_bytes(content)
    code, out, err = run_cli(capsys, "evaluate", "--model", str(DEMO / "pima_model.py"), "--data", str(data))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert expected.format(path=data) in lines[0]


def test_threshold_on_a_multiclass_task_is_noted_not_ignored_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    js = tmp_path / "w.json"
    code, _, err = run_cli(capsys, "evaluate", "--demo", "wine", "--threshold", "0.3", "--quiet", "--json", str(js))
    assert code == 0
    assert err == ("note: --threshold applies to binary tasks; this one has 3 classes, so each row is predicted "
                   "as its most probable class.\n")
    assert json.loads(js.read_text())["threshold"] is None
    code, _, err = run_cli(capsys, "evaluate", "--demo", "--threshold", "0.3", "--quiet")
    assert code == 0 and err == ""


def test_file_with_one_class_is_scored_against_the_checkpoints_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Positives only: the evalstudio checkpoint knows both classes, so the rows are still scored."""
    holdout = pd.read_csv(DEMO / "pima-holdout.csv")
    positives = tmp_path / "positives.csv"
    holdout[holdout["target"] == 1].to_csv(positives, index=False)
    js = tmp_path / "p.json"
    code, out, err = run_cli(capsys, "evaluate", "--demo", "--data", str(positives), "--json", str(js))
    assert code == 0, err
    data = json.loads(js.read_text())
    assert data["classes"] == ["0", "1"]
    cm = np.array(data["confusion_matrix"])
    assert cm[0].sum() == 0 and cm[1].sum() == 54
    assert data["metrics"]["recall"] == pytest.approx(cm[1, 1] / 54)
    # Without a checkpoint that names the classes, one class is still an error.
    code, _, err = run_cli(capsys, "evaluate", "--model", str(DEMO / "pima_model.py"), "--data", str(positives))
    assert code == 2 and "single class" in err
