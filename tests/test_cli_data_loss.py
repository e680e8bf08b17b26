"""Nothing lost: outputs never replace inputs, run folders are never overwritten silently, one run per folder."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from evalstudio.cli import main

MODEL = """
import torch.nn as nn

def build_model(n_features=4):
    return nn.Sequential(nn.Linear(n_features, 8), nn.ReLU(), nn.Linear(8, 1))
"""


@pytest.fixture()
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
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
    return {"data": "data.csv", "model": "model.py"}


def digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def train(files: dict[str, str], *extra: str) -> int:
    return main(["train", "--model", files["model"], "--data", files["data"], "--epochs", "2", "--device", "cpu",
                 "--quiet", *extra])


@pytest.fixture()
def checkpoint(files: dict[str, str]) -> str:
    assert train(files, "--out", "base") == 0
    return "base/best.pt"


# --- outputs never replace inputs ------------------------------------------------------------


def test_evaluate_predictions_onto_its_data_is_refused(files: dict[str, str], checkpoint: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    before = digest("data.csv")
    capsys.readouterr()
    rc = main(["evaluate", "--model", "model.py", "--checkpoint", checkpoint, "--data", "data.csv",
               "--predictions", "data.csv", "--quiet"])
    assert rc == 2
    line = error_line(capsys)
    assert "--predictions 'data.csv' is the same file as --data" in line and "replace that input" in line
    assert digest("data.csv") == before


@pytest.mark.parametrize("target", ["checkpoint", "model"])
def test_evaluate_json_onto_the_checkpoint_or_model_through_a_symlink_is_refused(
    files: dict[str, str], checkpoint: str, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    victim = checkpoint if target == "checkpoint" else "model.py"
    os.symlink(os.path.abspath(victim), "link.json")
    before = digest(victim)
    capsys.readouterr()
    rc = main(["evaluate", "--model", "model.py", "--checkpoint", checkpoint, "--data", "data.csv",
               "--json", "link.json", "--quiet"])
    assert rc == 2
    assert f"same file as --{target}" in error_line(capsys)
    assert digest(victim) == before and os.path.islink("link.json")


def test_train_json_onto_its_data_through_dotdot_is_refused(files: dict[str, str],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    os.mkdir("sub")
    before = digest("data.csv")
    rc = train(files, "--out", "run", "--json", "sub/../data.csv")
    assert rc == 2
    assert "--json 'sub/../data.csv' is the same file as --data 'data.csv'" in error_line(capsys)
    assert digest("data.csv") == before and not Path("run").exists()


def test_kfold_predictions_onto_a_hard_link_of_its_data_is_refused(files: dict[str, str],
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    os.link("data.csv", "same.csv")
    before = digest("data.csv")
    rc = main(["kfold", "--model", "model.py", "--data", "data.csv", "--folds", "2", "--epochs", "1",
               "--device", "cpu", "--quiet", "--predictions", "same.csv"])
    assert rc == 2
    assert "--predictions 'same.csv' is the same file as --data 'data.csv'" in error_line(capsys)
    assert digest("data.csv") == before


def test_two_outputs_naming_one_file_are_refused(files: dict[str, str], checkpoint: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    rc = main(["evaluate", "--model", "model.py", "--checkpoint", checkpoint, "--data", "data.csv",
               "--json", "out.txt", "--predictions", "./out.txt", "--quiet"])
    assert rc == 2 and "--json and --predictions both name 'out.txt'" in error_line(capsys)


def test_train_json_onto_its_own_checkpoint_is_refused(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    rc = train(files, "--out", "run", "--json", "run/best.pt")
    assert rc == 2 and "--json and --out best.pt both name" in error_line(capsys)


# --- run folders are never overwritten silently ---------------------------------------------


def test_training_into_a_folder_with_an_earlier_run_is_refused_then_allowed_with_overwrite(
    files: dict[str, str], checkpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {n: digest(f"base/{n}") for n in ("best.pt", "last.pt")}
    capsys.readouterr()
    assert train(files, "--out", "base", "--seed", "3") == 2
    line = error_line(capsys)
    assert "already holds the checkpoints of an earlier run (best.pt, last.pt)" in line and "--overwrite" in line
    assert {n: digest(f"base/{n}") for n in before} == before
    assert train(files, "--out", "base", "--seed", "3", "--overwrite") == 0
    assert digest("base/last.pt") != before["last.pt"]


def test_fine_tuning_from_the_folders_own_best_pt_is_refused_even_with_overwrite(
    files: dict[str, str], checkpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digest(checkpoint)
    capsys.readouterr()
    assert train(files, "--out", "base", "--checkpoint", checkpoint, "--overwrite") == 2
    assert "--checkpoint 'base/best.pt' is in the run folder --out 'base'" in error_line(capsys)
    assert digest(checkpoint) == before


def test_resume_continues_its_own_folder_but_not_from_an_earlier_file(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert train(files, "--out", "run", "--checkpoint-every", "1") == 0
    last = digest("run/last.pt")
    capsys.readouterr()
    # run/epoch_0001.pt is older than run/last.pt (epoch 2): continuing from it would replace last.pt.
    assert main(["train", "--model", "model.py", "--data", "data.csv", "--device", "cpu", "--quiet",
                 "--epochs", "3", "--resume", "run/epoch_0001.pt"]) == 2
    assert "later than 'run/epoch_0001.pt'" in error_line(capsys)
    assert digest("run/last.pt") == last
    assert main(["train", "--model", "model.py", "--data", "data.csv", "--device", "cpu", "--quiet",
                 "--epochs", "3", "--resume", "run/last.pt"]) == 0
    assert digest("run/last.pt") != last


def test_default_run_folders_are_new_and_numbered(files: dict[str, str]) -> None:
    assert train(files) == 0 and train(files) == 0
    runs = sorted(p.name for p in Path("runs").iterdir())
    assert len(runs) == 2 and all((Path("runs") / r / "best.pt").is_file() for r in runs)


def test_a_run_that_fails_before_any_checkpoint_leaves_no_empty_folder(files: dict[str, str]) -> None:
    assert main(["train", "--model", "model.py", "--data", "data.csv", "--epochs", "1", "--quiet",
                 "--lr", "-1"]) == 2
    assert not Path("runs").exists() or not any(Path("runs").iterdir())


# --- one run per folder ------------------------------------------------------------------------


def test_a_second_run_on_a_locked_folder_names_the_process_holding_it(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import sys, time
            from evalstudio.core.paths import FolderLock
            import os; os.mkdir("run"); FolderLock("run").acquire()
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert train(files, "--out", "run") == 2
        line = error_line(capsys)
        assert f"--out 'run' is in use by another evalstudio run (process {holder.pid}" in line
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the lock with the process: the folder is free again.
    assert train(files, "--out", "run") == 0
    assert not Path("run/.evalstudio.lock").exists()


# --- compare: its --json never replaces what it compares ---------------------------------------


@pytest.mark.parametrize("victim", ["data.csv", "base/best.pt", "model.py"])
def test_compare_json_onto_one_of_its_inputs_is_refused(files: dict[str, str], checkpoint: str,
                                                        capsys: pytest.CaptureFixture[str], victim: str) -> None:
    before = digest(victim)
    capsys.readouterr()
    rc = main(["compare", "--model", "model.py", "--checkpoint", checkpoint, "--model", "model.py", "--checkpoint",
               checkpoint, "--data", "data.csv", "--no-intervals", "--quiet", "--json", f"./{victim}"])
    assert rc == 2
    flag = {"data.csv": "--data", "base/best.pt": "--checkpoint", "model.py": "--model"}[victim]
    assert f"--json './{victim}' is the same file as {flag} '{victim}'" in error_line(capsys)
    assert digest(victim) == before


def test_compare_json_onto_a_kfold_run_it_reads_is_refused(files: dict[str, str],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a.json", "b.json"):
        assert main(["kfold", "--model", "model.py", "--data", "data.csv", "--folds", "2", "--epochs", "1",
                     "--device", "cpu", "--quiet", "--json", name]) == 0
    before = digest("b.json")
    capsys.readouterr()
    assert main(["compare", "--kfold", "a.json", "b.json", "--quiet", "--json", "b.json"]) == 2
    assert "--json 'b.json' is the same file as --kfold: writing it would replace that input" in error_line(capsys)
    assert digest("b.json") == before


# --- outputs that are not regular files: written into, never replaced ---------------------------


@pytest.mark.skipif(not os.path.exists("/dev/null") or sys.platform == "win32", reason="POSIX devices")
def test_outputs_to_dev_null_leave_it_a_device(files: dict[str, str], checkpoint: str) -> None:
    """Replacing /dev/null by a plain file (what a temp file and a rename do; root may) breaks the machine."""
    assert main(["evaluate", "--model", "model.py", "--checkpoint", checkpoint, "--data", "data.csv", "--quiet",
                 "--no-intervals", "--json", "/dev/null", "--predictions", "/dev/null"]) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_an_output_named_pipe_is_written_into_and_one_nobody_reads_is_one_line(
    files: dict[str, str], checkpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo("out.json")
    argv = ["evaluate", "--model", "model.py", "--checkpoint", checkpoint, "--data", "data.csv", "--quiet",
            "--no-intervals", "--json", "out.json"]
    capsys.readouterr()
    assert main(argv) == 2  # no reader: said at once, never a wait
    assert "cannot write out.json: no process is reading from that named pipe" in error_line(capsys)
    reader = os.open("out.json", os.O_RDONLY | os.O_NONBLOCK)  # a reader now; the JSON fits the pipe's buffer
    try:
        assert main(argv) == 0
        out = os.read(reader, 1 << 20).decode()
    finally:
        os.close(reader)
    assert 0 <= json.loads(out)["metrics"]["accuracy"] <= 1
    assert stat.S_ISFIFO(os.stat("out.json").st_mode)


def test_an_output_through_a_symbolic_link_updates_the_file_and_keeps_the_link(files: dict[str, str],
                                                                              checkpoint: str) -> None:
    os.mkdir("shared")
    Path("shared/result.json").write_text("{}")
    os.symlink("shared/result.json", "result.json")
    assert main(["evaluate", "--model", "model.py", "--checkpoint", checkpoint, "--data", "data.csv", "--quiet",
                 "--no-intervals", "--json", "result.json"]) == 0
    assert os.path.islink("result.json")
    assert "metrics" in json.loads(Path("shared/result.json").read_text())
