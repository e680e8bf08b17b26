"""Checkpoints: every format, the safety rules, every bad file, and fitting keys to a model."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from safetensors.torch import save_file

from evalstudio.core.errors import CheckpointError
from evalstudio.core.models.loading import (
    Checkpoint,
    CheckpointMismatchError,
    UnsafeCheckpointError,
    apply_checkpoint,
    load_checkpoint,
)


def make_net(n_in: int = 8, hidden: int = 12) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.Sigmoid())


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class RunsCode:
    """Unpickling this would execute code (it writes a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


# -- formats -------------------------------------------------------------------------------------


def test_bare_state_dict(tmp_path: Path) -> None:
    net = make_net()
    torch.save(net.state_dict(), tmp_path / "w.pt")
    ckpt = load_checkpoint(tmp_path / "w.pt")
    assert isinstance(ckpt, Checkpoint) and ckpt.format == "state_dict" and ckpt.meta == {}
    assert same_weights(ckpt.state_dict, net.state_dict())
    assert ckpt.pickled_module is None and ckpt.preprocessing is None and ckpt.classes is None


@pytest.mark.parametrize("key", ["model_state_dict", "state_dict", "model", "net"])
def test_training_dict_with_weights_beside_epoch_and_optimizer(tmp_path: Path, key: str) -> None:
    net = make_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(4, 8)).sum().backward()
    opt.step()
    torch.save({"epoch": 5, key: net.state_dict(), "optimizer_state_dict": opt.state_dict(),
                "loss": torch.tensor(0.25)}, tmp_path / "ckpt.tar")
    ckpt = load_checkpoint(tmp_path / "ckpt.tar")
    assert ckpt.format == f"dict with weights under {key!r}, epoch 5"
    assert same_weights(ckpt.state_dict, net.state_dict())
    assert ckpt.meta["epoch"] == 5 and "optimizer_state_dict" in ckpt.meta and key not in ckpt.meta


def test_safetensors_recognised_by_content_not_extension(tmp_path: Path) -> None:
    net = make_net()
    save_file(net.state_dict(), str(tmp_path / "weights.bin"), metadata={"epoch": "3"})
    ckpt = load_checkpoint(tmp_path / "weights.bin")
    assert ckpt.format == "safetensors" and ckpt.meta == {"epoch": "3"}
    assert same_weights(ckpt.state_dict, net.state_dict())


def test_legacy_torch_save_format(tmp_path: Path) -> None:
    net = make_net()
    torch.save(net.state_dict(), tmp_path / "old.pth", _use_new_zipfile_serialization=False)
    assert same_weights(load_checkpoint(tmp_path / "old.pth").state_dict, net.state_dict())


def test_evalstudio_checkpoint_exposes_preprocessing_and_classes(tmp_path: Path) -> None:
    net = make_net()
    pre = {"kind": "standardize", "mean": [0.0] * 8, "scale": [1.0] * 8}
    torch.save({
        "format": "evalstudio-checkpoint", "evalstudio_version": "0.1.0",
        "model_state_dict": net.state_dict(), "optimizer_state_dict": {}, "epoch": 12,
        "history": [{"epoch": 1, "train_loss": 0.7}], "rng_state": {"torch": torch.get_rng_state()},
        "preprocessing": pre, "classes": ["0", "1"], "feature_names": [f"f{i}" for i in range(8)],
        "target": "Outcome", "config": {"lr": 0.001},
    }, tmp_path / "best.pt")
    ckpt = load_checkpoint(tmp_path / "best.pt")
    assert ckpt.format == "evalstudio checkpoint (epoch 12)"
    assert ckpt.preprocessing == pre and ckpt.classes == ["0", "1"] and ckpt.target == "Outcome"
    assert ckpt.feature_names == [f"f{i}" for i in range(8)]
    assert ckpt.meta["epoch"] == 12 and ckpt.meta["history"][0]["train_loss"] == 0.7
    assert "model_state_dict" not in ckpt.meta
    assert same_weights(ckpt.state_dict, net.state_dict())


def test_evalstudio_checkpoint_without_weights(tmp_path: Path) -> None:
    torch.save({"format": "evalstudio-checkpoint", "epoch": 1}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match=r"the evalstudio checkpoint .* has no model weights \(model_state_dict\)"):
        load_checkpoint(tmp_path / "x.pt")


