"""Messages that used to say the wrong thing: each fault gets its own clear line (exit 2)."""

from __future__ import annotations

import csv
import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from evalstudio.cli import main
from evalstudio.core import paths
from evalstudio.core.models import checkpoint_format

MODEL = """
import torch.nn as nn

def build_model(n_features=4):
    return nn.Sequential(nn.Linear(n_features, {hidden}), nn.ReLU(), nn.Linear({hidden}, 1))
"""
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    X = rng.normal(size=(60, 4)) + y[:, None]
    with open("data.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "d", "label"])
        for row, label in zip(X, y):
            w.writerow([f"{v:.5f}" for v in row] + [label])
    Path("model.py").write_text(MODEL.format(hidden=8))
    return tmp_path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.startswith("error: ")]
    assert len(err) == 1, err
    return err[0]


def train(*extra: str) -> int:
    return main(["train", "--model", "model.py", "--data", "data.csv", "--device", "cpu", "--quiet", *extra])


# --- --seed ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["-1", "4294967296", "99999999999999999999"])
@pytest.mark.parametrize("command", ["train", "kfold"])
def test_a_seed_out_of_range_is_one_line(here: Path, capsys: pytest.CaptureFixture[str], seed: str,
                                         command: str) -> None:
    assert main([command, "--model", "model.py", "--data", "data.csv", "--epochs", "1", "--quiet",
                 f"--seed={seed}"]) == 2
    assert f"--seed is {seed}. Use a whole number from 0 to 4294967295" in error_line(capsys)


def test_kfold_seeds_past_the_largest_are_one_line(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kfold", "--model", "model.py", "--data", "data.csv", "--epochs", "1", "--quiet", "--folds", "3",
                 "--seed", "4294967295"]) == 2
    assert "--seed 4294967295 with 3 folds uses seeds up to 4294967297" in error_line(capsys)


# --- resume with an edited model file -------------------------------------------------------


