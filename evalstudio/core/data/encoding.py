"""The fitted column encoding: parsed columns in, the model's float32 inputs out.

An :class:`Encoding` has two parts:

- the *layout*: which inputs exist, in order -- per numeric column its value (standardised later)
  and a 0/1 "(missing)" indicator when its rows had missing cells; per categorical column one
  input per category seen at least ``min_category_count`` times, an "(other)" input when rarer
  values exist, and a "(missing)" input when cells were missing. The model's input width is the
  number of inputs.
- the *knowledge*, learned from training rows only: each numeric column's median (what a missing
  cell becomes), which categories map to their inputs, which rare values share "(other)", and
  whether missing cells were seen.

:func:`fit_encoding` learns both from the same rows, or the knowledge alone within a given layout
(``layout=``), so every fold of a cross-validation, and a run whose validation rows hold a value
its training rows lack, keep one input width: an input the training rows never reach is 0 in
every row, train and test alike, so nothing from held-out rows reaches a prediction. At
evaluation a value the training rows never saw goes to "(other)" when the training rows used it
(else all its column's inputs are 0), and is counted per column, never an error. A missing cell
in a numeric column becomes the training median.

The encoding travels in the checkpoint as plain data
(:func:`evalstudio.core.data.encoding_state.to_state`, the ``encoding`` section of
docs/checkpoint-format.md) and is applied again by ``evaluate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import numpy as np

from evalstudio.core.data.columns import MIN_CATEGORY_COUNT, ColumnKind
from evalstudio.core.data.table import RawColumn, Table
from evalstudio.core.errors import DataError

STATE_VERSION = 1
OTHER = "(other)"
MISSING = "(missing)"


@dataclass(frozen=True)
class NumericEncoding:
    """A numeric column: its value, and a "(missing)" indicator when ``missing_input``."""

    name: str
    median: float
    missing_input: bool = False
    missing_seen: bool = False  # the training rows had missing cells (the indicator is live)

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.name, f"{self.name} {MISSING}") if self.missing_input else (self.name,)


@dataclass(frozen=True)
class CategoricalEncoding:
    """A categorical column: one input per slot, then "(other)" and "(missing)" when present.

    ``known`` are the slots learned from the training rows; ``rare`` the values the training rows
    held that share "(other)". ``numeric_codes``: the categories are numbers (a numeric column
    read as categories), written as :func:`~evalstudio.core.data.table.format_number` writes them.
    """

    name: str
    slots: tuple[str, ...]
    known: tuple[str, ...]
    rare: tuple[str, ...] = ()
    other_input: bool = False
    other_seen: bool = False
    missing_input: bool = False
    missing_seen: bool = False
    numeric_codes: bool = False

    @property
    def inputs(self) -> tuple[str, ...]:
        names = [f"{self.name}={s}" for s in self.slots]
        if self.other_input:
            names.append(f"{self.name}={OTHER}")
        if self.missing_input:
            names.append(f"{self.name}={MISSING}")
        return tuple(names)


@dataclass(frozen=True)
class IgnoredColumn:
    name: str
    reason: str

    @property
    def inputs(self) -> tuple[str, ...]:
        return ()


ColumnEncoding = NumericEncoding | CategoricalEncoding | IgnoredColumn


@dataclass(frozen=True)
class Encoded:
    """What :meth:`Encoding.transform` made: the inputs and what it counted per column.

    Attributes
    ----------
    X : ndarray of shape (n_rows, width), float32, C order
    missing : dict of str to int -- missing cells per feature column
    unseen : dict of str to int -- per categorical column, rows whose value (or a missing cell)
        the training rows never held
    """

    X: np.ndarray
    missing: dict[str, int]
    unseen: dict[str, int]


@dataclass(frozen=True)
class Encoding:
    """A fitted encoding (see the module docstring).

    Attributes
    ----------
    columns : tuple of NumericEncoding | CategoricalEncoding | IgnoredColumn -- every non-target
        column of the training data, in file order
    target : str
    min_category_count : int
    n_rows : int -- the rows the knowledge was learned from
    kinds : tuple of ColumnKind -- the plan it was fitted for (why each column has its kind)
    """

    columns: tuple[ColumnEncoding, ...]
    target: str
    min_category_count: int = MIN_CATEGORY_COUNT
    n_rows: int = 0
    kinds: tuple[ColumnKind, ...] = field(default=(), compare=False, repr=False)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(name for c in self.columns for name in c.inputs)

    @property
    def width(self) -> int:
        return sum(len(c.inputs) for c in self.columns)

    @property
    def features(self) -> tuple[ColumnEncoding, ...]:
        """The columns that make inputs (numeric and categorical), in order."""
        return tuple(c for c in self.columns if not isinstance(c, IgnoredColumn))

    def scaled_mask(self) -> np.ndarray:
        """ndarray of shape (width,), bool: the inputs standardisation applies to (numeric values)."""
        mask = [isinstance(c, NumericEncoding) and k == 0 for c in self.columns for k in range(len(c.inputs))]
        return np.asarray(mask, dtype=bool)

    def is_plain_numeric(self) -> bool:
        """Every feature is a number, passed through (no indicator, no categories)."""
        return all(isinstance(c, NumericEncoding) and not c.missing_input for c in self.features)

    def plan(self) -> tuple[ColumnKind, ...]:
        """The kind of every column (the plan it was fitted for, or as its columns say)."""
        return self.kinds or _kinds_of(self)

    def refit(self, table: Table, rows: np.ndarray | None = None) -> "Encoding":
        """The knowledge learned again from ``rows`` of ``table`` within this layout (same inputs)."""
        return fit_encoding(table, self.plan(), rows=rows, layout=self, min_category_count=self.min_category_count)

    def transform(self, table: Table) -> Encoded:
        """Encode every row of ``table`` (columns found by name).

        Raises
        ------
        DataError
            A feature column missing from ``table``; text in a column that was numeric.
        """
        return _transform(self, table)

    def count_unseen(self, table: Table) -> dict[str, int]:
        """Per categorical column, the rows of ``table`` whose value the training rows never held."""
        out = {}
        for spec in self.features:
            if isinstance(spec, CategoricalEncoding) and spec.name in table.names:
                out[spec.name] = _category_targets(spec, table.column(spec.name), 0)[1]
        return out



def _kinds_of(enc: Encoding) -> tuple[ColumnKind, ...]:
    out = []
    for c in enc.columns:
        if isinstance(c, IgnoredColumn):
            out.append(ColumnKind(c.name, "ignored", c.reason))
        else:
            out.append(ColumnKind(c.name, "numeric" if isinstance(c, NumericEncoding) else "categorical", "as trained"))
    return tuple(out)


def _sorted_categories(values: Sequence[str], numeric: bool) -> tuple[str, ...]:
    if numeric:
        return tuple(sorted(values, key=lambda v: (float(v), v)))
    return tuple(sorted(values))


def fit_encoding(
    table: Table,
    kinds: Sequence[ColumnKind],
    *,
    rows: np.ndarray | None = None,
    layout: Encoding | None = None,
    min_category_count: int = MIN_CATEGORY_COUNT,
    exact_medians: bool = True,
) -> Encoding:
    """Learn an encoding from ``rows`` of ``table`` (all rows when None).

    Parameters
    ----------
    table : Table
    kinds : sequence of ColumnKind -- from :func:`~evalstudio.core.data.columns.plan_columns`
    rows : ndarray of int, optional -- the training rows (positions in ``table``)
    layout : Encoding, optional -- keep its inputs and learn only the knowledge from ``rows``
    min_category_count : int
    exact_medians : bool
        False: a numeric column without missing cells takes the median of a sample of its rows
        (a loaded file's provisional encoding, whose medians fill no cell; training learns exact ones).
    """
    part = table if rows is None else table.take(rows)
    by_name = {c.name: c for c in (layout.columns if layout is not None else ())}
    out: list[ColumnEncoding] = []
    for kind in kinds:
        if kind.kind == "ignored":
            out.append(IgnoredColumn(kind.name, kind.reason))
            continue
        col = part.column(kind.name)
        fixed = by_name.get(kind.name)
        if kind.kind == "numeric":
            out.append(_fit_numeric(col, fixed if isinstance(fixed, NumericEncoding) else None, exact_medians))
        else:
            out.append(_fit_categorical(col, fixed if isinstance(fixed, CategoricalEncoding) else None,
                                        min_category_count))
    return Encoding(tuple(out), table.target_name, min_category_count, part.n_rows, tuple(kinds))


#: Without ``exact_medians``, a column with no missing cell takes its median from this many evenly
#: spaced rows: the value fills no cell of those rows, and training learns the exact one again.
_MEDIAN_SAMPLE = 20_000


def _median(x: np.ndarray, missing: np.ndarray | None, exact: bool) -> float:
    if missing is None and not exact and x.shape[0] > 2 * _MEDIAN_SAMPLE:
        x = x[:: x.shape[0] // _MEDIAN_SAMPLE]
    elif missing is not None:
        x = x[~missing]
    if x.size and not np.isfinite(x).all():
        x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else 0.0


def _fit_numeric(col: RawColumn, fixed: NumericEncoding | None, exact: bool = True) -> NumericEncoding:
    if col.numbers is None:
        raise DataError(f"column {col.name!r} is not numeric.", hint="Read it as categories.")
    median = _median(col.numbers, col.missing, exact)
    seen = col.n_missing > 0
    if fixed is None:
        return NumericEncoding(col.name, median, missing_input=seen, missing_seen=seen)
    return NumericEncoding(col.name, median, missing_input=fixed.missing_input, missing_seen=fixed.missing_input and seen)


def _fit_categorical(col: RawColumn, fixed: CategoricalEncoding | None, min_count: int) -> CategoricalEncoding:
    codes, values = col.categories()
    present = codes[codes >= 0]
    counts = np.bincount(present, minlength=len(values)) if len(values) else np.zeros(0, dtype=np.int64)
    frequent = [v for v, n in zip(values, counts) if n >= min_count]
    rare = [v for v, n in zip(values, counts) if 0 < n < min_count]
    n_missing = int(codes.shape[0] - present.shape[0])
    numeric = col.is_numeric if fixed is None else fixed.numeric_codes
    if fixed is None:
        slots = _sorted_categories(frequent, numeric)
        return CategoricalEncoding(
            col.name, slots, slots, _sorted_categories(rare, numeric), other_input=bool(rare), other_seen=bool(rare),
            missing_input=n_missing > 0, missing_seen=n_missing > 0, numeric_codes=numeric,
        )
    frequent_set = set(frequent)
    known = tuple(s for s in fixed.slots if s in frequent_set)
    rare_all = _sorted_categories(sorted(set(rare) | (frequent_set - set(fixed.slots))), numeric)
    return CategoricalEncoding(
        col.name, fixed.slots, known, rare_all, other_input=fixed.other_input,
        other_seen=fixed.other_input and bool(rare_all), missing_input=fixed.missing_input,
        missing_seen=fixed.missing_input and n_missing > 0, numeric_codes=numeric,
    )


def _transform(enc: Encoding, table: Table) -> Encoded:
    features = enc.features
    absent = [c.name for c in features if c.name not in table.names]
    if absent:
        s = "s" if len(absent) > 1 else ""
        raise DataError(
            f"{table.source or 'the data'} lacks the column{s} {', '.join(map(repr, absent))} that the "
            f"model was trained on; its columns are: {', '.join(table.names)}.",
            hint="Evaluate on a file with the training data's columns (found by name, in any order).",
        )
    n = table.n_rows
    missing: dict[str, int] = {}
    unseen: dict[str, int] = {}
    cols = [table.column(c.name) for c in features]
    if table.matrix is not None and enc.is_plain_numeric() and all(c.n_missing == 0 for c in cols):
        # The fast reader's matrix already holds these columns: no copy when they are all of it.
        order = [table.names.index(c.name) for c in features]
        X = table.matrix if order == list(range(table.matrix.shape[1])) else np.ascontiguousarray(table.matrix[:, order])
        return Encoded(X, {c.name: 0 for c in features}, {})
    X = np.zeros((n, enc.width), dtype=np.float32)
    j = 0
    for spec, col in zip(features, cols):
        missing[spec.name] = col.n_missing
        if isinstance(spec, NumericEncoding):
            _numeric_into(X, j, spec, col, table)
        else:
            assert isinstance(spec, CategoricalEncoding)
            unseen[spec.name] = _categories_into(X, j, spec, col)
        j += len(spec.inputs)
    return Encoded(X, missing, unseen)


def _numeric_into(X: np.ndarray, j: int, spec: NumericEncoding, col: RawColumn, table: Table) -> None:
    if col.numbers is None:
        codes, values = col.categories()
        from evalstudio.core.data.csv_format import is_number

        bad = next((v for v in values if not is_number(v)), values[0] if values else "")
        first = int(np.argmax(codes == values.index(bad))) if bad in values else 0
        raise DataError(
            f"column {spec.name!r} of {table.source or 'the data'} holds text, such as {bad!r} (row "
            f"{int(table.row_numbers[first])}), but the model was trained on it as numbers.",
            hint="Fix those cells (a number, or empty for missing) in the file.",
        )
    if col.missing is None:
        X[:, j] = col.numbers
        return
    filled = col.numbers.copy()
    filled[col.missing] = spec.median
    X[:, j] = filled
    if spec.missing_input and spec.missing_seen:
        X[:, j + 1] = col.missing


def _categories_into(X: np.ndarray, j: int, spec: CategoricalEncoding, col: RawColumn) -> int:
    """One-hot the column into X[:, j:...]; returns the rows whose value training never held."""
    target, fresh = _category_targets(spec, col, j)
    rows = np.flatnonzero(target >= 0)
    X[rows, target[rows]] = 1.0
    return fresh


def _category_targets(spec: CategoricalEncoding, col: RawColumn, j: int) -> tuple[np.ndarray, int]:
    """(the input each row sets, -1 for none; rows whose value the training rows never held)."""
    codes, values = col.categories()
    slot = {s: k for k, s in enumerate(spec.slots)}
    known, rare = set(spec.known), set(spec.rare)
    other = j + len(spec.slots) if spec.other_input else -1
    live_other = other if spec.other_seen else -1
    lut = np.full(len(values) + 1, -1, dtype=np.int64)
    fresh = np.zeros(len(values) + 1, dtype=bool)
    for k, v in enumerate(values):
        if v in known:
            lut[k] = j + slot[v]
        elif v in rare:
            lut[k] = other
        else:
            lut[k] = live_other
            fresh[k] = True
    if spec.missing_seen:
        lut[-1] = j + len(spec.slots) + int(spec.other_input)
    else:  # missing cells the training rows never had: as an unseen value
        lut[-1] = live_other
        fresh[-1] = True
    at = np.where(codes >= 0, codes, len(values))
    return lut[at], int(fresh[at].sum())
