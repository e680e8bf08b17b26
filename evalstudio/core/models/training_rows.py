"""The ``training_rows`` checkpoint section: which rows trained a checkpoint and which rows chose it.

A checkpoint evalstudio writes records the fingerprints (:mod:`evalstudio.core.data.fingerprints`)
of its training rows and of the validation rows that picked its epoch, plus the training file's
name, size and SHA-256. :func:`check_rows` answers "which rows of this data trained this
checkpoint?" for any :class:`~evalstudio.core.data.dataset.Dataset`; the evaluation guard
(:mod:`evalstudio.core.evaluation.leakage`) and calibration use it.

A set of fingerprints is stored as the sorted, distinct leading ``q + 32`` bits of each (``q`` =
floor(log2 of the number of rows)): 32-bit remainders plus one small count per leading-``q``-bit
bucket, about 4.5 to 5 bytes a row at any size. A row outside the set is taken for one of it with
probability below 5e-10 (stated in the section and the evaluation's JSON); a row in it is always
found. Plain tensors that ``torch.load(weights_only=True)`` reads; docs/checkpoint-format.md has
the schema, and ``python -m bench --only 9`` measures the size and the speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from evalstudio.core.data.fingerprints import HASH_NAME, dataset_row_hashes, file_record, hash_columns
from evalstudio.core.errors import CheckpointError

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset

SECTION = "training_rows"
_LOW32 = np.uint64(0xFFFFFFFF)


@dataclass(frozen=True)
class RowSet:
    """A set of row fingerprints, stored as a sorted array of their leading bits.

    With ``q`` = ``bucket_bits`` = floor(log2(number of distinct fingerprints)), each fingerprint
    is cut to its leading ``q + 32`` bits (its *key*); the sorted, distinct keys are stored as
    ``counts`` (keys per value of the leading ``q`` bits, 2^q entries) and ``remainders`` (the
    next 32 bits of each key, in key order). That is 4 bytes a key plus 0.5 to 1 byte a key for the
    counts, and a row not in the set is taken for one of it with probability
    ``n_keys / 2^(q + 32)`` (below 5e-10): :attr:`false_positive_rate`.

    ``rows`` counts the rows recorded, repeats included; ``unique`` the distinct fingerprints.
    """

    rows: int
    unique: int
    bucket_bits: int
    counts: np.ndarray  # (2**bucket_bits,) int: keys per bucket
    remainders: np.ndarray  # (n_keys,) uint32, ascending within each bucket
    offsets: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros(1, np.int64))

    def __post_init__(self) -> None:
        # Where each bucket's remainders start (the directory a lookup reads), built once.
        offsets = np.zeros(self.counts.size + 1, dtype=np.int64)
        np.cumsum(self.counts, out=offsets[1:])
        object.__setattr__(self, "offsets", offsets)

    @classmethod
    def build(cls, hashes: np.ndarray, *, rows: int | None = None) -> "RowSet":
        """The set of ``hashes`` (uint64, any order, repeats allowed); ``rows`` defaults to their number."""
        h = np.asarray(hashes, dtype=np.uint64)
        distinct = np.unique(h)
        q = min(32, int(distinct.size).bit_length() - 1) if distinct.size else 0
        keys = np.unique(distinct >> np.uint64(32 - q))  # already sorted; unique again after the cut
        counts = np.bincount((keys >> np.uint64(32)).astype(np.int64), minlength=1 << q)
        counts = counts.astype(np.uint8 if counts.max(initial=0) < 256 else np.int32)
        return cls(int(h.size if rows is None else rows), int(distinct.size), q, counts,
                   (keys & _LOW32).astype(np.uint32))

    def keys(self) -> np.ndarray:
        """The sorted keys (leading ``bucket_bits + 32`` bits of each fingerprint), uint64."""
        buckets = np.repeat(np.arange(self.counts.size, dtype=np.uint64), self.counts.astype(np.int64))
        return np.asarray((buckets << np.uint64(32)) | self.remainders.astype(np.uint64))

    @property
    def false_positive_rate(self) -> float:
        """The chance that a row not in the set is taken for one of it."""
        return float(self.remainders.size) / float(2 ** (self.bucket_bits + 32))

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """For each fingerprint, the index of its key in the set, or -1; int64 of shape (n,).

        A hash-table lookup: the leading ``bucket_bits`` pick a bucket (about one key each), whose
        few remainders are compared in a handful of vectorised passes that shrink as rows are
        settled. No sort, so 1M rows cost a few passes over 1M elements.
        """
        h = np.asarray(hashes, dtype=np.uint64).reshape(-1)
        found = np.full(h.size, -1, dtype=np.int64)
        if self.remainders.size == 0:
            return found
        q = self.bucket_bits
        bucket = (h >> np.uint64(64 - q)).astype(np.intp) if q else np.zeros(h.size, dtype=np.intp)
        in_bucket = self.counts[bucket]  # a small array: cache-friendly, unlike the offsets
        active = np.flatnonzero(in_bucket)
        cand = self.offsets[bucket[active]]
        left = in_bucket[active]
        want = (h[active] >> np.uint64(32 - q)).astype(np.uint32)  # the key's low 32 bits
        while active.size:
            have = self.remainders[cand]
            hit = have == want
            found[active[hit]] = cand[hit]
            # Remainders ascend within a bucket: past the wanted one, it is not there.
            more = np.flatnonzero((have < want) & (left > 1))
            active, cand, left, want = active[more], cand[more] + 1, left[more] - 1, want[more]
        return found

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Boolean mask of shape ``hashes.shape``: which fingerprints are in the set."""
        return (self.find(hashes) >= 0).reshape(np.shape(hashes))

    def to_state(self) -> dict[str, Any]:
        import torch

        return {"rows": self.rows, "unique": self.unique, "bucket_bits": self.bucket_bits,
                "counts": torch.from_numpy(self.counts.copy()),
                "remainders": torch.from_numpy(self.remainders.view(np.int32).copy()),  # uint32 bits as int32
                "false_positive_rate": self.false_positive_rate}

    @classmethod
    def from_state(cls, state: Any) -> "RowSet":
        if not isinstance(state, dict):
            raise ValueError("a row set is a dict")
        q = int(state["bucket_bits"])
        counts = _numpy(state["counts"]).astype(np.int64)
        remainders = _numpy(state["remainders"]).astype(np.int32, copy=False).view(np.uint32)
        if not 0 <= q <= 32 or counts.size != 1 << q or int(counts.sum()) != remainders.size or (counts < 0).any():
            raise ValueError("the row set's counts do not match its remainders")
        made = cls(int(state["rows"]), int(state["unique"]), q, counts, remainders)
        keys = made.keys()
        if keys.size > 1 and not bool(np.all(keys[1:] > keys[:-1])):
            raise ValueError("the row set's keys are not sorted and distinct")
        return made


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a tensor
        return np.asarray(value.detach().cpu().numpy()).reshape(-1)
    return np.asarray(value).reshape(-1)


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
    columns = hash_columns(train)
    h_train = dataset_row_hashes(train, columns)
    training = RowSet.build(h_train)
    val_set, in_training = None, 0
    if validation is not None and validation.n_samples:
        h_val = dataset_row_hashes(validation, columns)
        seen = training.contains(h_val)
        in_training = int(seen.sum())
        # ``rows`` counts every validation row; the set keeps those that are not training rows.
        val_set = RowSet.build(h_val[~seen], rows=validation.n_samples)
    before: tuple[TrainingRows, ...] = ()
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

    own = rows.training.find(hashes(rows.columns))
    trained = own >= 0
    for record in rows.earlier:
        trained |= record.training.contains(hashes(record.columns))
    # Validation rows among the others only (in the file that trained it, a fifth of the rows).
    rest = np.flatnonzero(~trained)
    validated = np.zeros(data.n_samples, dtype=bool)
    for record in (rows, *rows.earlier):
        if record.validation is not None and rest.size:
            validated[rest] |= record.validation.contains(hashes(record.columns)[rest])
    # Repeats: trained rows minus distinct fingerprints among them (one key index per fingerprint).
    distinct = int(np.count_nonzero(np.bincount(own[own >= 0], minlength=1)))
    others = trained & (own < 0)  # found only in an earlier run's record
    if others.any():
        distinct += int(np.unique(hashes(rows.columns)[others]).size)
    return RowCheck(trained, validated, int(trained.sum()) - distinct, rows.false_positive_rate)


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