def test_resume_with_a_reshaped_model_file_says_the_file_changed(here: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert train("--epochs", "1", "--out", "run") == 0
    Path("model.py").write_text(MODEL.format(hidden=16))
    capsys.readouterr()
    assert train("--epochs", "2", "--resume", "run/last.pt") == 2
    line = error_line(capsys)
    assert "the model no longer fits the run being resumed: shape mismatches (3): 0.weight: checkpoint (8, 4) vs " \
           "model (16, 4)" in line
    assert "Was the model file edited since the run started?" in line and "unexpected" not in line


def test_resume_with_an_edited_model_file_warns(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train("--epochs", "1", "--out", "run") == 0
    Path("model.py").write_text(MODEL.format(hidden=8) + "\n# tuned\n")
    capsys.readouterr()
    assert main(["train", "--model", "model.py", "--data", "data.csv", "--device", "cpu", "--epochs", "2",
                 "--resume", "run/last.pt"]) == 0
    assert "warning: model.py changed since the run's checkpoint was written" in capsys.readouterr().out
    assert torch.load("run/last.pt", weights_only=True)["model_file"]["name"] == "model.py"


# --- disk full and file-size limit while saving ---------------------------------------------


def test_disk_full_while_saving_is_one_line_and_the_previous_checkpoint_stays(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    saves = {"n": 0}
    real = checkpoint_format._RecordingWriter.write

    def write(self: checkpoint_format._RecordingWriter, data: bytes) -> int:
        if saves["n"] >= 2:  # epoch 1 wrote best.pt and last.pt; the disk is full from then on
            self.error = OSError(errno.ENOSPC, "No space left on device")
            raise self.error
        return real(self, data)

    real_save = checkpoint_format.save_checkpoint

    def counting_save(path: object, payload: dict) -> object:
        try:
            return real_save(path, payload)  # type: ignore[arg-type]
        finally:
            saves["n"] += 1

    monkeypatch.setattr(checkpoint_format._RecordingWriter, "write", write)
    monkeypatch.setattr("evalstudio.core.training.run_checkpoints.save_checkpoint", counting_save)
    assert train("--epochs", "3", "--out", "run") == 2
    line = error_line(capsys)
    assert "cannot save " in line and "no space left on the device (the previous one is intact)" in line
    assert torch.load("run/last.pt", weights_only=True)["epoch"] == 1
    assert not [p for p in os.listdir("run") if p.endswith(".tmp")]


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_the_file_size_limit_while_saving_is_one_line(here: Path) -> None:
    code = textwrap.dedent("""
        import resource, sys
        from evalstudio.cli import main
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        sys.exit(main(["train", "--model", "model.py", "--data", "data.csv", "--epochs", "1", "--quiet",
                       "--out", "run", "--model-timeout", "0"]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2, proc.stderr
    assert "the file would exceed the file-size limit (ulimit -f)" in proc.stderr
    assert "unexpected" not in proc.stderr


# --- --out that cannot hold a run -----------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="/dev/null and symlinks")
@pytest.mark.parametrize(("out", "expected"), [
    ("afile", "--out 'afile' is a file, not a folder"),
    ("/dev/null", "--out '/dev/null' is a character device, not a folder"),
    ("loop", "--out 'loop' is a symbolic link that loops back on itself"),
    ("readonly", "cannot write into --out 'readonly': the file system is read-only"),
])
def test_an_out_folder_that_cannot_hold_a_run_is_one_line_before_training(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, out: str, expected: str
) -> None:
    Path("afile").write_text("x")
    os.symlink("loop", "loop")
    os.mkdir("readonly")
    real_open = open

    def read_only_open(file: object, *args: object, **kwargs: object) -> object:
        if "readonly" in str(file):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(paths, "open", read_only_open, raising=False)
    assert train("--epochs", "50", "--out", out) == 2
    assert expected in error_line(capsys)


# --- out of memory ------------------------------------------------------------------------------

GREEDY = """
import torch
import torch.nn as nn

class Greedy(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 1)

    def forward(self, x):
        if x.shape[0] > 2:  # the 2-row checks pass; the real batches ask for 40 TB
            torch.empty(10_000_000_000_000, dtype=torch.float32)
        return self.lin(x)
"""


@pytest.mark.parametrize(("command", "expected"), [
    ("evaluate", "ran out of memory on cpu while evaluating with batch size 60 (it tried to allocate 40.0 TB)"),
    ("train", "ran out of memory on cpu with batch size 32"),
])
def test_running_out_of_cpu_memory_says_so(here: Path, capsys: pytest.CaptureFixture[str], command: str,
                                           expected: str) -> None:
    Path("greedy.py").write_text(GREEDY)
    extra = ["--epochs", "1", "--out", "run"] if command == "train" else []
    assert main([command, "--model", "greedy.py", "--data", "data.csv", "--device", "cpu", "--quiet", *extra]) == 2
    line = error_line(capsys)
    assert expected in line and "float tensor" not in line and "unexpected" not in line


# --- a label the checkpoint never saw -------------------------------------------------------

SIZED = """
import torch.nn as nn

def build_model(n_features=4, n_classes=2):
    return nn.Linear(n_features, 1 if n_classes == 2 else n_classes)
"""


def test_an_unseen_label_with_an_evalstudio_checkpoint_names_the_label(here: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The model's size follows the data's classes: a third label used to be blamed on shape mismatches."""
    Path("sized.py").write_text(SIZED)
    assert main(["train", "--model", "sized.py", "--data", "data.csv", "--epochs", "1", "--quiet", "--out", "run"]) == 0
    lines = Path("data.csv").read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",maybe"
    Path("new.csv").write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["evaluate", "--model", "sized.py", "--checkpoint", "run/best.pt", "--data", "new.csv",
                 "--quiet"]) == 2
    line = error_line(capsys)
    assert "'maybe'" in line and "(0, 1)" in line and "row 5" in line
    assert "shape" not in line and "tensors fit" not in line
