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

from evalstudio.core.models.checkpoint_format import FORMAT, read_checkpoint, save_checkpoint
from evalstudio.core.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import os, sys, time, torch
    from evalstudio.core.models.checkpoint_format import save_checkpoint
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


# -- the versioned format ----------------------------------------------------------------------


def test_new_checkpoints_carry_the_current_format_version(tmp_path: Path) -> None:
    from evalstudio.core.models.checkpoint_format import FORMAT_VERSION, make_payload

    payload = make_payload(model_state_dict={"w": torch.ones(2)}, epoch=1)
    assert payload["format"] == FORMAT and payload["format_version"] == FORMAT_VERSION == 2
    with pytest.raises(ValueError, match="not fields of the checkpoint format: modle_state_dict"):
        make_payload(modle_state_dict={})


def test_version_1_checkpoints_still_load_for_evaluation_and_resume() -> None:
    """The bundled demo checkpoints were written before format versions existed (version 1)."""
    from evalstudio.core.models.checkpoint_format import format_version
    from evalstudio.core.models.checkpoints import load_checkpoint
    from evalstudio.resources import resource_path

    path = resource_path("demo", "pima_checkpoint.pt")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    if format_version(raw) != 1:
        pytest.skip("the demo checkpoint has been rewritten in a newer version")
    ckpt = load_checkpoint(path)
    assert ckpt.meta["format_version"] == 2 and ckpt.classes == ["0", "1"]
    assert read_checkpoint(path)["format_version"] == 2


def test_a_checkpoint_from_a_newer_evalstudio_is_refused_in_words(tmp_path: Path) -> None:
    from evalstudio.core.models.checkpoints import load_checkpoint

    path = tmp_path / "future.pt"
    torch.save({"format": FORMAT, "format_version": 99, "model_state_dict": {"w": torch.ones(1)}}, path)
    with pytest.raises(CheckpointError, match="format version 99, newer than this evalstudio") as err:
        load_checkpoint(path)
    assert "Update evalstudio" in (err.value.hint or "")
