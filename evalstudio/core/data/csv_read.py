"""The full read behind :func:`evalstudio.core.data.dataset.load_csv`: Arrow parse, feature matrix, labels.

pyarrow's multi-threaded CSV reader parses the feature columns straight to float32 (so the peak
memory stays near twice the feature matrix) and refuses any row with more or fewer fields than
the header (pandas would pad it with NaN or turn the extra field into an index). Everything
after the parse is vectorised; Python's ``csv`` module walks the file only on an error path, and
only as far as the bad row, to name its line.

Row indices here are 0-based; messages say ``row k`` for the k-th data row (1-based, header and
blank lines not counted) and give the line in the file beside it.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from evalstudio.core.data.csv_format import MISSING_TOKENS, NUMBER_PATTERN, CsvFormat, is_number
from evalstudio.core.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

LIST_MAX = 6  # columns / labels named in one message before "..."


def quote_list(items: Sequence[str], limit: int = LIST_MAX) -> str:
    """``'a', 'b', ... (9 in all)``"""
    shown = ", ".join(repr(s) for s in items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


# ---------------------------------------------------------------------------------------------
# Parsing


def _arrow_encoding(encoding: str) -> str:
    # Arrow decodes UTF-8 natively (and skips a BOM); anything else goes through Python's codec.
    return "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding


def _read_table(fmt: CsvFormat, types: dict[str, pa.DataType], block_size: int | None = None) -> pa.Table:
    import pyarrow.csv as pcsv

    read = pcsv.ReadOptions(
        column_names=list(fmt.columns),
        skip_rows=fmt.skip_lines + (1 if fmt.has_header else 0),
        encoding=_arrow_encoding(fmt.encoding),
        use_threads=True,
        **({"block_size": block_size} if block_size else {}),
    )
    # newlines_in_values costs speed, so only when the sample shows quotes.
    parse = pcsv.ParseOptions(delimiter=fmt.delimiter, newlines_in_values=fmt.quoted, ignore_empty_lines=True)
    convert = pcsv.ConvertOptions(
        column_types=types,
        null_values=list(MISSING_TOKENS),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        decimal_point=fmt.decimal,
    )
    return pcsv.read_csv(fmt.path, read_options=read, parse_options=parse, convert_options=convert)


def read_table(fmt: CsvFormat, types: dict[str, pa.DataType]) -> tuple[pa.Table, CsvFormat, list[str]]:
    """Parse the whole file with the given column types.

    Returns
    -------
    (table, format, notes) : the format's encoding is updated when a late line was not UTF-8.

    Raises
    ------
    DataError
        A row with more or fewer fields than the header (naming its line).
    pyarrow.ArrowInvalid
        A cell that does not convert to its column type (the caller re-reads as text).
    """
    import pyarrow as pa

    notes: list[str] = []
    block_size: int | None = None
    while True:
        try:
            return _read_table(fmt, types, block_size), fmt, notes
        except pa.ArrowInvalid as exc:
            message = str(exc)
            if "straddles two block boundaries" in message and block_size is None:
                # One row longer than arrow's read block (1 MB): name it, or read with a block that holds it.
                block_size = _block_for_longest_row(fmt)
                continue
            if "Expected" in message and "columns, got" in message:
                if not fmt.quoted:
                    # A quoted value with a line break past the sniffed part: parse quote-aware.
                    fmt = dataclasses.replace(fmt, quoted=True)
                    continue
                raise ragged_error(fmt, message) from None
            if "UTF8" in message and fmt.encoding.startswith("utf-8"):
                # The sniffed bytes were UTF-8 but a later line is not: read it all as Windows-1252.
                fmt = dataclasses.replace(fmt, encoding="cp1252")
                notes.append("the file is not valid UTF-8 throughout; read it as Windows-1252 (Latin-1)")
                continue
            raise


def _block_for_longest_row(fmt: CsvFormat) -> int:
    """A read block that holds the file's longest row; an unmatched quote is named instead.

    Raises
    ------
    DataError
        A quoted value that runs from its line to the end of the file (a quote never closed).
    """
    longest, where = 0, 0
    last: tuple[int, list[str]] | None = None
    for line, fields in scan_rows(fmt):
        size = sum(len(f) for f in fields) + len(fields)
        if size > longest:
            longest, where = size, line
        last = (line, fields)
    with open(fmt.path, "rb") as fh:
        total_lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    if last is not None and last[0] == where and total_lines - where > 2 and longest > 1 << 20:
        cell = max(last[1], key=len)
        where += cell.endswith("\n")  # the file's last line end is inside the value: one line less counted
        raise DataError(
            f"line {where} of {fmt.path} opens a quoted value that is never closed: from {cell[:30]!r} it runs "
            f"{longest / 1e6:.1f} MB to the end of the file ({total_lines - where + 1} lines), as one value.",
            hint="Close that quote (or remove the stray \" character) and load the file again.",
        )
    return max(1 << 20, 2 * longest * 4)  # characters to bytes (UTF-8: at most 4 each), with room


@contextlib.contextmanager
def _large_fields() -> Iterator[None]:
    """Let Python's csv module read a field of any length (its limit is 128 KB) for the block."""
    old = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(old)


# ---------------------------------------------------------------------------------------------
# Naming lines (error paths only)


def scan_rows(fmt: CsvFormat) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each data row, read by Python's csv module; stops when the caller does."""
    with open(fmt.path, encoding=fmt.encoding, errors="replace", newline="") as fh, _large_fields():
        # A value of megabytes is read (and named) like any other, not an error of its own.
        for _ in range(fmt.skip_lines):  # Excel's sep= line, comment lines at the top
            fh.readline()
        reader = csv.reader(fh, delimiter=fmt.delimiter, strict=False)
        header_pending = fmt.has_header
        for fields in reader:
            if not fields:
                continue
            if header_pending:
                header_pending = False
                continue
            # line_num is where the row ends; a quoted value may span lines.
            yield fmt.skip_lines + reader.line_num - sum(f.count("\n") for f in fields), fields


