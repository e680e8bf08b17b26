"""The ``training_rows`` checkpoint section: which rows trained a checkpoint and which rows chose it.

A checkpoint evalstudio writes records the fingerprints (:mod:`evalstudio.core.data.fingerprints`)
of its training rows and of the validation rows that picked its epoch, plus the training file's
name, size and SHA-256. :func:`check_rows` answers "which rows of this data trained this
checkpoint?" for any :class:`~evalstudio.core.data.dataset.Dataset`; the evaluation guard
(:mod:`evalstudio.core.evaluation.leakage`) and calibration use it.

A set of fingerprints is stored as a sorted array of unique uint64 hashes (8 bytes a row, exact
up to a 2^-64 chance per pair) up to :data:`SORTED_LIMIT` rows, and past that as a Bloom filter of
:data:`BLOOM_BITS_PER_ROW` bits a row and :data:`BLOOM_HASHES` probes (2.5 bytes a row; about
0.007 % of the other rows are wrongly taken for training rows, and the output says so). Both are
plain tensors that ``torch.load(weights_only=True)`` reads; docs/checkpoint-format.md has the schema.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from evalstudio.core.data.fingerprints import HASH_NAME, dataset_row_hashes, file_record
from evalstudio.core.errors import CheckpointError

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset

SECTION = "training_rows"
#: Up to this many distinct rows a set is an exact sorted array (32 MB at the limit); past it a Bloom filter.
SORTED_LIMIT = 4_000_000
BLOOM_BITS_PER_ROW = 20
BLOOM_HASHES = 14  # round(20 * ln 2): the fewest false positives at 20 bits a row


@dataclass(frozen=True)
class RowSet:
    """A set of row fingerprints: ``kind`` "sorted" (``hashes``) or "bloom" (``bits``).

    ``rows`` counts the rows recorded, repeats included; ``unique`` the distinct fingerprints.
    """

    kind: str
    rows: int
    unique: int
    hashes: np.ndarray | None = None  # (unique,) uint64, sorted
    bits: np.ndarray | None = None  # (n_bits // 8,) uint8, bit i of the filter at bits[i >> 3] >> (i & 7)
    n_bits: int = 0
    n_hashes: int = 0

    @classmethod
    def build(cls, hashes: np.ndarray, *, sorted_limit: int = SORTED_LIMIT) -> "RowSet":
        """The set of ``hashes`` (uint64, any order, repeats allowed)."""
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        if unique.size <= sorted_limit:
            return cls("sorted", int(len(hashes)), int(unique.size), hashes=unique)
        n_bits = max(64, math.ceil(unique.size * BLOOM_BITS_PER_ROW / 64) * 64)
        flags = np.zeros(n_bits, dtype=bool)
        for idx in _bloom_positions(unique, n_bits, BLOOM_HASHES):
            flags[idx] = True
        bits = np.packbits(flags, bitorder="little")
        return cls("bloom", int(len(hashes)), int(unique.size), bits=bits, n_bits=n_bits, n_hashes=BLOOM_HASHES)

    @property
    def false_positive_rate(self) -> float:
        """The chance that a row not in the set is taken for one of it (0 for a sorted array)."""
        if self.kind != "bloom" or self.n_bits == 0:
            return 0.0
        return float((1.0 - math.exp(-self.n_hashes * self.unique / self.n_bits)) ** self.n_hashes)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Boolean mask of shape ``hashes.shape``: which fingerprints are in the set."""
        h = np.asarray(hashes, dtype=np.uint64)
        if self.kind == "sorted":
            table = self.hashes if self.hashes is not None else np.zeros(0, np.uint64)
            if table.size == 0:
                return np.zeros(h.shape, dtype=bool)
            pos = np.searchsorted(table, h)
            pos[pos == table.size] = 0
            return np.asarray(table[pos] == h)
        assert self.bits is not None
        found = np.ones(h.shape, dtype=bool)
        for idx in _bloom_positions(h, self.n_bits, self.n_hashes):
            found &= ((self.bits[idx >> np.uint64(3)] >> (idx & np.uint64(7)).astype(np.uint8)) & 1).astype(bool)
        return found

    def to_state(self) -> dict[str, Any]:
        import torch

        state: dict[str, Any] = {"kind": self.kind, "rows": self.rows, "unique": self.unique}
        if self.kind == "sorted":
            assert self.hashes is not None
            state["hashes"] = torch.from_numpy(self.hashes.view(np.int64).copy())  # uint64 bits as int64
        else:
            assert self.bits is not None
            state.update(bits=torch.from_numpy(self.bits.copy()), n_bits=self.n_bits, n_hashes=self.n_hashes,
                         false_positive_rate=self.false_positive_rate)
        return state

    @classmethod
    def from_state(cls, state: Any) -> "RowSet":
        if not isinstance(state, dict) or state.get("kind") not in ("sorted", "bloom"):
            raise ValueError("a row set is a dict with kind 'sorted' or 'bloom'")
        rows, unique = int(state["rows"]), int(state["unique"])
        if state["kind"] == "sorted":
            hashes = _numpy(state["hashes"]).astype(np.int64, copy=False).view(np.uint64)
            if hashes.size != unique or (hashes.size > 1 and not bool(np.all(hashes[1:] > hashes[:-1]))):
                raise ValueError("the sorted fingerprints are not sorted and unique")
            return cls("sorted", rows, unique, hashes=hashes)
        bits = _numpy(state["bits"]).astype(np.uint8, copy=False)
        n_bits, n_hashes = int(state["n_bits"]), int(state["n_hashes"])
        if bits.size * 8 != n_bits or n_hashes < 1:
            raise ValueError("the Bloom filter's size does not match its bits")
        return cls("bloom", rows, unique, bits=bits, n_bits=n_bits, n_hashes=n_hashes)


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a tensor
        return np.asarray(value.detach().cpu().numpy()).reshape(-1)
    return np.asarray(value).reshape(-1)


