"""User code that misbehaves: exits, crashes and hangs become one line (exit 2), never a silent end or a hang."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evalstudio.cli import main
from evalstudio.core.models import probe

HEADER = "import os, sys, time\nimport torch\nimport torch.nn as nn\n"
GOOD_CLASS = """
class Net(nn.Module):
    def __init__(self, n_features=4):
        super().__init__()
        self.lin = nn.Linear(n_features, 1)

    def forward(self, x):
{forward}
        return self.lin(x)
"""
CASES = {
    # name: (model file source, what the error line says)
    "exit0_in_build": (HEADER + "def build_model(n_features=4):\n    sys.exit(0)\n",
                       "build_model(n_features=4) in 'model.py' calls sys.exit(0) at line 5"),
    "exit3_in_build": (HEADER + "def build_model(n_features=4):\n    sys.exit(3)\n", "calls sys.exit(3) at line 5"),
    "exit_in_forward": (HEADER + GOOD_CLASS.format(forward="        sys.exit(0)"),
                        "the model's forward() in 'model.py' calls sys.exit(0)"),
    "os_exit_at_import": (HEADER + "os._exit(7)\n",
                          "model file 'model.py' ended the Python process with exit code 7 (os._exit or a crash "
                          "in native code) while being imported"),
    "segfault_at_import": (HEADER + "import ctypes\nctypes.string_at(0)\n",
                           "model file 'model.py' crashed Python (SIGSEGV, a segmentation fault) at line 5 while "
                           "being imported"),
}
HANGS = {
    "loop_at_import": (HEADER + "while True:\n    pass\n", "did not finish being imported within 3 s"),
    "loop_in_forward": (HEADER + GOOD_CLASS.format(forward="        while True:\n            pass"),
                        "did not finish running forward() on 2 rows within 3 s"),
    "loop_in_build": (HEADER + "def build_model(n_features=4):\n    while True:\n        pass\n",
                      "did not finish building the model within 3 s"),
}


@pytest.fixture()
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    X = rng.normal(size=(40, 4)) + y[:, None]
    with open("data.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "d", "label"])
        for row, label in zip(X, y):
            w.writerow([f"{v:.5f}" for v in row] + [label])
    return tmp_path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


COMMANDS = {
    "evaluate": ["evaluate"],
    "train": ["train", "--epochs", "1", "--out", "run"],
    "kfold": ["kfold", "--epochs", "1", "--folds", "2"],
}


def run(command: str, *extra: str) -> int:
    return main([*COMMANDS[command], "--model", "model.py", "--data", "data.csv", "--device", "cpu", "--quiet",
                 *extra])


@pytest.mark.skipif(sys.platform == "win32", reason="the segfault case reads a POSIX signal")
@pytest.mark.parametrize("case", sorted(CASES))
def test_exits_and_crashes_in_the_model_file_are_one_line_in_evaluate(
    here: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    source, expected = CASES[case]
    Path("model.py").write_text(source)
    assert run("evaluate") == 2
    assert expected in error_line(capsys)


@pytest.mark.skipif(sys.platform == "win32", reason="the segfault case reads a POSIX signal")
@pytest.mark.parametrize("command", ["train", "kfold"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_exits_in_the_model_file_are_one_line_in_train_and_kfold(
    here: Path, capsys: pytest.CaptureFixture[str], command: str, case: str
) -> None:
    source, expected = CASES[case]
    Path("model.py").write_text(source)
    assert run(command) == 2
    assert expected in error_line(capsys)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HANGS))
def test_a_hang_ends_at_the_model_timeout(here: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    source, expected = HANGS[case]
    Path("model.py").write_text(source)
    assert run("evaluate", "--model-timeout", "3") == 2
    line = error_line(capsys)
    assert expected in line and "--model-timeout" in line


@pytest.mark.slow
def test_a_hang_in_training_ends_at_the_model_timeout(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("model.py").write_text(HANGS["loop_in_forward"][0])
    assert run("train", "--model-timeout", "3") == 2
    assert HANGS["loop_in_forward"][1] in error_line(capsys)


@pytest.mark.parametrize("command", ["evaluate", "train", "kfold"])
def test_an_exit_only_on_real_data_is_an_error_too(here: Path, capsys: pytest.CaptureFixture[str],
                                                   command: str) -> None:
    """The probe's 2 rows pass; the exit comes in this process, on the data: still exit 2 with a line."""
    Path("model.py").write_text(HEADER + GOOD_CLASS.format(forward="        if x.shape[0] > 2:\n            sys.exit(0)"))
    assert run(command) == 2
    assert "sys.exit(0)" in error_line(capsys)


def test_a_model_file_that_passed_is_not_probed_again(here: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    Path("model.py").write_text(HEADER + GOOD_CLASS.format(forward="        pass"))
    started: list[object] = []
    real_popen = subprocess.Popen

    def counting_popen(*args: object, **kwargs: object) -> object:
        started.append(args)
        return real_popen(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(probe.subprocess, "Popen", counting_popen)
    assert run("evaluate") == 0 and len(started) == 1
    assert run("evaluate") == 0 and run("kfold") == 0
    assert len(started) == 1  # same content, same sizes: remembered
    Path("model.py").write_text(HEADER + GOOD_CLASS.format(forward="        x = x * 1"))
    assert run("evaluate") == 0 and len(started) == 2  # edited: probed again
    Path("helper.py").write_text("X = 1\n")
    assert run("evaluate") == 0 and len(started) == 3  # a file beside it (it may import) changed


def test_model_timeout_0_skips_the_probe_and_a_bad_value_is_one_line(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("model.py").write_text(HEADER + GOOD_CLASS.format(forward="        pass"))

    def no_child(*args: object, **kwargs: object) -> object:
        raise AssertionError("no child process expected")

    monkeypatch.setattr(probe.subprocess, "Popen", no_child)
    assert run("evaluate", "--model-timeout", "0") == 0
    assert run("evaluate", "--model-timeout", "-5") == 2
    assert "--model-timeout -5 must be 0" in error_line(capsys)


def test_the_model_files_prints_appear_once(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("model.py").write_text(HEADER + "print('loading my model')\n" + GOOD_CLASS.format(forward="        pass"))
    assert run("evaluate") == 0
    assert capsys.readouterr().out.count("loading my model") == 1


# --- calibrate runs the model file behind the same timeout -------------------------------------


def calibrate(*extra: str) -> int:
    import torch

    torch.save({"lin.weight": torch.zeros(1, 4), "lin.bias": torch.zeros(1)}, "weights.pt")
    return main(["calibrate", "--model", "model.py", "--checkpoint", "weights.pt", "--data", "data.csv",
                 "--out", "calibrated.pt", "--device", "cpu", "--quiet", *extra])


def test_calibrate_takes_its_model_timeout(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("model.py").write_text(HEADER + GOOD_CLASS.format(forward="        pass"))
    assert calibrate("--model-timeout", "-5") == 2  # was accepted and ignored
    assert "--model-timeout -5 must be 0" in error_line(capsys)
    Path("model.py").write_text(CASES["exit3_in_build"][0])
    assert calibrate() == 2
    assert CASES["exit3_in_build"][1] in error_line(capsys)
    assert not Path("calibrated.pt").exists()


@pytest.mark.slow
def test_a_hang_in_calibrate_ends_at_its_model_timeout(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("model.py").write_text(HANGS["loop_at_import"][0])
    assert calibrate("--model-timeout", "3") == 2
    assert HANGS["loop_at_import"][1] in error_line(capsys)