def test_numpy_scalars_are_allowed_explicitly(tmp_path: Path) -> None:
    net = make_net()
    torch.save({"model_state_dict": net.state_dict(), "loss": np.float64(0.125), "epoch": np.int64(4)},
               tmp_path / "np.pt")
    ckpt = load_checkpoint(tmp_path / "np.pt")
    assert ckpt.meta["loss"] == 0.125 and ckpt.meta["epoch"] == 4
    assert any(n.startswith("numpy scalars in the checkpoint allowed explicitly") for n in ckpt.notes)


# -- safety -----------------------------------------------------------------------------------------


def test_whole_pickled_model_is_refused_with_its_globals(tmp_path: Path) -> None:
    torch.save(make_net(), tmp_path / "model.pth")
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint(tmp_path / "model.pth")
    e = err.value
    assert e.pickled_model and e.path == tmp_path / "model.pth"
    assert {"torch.nn.modules.linear.Linear", "torch.nn.modules.container.Sequential"} <= set(e.unsafe_globals)
    msg = str(e)
    assert "is a whole pickled model (torch.save(model))" in msg and "Nothing from it was run" in msg
    assert "torch.nn.modules.linear.Linear" in msg and "pass --trust-pickle" in msg
    assert "torch.save(model.state_dict(), 'weights.pt')" in msg
    assert "weights_only" not in msg


def test_trusted_whole_pickled_model(tmp_path: Path) -> None:
    net = make_net()
    torch.save(net, tmp_path / "model.pth")
    ckpt = load_checkpoint(tmp_path / "model.pth", trust_pickle=True)
    assert isinstance(ckpt.pickled_module, nn.Sequential) and ckpt.format == "whole pickled model"
    assert "torch.nn.modules.linear.Linear" in ckpt.unsafe_globals
    assert same_weights(ckpt.state_dict, net.state_dict())


def test_trusted_pickle_imports_its_class_from_the_checkpoint_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A script in proj/ saved torch.save(model) with its class from proj/es_a2_net.py; evaluating
    # from elsewhere with the console script (whose sys.path holds neither folder) still finds it.
    import importlib
    import sys

    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "es_a2_net.py").write_text(
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(8, 1)\n    def forward(self, x):\n        return self.fc(x)\n"
    )
    with monkeypatch.context() as m:
        m.syspath_prepend(str(proj))
        net = importlib.import_module("es_a2_net").Net()
        torch.save(net, proj / "model.pt")
    monkeypatch.delitem(sys.modules, "es_a2_net")
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    ckpt = load_checkpoint(proj / "model.pt", trust_pickle=True)
    assert type(ckpt.pickled_module).__name__ == "Net" and "es_a2_net.Net" in ckpt.unsafe_globals
    assert same_weights(ckpt.state_dict, net.state_dict())
    assert sys.path == path_before  # the folders were added for the load only
    sys.modules.pop("es_a2_net", None)


def test_pickled_model_inside_a_dict_when_trusted(tmp_path: Path) -> None:
    net = make_net()
    torch.save({"model": net, "epoch": 2}, tmp_path / "m.pt")
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(tmp_path / "m.pt")
    ckpt = load_checkpoint(tmp_path / "m.pt", trust_pickle=True)
    assert ckpt.pickled_module is not None and ckpt.meta == {"epoch": 2}


def test_arbitrary_code_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    torch.save({"state_dict": make_net().state_dict(), "extra": RunsCode(marker)}, tmp_path / "evil.pt")
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists()
    assert err.value.unsafe_globals == ("builtins.exec",) and not err.value.pickled_model
    msg = str(err.value)
    assert "needs arbitrary unpickling, which could run code; it names builtins.exec" in msg
    assert "Nothing from it was run" in msg and "weights_only" not in msg


