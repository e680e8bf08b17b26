"""Row fingerprints: a 64-bit hash of each row's content, vectorised, order-free across files.

A checkpoint records the fingerprints of the rows that trained it (:mod:`evalstudio.core.models.training_rows`);
evaluation hashes the rows of the file it is given the same way and leaves out the matches. The
hash sees the label and the feature values *as parsed* (before standardisation or encoding), in
the checkpoint's own column order, so shuffling the rows, reordering or adding columns, renaming
the file or re-saving it with another delimiter does not change a row's fingerprint; changing
any value does.

The definition (``evalstudio-row-hash-1``; docs/checkpoint-format.md repeats it):

- ``mix(x)`` is the splitmix64 finaliser on uint64 (wrapping):
  ``x ^= x >> 30; x *= 0xBF58476D1CE4E5B9; x ^= x >> 27; x *= 0x94D049BB133111EB; x ^= x >> 31``.
- A numeric cell is its value as float64 with ``-0.0`` made ``0.0``; its hash is
  ``bits + 0x9E3779B97F4A7C15`` (wrapping) where ``bits`` are the IEEE-754 bits read as uint64.
- A text cell is its string with surrounding white space removed; its hash is
  ``pandas.util.hash_array`` of it (SipHash-2-4 of the UTF-8 bytes with key ``"0123456789123456"``,
  then ``mix``).
- A missing cell (NaN, None, an empty cell read as missing) hashes to ``MISSING`` in any column.
- The label is a text cell: the class name.
- A row's hash starts at ``SEED`` and takes each cell in turn, the label first and then the
  features in the checkpoint's column order: ``h = mix(h ^ cell)``.

Nothing here loops over rows in Python: rows are hashed in cache-sized chunks, a few numpy
passes per column, and a column of text costs one ``pandas.factorize`` and one hash per distinct value.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from evalstudio.core.errors import EvalStudioError

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset
    from evalstudio.core.data.table import RawColumn

HASH_NAME = "evalstudio-row-hash-1"
SEED = np.uint64(0x65766C7374756469)  # "evlstudi"
MISSING = np.uint64(0x6D697373696E6721)  # "missing!"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
# Rows hashed at a time: the working arrays (a few of 256 KB) stay in the CPU's cache, which makes
# the dozen passes per column several times faster than over whole 8 MB columns.
_CHUNK = 1 << 15


def mix(x: np.ndarray, tmp: np.ndarray | None = None) -> np.ndarray:
    """The splitmix64 finaliser, in place on a uint64 array (returned for chaining).

    ``tmp``: a scratch array of the same shape (saves an allocation per step).
    """
    t = np.empty_like(x) if tmp is None else tmp
    with np.errstate(over="ignore"):
        np.right_shift(x, _S30, out=t)
        x ^= t
        np.multiply(x, _M1, out=x)
        np.right_shift(x, _S27, out=t)
        x ^= t
        np.multiply(x, _M2, out=x)
        np.right_shift(x, _S31, out=t)
        x ^= t
    return x


def _numeric_into(out: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Numeric cell hashes of ``values`` written into the uint64 array ``out`` (same length)."""
    f = out.view(np.float64)
    f[...] = values
    f += 0.0  # -0.0 + 0.0 is 0.0
    missing = np.isnan(f)
    with np.errstate(over="ignore"):
        out += _GOLDEN
    out[missing] = MISSING
    return out


def numeric_cell_hashes(values: np.ndarray) -> np.ndarray:
    """Hashes of numeric cells, any shape: the float64 bits (``-0.0`` as ``0.0``) plus a constant;
    NaN (missing) becomes :data:`MISSING`. A row's hash mixes them (:func:`combine`)."""
    v = np.asarray(values, dtype=np.float64)
    return _numeric_into(np.empty(v.shape, dtype=np.uint64), v)


