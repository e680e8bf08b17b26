"""The steps of :func:`evalstudio.core.data.dataset.load_csv` after sniffing: read, plan, check, encode.

Kept apart from the dataset module so each stays readable: :func:`read_file` parses the file into
a :class:`~evalstudio.core.data.table.Table` (the fast numeric reader first, pyarrow otherwise),
:func:`build_dataset` plans the columns, drops or refuses what must be, and encodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from evalstudio.core.data.table import RawColumn, Table
from evalstudio.core.errors import DataError

if TYPE_CHECKING:
    from evalstudio.core.data.columns import ColumnKind, ColumnRoles
    from evalstudio.core.data.csv_format import CsvFormat
    from evalstudio.core.data.csv_read import Problems
    from evalstudio.core.data.encoding import Encoded, Encoding


class SingleClassError(DataError):
    """The label column holds one class only (fine for scoring when the classes are known)."""


def read_file(
    fmt: "CsvFormat", target: str, classes: tuple[str, ...] | None
) -> tuple[Table, np.ndarray, "CsvFormat", "Problems", list[str]]:
    """Parse the file: (table with every row, label-missing mask, format, problems, notes)."""
    from evalstudio.core.data.csv_fast import read_numeric
    from evalstudio.core.data.csv_read import Problems
    from evalstudio.core.data.table_read import read_columns

    names = [c for c in fmt.columns if c != target]
    problems = Problems()
    fast = read_numeric(fmt, names, target, classes)
    matrix: np.ndarray | None
    span: np.ndarray | None
    if fast is not None:
        X = fast.X
        columns: list[RawColumn] = [RawColumn(name, numbers=X[:, j]) for j, name in enumerate(names)]
        y, out_classes, matrix, span = fast.y, fast.classes, X, fast.span
        label_missing = np.zeros(len(y), dtype=bool)
        notes: list[str] = []
    else:
        columns, y, out_classes, label_missing, fmt, notes = read_columns(fmt, names, target, classes, problems)
        matrix, span = None, None
    rows = np.arange(1, len(y) + 1, dtype=np.int64)
    table = Table(tuple(columns), y, out_classes, target, rows, matrix, fmt.path, span=span)
    return table, label_missing, fmt, problems, [*fmt.notes, *notes]


def _problem_list(items: Sequence[tuple[str, int, int]], where: Callable[[int], str]) -> str:
    from evalstudio.core.data.csv_read import LIST_MAX

    parts = [
        f"{name!r} ({count} row{'s' if count != 1 else ''}; first at {where(first)})"
        for name, count, first in items[:LIST_MAX]
    ]
    if len(items) > LIST_MAX:
        parts.append(f"... ({len(items)} columns in all)")
    return ", ".join(parts)


def _index_column_warning(table: Table, unnamed: Sequence[str]) -> str:
    """A warning when the first column has no name and is an 0, 1, 2, ... (or 1, 2, 3, ...) counter.

    ``DataFrame.to_csv`` without ``index=False`` writes exactly that; used as a feature it is
    noise at best and a leak at worst (rows sorted by class).
    """
    if not table.columns or table.columns[0].name not in unnamed or table.n_rows < 3:
        return ""
    x = table.columns[0].numbers
    if x is None:
        return ""
    for start in (0, 1):
        if np.array_equal(x, np.arange(start, start + table.n_rows, dtype=np.float32)):
            return (
                f"warning: the first column has no name and counts {start}, {start + 1}, {start + 2}, ...: "
                "it looks like a saved row index (pandas to_csv without index=False) and is used as a "
                "feature; remove it if it is not one"
            )
    return ""


def _non_numeric_error(table: Table, fmt: "CsvFormat") -> DataError | None:
    """Today's refusal of text in a feature (``numeric_only``): each column, a value and where."""
    from evalstudio.core.data.csv_format import is_number
    from evalstudio.core.data.csv_read import LIST_MAX, locate

    found = []
    for col in table.columns:
        if col.is_numeric:
            continue
        assert col.codes is not None
        bad = np.array([not is_number(v, fmt.decimal) for v in col.values] + [False], dtype=bool)
        mask = bad[np.where(col.codes >= 0, col.codes, len(col.values))]
        first = int(np.argmax(mask))
        found.append((col.name, int(mask.sum()), first, col.values[int(col.codes[first])]))
    if not found:
        return None
    at = locate(fmt, [first for _, _, first, _ in found[:LIST_MAX]])
    described = [
        f"{name!r} ({count} value{'s' if count != 1 else ''} such as {example[:30]!r}; first at {at(first)})"
        for name, count, first, example in found[:LIST_MAX]
    ]
    if len(found) > LIST_MAX:
        described.append(f"... ({len(found)} columns in all)")
    s = "s" if len(described) > 1 else ""
    return DataError(
        f"non-numeric feature column{s} in {fmt.path}: {', '.join(described)}. Features must be numbers.",
        hint=f"Encode those values as numbers or remove the column{s}; if it is the label, choose it as "
        "the target. A checkpoint trained by evalstudio carries its own column encoding and takes text columns.",
    )