def test_legacy_format_pickled_model_is_refused_too(tmp_path: Path) -> None:
    torch.save(make_net(), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint(tmp_path / "old.pt")
    assert "torch.nn.modules.linear.Linear" in err.value.unsafe_globals
    assert load_checkpoint(tmp_path / "old.pt", trust_pickle=True).pickled_module is not None


# -- not a checkpoint ------------------------------------------------------------------------------


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"checkpoint '.*nope.pt' does not exist\. Check the path given to --checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match=r"is a folder, not a checkpoint file"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.pt", b"", r"is an empty file \(0 bytes\), not a PyTorch checkpoint"),
        ("notes.pt", b"epoch,loss\n1,0.5\n", r"is a text file, not a PyTorch checkpoint"),
        ("model.py", b"import torch\n", r"is a text file \(Python source\?\), not a PyTorch checkpoint.*--model"),
        ("junk.pt", bytes(range(256)) * 8, r"is a binary file of unknown type, not a PyTorch checkpoint"),
        ("data.pt", b"\x1f\x8b\x08\x00" + bytes(100), r"is a gzip-compressed file, not a PyTorch checkpoint"),
    ],
)
def test_files_that_are_not_checkpoints(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CheckpointError, match=expected):
        load_checkpoint(tmp_path / name)


def test_truncated_torch_save_file(tmp_path: Path) -> None:
    torch.save(make_net().state_dict(), tmp_path / "full.pt")
    data = (tmp_path / "full.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "cut.pt")
    assert "cannot read checkpoint" in str(err.value) and "it is truncated or corrupt" in str(err.value)
    assert "cut short" in str(err.value)


def test_truncated_safetensors_file(tmp_path: Path) -> None:
    save_file(make_net().state_dict(), str(tmp_path / "w.safetensors"))
    data = (tmp_path / "w.safetensors").read_bytes()
    for n, name in ((len(data) - 20, "body.st"), (40, "head.st")):
        (tmp_path / name).write_bytes(data[:n])
        with pytest.raises(CheckpointError, match=r"cannot read the safetensors file .* truncated or corrupt"):
            load_checkpoint(tmp_path / name)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_torchscript_archive_given_as_checkpoint(tmp_path: Path) -> None:
    torch.jit.script(make_net()).save(str(tmp_path / "ts.pt"))
    with pytest.raises(CheckpointError, match=r"is a TorchScript archive, which holds its own weights\. Pass it with --model"):
        load_checkpoint(tmp_path / "ts.pt")


def test_dict_without_weights_lists_its_keys(tmp_path: Path) -> None:
    torch.save({"epoch": 3, "optimizer": {}, "lr": 0.1}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "x.pt")
    assert "holds a dict with no model weights in it (keys: 'epoch', 'optimizer', 'lr')" in str(err.value)
    assert "'model_state_dict', 'state_dict', 'model' or 'net'" in str(err.value)


def test_a_lone_tensor(tmp_path: Path) -> None:
    torch.save(torch.zeros(3), tmp_path / "t.pt")
    with pytest.raises(CheckpointError, match=r"holds a Tensor, not model weights"):
        load_checkpoint(tmp_path / "t.pt")


# -- fitting keys to a model -----------------------------------------------------------------------


def test_exact_match_loads_everything() -> None:
    src, dst = make_net(), make_net()
    torch.nn.init.zeros_(dst[0].weight)
    report = apply_checkpoint(dst, Checkpoint(src.state_dict()))
    assert report.loaded and report.exact and report.n_loaded == 4 and report.prefix_change == ""
    assert report.summary() == "all 4 tensors loaded"
    assert same_weights(dst.state_dict(), src.state_dict())


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        ("module.", "DataParallel/DistributedDataParallel"),
        ("_orig_mod.", "torch.compile'd"),
        ("model.", "Lightning module"),
        ("module._orig_mod.", "DataParallel"),
    ],
)
def test_wrapper_prefix_is_stripped_when_it_makes_keys_match(prefix: str, why: str) -> None:
    src, dst = make_net(), make_net(hidden=12)
    torch.nn.init.zeros_(dst[2].weight)
    state = {prefix + k: v for k, v in src.state_dict().items()}
    report = apply_checkpoint(dst, state)
    assert report.loaded and report.exact
    assert report.prefix_change.startswith(f"stripped {prefix!r} from every checkpoint key") and why in report.prefix_change
    assert prefix in report.summary()
    assert same_weights(dst.state_dict(), src.state_dict())


def test_lightning_checkpoint_end_to_end(tmp_path: Path) -> None:
    src = make_net()
    torch.save({"epoch": 9, "global_step": 90, "state_dict": {"model." + k: v for k, v in src.state_dict().items()},
                "hyper_parameters": {"lr": 0.01}}, tmp_path / "last.ckpt")
    ckpt = load_checkpoint(tmp_path / "last.ckpt")
    dst = make_net()
    report = apply_checkpoint(dst, ckpt)
    assert "stripped 'model.'" in report.prefix_change and ckpt.meta["global_step"] == 90


