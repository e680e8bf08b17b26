"""The parsed table: every column of a CSV as numbers or trimmed text, missing cells marked.

This is the file as read, before anything is learned from it: :mod:`evalstudio.core.data.columns`
gives each column a role and a kind, :mod:`evalstudio.core.data.encoding` turns the columns into
the model's inputs. Keeping the parsed columns (not only the encoded matrix) lets a front end
change a column's role without reading the file again, re-encode the same rows with another
fitted encoding (a fold's, a checkpoint's), and fingerprint rows as parsed.

A :class:`RawColumn` is one of

- numeric: every non-missing cell is a number. ``numbers`` is float32 (what the model sees), NaN
  where missing. Read by pyarrow, or by the parallel fast path for clean numeric files.
- text: ``codes`` (int32, -1 where missing) index ``values``, the distinct trimmed texts. Text is
  dictionary-encoded while it is read, so a million rows of a 12-value column cost 4 MB.

Cells are trimmed (a leading space as in ``" Private"``, a stray tab) before anything else, and
empty cells and the usual markers (``?``, ``NA``, ``N/A``, ``NaN``, ``null``, ...) are missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def format_number(value: float) -> str:
    """A float32 number as a category name: ``3`` for 3.0, else the shortest text that reads back."""
    v = np.float32(value)
    if np.isfinite(v) and v == np.trunc(v) and abs(float(v)) < 2**53:
        return str(int(v))
    return str(v)


@dataclass(frozen=True)
class RawColumn:
    """One column as parsed (see the module docstring).

    Attributes
    ----------
    name : str
    numbers : ndarray of shape (n_rows,), float32, or None -- a numeric column's values (NaN
        where missing); None for a text column
    codes : ndarray of shape (n_rows,), int32, or None -- a text column's value indices (-1
        where missing); None for a numeric column
    values : tuple of str -- a text column's distinct trimmed values (``codes`` index them)
    missing : ndarray of shape (n_rows,), bool, or None -- None when no cell is missing
    """

    name: str
    numbers: np.ndarray | None = None
    codes: np.ndarray | None = None
    values: tuple[str, ...] = ()
    missing: np.ndarray | None = field(default=None, repr=False)

    @property
    def is_numeric(self) -> bool:
        return self.numbers is not None

    @property
    def n_rows(self) -> int:
        arr = self.numbers if self.numbers is not None else self.codes
        return 0 if arr is None else int(arr.shape[0])

    @property
    def n_missing(self) -> int:
        return 0 if self.missing is None else int(self.missing.sum())

    def missing_mask(self) -> np.ndarray:
        """ndarray of shape (n_rows,), bool (allocated when no cell is missing)."""
        return self.missing if self.missing is not None else np.zeros(self.n_rows, dtype=bool)

    def categories(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """The column as categories: (codes int32 with -1 where missing, distinct values).

        A text column's own codes; for a numeric column its distinct numbers, sorted, named as
        :func:`format_number` writes them (so ``1``, ``2``, ``3`` for a class code).
        """
        if self.numbers is None:
            assert self.codes is not None
            return self.codes, self.values
        present = ~np.isnan(self.numbers)
        uniq, inverse = np.unique(self.numbers[present], return_inverse=True)
        codes = np.full(self.n_rows, -1, dtype=np.int32)
        codes[present] = inverse.astype(np.int32)
        return codes, tuple(format_number(v) for v in uniq)

    def n_distinct(self) -> int:
        """Distinct non-missing values."""
        if self.numbers is None:
            assert self.codes is not None
            if not self.values:
                return 0
            return int(np.count_nonzero(np.bincount(self.codes[self.codes >= 0], minlength=len(self.values))))
        present = self.numbers[~np.isnan(self.numbers)]
        return int(np.unique(present).size)

    def cell(self, row: int) -> str:
        """One cell as text ("" where missing), for display."""
        if self.numbers is not None:
            v = float(self.numbers[row])
            return "" if np.isnan(v) else f"{v:.6g}"
        assert self.codes is not None
        k = int(self.codes[row])
        return "" if k < 0 else self.values[k]

    def as_text(self) -> np.ndarray:
        """ndarray of shape (n_rows,), object: each cell as str (a number as :func:`format_number`
        writes it), None where missing."""
        codes, values = self.categories()
        table = np.array([*values, None], dtype=object)
        return table[np.where(codes >= 0, codes, len(values))]

    def take(self, index: np.ndarray) -> "RawColumn":
        """The rows ``index`` (integer positions or a boolean mask)."""
        return RawColumn(
            self.name,
            None if self.numbers is None else self.numbers[index],
            None if self.codes is None else self.codes[index],
            self.values,
            None if self.missing is None else _none_if_clear(self.missing[index]),
        )


def _none_if_clear(mask: np.ndarray) -> np.ndarray | None:
    return mask if mask.any() else None


@dataclass(frozen=True)
class Table:
    """A parsed CSV: its feature-side columns as read, and the coded labels.

    Attributes
    ----------
    columns : tuple of RawColumn -- every column except the target, in file order
    y : ndarray of shape (n_rows,), int64 -- index into ``classes``
    classes : tuple of str
    target_name : str
    row_numbers : ndarray of shape (n_rows,), int64 -- 1-based data-row numbers in the file
    matrix : ndarray of shape (n_rows, n_columns), float32, or None -- the columns as one
        C-ordered matrix when the fast numeric reader read them (``numbers`` are its columns),
        so an encoding that only passes numbers through costs no copy
    source : str
    notes : tuple of str
    """

    columns: tuple[RawColumn, ...]
    y: np.ndarray
    classes: tuple[str, ...]
    target_name: str
    row_numbers: np.ndarray
    matrix: np.ndarray | None = field(default=None, repr=False)
    source: str = ""
    notes: tuple[str, ...] = ()
    #: (n_columns, 2): each column's min and max when the reader found them on the way (fast reader)
    span: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return int(self.y.shape[0])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> RawColumn:
        """The column called ``name`` (KeyError when there is none)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def take(self, index: np.ndarray) -> "Table":
        """The rows ``index`` (integer positions or a boolean mask), same classes and columns."""
        if self.matrix is not None:
            # The columns are the matrix's: take its rows once and view them again.
            matrix = self.matrix[index]
            columns = tuple(RawColumn(c.name, numbers=matrix[:, j]) for j, c in enumerate(self.columns))
            return Table(columns, self.y[index], self.classes, self.target_name, self.row_numbers[index], matrix,
                         self.source, self.notes)
        return Table(
            tuple(c.take(index) for c in self.columns), self.y[index], self.classes, self.target_name,
            self.row_numbers[index], None, self.source, self.notes,
        )

    def with_labels(self, y: np.ndarray, classes: Sequence[str]) -> "Table":
        """The same rows with their labels coded against another class list."""
        return Table(self.columns, y, tuple(classes), self.target_name, self.row_numbers, self.matrix,
                     self.source, self.notes, self.span)