def encoding_note(enc: "Encoding", encoded: "Encoded") -> str:
    """One line on what the encoding made: columns -> inputs, and the missing cells it filled."""
    from evalstudio.core.data.encoding import CategoricalEncoding, NumericEncoding

    n_num = sum(isinstance(c, NumericEncoding) for c in enc.columns)
    n_cat = sum(isinstance(c, CategoricalEncoding) for c in enc.columns)
    filled = [f"{name} {n}" for name, n in encoded.missing.items() if n]
    text = f"encoded {n_num} numeric and {n_cat} categorical columns into {enc.width} inputs"
    if filled:
        text += "; missing cells (" + ", ".join(filled[:8]) + (", ..." if len(filled) > 8 else "") + \
            ") are filled with the training rows' median (numbers) or are a category of their own"
    return text


def _plan(table: Table, fmt: "CsvFormat", roles: "ColumnRoles | None", encoding: "Encoding | None",
          numeric_only: bool, notes: list[str]) -> tuple[tuple["ColumnKind", ...], int]:
    from evalstudio.core.data.columns import MIN_CATEGORY_COUNT, ColumnKind, plan_columns, plan_notes

    if encoding is not None:
        needed = {c.name for c in encoding.columns}
        extra = [n for n in table.names if n not in needed]
        if extra:
            notes.append(f"columns the model was not trained on are not used: {', '.join(extra[:10])}"
                         + (f", ... ({len(extra)} in all)" if len(extra) > 10 else ""))
        return encoding.plan(), encoding.min_category_count
    if numeric_only:
        error = _non_numeric_error(table, fmt)
        if error is not None:
            raise error
        return tuple(ColumnKind(c.name, "numeric", "a number column") for c in table.columns), MIN_CATEGORY_COUNT
    kinds = plan_columns(table, roles)
    index_note = _index_column_warning(table, fmt.unnamed)
    if index_note:
        notes.append(index_note)
        # The warning says it better than the id note would.
        kinds = tuple(replace(k, note="") if k.name == table.columns[0].name else k for k in kinds)
    notes.extend(plan_notes(kinds))
    return kinds, (roles.min_category_count if roles is not None else MIN_CATEGORY_COUNT)


