"""evalstudio checkpoints: atomic writes that survive SIGKILL, weights-only loading, layout checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from evalstudio.core.checkpoint import FORMAT, read_checkpoint, save_checkpoint
from evalstudio.core.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import os, sys, time, torch
    from evalstudio.core.checkpoint import save_checkpoint
    path, stall = sys.argv[1], sys.argv[2] == "stall"
    save_checkpoint(path, {"format": "evalstudio-checkpoint", "epoch": 1, "w": torch.ones(4)})
    if stall:
        # Stop inside the save: the temp file is written, the rename has not happened yet.
        def fsync(fd):
            print("in-save", flush=True)
            time.sleep(60)
        os.fsync = fsync
        print("saved-1", flush=True)
        save_checkpoint(path, {"format": "evalstudio-checkpoint", "epoch": 2, "w": torch.zeros(4_000_000)})
    else:
        print("saved-1", flush=True)
        epoch = 2
        while True:  # big saves back to back: the kill lands in one of them
            save_checkpoint(path, {"format": "evalstudio-checkpoint", "epoch": epoch, "w": torch.full((2_000_000,), float(epoch))})
            epoch += 1
    """
)


def _spawn(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "last.pt"), mode],
                            stdout=subprocess.PIPE, text=True, env=env)


def _wait_for(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdout is not None
    for got in proc.stdout:
        if got.strip() == line:
            return
    raise AssertionError(f"child exited before printing {line!r}")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_mid_save_leaves_the_previous_file_loadable(tmp_path: Path) -> None:
    proc = _spawn(tmp_path, "stall")
    try:
        _wait_for(proc, "saved-1")
        _wait_for(proc, "in-save")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 1 and torch.equal(ckpt["w"], torch.ones(4))
    # The interrupted save's temp file is what is left over: the kill really hit mid-save.
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "last.pt"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".last.pt.") and leftovers[0].endswith(".tmp")
    # The next save of that name (a resumed run) clears the leftover.
    save_checkpoint(tmp_path / "last.pt", {"format": FORMAT, "epoch": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_during_back_to_back_saves_never_leaves_a_torn_file(tmp_path: Path) -> None:
    proc = _spawn(tmp_path, "loop")
    try:
        _wait_for(proc, "saved-1")
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    epoch = ckpt["epoch"]
    if epoch > 1:  # whichever save finished last is there, whole
        assert torch.equal(ckpt["w"], torch.full((2_000_000,), float(epoch)))


def test_read_checkpoint_explains_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"does not exist.*--resume"):
        read_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"junk.pt' is a text file, not an evalstudio training checkpoint"):
        read_checkpoint(tmp_path / "junk.pt")
    save_checkpoint(tmp_path / "whole.pt", {"format": FORMAT, "w": torch.ones(1000)})
    (tmp_path / "torn.pt").write_bytes((tmp_path / "whole.pt").read_bytes()[:600])
    with pytest.raises(CheckpointError, match=r"cannot read checkpoint .*torn.pt' as weights only"):
        read_checkpoint(tmp_path / "torn.pt")
    save_checkpoint(tmp_path / "sd.pt", {"weight": torch.ones(2)})
    with pytest.raises(CheckpointError, match=r"not an evalstudio training checkpoint.*use --checkpoint"):
        read_checkpoint(tmp_path / "sd.pt")
    save_checkpoint(tmp_path / "old.pt", {"format": FORMAT, "epoch": 1})
    with pytest.raises(CheckpointError, match=r"lacks evalstudio_version, model_state_dict"):
        read_checkpoint(tmp_path / "old.pt")
