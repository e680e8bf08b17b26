"""A cheap look at a CSV before the full load, and per-column summaries for the GUI's data panel.

- :func:`preview_rows` reads only the first ``n`` rows (as text) with the same sniffing as
  :func:`~evalstudio.core.data.dataset.load_csv`, so the panel can show the table, the detected delimiter,
  header and target at once, on any file size.
- :func:`describe_columns` summarises each column: of a loaded :class:`Dataset` (exact, all rows,
  vectorised), or of a file path (from the first ``n`` rows only; ``sampled`` says so).

Neither imports pyarrow or pandas, and both are quick enough to call from a GUI thread for a preview.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass

import numpy as np

from evalstudio.core.data.csv_format import MISSING_TOKENS, is_number, sniff_csv
from evalstudio.core.data.dataset import Dataset, choose_target

_MISSING = frozenset(MISSING_TOKENS)

#: minimum, maximum, mean, std of a column's numbers (None each for a column without them)
_Stats = tuple[float | None, float | None, float | None, float | None]
_NO_STATS: _Stats = (None, None, None, None)


@dataclass(frozen=True)
class CsvPreview:
    """The first rows of a CSV file and how it will be read.

    Attributes
    ----------
    path : str
    columns : tuple of str -- as :func:`load_csv` will name them (col_1 ... when headerless)
    rows : tuple of tuple of str -- the first data rows, cells as written (quotes removed)
    delimiter : str
    decimal : str -- "." or ","
    encoding : str
    has_header : bool
    target : str -- the column :func:`load_csv` would use as the label (with the same ``target``)
    target_reason : str -- why ("named like a label column", "the last column", "chosen")
    complete : bool -- ``rows`` are all the data rows of the file
    notes : tuple of str -- what the sniffing found (delimiter, header, encoding, renamed columns)
    """

    path: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    delimiter: str
    decimal: str
    encoding: str
    has_header: bool
    target: str
    target_reason: str
    complete: bool
    notes: tuple[str, ...]


@dataclass(frozen=True)
class ColumnSummary:
    """One column as the data panel shows it.

    Attributes
    ----------
    name : str
    role : str -- "feature" or "target"
    kind : str -- "number", "text" or "empty" (every value missing); "class" for the target of a
        loaded dataset
    n_rows : int -- rows looked at
    n_missing : int -- missing cells ('', NA, '?', ...); 0 for a loaded dataset
    n_distinct : int or None -- distinct values (None where not computed: features of a loaded dataset)
    minimum, maximum, mean, std : float or None -- over the numeric values (None for text)
    examples : tuple of str -- a few values as written (classes, for a loaded target)
    sampled : bool -- computed from the first rows of a file, not from all of them
    """

    name: str
    role: str
    kind: str
    n_rows: int
    n_missing: int
    n_distinct: int | None
    minimum: float | None
    maximum: float | None
    mean: float | None
    std: float | None
    examples: tuple[str, ...]
    sampled: bool


def preview_rows(
    path: str | os.PathLike[str], n: int = 50, *, target: str | None = None, delimiter: str | None = None
) -> CsvPreview:
    """The first ``n`` data rows of ``path`` as text, with the format :func:`load_csv` will use.

    Reads only as far as row ``n``. A ragged row is shown as it is (the full load names it).

    Raises
    ------
    DataError
        As :func:`load_csv` for a file it cannot start to read (missing, empty, header-only,
        not text, one column) or a ``target`` that is not a column.
    """
    from evalstudio.core.data.csv_read import scan_rows

    fmt = sniff_csv(path, delimiter=delimiter)
    name, why = choose_target(fmt.columns, target, path=fmt.path, has_header=fmt.has_header)
    rows = tuple(tuple(fields) for _, fields in itertools.islice(scan_rows(fmt), n + 1))
    complete = len(rows) <= n
    return CsvPreview(
        path=fmt.path,
        columns=fmt.columns,
        rows=rows[:n],
        delimiter=fmt.delimiter,
        decimal=fmt.decimal,
        encoding=fmt.encoding,
        has_header=fmt.has_header,
        target=name,
        target_reason=why,
        complete=complete,
        notes=fmt.notes,
    )


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _summarise_text(name: str, role: str, cells: list[str], decimal: str, sampled: bool) -> ColumnSummary:
    values = [c.strip() for c in cells]
    present = [v for v in values if v not in _MISSING]
    numbers = [v for v in present if is_number(v, decimal)]
    kind = "empty" if not present else "number" if len(numbers) == len(present) else "text"
    stats = _NO_STATS
    if kind == "number":
        arr = np.array([float(v.replace(",", ".", 1) if decimal == "," else v) for v in numbers])
        with np.errstate(invalid="ignore", over="ignore"):  # an 'inf' cell: no mean, said as None
            stats = (_finite(arr.min()), _finite(arr.max()), _finite(arr.mean()), _finite(arr.std()))
    distinct = list(dict.fromkeys(present))
    return ColumnSummary(
        name, role, kind, len(values), len(values) - len(present), len(distinct),
        *stats, tuple(distinct[:3]), sampled,
    )


def describe_columns(
    source: Dataset | str | os.PathLike[str],
    *,
    target: str | None = None,
    n: int = 1000,
    delimiter: str | None = None,
) -> tuple[ColumnSummary, ...]:
    """Per-column summaries, features first in file order, then the target.

    Parameters
    ----------
    source : a loaded :class:`Dataset` (exact over all rows) or a CSV path (first ``n`` rows)
    target : str, optional -- for a path: the label column, chosen as :func:`load_csv` does
    n : int -- rows read from a path
    delimiter : str, optional -- for a path: force the delimiter, as in :func:`load_csv`

    Returns
    -------
    tuple of ColumnSummary
    """
    if isinstance(source, Dataset):
        X = source.X
        out = []
        for j, name in enumerate(source.feature_names):
            col = X[:, j]
            stats: _Stats = (
                (float(col.min()), float(col.max()), float(col.mean(dtype=np.float64)), float(col.std(dtype=np.float64)))
                if len(col) else _NO_STATS
            )
            out.append(ColumnSummary(
                name, "feature", "number", len(col), 0, None, *stats,
                tuple(f"{v:g}" for v in col[:3]), False,
            ))
        counts = source.class_counts()
        out.append(ColumnSummary(
            source.target_name, "target", "class", source.n_samples, 0, int((counts > 0).sum()),
            None, None, None, None, tuple(source.classes), False,
        ))
        return tuple(out)

    preview = preview_rows(source, n, target=target, delimiter=delimiter)
    width = len(preview.columns)
    # Short rows are padded for the summary only; the full load refuses them.
    cells = [list(r[:width]) + [""] * (width - len(r)) for r in preview.rows]
    by_column = list(zip(*cells)) if cells else [() for _ in range(width)]
    summaries = {
        name: _summarise_text(
            name, "target" if name == preview.target else "feature", list(col), preview.decimal, not preview.complete
        )
        for name, col in zip(preview.columns, by_column)
    }
    order = [c for c in preview.columns if c != preview.target] + [preview.target]
    return tuple(summaries[c] for c in order)