def build_dataset(
    table: Table, fmt: "CsvFormat", label_missing: np.ndarray, problems: "Problems", notes: list[str], source: str,
    *, classes: tuple[str, ...] | None, drop_missing: bool, roles: "ColumnRoles | None",
    encoding: "Encoding | None", numeric_only: bool,
) -> tuple[Table, "Encoding", "Encoded", tuple[str, ...]]:
    """Plan the columns, drop or refuse missing and infinite values, encode, check the classes.

    Returns (the rows kept, the encoding, what it made of them, notes).
    """
    from evalstudio.core.data.csv_read import locate
    from evalstudio.core.data.encoding import fit_encoding

    if numeric_only and fmt.unnamed:
        index_note = _index_column_warning(table, fmt.unnamed)
        if index_note:
            notes.append(index_note)
    kinds, min_count = _plan(table, fmt, roles, encoding, numeric_only, notes)
    used = [k.name for k in kinds if k.kind != "ignored"]
    by_name = {c.name: c for c in table.columns}
    # Missing cells: refused in numeric-only mode and in labels; a category or a median otherwise.
    missing = [(n, by_name[n].n_missing, int(np.argmax(by_name[n].missing_mask())))
               for n in used if n in by_name and by_name[n].n_missing and numeric_only]
    problems.missing[:0] = missing
    bad_rows = label_missing.copy()
    for n in used:
        col = by_name.get(n)
        if col is None:
            continue
        # (The fast reader took only finite numbers; NaN is a missing cell, not an infinity.)
        if table.matrix is None and col.numbers is not None and bool(np.isinf(col.numbers).any()):
            inf = np.isinf(col.numbers)
            problems.infinite.append((n, int(inf.sum()), int(np.argmax(inf))))
            bad_rows |= inf
        if drop_missing and col.missing is not None:
            bad_rows |= col.missing
    if problems.missing or problems.infinite:
        if not drop_missing:
            at = locate(fmt, [first for _, _, first in problems.missing + problems.infinite])
            parts = []
            if problems.missing:
                parts.append("missing values in " + _problem_list(problems.missing, at))
            if problems.infinite:
                parts.append("infinite values in " + _problem_list(problems.infinite, at))
            label_only = [m[0] for m in problems.missing] == [table.target_name] and not problems.infinite
            if label_only:
                # Often the wrong column was taken for the label (the last one, by default).
                raise DataError(
                    f"{fmt.path} has missing values in {_problem_list(problems.missing, at)}, the target column: "
                    "those rows have no label.",
                    hint=f"If {table.target_name!r} is not the label, choose the label column (--target NAME); "
                    "else remove those rows, or let evalstudio drop them (--drop-missing).",
                    hints={"app": f"If {table.target_name!r} is not the label, choose the label column in the "
                           "Target picker of the Data tab; else tick \u201cDrop rows with missing values\u201d."},
                )
            raise DataError(
                f"{fmt.path} has {'; '.join(parts)}.",
                hint="Fill them in or remove those rows, or let evalstudio drop them "
                "(--drop-missing, drop_missing=True).",
                hints={"app": "Fill them in or remove those rows, or let evalstudio drop them: tick "
                       "\u201cDrop rows with missing values\u201d in the Data tab."},
            )
    n_all = table.n_rows
    if drop_missing and bad_rows.any():
        n_bad = int(bad_rows.sum())
        if n_bad == n_all:
            raise DataError(
                f"every row of {fmt.path} has a missing or infinite value; no row is left.",
                hint="Fill in the missing values, or remove the columns that are mostly empty.",
            )
        counts = [(n, int(by_name[n].missing_mask().sum())) for n in used if n in by_name and by_name[n].n_missing]
        if label_missing.any():
            counts.append((table.target_name, int(label_missing.sum())))
        found = [f"{kind} " + ", ".join(f"{name} {count}" for name, count, *_ in items)
                 for kind, items in (("missing:", counts), ("infinite:", problems.infinite)) if items]
        table = table.take(~bad_rows)
        notes.append(f"dropped {n_bad} of {n_all} rows with missing or infinite values ({'; '.join(found)})")
        if classes is None:
            # A label seen only on dropped rows is not a class of this dataset.
            present = np.unique(table.y)
            if len(present) < len(table.classes):
                table = table.with_labels(np.searchsorted(present, table.y).astype(np.int64),
                                          [table.classes[k] for k in present])
    table = Table(table.columns, table.y, table.classes, table.target_name, table.row_numbers, table.matrix,
                  source, tuple(notes), table.span)
    _check_classes(table, classes, n_all, fmt.path, notes)
    if encoding is None:
        encoding = fit_encoding(table, kinds, min_category_count=min_count, exact_medians=False)
    encoded = encoding.transform(table)
    if not encoding.is_plain_numeric() or any(encoded.missing.values()):
        notes.append(encoding_note(encoding, encoded))
    unseen = {k: v for k, v in encoded.unseen.items() if v}
    if unseen:
        has_other = {c.name for c in encoding.columns if getattr(c, "other_input", False)}
        notes.append("values the training rows never held: " + ", ".join(
            f"{k} {v} row{'s' if v != 1 else ''} ("
            + ("encoded as '(other)'" if k in has_other else "no input set: training had no '(other)' values") + ")"
            for k, v in unseen.items()))
    return table, encoding, encoded, tuple(notes)


def _check_classes(table: Table, classes: tuple[str, ...] | None, n_all: int, path: str, notes: list[str]) -> None:
    from evalstudio.core.data.csv_format import is_number

    out_classes, y, target_name = table.classes, table.y, table.target_name
    if classes is None and len(out_classes) < 2:
        raise SingleClassError(
            f"the target column {target_name!r} of {path} has a single class ({out_classes[0]!r} "
            f"in all {len(y)} rows{' left after dropping rows' if len(y) < n_all else ''}); "
            "a classifier needs at least two.",
            hint="Choose the label column as the target (target=NAME, --target NAME), or use data "
            "with more than one class.",
            hints={"app": "Choose the label column in the Target picker of the Data tab, or use data with "
                   "more than one class."},
        )
    if classes is None and len(out_classes) > 20:
        if all(is_number(c) for c in out_classes) and any("." in c or "e" in c for c in out_classes):
            raise DataError(
                f"the target column {target_name!r} of {path} holds {len(out_classes)} different "
                f"non-integer numbers (such as {out_classes[0]}, {out_classes[1]}); that looks like a "
                "measurement, not a class label.",
                hint="Choose the label column as the target (target=NAME, --target NAME).",
                hints={"app": "Choose the label column in the Target picker of the Data tab."},
            )
        notes.append(f"warning: {len(out_classes)} classes in {target_name!r}; check that it is the label column")
    counts = np.bincount(y, minlength=len(out_classes))
    shown = [f"{k} = {c!r} ({int(n)} row{'s' if n != 1 else ''})" for k, (c, n) in enumerate(zip(out_classes, counts))]
    notes.append(
        f"classes in {target_name!r}: " + ", ".join(shown[:20])
        + (f", ... ({len(shown)} classes)" if len(shown) > 20 else "")
    )