def locate(fmt: CsvFormat, indices: Iterable[int]) -> Callable[[int], str]:
    """A function giving ``row 5, line 6`` for each 0-based data row in ``indices``.

    One pass over the file, only as far as the last of them.
    """
    wanted = set(indices)
    lines: dict[int, int] = {}
    if wanted:
        last = max(wanted)
        for k, (line, _) in enumerate(scan_rows(fmt)):
            if k in wanted:
                lines[k] = line
            if k >= last:
                break

    def place(index: int) -> str:
        line = lines.get(index)
        return f"row {index + 1}" + (f", line {line}" if line is not None else "")

    return place


def where(fmt: CsvFormat, index: int) -> str:
    """``row 5, line 6`` for the 0-based data row ``index``."""
    return locate(fmt, [index])(index)


def ragged_error(fmt: CsvFormat, arrow_message: str) -> DataError:
    """The error for the first row whose field count differs from the header's."""
    n = len(fmt.columns)
    what = "header" if fmt.has_header else "first row"
    for k, (line, fields) in enumerate(scan_rows(fmt), start=1):
        if len(fields) != n:
            if fields and fields[0].lstrip().startswith("#"):
                return DataError(
                    f"line {line} of {fmt.path} is a comment line ({fmt.delimiter.join(fields)[:60]!r}); comment "
                    "lines starting with '#' are skipped only at the top of the file.",
                    hint=f"Remove the comment lines below the header, e.g. grep -v '^#' {fmt.path} > clean.csv, and "
                    "load clean.csv.",
                )
            more = "more" if len(fields) > n else "fewer"
            return DataError(
                f"line {line} of {fmt.path} (data row {k}) has {len(fields)} fields but the {what} has "
                f"{n}: {fmt.delimiter.join(fields)[:80]!r}. Rows with {more} fields than the {what} "
                "are not read, so that no value silently lands in the wrong column.",
                hint="Fix or remove that line (a missing or extra delimiter, or an unquoted "
                f"{fmt.delimiter_name} inside a value).",
            )
    return DataError(
        f"cannot read {fmt.path}: {arrow_message}.", hint="Check that every row has the same fields as the header."
    )


# ---------------------------------------------------------------------------------------------
# Features


@dataclass
class Problems:
    """Per-column findings as (column, count, first 0-based row[, example value])."""

    non_numeric: list[tuple[str, int, int, str]] = field(default_factory=list)
    missing: list[tuple[str, int, int]] = field(default_factory=list)
    infinite: list[tuple[str, int, int]] = field(default_factory=list)

    def note_values(self, name: str, values: np.ndarray) -> None:
        """Record NaN (missing) and infinite entries of one float column."""
        nan = np.isnan(values)
        if nan.any():
            self.missing.append((name, int(nan.sum()), int(np.argmax(nan))))
        inf = np.isinf(values)
        if inf.any():
            self.infinite.append((name, int(inf.sum()), int(np.argmax(inf))))


def missing_mask(text: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """True where a (trimmed) text cell is null or a missing-value token such as '?'."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.fill_null(pc.or_kleene(pc.is_null(text), pc.is_in(text, value_set=pa.array(MISSING_TOKENS))), True)


def _text_column_to_float(col: pa.ChunkedArray, name: str, fmt: CsvFormat, problems: Problems) -> np.ndarray | None:
    """A feature column read as text -> float32 (NaN where missing); None when a cell is not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(col)  # so ' ?' and ' 1.5' read as '?' and '1.5'
    missing = missing_mask(text)
    if fmt.decimal == ",":
        text = pc.replace_substring(text, ",", ".", max_replacements=1)
    numeric = pc.fill_null(pc.match_substring_regex(text, f"^{NUMBER_PATTERN}$", ignore_case=True), False)
    bad = np.asarray(pc.and_(pc.invert(numeric), pc.invert(missing)))
    if bad.any():
        first = int(np.argmax(bad))
        problems.non_numeric.append((name, int(bad.sum()), first, str(col[first].as_py()).strip()))
        return None
    values = pc.cast(pc.if_else(missing, pa.scalar(None, pa.string()), text), pa.float32())
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float32)


def feature_matrix(
    table: pa.Table, features: Sequence[str], fmt: CsvFormat, *, as_text: bool, problems: Problems
) -> np.ndarray:
    """The ndarray of shape (n_rows, n_features), float32, C order, NaN where a value is missing.

    Fast path (columns already float32): copy one record batch (a few thousand rows) at a time so
    the strided writes stay in cache, and test finiteness per batch; only a file that has a
    missing or infinite value pays for the per-column details. ``as_text``: the columns were
    read as strings because some cell is not a number; each is checked and converted here.
    """
    X = np.empty((table.num_rows, len(features)), dtype=np.float32)
    if as_text:
        for j, name in enumerate(features):
            values = _text_column_to_float(table.column(name), name, fmt, problems)
            if values is not None:
                X[:, j] = values
                problems.note_values(name, values)
        return X
    finite = True
    r = 0
    for batch in table.select(list(features)).to_batches():
        block = X[r : r + batch.num_rows]
        for j in range(batch.num_columns):
            block[:, j] = batch.column(j).to_numpy(zero_copy_only=False)  # nulls -> NaN
        finite = finite and bool(np.isfinite(block).all())
        r += batch.num_rows
    if not finite:
        for j, name in enumerate(features):
            problems.note_values(name, X[:, j])
    return X