def text_cell_hashes(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Hashes of text cells (trimmed strings); None / NaN / pandas NA become :data:`MISSING`."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    trimmed = np.array([str(u).strip() for u in uniques], dtype=object)  # one per distinct value
    table = pd.util.hash_array(trimmed, categorize=False) if len(trimmed) else np.zeros(0, np.uint64)
    out = np.full(len(codes), MISSING, dtype=np.uint64)
    present = codes >= 0
    out[present] = table[codes[present]]
    return np.asarray(out, dtype=np.uint64)


def combine(cells: Sequence[np.ndarray], n_rows: int) -> np.ndarray:
    """Row hashes from per-column cell hashes (uint64, or float arrays hashed as numeric cells on
    the way), in the order given: ``h = SEED``, then ``h = mix(h ^ cell)`` per column."""
    out = np.empty(n_rows, dtype=np.uint64)
    tmp = np.empty(min(n_rows, _CHUNK), dtype=np.uint64)
    cell = np.empty(min(n_rows, _CHUNK), dtype=np.uint64)
    for lo in range(0, n_rows, _CHUNK):
        hi = min(n_rows, lo + _CHUNK)
        h, t, c = out[lo:hi], tmp[: hi - lo], cell[: hi - lo]
        h[...] = SEED
        for col in cells:
            if col.dtype == np.uint64:
                h ^= col[lo:hi]
            else:
                h ^= _numeric_into(c, col[lo:hi])
            mix(h, t)
    return out


def row_hashes(labels: np.ndarray, columns: Sequence[np.ndarray]) -> np.ndarray:
    """One fingerprint per row.

    Parameters
    ----------
    labels : ndarray of shape (n_rows,) -- the label of each row, as text (class names)
    columns : sequence of ndarray of shape (n_rows,)
        The feature columns in the checkpoint's order: a float, integer or boolean array is
        numeric (NaN missing), an object or string array is text (None / NaN missing).

    Returns
    -------
    ndarray of shape (n_rows,), uint64
    """
    cells: list[np.ndarray] = [text_cell_hashes(labels)]
    for col in columns:
        arr = np.asarray(col)
        cells.append(arr if arr.dtype.kind == "f" else
                     arr.astype(np.float64) if arr.dtype.kind in "iub" else text_cell_hashes(arr))
    return combine(cells, len(labels))


def hash_order(available: Sequence[str], wanted: Sequence[str] | None) -> list[int]:
    """Positions of ``wanted`` (the checkpoint's columns) among ``available`` (the file's), or the
    file's own order when the file lacks one of them (the model then reads the columns in file
    order too, and the pipeline warns that the names differ)."""
    position = {name: i for i, name in enumerate(available)}
    if wanted and len(wanted) <= len(available) and all(w in position for w in wanted):
        return [position[w] for w in wanted]
    return list(range(len(available)))


def hash_columns(data: "Dataset") -> tuple[str, ...]:
    """The columns a checkpoint trained on ``data`` records its row fingerprints over: the
    feature columns as parsed (before encoding) when ``data`` has them, else its feature names."""
    if data.table is not None and data.encoding is not None:
        return tuple(c.name for c in data.encoding.features)
    return tuple(data.feature_names)


def raw_column_hashes(column: "RawColumn") -> np.ndarray:
    """Cell hashes of one parsed column: numbers as numeric cells, text as trimmed text cells
    (hashed once per distinct value), missing cells as :data:`MISSING`."""
    if column.numbers is not None:
        return numeric_cell_hashes(column.numbers)
    assert column.codes is not None
    per_value = np.append(text_cell_hashes(np.asarray(column.values, dtype=object)), MISSING)
    return np.asarray(per_value[np.where(column.codes >= 0, column.codes, len(column.values))], dtype=np.uint64)


def dataset_row_hashes(data: "Dataset", columns: Sequence[str] | None = None) -> np.ndarray:
    """Fingerprints of every row of ``data``, its features taken in ``columns``' order.

    The label is the class name (``data.classes[y]``). The features are the parsed columns of
    ``data.table`` named by ``columns`` (numbers, trimmed text, missing cells: before any encoding
    or standardisation) when it has them all; else the values of ``data.X`` (float32, exactly
    representable in float64) in ``columns``' order among ``data.feature_names``.
    """
    labels = text_cell_hashes(np.asarray(data.classes, dtype=object))[data.y]
    table = data.table
    if table is not None and columns and all(c in table.names for c in columns):
        cells = [raw_column_hashes(table.column(c)) for c in columns]
        return combine([labels, *cells], data.n_samples)
    features = [data.X[:, j] for j in hash_order(data.feature_names, columns)]
    return combine([labels, *features], data.n_samples)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise EvalStudioError(
            f"cannot read {os.fspath(path)!s} to hash it ({exc.strerror}).",
            hint="Check that the file still exists and is readable.",
        ) from exc
    return digest.hexdigest()


def file_record(path: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """``{"name", "sha256", "bytes"}`` of a data file, or None for in-memory data / a file gone."""
    if path is None or os.fspath(path) == "" or not os.path.isfile(path):
        return None
    return {"name": os.path.basename(os.fspath(path)), "sha256": file_sha256(path), "bytes": os.path.getsize(path)}
