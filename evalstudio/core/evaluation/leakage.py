"""The evaluation guard: rows that trained the checkpoint are never scored without saying so.

:func:`guard_training_rows` runs inside :func:`evalstudio.core.evaluation.pipeline.run_evaluation`,
the one evaluation path of the CLI, the app, comparison and calibration. With a checkpoint that
records its rows (:mod:`evalstudio.core.models.training_rows`), the rows of the evaluated data
whose content is a training row's are left out (or, when asked, scored and labelled optimistic);
rows that chose the checkpoint (its validation rows) are scored and counted. A checkpoint that
records nothing is evaluated as before, and the output says so once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evalstudio.core.errors import CheckpointError, DataError

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset

NOT_RECORDED = "this checkpoint does not record its training rows"
NOT_RECORDED_MODEL = "this model has no checkpoint that records its training rows"
#: The app's checkbox that scores the training rows too (its label is part of the contract).
INCLUDE_LABEL = "include the rows this model was trained on (optimistic)"


class AllRowsTrainedError(DataError):
    """Every row of the evaluated data trained the checkpoint, and the caller did not ask to score them."""

    def __init__(self, message: str, *, hint: str, hints: dict[str, str], n_rows: int) -> None:
        super().__init__(message, hint=hint, hints=hints)
        self.n_rows = n_rows


@dataclass(frozen=True)
class Leakage:
    """What the guard found and did, for one evaluation.

    ``rows_in_file``: rows of the evaluated data; ``training_rows``: those whose content trained
    the checkpoint; ``validation_rows``: those that chose it (and did not train it); ``scored``:
    rows evaluated; ``included_training_rows``: the training rows were scored too (optimistic).
    ``repeats``: training rows of the data that repeat another one's content;
    ``training_repeats``: repeated rows the training data itself had. ``training_file``:
    ``{"name", "sha256", "bytes"}`` as the checkpoint recorded it; ``same_file``: the evaluated
    file has that SHA-256. ``false_positive_rate``: the chance that a row the checkpoint never saw
    is taken for a training row (below 5e-10: the record keeps 32 + log2(rows) bits of each fingerprint).
    """

    rows_in_file: int
    training_rows: int
    validation_rows: int
    scored: int
    included_training_rows: bool
    repeats: int = 0
    training_repeats: int = 0
    training_file: dict[str, Any] | None = None
    same_file: bool = False
    false_positive_rate: float = 0.0

    @property
    def optimistic(self) -> bool:
        """The scored rows include rows that trained the checkpoint."""
        return self.included_training_rows and self.training_rows > 0

    def to_json(self) -> dict[str, Any]:
        """The ``"leakage"`` block of ``evaluate --json`` (the issue's five keys first)."""
        return {
            "rows_in_file": self.rows_in_file,
            "training_rows": self.training_rows,
            "validation_rows": self.validation_rows,
            "scored": self.scored,
            "included_training_rows": self.included_training_rows,
            "optimistic": self.optimistic,
            "duplicates": self.repeats,
            "training_duplicates": self.training_repeats,
            "training_file": dict(self.training_file) if self.training_file else None,
            "same_file_as_training": self.same_file,
            "false_positive_rate": self.false_positive_rate,
        }

    def headline(self) -> str:
        """The first thing an evaluation says: what was scored and what was left out."""
        n, t = self.rows_in_file, self.training_rows
        if t == 0:
            return f"none of the {n:,} rows trained this checkpoint; scoring all {n:,}"
        if self.included_training_rows:
            return (f"scoring all {n:,} rows, INCLUDING the {t:,} that trained this checkpoint: "
                    "these results are optimistic")
        return f"{t:,} of {n:,} rows trained this checkpoint and are left out; scoring the other {self.scored:,}"

    def lines(self) -> list[str]:
        """The headline, then what else a person should know (validation rows, copies, the file)."""
        out = [self.headline()]
        if self.validation_rows:
            honest = self.scored - self.validation_rows - (self.training_rows if self.included_training_rows else 0)
            rest = (f"the other {honest:,} it never saw are the honest part" if honest
                    else "no scored row is one it never saw")
            out.append(f"{self.validation_rows:,} of the scored rows chose this checkpoint (its validation rows), "
                       f"so the result is slightly optimistic for them; {rest}")
        if self.training_rows and (self.repeats or self.training_repeats):
            out.append(
                f"{self.repeats:,} of the {self.training_rows:,} training rows here are exact copies of another "
                f"training row (the training data itself had {self.training_repeats:,} repeated rows); a copy of a "
                "training row counts as one, wherever it sits"
            )
        if self.training_file:
            name = self.training_file.get("name", "?")
            same = " (this very file: same SHA-256)" if self.same_file else ""
            out.append(f"this checkpoint was trained on {name}{same}")
        return out


def guard_training_rows(
    dataset: "Dataset", checkpoint: Any, *, include: bool, has_checkpoint: bool = True
) -> tuple["Dataset", Leakage | None, list[str]]:
    """Leave out the rows of ``dataset`` that trained ``checkpoint`` (unless ``include``).

    Returns
    -------
    (dataset to score, Leakage or None, notes)
        ``Leakage`` is None for a checkpoint that records no training rows; the notes then say so.

    Raises
    ------
    AllRowsTrainedError
        Every row trained the checkpoint and ``include`` is False.
    """
    from evalstudio.core.models.training_rows import check_rows, training_rows_of

    try:
        rows = training_rows_of(checkpoint)
    except CheckpointError as exc:
        return dataset, None, [f"{exc.message} Its training rows cannot be told apart: {NOT_RECORDED}"]
    if rows is None:
        return dataset, None, [NOT_RECORDED if has_checkpoint else NOT_RECORDED_MODEL]
    check = check_rows(dataset, rows)
    n = dataset.n_samples
    n_trained = int(check.trained.sum())
    name = os.path.basename(dataset.source) if dataset.source else "the data"
    if n_trained == n and not include:
        raise AllRowsTrainedError(
            f"all {n:,} rows of {name} trained this checkpoint, so none is left to score honestly.",
            hint="Evaluate on rows the model never saw, or score them anyway (include_training_rows=True); "
            "the results are then optimistic.",
            hints={"cli": "Evaluate on rows the model never saw, or score them anyway with --include-training-rows; "
                          "the results are then optimistic.",
                   "app": f"Open data the model never saw, or tick \u201c{INCLUDE_LABEL}\u201d under Evaluate to "
                          "score them anyway."},
            n_rows=n,
        )
    scored = dataset if include or n_trained == 0 else dataset.subset(~check.trained)
    leakage = Leakage(
        rows_in_file=n,
        training_rows=n_trained,
        validation_rows=int(check.validated.sum()),
        scored=scored.n_samples,
        included_training_rows=bool(include),
        repeats=check.repeats,
        training_repeats=rows.training_repeats,
        training_file=rows.training_file,
        same_file=_same_content(dataset.source, rows.training_file),
        false_positive_rate=check.false_positive_rate,
    )
    return scored, leakage, []


def _same_content(path: str, record: dict[str, Any] | None) -> bool:
    """The file at ``path`` is the recorded training file (same size, then same SHA-256)."""
    from evalstudio.core.data.fingerprints import file_sha256

    if not path or not record or not os.path.isfile(path) or os.path.getsize(path) != record.get("bytes"):
        return False
    try:
        return file_sha256(path) == record.get("sha256")
    except Exception:  # an unreadable file only costs this remark
        return False
