"""Class labels: read as text, trimmed, numbers compared exactly, never through a float.

A label column is text first. Cells are trimmed (``" >50K"`` reads as ``">50K"``) and the usual
missing markers are missing. When every label is a number, labels that write the same number
("1", "01", "1.0", "+1") are one class, compared exactly with :class:`decimal.Decimal`, so
9007199254740993 and 9007199254740992 (equal as float64) stay two classes, and so do 10^20 and
10^20 + 1. Labels that differ only in case (``yes`` / ``Yes``) stay apart, but a note names them;
``True`` / ``False`` keep their names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import numpy as np

from evalstudio.core.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

    from evalstudio.core.data.csv_format import CsvFormat
    from evalstudio.core.data.csv_read import Problems

# A finite decimal number as a label may write it (no inf / nan: those stay text).
_FINITE_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$")


def label_number(text: str) -> Decimal | None:
    """The exact value of a label that is a finite number, else None."""
    t = text.strip()
    if not _FINITE_NUMBER.match(t):
        return None
    try:
        return Decimal(t)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def _canonical(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    text = format(value.normalize(), "f")
    return text


def canonical_labels(values: Sequence[str]) -> list[str] | None:
    """Numeric labels written one way ("1", "1.0", "01" -> "1"), exactly; None unless all are numbers."""
    if not values:
        return None
    numbers = [label_number(v) for v in values]
    if any(n is None for n in numbers):
        return None
    return [_canonical(n) for n in numbers if n is not None]


def sort_labels(labels: Sequence[str], numeric: bool) -> tuple[str, ...]:
    """Distinct labels sorted: by exact value when they are numbers, else as text."""
    distinct = set(labels)
    if numeric:
        return tuple(sorted(distinct, key=lambda s: (Decimal(s), s)))
    return tuple(sorted(distinct))


def case_note(labels: Sequence[str], target: str) -> str:
    """A note naming labels that differ only in case (kept as separate classes), or ""."""
    groups: dict[str, list[str]] = {}
    for lab in labels:
        groups.setdefault(lab.casefold(), []).append(lab)
    clashes = [sorted(set(g)) for g in groups.values() if len(set(g)) > 1]
    if not clashes:
        return ""
    shown = "; ".join(" and ".join(repr(x) for x in g) for g in clashes[:4])
    return (f"labels in {target!r} that differ only in case are kept as different classes: {shown}; "
            "if they mean the same class, write them the same way in the file")


def near_miss(label: str, classes: Sequence[str]) -> str | None:
    """The class an unknown label probably means (case, a trailing '.', spaces), or None."""

    def key(s: str) -> str:
        return re.sub(r"\s+", " ", s.strip().rstrip(".").strip()).casefold()

    k = key(label)
    matches = [c for c in classes if key(c) == k]
    return matches[0] if len(matches) == 1 else None


def encode_labels(
    col: "pa.ChunkedArray", target: str, classes: Sequence[str] | None, fmt: "CsvFormat", problems: "Problems"
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray, list[str]]:
    """Class codes for the label column.

    Returns
    -------
    y : ndarray of shape (n_rows,), int64 -- index into ``classes``, -1 where the label is missing
    classes : tuple of str -- sorted unique labels (by exact value when all are numbers), or the
        given ``classes``
    missing : ndarray of shape (n_rows,), bool
    notes : list of str -- labels differing only in case; spellings merged by trimming

    Raises
    ------
    DataError
        A label not among the given ``classes`` (naming it, and the class it probably means);
        a given class list with fewer than two labels.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from evalstudio.core.data.csv_read import missing_mask, quote_list, where

    notes: list[str] = []
    # Only the distinct labels are handled in Python; rows go through the dictionary codes.
    raw_encoded = pc.dictionary_encode(col).combine_chunks()
    raw_values = [str(v) for v in raw_encoded.dictionary.to_pylist()]
    trimmed_dict = pc.utf8_trim_whitespace(raw_encoded.dictionary)
    missing_dict = np.asarray(missing_mask(trimmed_dict))
    trimmed = [str(v) for v in trimmed_dict.to_pylist()]
    raw_indices = raw_encoded.indices
    row_missing = np.asarray(pc.is_null(raw_indices), dtype=bool)
    indices = raw_indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    if len(missing_dict):
        missing = row_missing | missing_dict[indices]
    else:
        missing = row_missing
    present = [t for t, m in zip(trimmed, missing_dict) if not m]
    canon = canonical_labels(present)
    mapping = dict(zip(present, canon)) if canon is not None else {t: t for t in present}
    labels = [mapping.get(t, "") for t in trimmed]
    spellings: dict[str, set[str]] = {}
    for r, t, m in zip(raw_values, trimmed, missing_dict):
        if not m:
            spellings.setdefault(t, set()).add(r)
    merged = sorted(t for t, rs in spellings.items() if len(rs) > 1 and any(r != t for r in rs))
    if merged:
        notes.append(f"labels in {target!r} written with and without spaces around them were trimmed to one "
                     f"class each: {quote_list(merged)}")
    if classes is None:
        out = sort_labels([mapping[t] for t in present], canon is not None)
        case = case_note(list(out), target)
        if case:
            notes.append(case)
    else:
        out = tuple(str(c) for c in classes)
        if len(out) < 2 or len(set(out)) != len(out):
            raise DataError(
                f"the class list {list(out)} must hold at least two distinct labels.",
                hint="Pass the classes the model was trained on.",
            )
    # Compare numeric labels by exact value, so "1.0" in the file matches class "1".
    given = canonical_labels(list(out)) if canon is not None else None
    lookup = {c: k for k, c in enumerate(given if given is not None else out)}
    lut = np.array([lookup.get(lab, -1) for lab in labels] or [-1], dtype=np.int64)
    y = lut[indices]
    y[missing] = -1
    if missing.any():
        problems.missing.append((target, int(missing.sum()), int(np.argmax(missing))))
    unknown = (y < 0) & ~missing
    if unknown.any():
        bad = sorted({lab for lab, k, m in zip(labels, lut, missing_dict) if k < 0 and not m})
        guesses = [(b, near_miss(b, out)) for b in bad]
        meant = [f"{b!r} for {g!r}" for b, g in guesses if g is not None]
        hint = "Use data with the same label values as the training data."
        extra = ""
        if meant:
            extra = (f" They look like the training labels written differently ({', '.join(meant[:4])}); "
                     "evalstudio does not guess.")
            hint = "Rewrite those labels in the file exactly as the training data writes them."
        raise DataError(
            f"label {bad[0]!r} in column {target!r} of {fmt.path} is not one of the classes "
            f"({', '.join(out)}): {int(unknown.sum())} rows have labels outside them ({quote_list(bad)}); "
            f"the first is at {where(fmt, int(np.argmax(unknown)))}.{extra}",
            hint=hint,
        )
    return y, out, missing, notes
