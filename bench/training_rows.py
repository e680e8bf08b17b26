"""Item 9: the training-rows guard: checking 1M evaluation rows against a checkpoint's record, and its size.

The scene: a checkpoint trained on a 1M-row file (80 % training rows, 20 % validation rows) is
evaluated on that same file, 8 features. "ours" is the whole check
(:func:`evalstudio.core.models.training_rows.check_rows`: hash every row, look up the training and
validation sets, count repeats); the baselines run in the same process, alternating with it.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from bench.harness import Item, interleaved


def _scene(n: int, d: int = 8) -> tuple[Any, Any]:
    from evalstudio.core.data.dataset import Dataset
    from evalstudio.core.models.training_rows import record_training_rows

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (rng.random(n) < 0.35).astype(np.int64)
    data = Dataset(X, y, ("negative", "positive"), tuple(f"f{i}" for i in range(d)), "target",
                   np.arange(1, n + 1, dtype=np.int64))
    n_train = int(n * 0.8)
    rows = record_training_rows(data.subset(np.arange(n_train)), data.subset(np.arange(n_train, n)))
    return data, rows


def training_rows_check(scale: dict[str, Any]) -> list[Item]:
    """Item 9: guard at ``eval_rows`` rows vs a Python set of row tuples and vs np.isin; bytes per row."""
    import torch

    from evalstudio.core.data.fingerprints import dataset_row_hashes
    from evalstudio.core.models.checkpoint_format import make_payload
    from evalstudio.core.models.training_rows import check_rows

    n = int(scale["eval_rows"])
    reps = max(1, int(scale["repeats"]) // 2)
    data, rows = _scene(n)
    n_train = rows.training.rows
    X, names = data.X, np.asarray(data.classes, dtype=object)[data.y]

    # Baseline 1, what one would write first: a set of (label, *values) tuples of the training
    # rows (built once, like the record at training time), then one membership test per row.
    train_tuples = set(zip(names[:n_train].tolist(), *(X[:n_train, j].tolist() for j in range(X.shape[1]))))
    result: dict[str, Any] = {}

    def ours() -> None:
        result["ours"] = check_rows(data, rows)

    def python_set() -> None:
        result["set"] = np.fromiter(
            (r in train_tuples for r in zip(names.tolist(), *(X[:, j].tolist() for j in range(X.shape[1])))),
            dtype=bool, count=n)

    t_ours, t_set = interleaved([ours, python_set], reps)
    agree = bool(np.array_equal(result["ours"].trained, result["set"]))
    del train_tuples

    # Baseline 2: the same fingerprints, looked up with np.isin against the full sorted uint64 array.
    h = dataset_row_hashes(data, rows.columns)
    full = np.unique(dataset_row_hashes(data.subset(np.arange(n_train)), rows.columns))

    def lookup() -> None:
        result["lookup"] = rows.training.contains(h)

    def isin() -> None:
        result["isin"] = np.isin(h, full)

    t_lookup, t_isin = interleaved([lookup, isin], reps)
    agree_isin = bool(np.array_equal(result["lookup"], result["isin"]))

    # Size: the checkpoint with the section minus the same checkpoint without it, per training row.
    def saved(**fields: Any) -> int:
        buf = io.BytesIO()
        torch.save(make_payload(epoch=1, **fields), buf)
        return buf.tell()

    section_bytes = saved(training_rows=rows.to_state()) - saved()
    per_row = section_bytes / n_train
    sorted_per_row = 8.0 * (rows.training.unique + (rows.validation.unique if rows.validation else 0)) / n_train
    check = result["ours"]
    target = "well under 1 s at 1M rows (<= 0.5 s); same rows as the baseline"
    return [
        Item("9-check", f"Training-rows check, {n:,} rows", "hash every row + look up the training and validation "
             "sets + count repeats, vs a Python set of (label, *values) tuples", "s",
             t_ours, t_set, "Python set of row tuples", t_set / t_ours, target, t_ours <= 0.5 and agree,
             note=f"{int(check.trained.sum()):,} training and {int(check.validated.sum()):,} validation rows "
                  f"found; {'identical rows to' if agree else 'DIFFERENT rows from'} the baseline",
             details={"training_rows_found": int(check.trained.sum()), "agree": agree}),
        Item("9-lookup", f"Training-rows lookup, {n:,} fingerprints", "the lookup alone (the record's bucket "
             "directory: a few vectorised passes, no sort) vs np.isin against the sorted uint64 hashes", "s",
             t_lookup, t_isin, "np.isin", t_isin / t_lookup, "faster than np.isin; same answer",
             t_lookup < t_isin and agree_isin, note="same answer" if agree_isin else "DIFFERENT answer"),
        Item("9-size", "Checkpoint size of the record", f"bytes the training_rows section adds, per training row "
             f"({n_train:,} training + {n - n_train:,} validation rows)", "bytes/row", per_row, sorted_per_row,
             "sorted uint64 array", sorted_per_row / per_row, "<= 10 bytes per training row", per_row <= 10.0,
             note=f"section {section_bytes / 1e6:.2f} MB; false-positive rate "
                  f"{rows.training.false_positive_rate:.2e} per row",
             details={"section_bytes": section_bytes, "false_positive_rate": rows.training.false_positive_rate}),
    ]
