"""Load a CSV dataset: parsed columns, their roles, and the model's float32 inputs.

:func:`load_csv` is the one entry point: it sniffs the file (:mod:`evalstudio.core.data.csv_format`),
reads a clean numeric file in parallel pieces straight into a float32 matrix
(:mod:`evalstudio.core.data.csv_fast`) and any other file with pyarrow
(:mod:`evalstudio.core.data.table_read`), into a :class:`~evalstudio.core.data.table.Table` of
parsed columns. Each column then gets a role and a kind (:mod:`evalstudio.core.data.columns`) and
an :class:`~evalstudio.core.data.encoding.Encoding` turns the features into the model's inputs.

The encoding of a freshly loaded file is fitted on all its rows: it fixes the inputs (the model's
width) and fills ``X`` so the data can be looked at; training learns the encoding's knowledge
again from its training rows only (:func:`evalstudio.core.training.loop.fit`), and evaluation
applies the checkpoint's own (``encoding=``). A checkpoint from elsewhere, with no encoding,
evaluates on the file's columns as numbers (``numeric_only=True``), as evalstudio always did.

Row numbers in messages and in :attr:`Dataset.row_numbers` count data rows from 1 (the header
and blank lines are not counted); messages also give the line in the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from evalstudio.core.data.dataset_build import SingleClassError
from evalstudio.core.errors import DataError

if TYPE_CHECKING:
    from evalstudio.core.data.columns import ColumnRoles
    from evalstudio.core.data.encoding import Encoding
    from evalstudio.core.data.table import Table

TARGET_NAMES = ("target", "label", "class", "y", "outcome")


@dataclass(frozen=True)
class Dataset:
    """A tabular classification dataset.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float32 -- the model's inputs (see ``encoding``)
    y : ndarray of shape (n_samples,), int64 -- index into ``classes``
    classes : tuple of str -- sorted unique labels (by exact value when all labels are numbers)
    feature_names : tuple of str -- the names of the inputs (``Contract=Two year``, ``TotalCharges``,
        ``TotalCharges (missing)``)
    target_name : str
    row_numbers : ndarray of shape (n_samples,), int64 -- 1-based data-row number in the file
        (header not counted), kept through dropped rows and subsets
    source : str -- the file path ("" for in-memory data)
    notes : tuple of str -- what the loader wants the user to know (headerless file, dropped
        rows, columns set aside, delimiter, encoding, class mapping)
    table : Table or None -- the parsed columns of these rows, before encoding (numbers as numbers,
        text trimmed, missing marked); None for data built in memory from a matrix
    encoding : Encoding or None -- how ``X`` was made from ``table``
    """

    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    feature_names: tuple[str, ...]
    target_name: str
    row_numbers: np.ndarray
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    table: "Table | None" = field(default=None, repr=False, compare=False)
    encoding: "Encoding | None" = field(default=None, repr=False, compare=False)

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
        """Rows ``index`` (integer indices or boolean mask), same classes, names and encoding."""
        table = None if self.table is None else self.table.take(index)
        # The fast reader's matrix is both X and the table's columns: take its rows once.
        shared = table.matrix if table is not None and self.table is not None and self.X is self.table.matrix else None
        X = shared if shared is not None else self.X[index]
        return Dataset(
            X, self.y[index], self.classes, self.feature_names, self.target_name,
            self.row_numbers[index], self.source, self.notes, table, self.encoding,
        )

    def encoded_with(self, encoding: "Encoding") -> "Dataset":
        """The same rows encoded with another fitted ``encoding`` (the same ones when it is this one's)."""
        if encoding == self.encoding or self.table is None:
            return self
        encoded = encoding.transform(self.table)
        return Dataset(encoded.X, self.y, self.classes, encoding.input_names, self.target_name, self.row_numbers,
                       self.source, self.notes, self.table, encoding)


def choose_target(
    columns: Sequence[str], target: str | None, *, path: str = "", has_header: bool = True
) -> tuple[str, str]:
    """The label column and why it was chosen.

    ``target`` if given (an exact name, else a unique case-insensitive match); else a column named
    target, label, class, y or outcome (any case, in that order); else the last column.

    Raises
    ------
    DataError
        ``target`` is not a column; the message lists the columns.
    """
    if target is not None:
        if target in columns:
            return target, "chosen"
        folded = [c for c in columns if c.strip().lower() == target.strip().lower()]
        if len(folded) == 1:
            return folded[0], f"chosen; matched {target!r} ignoring case"
        extra = " The file has no header row, so the columns are numbered." if not has_header else ""
        raise DataError(
            f"target column {target!r} not found in {path or 'the data'}; the columns are: "
            f"{', '.join(columns)}.{extra}",
            hint="Pick one of those names as the target.",
        )
    lowered = {c.strip().lower(): c for c in reversed(columns)}
    for name in TARGET_NAMES:
        if name in lowered:
            return lowered[name], "named like a label column"
    return columns[-1], "the last column"


def load_csv(
    path: str | os.PathLike[str],
    *,
    target: str | None = None,
    drop_missing: bool = False,
    classes: Sequence[str] | None = None,
    delimiter: str | None = None,
    roles: "ColumnRoles | None" = None,
    encoding: "Encoding | None" = None,
    numeric_only: bool = False,
) -> Dataset:
    """Load a classification dataset from a CSV file.

    Parameters
    ----------
    path : path of the CSV file
        Delimiter , ; tab or | (detected); UTF-8 with or without a BOM, UTF-16 or Windows-1252;
        CRLF or LF line ends; quoted fields. A file whose first row is all numbers has no
        header: its columns are named col_1 ... col_n (a note says so).
    target : str, optional
        The label column. Default: the ``encoding``'s target when the file has it; else a column
        named target, label, class, y or outcome (any case), else the last column.
    drop_missing : bool
        Drop rows with a missing label, or a missing or infinite value in a feature, instead of
        filling (features) or refusing (labels); the count is reported in ``notes``.
    classes : sequence of str, optional
        The known class list (a validation CSV, a checkpoint's classes): labels are coded by
        their position in it, numeric labels compared by exact value; a label not in it is an error.
    delimiter : str, optional
        Force the delimiter (``","``, ``";"``, ``"tab"``, ``"|"``) instead of detecting it.
    roles : ColumnRoles, optional
        Overrides of the inferred column roles (ignored with ``encoding`` or ``numeric_only``).
    encoding : Encoding, optional
        A checkpoint's fitted encoding: the columns it needs are found by name (another order or
        extra columns give the same inputs) and encoded with it.
    numeric_only : bool
        Every non-target column is a numeric feature, passed through as read: text in one, or a
        missing value (unless ``drop_missing``), is an error -- how a model without an encoding
        from evalstudio is evaluated.

    Returns
    -------
    Dataset
        ``X`` float32 of shape (n_samples, n_inputs), C order; ``y`` int64 of shape
        (n_samples,); ``table`` the parsed columns; ``encoding`` how ``X`` was made; ``notes``
        say what was detected, chosen, set aside, mapped and dropped.

    Raises
    ------
    DataError
        A file that is missing, empty, header-only or not text (Excel, Parquet, gzip, zip,
        binary); a row with more or fewer fields than the header; a missing target column; a
        column name in ``roles`` that is not a column; ``--numeric`` on text; a missing label
        (unless ``drop_missing``); infinite values; a single class; a label not in ``classes``;
        a column ``encoding`` needs and the file lacks; with ``numeric_only``, text or missing
        values in a feature.
    """
    from evalstudio.core.data.csv_format import sniff_csv
    from evalstudio.core.data.dataset_build import build_dataset, read_file

    fmt = sniff_csv(path, delimiter=delimiter)
    if target is None and encoding is not None and encoding.target in fmt.columns:
        target_name, why = encoding.target, "the checkpoint's target"
    else:
        target_name, why = choose_target(fmt.columns, target, path=fmt.path, has_header=fmt.has_header)
    known = tuple(str(c) for c in classes) if classes is not None else None
    table, label_missing, fmt, problems, notes = read_file(fmt, target_name, known)
    notes.append(f"target: {target_name!r} ({why})")
    table, enc, encoded, all_notes = build_dataset(
        table, fmt, label_missing, problems, notes, str(path), classes=known, drop_missing=drop_missing,
        roles=roles, encoding=encoding, numeric_only=numeric_only,
    )
    return Dataset(
        X=encoded.X, y=table.y, classes=table.classes, feature_names=enc.input_names, target_name=table.target_name,
        row_numbers=table.row_numbers, source=str(path), notes=all_notes, table=table, encoding=enc,
    )


def with_roles(data: Dataset, roles: "ColumnRoles") -> Dataset:
    """The same rows planned with other column roles, without reading the file again.

    Raises
    ------
    DataError
        As :func:`load_csv` for bad ``roles``; a dataset built in memory (no parsed columns).
    """
    from evalstudio.core.data.columns import plan_columns, plan_notes
    from evalstudio.core.data.encoding import fit_encoding

    if data.table is None:
        raise DataError("this data was built in memory from a matrix; its columns have no roles to change.",
                        hint="Load it from a CSV file.")
    kinds = plan_columns(data.table, roles)
    enc = fit_encoding(data.table, kinds, min_category_count=roles.min_category_count, exact_medians=False)
    encoded = enc.transform(data.table)
    kept = [n for n in data.notes if not n.startswith(("column ", "categorical columns", "encoded "))
            and "looks like a row number" not in n]
    from evalstudio.core.data.dataset_build import encoding_note

    return Dataset(encoded.X, data.y, data.classes, enc.input_names, data.target_name, data.row_numbers,
                   data.source, (*kept, *plan_notes(kinds), encoding_note(enc, encoded)), data.table, enc)
