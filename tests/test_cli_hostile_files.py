"""Hostile or broken files through the CLI: named pipes, a flipped bit, a pickle given to --resume."""

from __future__ import annotations

import csv
import os
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch.nn as nn
import torch

from evalstudio.cli import main
from tests.core.test_integrity import flip_a_bit_in_a_tensor

MODEL = """
import torch.nn as nn

def build_model(n_features=4):
    return nn.Sequential(nn.Linear(n_features, 8), nn.ReLU(), nn.Linear(8, 1))
"""


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """data.csv, model.py and a finished two-epoch run in run/."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    X = rng.normal(size=(60, 4)) + 1.5 * y[:, None]
    with open("data.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "d", "label"])
        for row, label in zip(X, y):
            w.writerow([f"{v:.5f}" for v in row] + [["no", "yes"][label]])
    Path("model.py").write_text(MODEL)
    assert main(["train", "--model", "model.py", "--data", "data.csv", "--epochs", "2", "--device", "cpu",
                 "--quiet", "--out", "run"]) == 0
    return tmp_path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("flag", ["--data", "--model", "--checkpoint", "--resume", "--val-data"])
def test_a_named_pipe_as_an_input_is_refused_instead_of_blocking(run: Path, capsys: pytest.CaptureFixture[str],
                                                                flag: str) -> None:
    os.mkfifo("pipe")
    argv = {"--data": ["evaluate", "--model", "model.py", "--checkpoint", "run/best.pt", "--data", "pipe"],
            "--model": ["evaluate", "--model", "pipe", "--checkpoint", "run/best.pt", "--data", "data.csv"],
            "--checkpoint": ["evaluate", "--model", "model.py", "--checkpoint", "pipe", "--data", "data.csv"],
            "--resume": ["train", "--model", "model.py", "--data", "data.csv", "--resume", "pipe", "--epochs", "3"],
            "--val-data": ["train", "--model", "model.py", "--data", "data.csv", "--val-data", "pipe",
                           "--out", "other"]}[flag]
    capsys.readouterr()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(main([*argv, "--quiet"])), daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():  # it blocked on the pipe: release it, then fail
        fd = os.open("pipe", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        worker.join(10)
        pytest.fail(f"{flag} pipe blocked")
    assert result == [2]
    line = error_line(capsys)
    assert "'pipe' is a named pipe (FIFO), not a regular file" in line


def test_a_flipped_bit_in_best_pt_fails_evaluation_and_resume(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flip_a_bit_in_a_tensor(Path("run/best.pt"))
    flip_a_bit_in_a_tensor(Path("run/last.pt"))
    capsys.readouterr()
    assert main(["evaluate", "--model", "model.py", "--checkpoint", "run/best.pt", "--data", "data.csv"]) == 2
    assert "'run/best.pt' changed after evalstudio wrote it" in error_line(capsys)
    assert main(["train", "--model", "model.py", "--data", "data.csv", "--resume", "run/last.pt", "--epochs", "3",
                 "--quiet"]) == 2
    assert "'run/last.pt' changed after evalstudio wrote it" in error_line(capsys)


def test_resume_from_a_pickle_is_one_line_without_torchs_advice(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.save({"model": nn.Linear(4, 1), "epoch": 1}, "pickled.pt")
    capsys.readouterr()
    assert main(["train", "--model", "model.py", "--data", "data.csv", "--resume", "pickled.pt", "--epochs", "3",
                 "--quiet"]) == 2
    line = error_line(capsys)
    assert "needs arbitrary unpickling, which could run code" in line
    assert "\x1b" not in line and "weights_only" not in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_as_a_kfold_run_to_compare_is_refused_instead_of_blocking(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo("pipe.json")
    Path("a.json").write_text("{}")
    capsys.readouterr()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(main(["compare", "--kfold", "pipe.json", "a.json"])),
                              daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():
        os.close(os.open("pipe.json", os.O_WRONLY | os.O_NONBLOCK))
        worker.join(10)
        pytest.fail("compare --kfold blocked on a named pipe")
    assert result == [2]
    assert "--kfold 'pipe.json' is a named pipe (FIFO), not a regular file" in error_line(capsys)


def test_a_zip_bomb_is_refused_before_anything_unpacks_it(run: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """evaluate reads the checkpoint's classes before its weights: that read is guarded too."""
    from evalstudio.core.models import limits
    from tests.core.test_hostile_checkpoints import rewrite_zip

    monkeypatch.setattr(limits, "BOMB_MIN_BYTES", 1 << 20)  # a 4 MB bomb stands for the 2 GiB one
    padding = b"\x00" * (4 << 20)
    rewrite_zip(Path("run/best.pt"), Path("bomb.pt"), lambda n, d: (d + padding, zipfile.ZIP_DEFLATED)
                if n.endswith("data.pkl") else (d, zipfile.ZIP_STORED))
    loads: list[str] = []
    real_load = torch.load

    def watched_load(f: object, *args: object, **kwargs: object) -> object:
        loads.append(str(f))
        return real_load(f, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torch, "load", watched_load)
    capsys.readouterr()
    assert main(["evaluate", "--model", "model.py", "--checkpoint", "bomb.pt", "--data", "data.csv", "--quiet"]) == 2
    assert "'bomb.pt' is a zip bomb: its entry" in error_line(capsys)
    assert not [f for f in loads if f.endswith("bomb.pt")]
