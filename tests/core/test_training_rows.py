"""Row fingerprints and the ``training_rows`` checkpoint section (no model, no Qt)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from evalstudio.core.data.dataset import Dataset, load_csv
from evalstudio.core.data.fingerprints import (
    MISSING,
    dataset_row_hashes,
    numeric_cell_hashes,
    row_hashes,
    text_cell_hashes,
)
from evalstudio.core.errors import CheckpointError
from evalstudio.core.evaluation.leakage import AllRowsTrainedError, Leakage, guard_training_rows
from evalstudio.core.models.checkpoint_format import SECTIONS, copy_sections, make_payload
from evalstudio.core.models.training_rows import (
    SECTION,
    RowSet,
    TrainingRows,
    check_rows,
    record_training_rows,
    rows_that_trained,
    training_rows_of,
)


def _data(n: int = 200, d: int = 5, seed: int = 0, source: str = "") -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (rng.random(n) < 0.4).astype(np.int64)
    return Dataset(X, y, ("neg", "pos"), tuple(f"f{i}" for i in range(d)), "label",
                   np.arange(1, n + 1, dtype=np.int64), source)


def _permuted_columns(data: Dataset, order: list[int]) -> Dataset:
    return Dataset(np.ascontiguousarray(data.X[:, order]), data.y, data.classes,
                   tuple(data.feature_names[i] for i in order), data.target_name, data.row_numbers, data.source)


# --------------------------------------------------------------------------- the hash


def test_numeric_cells_treat_signed_zero_and_every_nan_alike() -> None:
    quiet_nan = np.float64("nan")
    other_nan = np.array([0x7FF8DEADBEEF0001], dtype=np.uint64).view(np.float64)[0]
    h = numeric_cell_hashes(np.array([0.0, -0.0, quiet_nan, other_nan, 1.0, np.float32(0.1)]))
    assert h[0] == h[1]
    assert h[2] == h[3] == MISSING
    assert len({int(v) for v in h[[0, 2, 4, 5]]}) == 4


def test_text_cells_are_trimmed_and_missing_is_its_own_value() -> None:
    h = text_cell_hashes(np.array(["a", "  a ", None, float("nan"), "", "b"], dtype=object))
    assert h[0] == h[1]
    assert h[2] == h[3] == MISSING
    assert h[4] != MISSING and h[4] != h[0] and h[5] != h[0]
    # the definition in the docs: pandas' SipHash-based hash_array of the trimmed string
    assert h[5] == pd.util.hash_array(np.array(["b"], dtype=object))[0]


def test_row_hash_depends_on_column_order_and_every_value() -> None:
    labels = np.array(["x", "x", "y"], dtype=object)
    a, b = np.array([1.0, 2.0, 1.0]), np.array([2.0, 1.0, 2.0])
    h = row_hashes(labels, [a, b])
    assert h[0] != h[1]  # (1, 2) vs (2, 1)
    assert h[0] != h[2]  # same features, another label
    assert np.array_equal(row_hashes(labels, [a, b]), h)  # deterministic
    assert not np.array_equal(row_hashes(labels, [b, a]), h)
    text = np.array(["u", "v", None], dtype=object)
    assert row_hashes(labels, [a, text]).dtype == np.uint64


def test_dataset_hashes_follow_the_checkpoints_column_order_not_the_files() -> None:
    data = _data()
    order = [3, 0, 4, 1, 2]
    shuffled = _permuted_columns(data, order)
    assert np.array_equal(dataset_row_hashes(shuffled, data.feature_names), dataset_row_hashes(data, data.feature_names))
    # The generic form agrees with the Dataset adapter (labels as class names, columns by name).
    names = np.asarray(data.classes, dtype=object)[data.y]
    assert np.array_equal(row_hashes(names, [data.X[:, j] for j in range(5)]), dataset_row_hashes(data))


def test_the_same_rows_hash_the_same_from_either_csv_reader(tmp_path: Path) -> None:
    """The fast reader (clean numbers) and the full reader (a quoted field somewhere) parse alike."""
    frame = pd.DataFrame(np.random.default_rng(1).normal(size=(50, 3)).round(4), columns=["a", "b", "c"])
    frame["target"] = np.arange(50) % 2
    frame.to_csv(tmp_path / "plain.csv", index=False)
    lines = (tmp_path / "plain.csv").read_text().splitlines()
    lines[1] = ",".join(f'"{v}"' for v in lines[1].split(","))
    (tmp_path / "quoted.csv").write_text("\n".join(lines) + "\n")
    from evalstudio.core.data.csv_fast import read_numeric
    from evalstudio.core.data.csv_format import sniff_csv

    assert read_numeric(sniff_csv(tmp_path / "plain.csv"), ["a", "b", "c"], "target", None) is not None
    assert read_numeric(sniff_csv(tmp_path / "quoted.csv"), ["a", "b", "c"], "target", None) is None
    a, b = load_csv(tmp_path / "plain.csv"), load_csv(tmp_path / "quoted.csv")
    assert np.array_equal(dataset_row_hashes(a), dataset_row_hashes(b))


# --------------------------------------------------------------------------- sets


def test_row_set_finds_every_member_and_only_keys_that_share_its_leading_bits() -> None:
    rng = np.random.default_rng(0)
    members = rng.integers(0, 2**63, size=20_000, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    members = np.concatenate([members, members[:500]])  # repeats
    strangers = rng.integers(0, 2**63, size=1_000_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    rows = RowSet.build(members)
    assert (rows.rows, rows.unique, rows.bucket_bits) == (20_500, 20_000, 14)  # 2^14 <= 20,000 < 2^15
    assert rows.contains(members).all()  # never a false negative
    assert 2**-32 <= rows.false_positive_rate < 2**-31
    assert not rows.contains(strangers).any()  # expected 1e6 * 3.6e-10 = 0.0004 false positives
    # what a false positive is: a fingerprint whose leading 14 + 32 bits are a member's
    m = members[:1]
    assert rows.contains(m ^ np.uint64(1 << 17)).all()  # differs below the kept bits
    assert not rows.contains(m ^ np.uint64(1 << 18)).any()  # differs in the last kept bit
    # the order of the queries does not matter; an empty set holds nothing
    mixed = np.concatenate([strangers[:1000], members[:1000]])[::-1]
    assert np.array_equal(rows.contains(mixed), np.r_[np.ones(1000, bool), np.zeros(1000, bool)])
    assert not RowSet.build(np.zeros(0, np.uint64)).contains(members).any()
    # 4 bytes a key plus a one-byte count per bucket
    assert rows.remainders.nbytes + rows.counts.nbytes <= 5 * 20_000


def test_sets_survive_weights_only_loading(tmp_path: Path) -> None:
    data = _data()
    rows = record_training_rows(data.subset(np.arange(150)), data.subset(np.arange(150, 200)))
    path = tmp_path / "c.pt"
    torch.save(make_payload(training_rows=rows.to_state()), path)
    back = training_rows_of(torch.load(path, weights_only=True))
    assert back is not None and back.columns == rows.columns and back.training.unique == 150
    assert np.array_equal(back.training.keys(), rows.training.keys())
    check = check_rows(data, back)
    assert check.trained[:150].all() and not check.trained[150:].any()
    assert check.validated[150:].all() and not check.validated[:150].any()


# --------------------------------------------------------------------------- the record


def test_record_counts_repeats_and_validation_rows_that_copy_training_rows() -> None:
    data = _data(100)
    X = data.X.copy()
    X[10] = X[0]  # a repeat inside the training rows (labels must match too)
    y = data.y.copy()
    y[10] = y[0]
    X[95] = X[1]
    y[95] = y[1]  # a validation row identical to a training row
    data = Dataset(X, y, data.classes, data.feature_names, data.target_name, data.row_numbers)
    rows = record_training_rows(data.subset(np.arange(80)), data.subset(np.arange(80, 100)))
    assert rows.training.rows == 80 and rows.training.unique == 79 and rows.training_repeats == 1
    assert rows.validation is not None and rows.validation.rows == 20 and rows.validation_in_training == 1
    check = check_rows(data, rows)
    assert check.trained.sum() == 81 and check.trained[95]  # the copy is a training row, wherever it sits
    assert check.validated.sum() == 19 and check.repeats == 2


def test_fine_tuning_keeps_the_earlier_rows() -> None:
    data = _data(300)
    first = record_training_rows(data.subset(np.arange(100)))
    second = record_training_rows(data.subset(np.arange(100, 200)), earlier=first.to_state())
    assert len(second.earlier) == 1
    trained = check_rows(data, TrainingRows.from_state(second.to_state())).trained
    assert trained[:200].all() and not trained[200:].any()


def test_the_record_names_the_training_file(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "target": [0, 1, 0, 1]})
    frame.to_csv(path, index=False)
    rows = record_training_rows(load_csv(path))
    import hashlib

    assert rows.training_file == {"name": "train.csv", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                  "bytes": path.stat().st_size}


def test_a_malformed_or_foreign_section_is_refused_in_one_line() -> None:
    rows = record_training_rows(_data()).to_state()
    with pytest.raises(CheckpointError, match="rows are hashed with 'md5-rows'"):
        TrainingRows.from_state({**rows, "hash": "md5-rows"})
    with pytest.raises(CheckpointError, match="cannot be read"):
        TrainingRows.from_state({**rows, "training": {"rows": 3, "unique": 3, "bucket_bits": 1,
                                                      "counts": torch.tensor([1, 1]), "remainders": torch.tensor([5])}})
    # the guard then evaluates as for a checkpoint that records nothing, and says why
    data = _data()
    scored, leakage, notes = guard_training_rows(data, {SECTION: {**rows, "hash": "x"}}, include=False)
    assert scored is data and leakage is None and notes[0].endswith("this checkpoint does not record its training rows")


def test_section_is_registered_and_copied_in_one_line() -> None:
    assert SECTION in SECTIONS
    src = make_payload(training_rows={"hash": "h"}, epoch=3)
    assert copy_sections(src, {"x": 1}, SECTION) == {"x": 1, SECTION: {"hash": "h"}}
    assert copy_sections({}, {"x": 1}, SECTION) == {"x": 1}
    with pytest.raises(ValueError):
        copy_sections(src, {}, "weights")


# --------------------------------------------------------------------------- the guard


def test_guard_leaves_out_training_rows_and_counts_the_rest() -> None:
    data = _data(200, source="")
    rows = record_training_rows(data.subset(np.arange(120)), data.subset(np.arange(120, 160)))
    ckpt = {SECTION: rows.to_state()}
    perm = np.random.default_rng(3).permutation(200)
    shuffled = data.subset(perm)
    scored, leakage, notes = guard_training_rows(shuffled, ckpt, include=False)
    assert notes == []
    assert isinstance(leakage, Leakage)
    assert leakage.to_json()["rows_in_file"] == 200
    assert (leakage.training_rows, leakage.validation_rows, leakage.scored) == (120, 40, 80)
    assert sorted(scored.row_numbers.tolist()) == list(range(121, 201))
    assert leakage.headline() == "120 of 200 rows trained this checkpoint and are left out; scoring the other 80"
    assert "40 of the scored rows chose this checkpoint" in leakage.lines()[1]
    assert "the other 40 it never saw are the honest part" in leakage.lines()[1]
    # calibration's question, in one call
    assert np.array_equal(rows_that_trained(ckpt, shuffled), perm < 120)

    every, leakage, _ = guard_training_rows(data, ckpt, include=True)
    assert every is data and leakage.optimistic and leakage.scored == 200
    assert "INCLUDING the 120 that trained this checkpoint" in leakage.headline()

    with pytest.raises(AllRowsTrainedError, match="all 120 rows of the data trained this checkpoint") as info:
        guard_training_rows(data.subset(np.arange(120)), ckpt, include=False)
    assert "--include-training-rows" in str(info.value)  # the command line's words
    assert "tick \u201cinclude the rows this model was trained on (optimistic)\u201d" in info.value.text("app")


def test_guard_without_a_record_says_so_once() -> None:
    data = _data()
    for ckpt, said in (({"epoch": 3}, "this checkpoint does not record its training rows"),
                       (None, "this model has no checkpoint that records its training rows")):
        scored, leakage, notes = guard_training_rows(data, ckpt, include=False, has_checkpoint=ckpt is not None)
        assert scored is data and leakage is None and notes == [said]


def test_the_section_costs_at_most_about_ten_bytes_a_training_row() -> None:
    """About 5 bytes per distinct recorded row (training or validation) plus a small fixed overhead."""
    data = _data(25_000, d=8)

    def saved_size(**fields: object) -> int:
        buf = io.BytesIO()
        torch.save(make_payload(epoch=1, **fields), buf)
        return buf.tell()

    base = saved_size()
    only_training = saved_size(training_rows=record_training_rows(data).to_state())
    assert (only_training - base) / 25_000 < 5.2  # 4 bytes a row + a byte per bucket (2^14 of them)
    split = record_training_rows(data.subset(np.arange(20_000)), data.subset(np.arange(20_000, 25_000)))
    assert (saved_size(training_rows=split.to_state()) - base) / 20_000 < 6.5  # 80/20