def test_prefix_added_when_the_model_is_the_wrapped_one() -> None:
    src = make_net()
    wrapper = nn.Module()
    wrapper.add_module("_orig_mod", make_net())
    report = apply_checkpoint(wrapper, src.state_dict())
    assert report.prefix_change == "added '_orig_mod.' to every checkpoint key to match the model"
    assert torch.equal(wrapper._orig_mod[0].weight, src[0].weight)


def test_prefix_is_not_stripped_when_the_sets_still_differ() -> None:
    src = make_net()
    state = {"module." + k: v for k, v in src.state_dict().items()}
    state["module.extra.weight"] = torch.zeros(2)
    with pytest.raises(CheckpointMismatchError) as err:
        apply_checkpoint(make_net(), state)
    assert err.value.report.prefix_change == "" and "module.0.weight" in err.value.report.unexpected
    assert "none of the checkpoint's 5 tensors fit the model's 4" in str(err.value)


def test_shape_mismatch_is_named_with_both_shapes() -> None:
    src = make_net(n_in=8, hidden=16)
    dst = make_net(n_in=8, hidden=12)
    with pytest.raises(CheckpointMismatchError) as err:
        apply_checkpoint(dst, src.state_dict())
    msg = str(err.value)
    assert "0.weight: checkpoint (16, 8) vs model (12, 8)" in msg
    assert "0.bias: checkpoint (16,) vs model (12,)" in msg
    assert "2.weight: checkpoint (1, 16) vs model (1, 12)" in msg
    assert "pass --non-strict to load the 1 tensors that fit" in msg
    assert err.value.report.shape_mismatches[0] == "0.weight: checkpoint (16, 8) vs model (12, 8)"


def test_missing_and_unexpected_keys_strict_then_non_strict() -> None:
    src = make_net()
    state = dict(src.state_dict())
    del state["2.bias"]
    state["head.weight"] = torch.zeros(3)
    dst = make_net()
    torch.nn.init.zeros_(dst[0].weight)
    before_bias = dst[2].bias.detach().clone()
    with pytest.raises(CheckpointMismatchError) as err:
        apply_checkpoint(dst, state)
    msg = str(err.value)
    assert "the checkpoint does not fit the model: missing from the checkpoint (1): 2.bias; " in msg
    assert "not in the model (1): head.weight" in msg
    assert torch.count_nonzero(dst[0].weight) == 0  # strict: nothing was loaded
    report = apply_checkpoint(dst, state, strict=False)
    assert report.loaded and report.n_loaded == 3 and not report.exact
    assert report.summary().startswith("3 of 4 model tensors loaded (partial load, --non-strict)")
    assert torch.equal(dst[0].weight, src[0].weight) and torch.equal(dst[2].bias, before_bias)


def test_nothing_matching_is_refused_even_non_strict() -> None:
    with pytest.raises(CheckpointMismatchError) as err:
        apply_checkpoint(make_net(), {"conv.weight": torch.zeros(2, 1, 3)}, strict=False)
    assert "none of the checkpoint's 1 tensors fit the model's 4" in str(err.value)
    assert "not in the model (1): conv.weight" in str(err.value)
    assert "Check that the model file defines the architecture the checkpoint was saved from" in str(err.value)


def test_long_key_lists_are_cut_at_ten() -> None:
    state = collections.OrderedDict((f"layer{i}.weight", torch.zeros(1)) for i in range(15))
    state["0.weight"] = make_net()[0].weight.detach()
    with pytest.raises(CheckpointMismatchError, match=r"not in the model \(15\): layer0.weight, .*layer9.weight, \.\.\. \(5 more\)"):
        apply_checkpoint(make_net(), state)


def test_dtype_conversion_is_noted() -> None:
    src = make_net().double()
    dst = make_net()
    report = apply_checkpoint(dst, src.state_dict())
    assert report.loaded and dst[0].weight.dtype == torch.float32
    assert "tensors converted to the model's dtype (e.g. 0.weight converted from float64 to float32)" in report.notes[0]
