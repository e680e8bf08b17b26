"""Load a CSV dataset into float32 features and integer class codes.

:func:`load_csv` is the one entry point: it sniffs the file (:mod:`evalstudio.core.data.csv_format`),
reads a clean numeric file in parallel pieces straight into the feature matrix
(:mod:`evalstudio.core.data.csv_fast`) and any other file with pyarrow (:mod:`evalstudio.core.data.csv_read`),
and checks it with vectorised operations, so no Python loop runs over the rows. Every problem raises a
:class:`~evalstudio.core.errors.DataError` that names the column, the count and the first row.

Row numbers in messages and in :attr:`Dataset.row_numbers` count data rows from 1 (the header
and blank lines are not counted); messages also give the line in the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from evalstudio.core.errors import DataError

if TYPE_CHECKING:
    from evalstudio.core.data.csv_format import CsvFormat
    from evalstudio.core.data.csv_read import Problems

TARGET_NAMES = ("target", "label", "class", "y", "outcome")


class SingleClassError(DataError):
    """The label column holds one class only (fine for scoring when the classes are known)."""


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


def _problem_list(items: Sequence[tuple[str, int, int]], where: Callable[[int], str]) -> str:
    from evalstudio.core.data.csv_read import LIST_MAX

    parts = [
        f"{name!r} ({count} row{'s' if count != 1 else ''}; first at {where(first)})"
        for name, count, first in items[:LIST_MAX]
    ]
    if len(items) > LIST_MAX:
        parts.append(f"... ({len(items)} columns in all)")
    return ", ".join(parts)


def _index_column_warning(X: np.ndarray, features: Sequence[str], *, unnamed: Sequence[str]) -> str:
    """A warning when the first feature is an unnamed 0, 1, 2, ... (or 1, 2, 3, ...) counter.

    ``DataFrame.to_csv`` without ``index=False`` writes exactly that; used as a feature it is
    noise at best and a leak at worst (rows sorted by class).
    """
    if not features or features[0] not in unnamed or X.shape[0] < 3:
        return ""
    for start in (0, 1):
        if np.array_equal(X[:, 0], np.arange(start, start + X.shape[0], dtype=np.float32)):
            return (
                f"warning: the first column has no name and counts {start}, {start + 1}, {start + 2}, ...: "
                "it looks like a saved row index (pandas to_csv without index=False) and is used as a "
                "feature; remove it if it is not one"
            )
    return ""


def load_csv(
    path: str | os.PathLike[str],
    *,
    target: str | None = None,
    drop_missing: bool = False,
    classes: Sequence[str] | None = None,
    delimiter: str | None = None,
) -> Dataset:
    """Load a classification dataset from a CSV file.

    Parameters
    ----------
    path : path of the CSV file
        Delimiter , ; tab or | (detected); UTF-8 with or without a BOM, UTF-16 or Windows-1252;
        CRLF or LF line ends; quoted fields. A file whose first row is all numbers has no
        header: its columns are named col_1 ... col_n (a note says so).
    target : str, optional
        The label column. Default: a column named target, label, class, y or outcome (any
        case), else the last column.
    drop_missing : bool
        Drop rows with missing ('', NA, '?', ...) or infinite values (features or label) instead
        of refusing the file; the count is reported in ``notes``.
    classes : sequence of str, optional
        The known class list (a validation CSV, a checkpoint's classes): labels are coded by
        their position in it, numeric labels compared by value; a label not in it is an error.
    delimiter : str, optional
        Force the delimiter (``","``, ``";"``, ``"tab"``, ``"|"``) instead of detecting it.

    Returns
    -------
    Dataset
        ``X`` float32 of shape (n_samples, n_features), C order; ``y`` int64 of shape
        (n_samples,); ``notes`` say what was detected, chosen, mapped and dropped.

    Raises
    ------
    DataError
        A file that is missing, empty, header-only or not text (Excel, Parquet, gzip, zip,
        binary); a row with more or fewer fields than the header; a missing target column;
        non-numeric features; missing or infinite values (unless ``drop_missing``); a single
        class; a label not in ``classes``.
    """
    from evalstudio.core.data.csv_fast import read_numeric
    from evalstudio.core.data.csv_format import is_number, sniff_csv
    from evalstudio.core.data.csv_read import Problems, locate

    fmt = sniff_csv(path, delimiter=delimiter)
    target_name, why = choose_target(fmt.columns, target, path=fmt.path, has_header=fmt.has_header)
    features = [c for c in fmt.columns if c != target_name]
    fast = read_numeric(fmt, features, target_name, classes)
    if fast is not None:
        X, y, out_classes = fast.X, fast.y, fast.classes
        read_notes: list[str] = []
        problems = Problems()
        label_missing = np.zeros(len(y), dtype=bool)
        notes_index = _index_column_warning(X, features, unnamed=fmt.unnamed)
    else:
        X, y, out_classes, label_missing, problems, fmt, read_notes, notes_index = _read_full(
            fmt, features, target_name, classes
        )
    notes = [*fmt.notes, *read_notes, f"target: {target_name!r} ({why})"]
    if notes_index:
        notes.append(notes_index)
    row_numbers = np.arange(1, X.shape[0] + 1, dtype=np.int64)

    if problems.missing or problems.infinite:
        if not drop_missing:
            at = locate(fmt, [first for _, _, first in problems.missing + problems.infinite])
            parts = []
            if problems.missing:
                parts.append("missing values in " + _problem_list(problems.missing, at))
            if problems.infinite:
                parts.append("infinite values in " + _problem_list(problems.infinite, at))
            raise DataError(
                f"{fmt.path} has {'; '.join(parts)}.",
                hint="Fill them in or remove those rows, or let evalstudio drop them "
                "(--drop-missing, drop_missing=True).",
                hints={"app": "Fill them in or remove those rows, or let evalstudio drop them: tick "
                       "\u201cDrop rows with missing values\u201d in the Data tab."},
            )
        bad = label_missing | ~np.isfinite(X).all(axis=1)
        n_bad = int(bad.sum())
        if n_bad == len(bad):
            raise DataError(
                f"every row of {fmt.path} has a missing or infinite value; no row is left.",
                hint="Fill in the missing values, or remove the columns that are mostly empty.",
            )
        keep = ~bad
        X, y, row_numbers = X[keep], y[keep], row_numbers[keep]
        found = [
            f"{kind} " + ", ".join(f"{name} {count}" for name, count, _ in items)
            for kind, items in (("missing:", problems.missing), ("infinite:", problems.infinite))
            if items
        ]
        notes.append(f"dropped {n_bad} of {len(bad)} rows with missing or infinite values ({'; '.join(found)})")
        if classes is None:
            # A label seen only on dropped rows is not a class of this dataset.
            present = np.unique(y)
            if len(present) < len(out_classes):
                out_classes = tuple(out_classes[k] for k in present)
                y = np.searchsorted(present, y).astype(np.int64)

    if classes is None and len(out_classes) < 2:
        raise SingleClassError(
            f"the target column {target_name!r} of {fmt.path} has a single class ({out_classes[0]!r} "
            f"in all {len(y)} rows{' left after dropping rows' if len(y) < len(label_missing) else ''}); "
            "a classifier needs at least two.",
            hint="Choose the label column as the target (target=NAME, --target NAME), or use data "
            "with more than one class.",
            hints={"app": "Choose the label column in the Target picker of the Data tab, or use data with "
                   "more than one class."},
        )
    if classes is None and len(out_classes) > 20:
        if all(is_number(c) for c in out_classes) and any("." in c or "e" in c for c in out_classes):
            raise DataError(
                f"the target column {target_name!r} of {fmt.path} holds {len(out_classes)} different "
                f"non-integer numbers (such as {out_classes[0]}, {out_classes[1]}); that looks like a "
                "measurement, not a class label.",
                hint="Choose the label column as the target (target=NAME, --target NAME).",
                hints={"app": "Choose the label column in the Target picker of the Data tab."},
            )
        notes.append(
            f"warning: {len(out_classes)} classes in {target_name!r}; check that it is the label column"
        )
    counts = np.bincount(y, minlength=len(out_classes))
    shown = [f"{k} = {c!r} ({int(n)} row{'s' if n != 1 else ''})" for k, (c, n) in enumerate(zip(out_classes, counts))]
    notes.append(
        f"classes in {target_name!r}: "
        + ", ".join(shown[:20])
        + (f", ... ({len(shown)} classes)" if len(shown) > 20 else "")
    )
    return Dataset(
        X=X,
        y=y,
        classes=out_classes,
        feature_names=tuple(features),
        target_name=target_name,
        row_numbers=row_numbers,
        source=str(path),
        notes=tuple(notes),
    )


def _read_full(
    fmt: CsvFormat, features: list[str], target_name: str, classes: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], np.ndarray, Problems, CsvFormat, list[str], str]:
    """The full pyarrow read: any file, every problem named with its row and line."""
    import pyarrow as pa

    from evalstudio.core.data.csv_read import LIST_MAX, Problems, encode_labels, feature_matrix, locate, read_table

    types = {c: pa.float32() for c in features}
    types[target_name] = pa.string()
    try:
        table, fmt, read_notes = read_table(fmt, types)
        as_text = False
    except pa.ArrowInvalid:
        # Some feature cell is not a number: read the features as text to say which and where.
        try:
            table, fmt, read_notes = read_table(fmt, {c: pa.string() for c in fmt.columns})
        except (pa.ArrowException, OSError) as exc:
            raise DataError(
                f"cannot read {fmt.path} as CSV: {exc}.", hint="Check that it is a plain CSV text file."
            ) from None
        as_text = True
    except (pa.ArrowException, OSError) as exc:  # e.g. the file went away after sniffing
        raise DataError(
            f"cannot read {fmt.path} as CSV: {exc}.", hint="Check that it is a plain CSV text file."
        ) from None
    if table.num_rows == 0:
        raise DataError(
            f"{fmt.path} has a header row ({', '.join(fmt.columns[:8])}) but no data rows.",
            hint="Choose a CSV file with data rows below the header.",
        )

    problems = Problems()
    X = feature_matrix(table, features, fmt, as_text=as_text, problems=problems)
    if problems.non_numeric:
        at = locate(fmt, [first for _, _, first, _ in problems.non_numeric])
        described = [
            f"{name!r} ({count} value{'s' if count != 1 else ''} such as {example[:30]!r}; first at {at(first)})"
            for name, count, first, example in problems.non_numeric[:LIST_MAX]
        ]
        if len(problems.non_numeric) > LIST_MAX:
            described.append(f"... ({len(problems.non_numeric)} columns in all)")
        s = "s" if len(described) > 1 else ""
        raise DataError(
            f"non-numeric feature column{s} in {fmt.path}: {', '.join(described)}. Features must be numbers.",
            hint=f"Encode those values as numbers or remove the column{s}; if it is the label, "
            "choose it as the target.",
        )
    notes_index = _index_column_warning(X, features, unnamed=fmt.unnamed)
    y, out_classes, label_missing = encode_labels(table.column(target_name), target_name, classes, fmt, problems)
    del table
    return X, y, out_classes, label_missing, problems, fmt, read_notes, notes_index