def _bloom_positions(h: np.ndarray, n_bits: int, n_hashes: int) -> Iterable[np.ndarray]:
    """Double hashing: probe i of fingerprint h is (low32(h) + i * (high32(h) | 1)) mod n_bits."""
    lo = h & np.uint64(0xFFFFFFFF)
    step = (h >> np.uint64(32)) | np.uint64(1)
    m = np.uint64(n_bits)
    for i in range(n_hashes):
        yield (lo + np.uint64(i) * step) % m  # < 15 * 2^32: no wrap


@dataclass(frozen=True)
class TrainingRows:
    """What a checkpoint records about the rows behind it.

    ``columns`` are the feature names in the order their values were hashed (the checkpoint's);
    ``training`` the rows that trained it; ``validation`` the rows that chose its epoch (None
    without validation rows; validation rows identical to a training row count as training rows,
    ``validation_in_training`` of them); ``training_file`` / ``validation_file`` ``{"name",
    "sha256", "bytes"}`` of the files they came from; ``earlier`` the records of the checkpoint
    a fine-tuned run started from (its rows trained the starting weights).
    """

    columns: tuple[str, ...]
    target: str
    training: RowSet
    validation: RowSet | None = None
    validation_in_training: int = 0
    training_file: dict[str, Any] | None = None
    validation_file: dict[str, Any] | None = None
    earlier: tuple["TrainingRows", ...] = field(default=())

    @property
    def training_repeats(self) -> int:
        """Training rows whose content repeats another training row's (duplicates in the training data)."""
        return self.training.rows - self.training.unique

    @property
    def false_positive_rate(self) -> float:
        sets = [r for t in (self, *self.earlier) for r in (t.training, t.validation) if r is not None]
        return max((s.false_positive_rate for s in sets), default=0.0)

    def to_state(self) -> dict[str, Any]:
        """The ``training_rows`` section: plain data and tensors."""
        return {
            "hash": HASH_NAME,
            "columns": list(self.columns),
            "target": self.target,
            "training": self.training.to_state(),
            "validation": self.validation.to_state() if self.validation is not None else None,
            "validation_in_training": int(self.validation_in_training),
            "training_file": dict(self.training_file) if self.training_file else None,
            "validation_file": dict(self.validation_file) if self.validation_file else None,
            "earlier": [e.to_state() for e in self.earlier],
        }

    @classmethod
    def from_state(cls, state: Any) -> "TrainingRows":
        """Read a ``training_rows`` section.

        Raises
        ------
        CheckpointError
            The section is malformed, or hashed with a function this evalstudio does not know.
        """
        try:
            if not isinstance(state, dict):
                raise ValueError(f"it is a {type(state).__name__}, not a dict")
            if state.get("hash") != HASH_NAME:
                raise ValueError(f"its rows are hashed with {state.get('hash')!r}, not {HASH_NAME!r}")
            validation = state.get("validation")
            return cls(
                columns=tuple(str(c) for c in state["columns"]),
                target=str(state.get("target", "")),
                training=RowSet.from_state(state["training"]),
                validation=RowSet.from_state(validation) if validation is not None else None,
                validation_in_training=int(state.get("validation_in_training") or 0),
                training_file=dict(state["training_file"]) if state.get("training_file") else None,
                validation_file=dict(state["validation_file"]) if state.get("validation_file") else None,
                earlier=tuple(cls.from_state(e) for e in state.get("earlier") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"the checkpoint's record of its training rows cannot be read ({exc}).",
                hint="Re-save the checkpoint with this evalstudio, or evaluate it as one that does not record them.",
            ) from None


def record_training_rows(
    train: "Dataset",
    validation: "Dataset | None" = None,
    *,
    validation_is_own_file: bool = False,
    earlier: Any = None,
) -> TrainingRows:
    """The record of a run that trains on ``train`` and picks its epoch on ``validation``.

    ``validation_is_own_file``: the validation rows came from their own CSV (``--val-data``),
    whose name and hash are recorded too. ``earlier``: the starting checkpoint's
    ``training_rows`` section (a state dict) when fine-tuning, else None.
    """
    columns = tuple(train.feature_names)
    h_train = dataset_row_hashes(train, columns)
    training = RowSet.build(h_train)
    val_set, in_training = None, 0
    if validation is not None and validation.n_samples:
        h_val = dataset_row_hashes(validation, columns)
        seen = training.contains(h_val)
        in_training = int(seen.sum())
        # ``rows`` counts every validation row; the set keeps those that are not training rows too.
        val_set = replace(RowSet.build(h_val[~seen]), rows=validation.n_samples)
    before = ()
    if earlier is not None:
        prior = earlier if isinstance(earlier, TrainingRows) else TrainingRows.from_state(earlier)
        before = (TrainingRows(prior.columns, prior.target, prior.training, prior.validation,
                               prior.validation_in_training, prior.training_file, prior.validation_file), *prior.earlier)
    return TrainingRows(
        columns=columns,
        target=train.target_name,
        training=training,
        validation=val_set,
        validation_in_training=in_training,
        training_file=file_record(train.source),
        validation_file=file_record(validation.source) if validation is not None and validation_is_own_file else None,
        earlier=before,
    )


@dataclass(frozen=True)
class RowCheck:
    """Which rows of a dataset a checkpoint saw.

    ``trained`` (n_rows,) bool: the row's content is a training row's (so the row is a leak,
    wherever it sits); ``validated`` (n_rows,) bool: a row that chose the checkpoint and did not
    train it; ``repeats``: trained rows repeating another trained row of this data.
    """

    trained: np.ndarray
    validated: np.ndarray
    repeats: int
    false_positive_rate: float = 0.0


def check_rows(data: "Dataset", rows: TrainingRows) -> RowCheck:
    """Which rows of ``data`` trained (or chose) the checkpoint that recorded ``rows``."""
    hashed: dict[tuple[str, ...], np.ndarray] = {}

    def hashes(columns: tuple[str, ...]) -> np.ndarray:
        if columns not in hashed:
            hashed[columns] = dataset_row_hashes(data, columns)
        return hashed[columns]

    trained = np.zeros(data.n_samples, dtype=bool)
    validated = np.zeros(data.n_samples, dtype=bool)
    for record in (rows, *rows.earlier):
        h = hashes(record.columns)
        trained |= record.training.contains(h)
        if record.validation is not None:
            validated |= record.validation.contains(h)
    validated &= ~trained
    own = hashes(rows.columns)[trained]
    repeats = int(own.size - np.unique(own).size)
    return RowCheck(trained, validated, repeats, rows.false_positive_rate)


def training_rows_of(checkpoint: Any) -> TrainingRows | None:
    """The ``training_rows`` section of a checkpoint (a loaded ``Checkpoint`` or a payload dict),
    or None when it records none (a checkpoint from elsewhere, or an older evalstudio's)."""
    if checkpoint is None:
        return None
    meta = checkpoint if isinstance(checkpoint, dict) else getattr(checkpoint, "meta", None)
    if not isinstance(meta, dict) or meta.get(SECTION) is None:
        return None
    return TrainingRows.from_state(meta[SECTION])


def rows_that_trained(checkpoint: Any, data: "Dataset") -> np.ndarray | None:
    """Boolean mask of the rows of ``data`` that trained ``checkpoint``; None when it does not record them.

    The one call calibration (and any other consumer) needs to refuse a model's own training rows.
    """
    rows = training_rows_of(checkpoint)
    return None if rows is None else check_rows(data, rows).trained
