"""evalstudio checkpoints carry a SHA-256 of every field; a changed file is refused on every load."""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path

import pytest
import torch

from evalstudio.core.errors import CheckpointError
from evalstudio.core.models import checkpoint_format as cf
from evalstudio.core.models.checkpoints import load_checkpoint


def payload(**extra: object) -> dict:
    return cf.make_payload(
        model_state_dict={"0.weight": torch.arange(12, dtype=torch.float32).reshape(3, 4), "0.bias": torch.zeros(3),
                          "1.num_batches_tracked": torch.tensor(5)},
        optimizer_state_dict={"state": {0: {"step": torch.tensor(2.0)}}, "param_groups": [{"lr": 0.001,
                                                                                           "betas": (0.9, 0.999)}]},
        scheduler_state_dict=None, epoch=2, history=[{"epoch": 1, "train_loss": 0.5}],
        rng_state={"torch": torch.get_rng_state(), "generator": torch.Generator().get_state(), "cuda": []},
        preprocessing={"mean": [0.0] * 4, "scale": [1.0] * 4}, classes=["no", "yes"],
        feature_names=["a", "b", "c", "d"], target="label", config={"epochs": 3, "lr": 0.001},
        output_kind="logit", best_score=0.25, best_epoch=2, monitor="val_loss", mode="min",
        split={"n_train": 8, "n_val": 2}, **extra,
    )


def flip_a_bit_in_a_tensor(path: Path, entry_suffix: str = "data/0") -> None:
    """Flip one bit in the stored bytes of a tensor inside the torch zip archive."""
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(entry_suffix))
        assert info.compress_type == zipfile.ZIP_STORED
    raw = bytearray(path.read_bytes())
    name_len = int.from_bytes(raw[info.header_offset + 26: info.header_offset + 28], "little")
    extra_len = int.from_bytes(raw[info.header_offset + 28: info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    raw[start + 5] ^= 0x04
    path.write_bytes(bytes(raw))


def test_every_payload_is_sealed_and_verifies(tmp_path: Path) -> None:
    p = payload()
    assert p["integrity"]["algorithm"] == "sha256" and len(p["integrity"]["digest"]) == 64
    cf.save_checkpoint(tmp_path / "best.pt", p)
    loaded = torch.load(tmp_path / "best.pt", weights_only=True)
    assert loaded["integrity"] == p["integrity"]
    cf.verify_integrity(loaded)  # the same content after a round trip through torch.save/load
    assert load_checkpoint(tmp_path / "best.pt").classes == ["no", "yes"]


def test_a_flipped_bit_in_a_tensor_is_refused_by_evaluation_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "best.pt"
    cf.save_checkpoint(path, payload())
    flip_a_bit_in_a_tensor(path)
    # torch itself reads the damaged file without complaint: the digest is what notices.
    torch.load(path, weights_only=True)
    with pytest.raises(CheckpointError, match="changed after evalstudio wrote it"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="changed after evalstudio wrote it"):
        cf.read_checkpoint(path)


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every leaf of a nested payload, as a key path."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, (*prefix, k))]
    if isinstance(value, (list, tuple)) and value:
        return [p for i, v in enumerate(value) for p in _paths(v, (*prefix, i))]
    return [prefix]


def _changed(value: object) -> object:
    if isinstance(value, torch.Tensor):
        out = value.clone()
        flat = out.view(-1)
        if flat.numel() == 0:
            return torch.zeros(1, dtype=value.dtype)
        flat.view(torch.uint8)[0] ^= 1
        return out
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "!"
    if value is None:
        return 0
    return [value]


def test_the_digest_covers_every_field_down_to_each_leaf() -> None:
    base = payload()
    digest = cf.payload_digest(base)
    leaves = [p for p in _paths(base) if p[0] != "integrity"]
    assert len(leaves) > 25
    for path in leaves:
        changed = copy.deepcopy(base)
        node = changed
        for key in path[:-1]:
            node = node[key]
        if isinstance(node, tuple):  # tuples cannot be assigned into: rebuild the parent
            parent = changed
            for key in path[:-2]:
                parent = parent[key]
            items = list(node)
            items[path[-1]] = _changed(items[path[-1]])
            parent[path[-2]] = tuple(items)
        else:
            node[path[-1]] = _changed(node[path[-1]])
        assert cf.payload_digest(changed) != digest, path


def test_sections_other_features_add_are_covered_without_change(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cf.SECTIONS, "temperature", "a test section")
    a = payload(temperature={"value": 1.5})
    b = payload(temperature={"value": 1.25})
    assert cf.payload_digest(a) != cf.payload_digest(b)
    b["temperature"]["value"] = 1.5
    assert cf.payload_digest(a) == cf.payload_digest(b)


def test_the_digest_ignores_dict_order_but_not_dtype_or_shape() -> None:
    a = {"x": torch.zeros(2, 3), "y": 1}
    b = {"y": 1, "x": torch.zeros(2, 3)}
    assert cf.payload_digest(a) == cf.payload_digest(b)
    assert cf.payload_digest(a) != cf.payload_digest({"y": 1, "x": torch.zeros(3, 2)})
    assert cf.payload_digest(a) != cf.payload_digest({"y": 1, "x": torch.zeros(2, 3, dtype=torch.float64)})
    assert cf.payload_digest({"v": 1}) != cf.payload_digest({"v": 1.0}) != cf.payload_digest({"v": True})
    assert cf.payload_digest({"v": "1"}) != cf.payload_digest({"v": 1})


def test_files_without_the_section_load_as_before_and_a_damaged_section_is_refused(tmp_path: Path) -> None:
    p = payload()
    del p["integrity"]
    torch.save(p, tmp_path / "old.pt")  # written before the section existed
    assert load_checkpoint(tmp_path / "old.pt").classes == ["no", "yes"]
    p["integrity"] = "garbage"
    torch.save(p, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="damaged integrity section"):
        load_checkpoint(tmp_path / "bad.pt")
    p["integrity"] = {"algorithm": "sha3-512", "digest": "00"}
    torch.save(p, tmp_path / "newer.pt")
    with pytest.raises(CheckpointError, match="sealed with the digest 'sha3-512'.*Update evalstudio"):
        load_checkpoint(tmp_path / "newer.pt")


def test_save_checkpoint_seals_an_evalstudio_payload_built_by_hand(tmp_path: Path) -> None:
    cf.save_checkpoint(tmp_path / "x.pt", {"format": cf.FORMAT, "epoch": 1, "w": torch.ones(3)})
    loaded = torch.load(tmp_path / "x.pt", weights_only=True)
    assert loaded["integrity"]["digest"] == cf.payload_digest(loaded)
    cf.save_checkpoint(tmp_path / "y.pt", {"weight": torch.ones(2)})  # not evalstudio's: left as it is
    assert "integrity" not in torch.load(tmp_path / "y.pt", weights_only=True)


def test_sections_copied_into_a_sealed_payload_are_sealed_again(tmp_path: Path) -> None:
    source = payload()
    source["training_rows"] = {"hash": "x", "rows": 3}
    target = payload()
    before = target["integrity"]["digest"]
    cf.copy_sections(source, target, "training_rows")
    assert target["integrity"]["digest"] != before
    cf.save_checkpoint(tmp_path / "calibrated.pt", target)
    assert load_checkpoint(tmp_path / "calibrated.pt").meta["training_rows"]["rows"] == 3
