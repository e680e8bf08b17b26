"""The raw result of evaluating a model: every row's class probabilities.

Everything evalstudio shows (metrics, confusion matrices at any threshold, curves, per-row
tables) derives from a :class:`Predictions`; nobody passes a pre-thresholded matrix around.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Default of ``Predictions.row_numbers`` (compared by identity): number the rows 1..n.
_NUMBER_ROWS = np.empty(0, dtype=np.int64)


def _number_rows() -> np.ndarray:
    return _NUMBER_ROWS


@dataclass(frozen=True)
class Predictions:
    """Class probabilities of every evaluated row.

    Attributes
    ----------
    y_true : ndarray of shape (n_samples,), int64
        Class index of each row (an index into ``classes``).
    y_score : ndarray of shape (n_samples, n_classes), float32 or float64
        Probability of each class for each row; rows sum to 1. For a binary task column 1 is the
        probability of ``classes[1]``.
    classes : tuple of str
        Class names, in index order.
    row_numbers : ndarray of shape (n_samples,), int64
        1-based data-row number of each row in its source file (header not counted), so a row
        in any table can be found in the user's file. Not given: 1..n_samples.
    """

    y_true: np.ndarray
    y_score: np.ndarray
    classes: tuple[str, ...]
    row_numbers: np.ndarray = field(default_factory=_number_rows)

    def __post_init__(self) -> None:
        y_true = np.asarray(self.y_true)
        y_score = np.asarray(self.y_score)
        if y_score.ndim != 2:
            raise ValueError(f"y_score must be 2-D (n_samples, n_classes), got shape {y_score.shape}")
        if y_true.shape != (y_score.shape[0],):
            raise ValueError(
                f"y_true has shape {y_true.shape} but y_score has {y_score.shape[0]} rows"
            )
        if y_score.shape[1] != len(self.classes):
            raise ValueError(
                f"y_score has {y_score.shape[1]} columns but there are {len(self.classes)} classes"
            )
        object.__setattr__(self, "y_true", y_true.astype(np.int64, copy=False))
        object.__setattr__(self, "y_score", y_score)
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        if self.row_numbers is _NUMBER_ROWS:
            object.__setattr__(self, "row_numbers", np.arange(1, len(y_true) + 1, dtype=np.int64))
        else:
            row_numbers = np.asarray(self.row_numbers, dtype=np.int64)
            if row_numbers.shape != y_true.shape:
                raise ValueError(f"row_numbers has shape {row_numbers.shape} but there are {len(y_true)} rows")
            object.__setattr__(self, "row_numbers", row_numbers)

    @property
    def n_samples(self) -> int:
        return int(self.y_true.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def task(self) -> str:
        """``"binary"`` or ``"multiclass"``."""
        return "binary" if self.n_classes == 2 else "multiclass"

    def positive_scores(self, positive: int = 1) -> np.ndarray:
        """Scores of class index ``positive`` (binary: the score thresholded by the slider)."""
        scores: np.ndarray = self.y_score[:, positive]
        return scores

    def argmax(self) -> np.ndarray:
        """Predicted class index of each row by the highest probability."""
        labels: np.ndarray = np.argmax(self.y_score, axis=1)
        return labels

    def subset(self, index: np.ndarray) -> "Predictions":
        """Rows ``index`` only (a boolean mask or integer indices)."""
        return Predictions(self.y_true[index], self.y_score[index], self.classes, self.row_numbers[index])

    @staticmethod
    def concatenate(parts: "list[Predictions]") -> "Predictions":
        """Join predictions over disjoint rows (e.g. the out-of-fold predictions of k folds)."""
        if not parts:
            raise ValueError("nothing to concatenate")
        classes = parts[0].classes
        for p in parts[1:]:
            if p.classes != classes:
                raise ValueError("cannot concatenate predictions with different classes")
        return Predictions(
            np.concatenate([p.y_true for p in parts]),
            np.concatenate([p.y_score for p in parts]),
            classes,
            np.concatenate([p.row_numbers for p in parts]),
        )
