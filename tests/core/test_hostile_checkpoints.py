"""Hostile or unusual checkpoint files: zip bombs, newer PyTorch, numpy-1 scalars, old BatchNorm."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from evalstudio.core.errors import CheckpointError, ModelError
from evalstudio.core.models import checkpoint_format as cf
from evalstudio.core.models import limits
from evalstudio.core.models.checkpoints import load_checkpoint
from evalstudio.core.models.key_matching import apply_checkpoint
from evalstudio.core.models.model_files import load_model


def rewrite_zip(src: Path, dst: Path, change) -> None:
    """Copy a torch zip archive entry by entry, ``change(name, data) -> (data, compress_type)``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data, how = change(info.filename, zin.read(info.filename))
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out.compress_type = how
            zout.writestr(out, data)


@pytest.fixture()
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / "weights.pt"
    torch.save(nn.Linear(4, 2).state_dict(), path)
    return path


# --- zip bombs and archives larger than memory ------------------------------------------------


@pytest.mark.slow
def test_a_zip_bomb_is_refused_from_its_central_directory(state_file: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.pt"
    padding = b"\x00" * (300 << 20)  # 300 MB of zeros: a few hundred KB once deflated
    rewrite_zip(state_file, bomb, lambda n, d: (d + padding, zipfile.ZIP_DEFLATED) if n.endswith("data.pkl")
                else (d, zipfile.ZIP_STORED))
    assert bomb.stat().st_size < 2 << 20
    with pytest.raises(CheckpointError, match=r"is a zip bomb: its entry '.*data.pkl' would unpack from .* to 314.6 MB"):
        load_checkpoint(bomb)
    with pytest.raises(CheckpointError, match="is a zip bomb"):
        cf.read_checkpoint(bomb)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_an_archive_larger_than_the_memory_available_is_refused(state_file: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "available_memory", lambda: 100)
    with pytest.raises(CheckpointError, match=r"would take .* once unpacked, more than the 100 bytes of memory"):
        load_checkpoint(state_file)
    script = tmp_path / "net.ts"
    torch.jit.script(nn.Linear(4, 1)).save(str(script))
    with pytest.raises(ModelError, match="more than the 100 bytes of memory available"):
        load_model(script)


def test_the_available_memory_is_known_here() -> None:
    avail = limits.available_memory()
    assert avail is None or avail > 1 << 20


# --- a file from a newer PyTorch --------------------------------------------------------------


def test_a_checkpoint_from_a_newer_torch_says_so_instead_of_corrupt(state_file: Path, tmp_path: Path) -> None:
    newer = tmp_path / "newer.pt"
    rewrite_zip(state_file, newer, lambda n, d: (b"99\n" if n.endswith("/version") else d, zipfile.ZIP_STORED))
    for load in (load_checkpoint, cf.read_checkpoint):
        with pytest.raises(CheckpointError) as info:
            load(newer)
        text = str(info.value)
        assert "was written by a newer PyTorch than this one (file format version 99" in text
        assert "Upgrade PyTorch" in text and "corrupt" not in text and "truncated" not in text


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_a_torchscript_archive_from_a_newer_torch_says_so(tmp_path: Path) -> None:
    script = tmp_path / "net.ts"
    torch.jit.script(nn.Linear(4, 1)).save(str(script))
    newer = tmp_path / "newer.ts"
    rewrite_zip(script, newer, lambda n, d: (b"99\n" if n.endswith("/version") else d, zipfile.ZIP_STORED))
    with pytest.raises(ModelError, match="written by a newer PyTorch than this one"):
        load_model(newer)


# --- safe files that used to be refused ---------------------------------------------------------


def test_a_numpy_1_era_scalar_loads(tmp_path: Path) -> None:
    """numpy 1 pickled scalars as numpy.core.multiarray.scalar; numpy 2 moved it to numpy._core."""
    modern = tmp_path / "modern.pt"
    torch.save({"model_state_dict": nn.Linear(4, 2).state_dict(), "loss": np.float64(0.3)}, modern)
    old = tmp_path / "numpy1.pt"
    rewrite_zip(modern, old, lambda n, d: (d.replace(b"numpy._core.multiarray\nscalar", b"numpy.core.multiarray\nscalar"),
                                           zipfile.ZIP_STORED))
    assert "numpy.core.multiarray.scalar" in torch.serialization.get_unsafe_globals_in_checkpoint(old)
    ckpt = load_checkpoint(old)
    assert float(ckpt.meta["loss"]) == 0.3 and set(ckpt.state_dict) == {"weight", "bias"}
    assert any("numpy scalars" in n for n in ckpt.notes)


@pytest.mark.parametrize("prefix", ["", "module."])
def test_an_old_batchnorm_checkpoint_without_num_batches_tracked_loads(prefix: str) -> None:
    def net() -> nn.Module:
        return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))

    torch.manual_seed(0)
    trained = net()
    trained[1].running_mean.fill_(0.5)
    old = {prefix + k: v for k, v in trained.state_dict().items() if not k.endswith("num_batches_tracked")}
    fresh = net()
    report = apply_checkpoint(fresh, old)
    assert report.loaded and report.exact
    assert torch.equal(fresh[1].running_mean, torch.full((3,), 0.5)) and int(fresh[1].num_batches_tracked) == 0
    assert any("num_batches_tracked absent for 1 BatchNorm layer" in n for n in report.notes)
    # torch agrees: its own strict load accepts the same dict.
    net().load_state_dict({k[len(prefix):]: v for k, v in old.items()}, strict=True)


def test_a_missing_running_mean_is_still_a_mismatch() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("1.running")}
    with pytest.raises(CheckpointError, match="missing from the checkpoint"):
        apply_checkpoint(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)), state)


# --- resume never relays torch's advice -------------------------------------------------------


class Custom:
    pass


def test_resume_on_a_file_that_needs_unpickling_speaks_evalstudios_words(tmp_path: Path) -> None:
    path = tmp_path / "pickled.pt"
    torch.save({"format": cf.FORMAT, "model": nn.Linear(2, 1)}, path)
    with pytest.raises(CheckpointError) as info:
        cf.read_checkpoint(path)
    text = str(info.value)
    assert "needs arbitrary unpickling, which could run code (it names torch.nn.modules.linear.Linear" in text
    assert "nothing from it was run" in text
    assert "\x1b" not in text and "weights_only" not in text and "Re-running" not in text
