"""Read a CSV into a :class:`~evalstudio.core.data.table.Table`: pyarrow, typed from the sample.

Columns whose sampled cells are all plain numbers are parsed straight to float32 by pyarrow's
multi-threaded reader; every other column is read dictionary-encoded (indices plus the distinct
texts), so text costs 4 bytes a cell. After the parse only the distinct values are handled in
Python: they are trimmed, the missing markers found among them, duplicates made by trimming
merged, and a column whose trimmed values are all numbers becomes numeric. When a column sampled
as numbers holds text further down, the file is read once more with that kind of column read as
text (the error path of big files only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from evalstudio.core.data.csv_format import MISSING_TOKENS, CsvFormat, is_number
from evalstudio.core.data.table import RawColumn
from evalstudio.core.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

    from evalstudio.core.data.csv_read import Problems

_MISSING = frozenset(MISSING_TOKENS)


def _sampled_numeric(fmt: CsvFormat, names: list[str]) -> set[str]:
    """Columns whose sampled cells are all plain numbers (or missing), written without spaces."""
    index = {c: k for k, c in enumerate(fmt.columns)}
    out = set()
    for name in names:
        k = index[name]
        cells = [r[k] for r in fmt.sample_rows if k < len(r)]
        present = [c for c in cells if c not in _MISSING]
        if present and all(c == c.strip() and is_number(c, fmt.decimal) for c in present):
            out.add(name)
    return out


def read_columns(
    fmt: CsvFormat, names: list[str], target: str, classes: tuple[str, ...] | None, problems: "Problems"
) -> tuple[list[RawColumn], np.ndarray, tuple[str, ...], np.ndarray, CsvFormat, list[str]]:
    """Parse every column of the file.

    Returns
    -------
    columns : list of RawColumn -- ``names`` in order
    y : ndarray of shape (n_rows,), int64 -- -1 where the label is missing
    classes : tuple of str
    label_missing : ndarray of shape (n_rows,), bool
    format : CsvFormat -- updated when a late line was not UTF-8 or a quote spans lines
    notes : list of str

    Raises
    ------
    DataError
        Unreadable file, ragged row, no data rows, a label outside ``classes``.
    """
    import pyarrow as pa

    from evalstudio.core.data.csv_read import read_table
    from evalstudio.core.data.labels import encode_labels

    text_type = pa.dictionary(pa.int32(), pa.string())
    numeric = _sampled_numeric(fmt, names)
    types = {c: (pa.float32() if c in numeric else text_type) for c in names}
    types[target] = pa.string()
    try:
        try:
            table, fmt, notes = read_table(fmt, types)
        except pa.ArrowInvalid:
            # A column sampled as numbers holds text further down: read those as text too.
            table, fmt, notes = read_table(fmt, {**types, **{c: text_type for c in numeric}})
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"cannot read {fmt.path} as CSV: {exc}.", hint="Check that it is a plain CSV text file.") from None
    if table.num_rows == 0:
        raise DataError(
            f"{fmt.path} has a header row ({', '.join(fmt.columns[:8])}) but no data rows.",
            hint="Choose a CSV file with data rows below the header.",
        )
    columns = [_raw_column(table.column(name), name, fmt.decimal) for name in names]
    y, out_classes, label_missing, label_notes = encode_labels(table.column(target), target, classes, fmt, problems)
    return columns, y, out_classes, label_missing, fmt, [*notes, *label_notes]


def _raw_column(col: "pa.ChunkedArray", name: str, decimal: str) -> RawColumn:
    import pyarrow as pa

    if pa.types.is_floating(col.type):
        numbers = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float32)  # nulls -> NaN
        missing = np.isnan(numbers)
        return RawColumn(name, numbers=numbers, missing=missing if missing.any() else None)
    return _from_dictionary(col, name, decimal)


def _from_dictionary(col: "pa.ChunkedArray", name: str, decimal: str) -> RawColumn:
    """A dictionary-encoded text column -> trimmed text codes, or numbers when every value is one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from evalstudio.core.data.csv_read import missing_mask

    if col.num_chunks == 0:
        return RawColumn(name, codes=np.zeros(0, dtype=np.int32), values=())
    arr = col.unify_dictionaries().combine_chunks() if col.num_chunks > 1 else col.chunk(0)
    if not pa.types.is_dictionary(arr.type):  # pragma: no cover - read as dictionary above
        arr = pc.dictionary_encode(arr)
    dictionary = arr.dictionary
    indices = arr.indices
    row_null = np.asarray(pc.is_null(indices), dtype=bool)
    raw_codes = indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)

    trimmed = pc.utf8_trim_whitespace(dictionary)
    value_missing = np.asarray(missing_mask(trimmed), dtype=bool)
    # Numbers? (every trimmed, non-missing distinct value parses)
    present_values = pc.filter(trimmed, pa.array(~value_missing))
    # An empty column (every cell missing) is numbers, vacuously.
    as_numbers = _to_float32(present_values, decimal) if len(present_values) else np.zeros(0, dtype=np.float32)
    if as_numbers is not None:
        lut = np.full(len(dictionary) + 1, np.nan, dtype=np.float32)
        lut[:-1][~value_missing] = as_numbers
        numbers = lut[np.where(row_null, len(dictionary), raw_codes)]
        missing = np.isnan(numbers)
        return RawColumn(name, numbers=numbers, missing=missing if missing.any() else None)
    # Text: merge spellings that trimming made equal; missing markers -> -1.
    merged = pc.dictionary_encode(trimmed)
    remap = np.asarray(merged.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    values = [str(v) for v in merged.dictionary.to_pylist()]
    remap = np.where(value_missing, -1, remap).astype(np.int32)
    keep = sorted({int(k) for k in remap if k >= 0})
    renumber = np.full(len(values) + 1, -1, dtype=np.int32)
    renumber[keep] = np.arange(len(keep), dtype=np.int32)
    remap = renumber[remap]  # -1 stays -1 (last slot)
    lut = np.append(remap, np.int32(-1))
    codes = lut[np.where(row_null, len(dictionary), raw_codes)].astype(np.int32, copy=False)
    missing = codes < 0
    return RawColumn(name, codes=codes, values=tuple(values[k] for k in keep),
                     missing=missing if missing.any() else None)


def _to_float32(values: "pa.Array", decimal: str) -> np.ndarray | None:
    """The float32 values of trimmed number texts, or None when one is not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from evalstudio.core.data.csv_format import NUMBER_PATTERN

    text = values
    if decimal == ",":
        text = pc.replace_substring(text, ",", ".", max_replacements=1)
    ok = pc.match_substring_regex(text, f"^{NUMBER_PATTERN}$", ignore_case=True)
    if not pc.all(ok).as_py():
        return None
    try:
        return np.asarray(pc.cast(text, pa.float32()).to_numpy(zero_copy_only=False), dtype=np.float32)
    except pa.ArrowInvalid:  # a spelling the pattern admits and Arrow does not (e.g. "1.")
        return np.array([float(v) for v in text.to_pylist()], dtype=np.float32)
