"""Load a CSV dataset into float32 features and integer class codes.

(Contract written first; ``load_csv`` is implemented by the data work.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """A tabular classification dataset.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), int64 -- index into ``classes``
    classes : tuple of str -- sorted unique labels (numerically when all labels are numbers)
    feature_names : tuple of str
    target_name : str
    row_numbers : ndarray of shape (n_samples,), int64 -- 1-based data-row number in the file
        (header not counted), kept through dropped rows and subsets
    source : str -- the file path ("" for in-memory data)
    notes : tuple of str -- what the loader wants the user to know (headerless file, dropped
        rows, delimiter, encoding, class mapping)
    """

    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    feature_names: tuple[str, ...]
    target_name: str
    row_numbers: np.ndarray
    source: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> np.ndarray:
        """Rows per class, ndarray of shape (n_classes,)."""
        return np.bincount(self.y, minlength=self.n_classes)

    def subset(self, index: np.ndarray) -> "Dataset":
        """Rows ``index`` (integer indices or boolean mask), same classes and names."""
        return Dataset(
            self.X[index], self.y[index], self.classes, self.feature_names, self.target_name,
            self.row_numbers[index], self.source, self.notes,
        )
