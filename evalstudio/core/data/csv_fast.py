"""The fast path of :func:`evalstudio.core.data.dataset.load_csv`: clean numeric files, parsed in pieces.

Most datasets people point the app at are plain numbers with an integer label. For those, this
module cuts the data section of the file into byte ranges of a few MB at line ends, parses each
range with pandas' C tokenizer in a thread pool (it tokenises and converts numbers with the GIL
released) and copies each piece straight into the preallocated float32 feature matrix. The peak
memory stays near the matrix itself plus a few pieces in flight, and nothing is mapped: the file
is read with ``pread`` a piece at a time.

It only ever says yes or "not for me": :func:`read_numeric` returns ``None`` as soon as anything
is not plain -- a quote character, a missing or non-numeric cell (True / False included), an
infinite value, a row with more or fewer fields than the header, a label that is not an integer,
a UTF-16 file -- and
``load_csv`` then reads the file with its full pyarrow reader, which names the problem, its row
and its line. So the two readers never disagree on a message; on a clean file they return the
same matrix and labels (tested on the demo data and on random files).

pandas' ``load_buffer`` (the zero-copy entry its own parallel reader uses) is used when present;
with an older pandas each piece goes through the public ``read_csv`` on a ``BytesIO`` instead
(same parser, some Python overhead per piece).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from evalstudio.core.data.csv_format import CsvFormat

PIECE_BYTES = 4 << 20
MAX_WORKERS = 4
_BOM = codecs.BOM_UTF8
_LABEL_LIMIT = 2**53  # integer labels above this are not exact in float64
# pandas reads True / False (any case) as 1 / 0 in a number column. No number holds a "u" or an
# "l", and a one-byte search is a memchr (GB/s), where a word search would hold the GIL for long.
_BOOL_LETTERS = (b"u", b"U", b"l", b"L")


class _NotPlain(Exception):
    """This file is not for the fast path (the full reader takes it)."""


@dataclass(frozen=True)
class NumericRead:
    """What the fast path read: the matrix and the class codes of a clean numeric file."""

    X: np.ndarray  # (n_rows, n_features) float32, C order, all finite
    y: np.ndarray  # (n_rows,) int64 codes into ``classes``
    classes: tuple[str, ...]
    # (n_features, 2) float32: each column's min and max, taken while its pieces were in cache
    span: np.ndarray | None = None


def _worker_count() -> int:
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        available = os.cpu_count() or 1
    return max(1, min(available, MAX_WORKERS))


def _data_start(fd: int, fmt: CsvFormat) -> int:
    """Byte offset of the first data row (after a BOM and the header line)."""
    head = os.pread(fd, 1 << 16, 0)
    pos = len(_BOM) if head.startswith(_BOM) else 0
    for _ in range(fmt.skip_lines):  # Excel's sep= line, comment lines at the top
        end = head.find(b"\n", pos)
        if end < 0:
            raise _NotPlain("long lines before the header")
        pos = end + 1
    if not fmt.has_header:
        return pos
    end = head.find(b"\n", pos)
    while end < 0:
        more = os.pread(fd, 1 << 20, pos + len(head))
        if not more:
            raise _NotPlain("no line end after the header")
        found = more.find(b"\n")
        end = -1 if found < 0 else len(head) + found
        head += more
    line = head[pos:end].rstrip(b"\r").decode("utf-8", errors="replace")
    if not line.strip():
        raise _NotPlain("blank first line")
    fields = next(csv.reader([line], delimiter=fmt.delimiter))
    if len(fields) != len(fmt.columns):
        raise _NotPlain("header line holds a line break or differs from the sniffed columns")
    return end + 1


def _pieces(fd: int, start: int, size: int, piece_bytes: int) -> Iterator[tuple[int, int]]:
    """Byte ranges [lo, hi) of about ``piece_bytes`` each, every one ending after a line end."""
    lo = start
    while lo < size:
        hi = lo + piece_bytes
        if hi >= size:
            yield lo, size
            return
        while True:
            window = os.pread(fd, 1 << 16, hi)
            if not window:
                hi = size
                break
            found = window.find(b"\n")
            if found >= 0:
                hi += found + 1
                break
            hi += len(window)
        yield lo, hi
        lo = hi


class _Parser:
    """One thread's parser: bytes of whole lines -> {column name: array}."""

    def __init__(self, kwargs: dict[str, object], names: Sequence[str]) -> None:
        self._kwargs = kwargs
        self._names = list(names)
        # pandas' private TextFileReader (untyped); None: use the public read_csv below
        self._reader: Any = None
        try:
            from pandas.io.parsers.readers import TextFileReader

            reader = TextFileReader(io.BytesIO(b""), **kwargs)
            if hasattr(reader._engine, "_reader") and hasattr(reader._engine._reader, "load_buffer"):
                reader._engine._reader.trim_after_read = False
                self._reader = reader
        except Exception:  # noqa: BLE001 - any other pandas: use the public read below
            self._reader = None

    def parse(self, data: bytes) -> dict[str, np.ndarray]:
        if self._reader is not None:
            engine = self._reader._engine
            engine._reader.load_buffer(data, strip_bom=False)
            engine._first_chunk = True
            index, _, columns = engine.read()
            if index is not None:
                raise _NotPlain("more fields than the header on every row")
            return {(self._names[k] if isinstance(k, int) else k): np.asarray(v) for k, v in columns.items()}
        import pandas as pd

        frame = pd.read_csv(io.BytesIO(data), **self._kwargs)
        if not isinstance(frame.index, pd.RangeIndex):
            raise _NotPlain("more fields than the header on every row")
        return {name: frame[name].to_numpy() for name in self._names}


def _parse_kwargs(fmt: CsvFormat, features: Sequence[str], target: str) -> dict[str, object]:
    dtype: dict[str, object] = {name: np.float32 for name in features}
    dtype[target] = np.float64
    return {
        "delimiter": fmt.delimiter,
        "header": None,
        "names": list(fmt.columns),
        "dtype": dtype,
        "na_filter": False,  # an empty cell then fails to convert: the full reader reports it
        "decimal": fmt.decimal,
        "engine": "c",
        "low_memory": False,  # pieces are small already
        "skip_blank_lines": True,
        "encoding": "utf-8",
    }


def _class_codes(labels: np.ndarray, classes: Sequence[str] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer labels -> (codes, class names) as the full reader would give them."""
    if len(labels) == 0:
        raise _NotPlain("no rows")
    lo, hi = int(labels.min()), int(labels.max())
    if classes is None:
        if hi - lo < 1 << 20:
            present = np.flatnonzero(np.bincount(labels - lo if lo else labels)) + lo
        else:
            present = np.unique(labels)
        names = tuple(str(int(v)) for v in present)
        if lo == 0 and len(present) == hi + 1:
            return labels, names  # already 0 .. k-1
        return np.searchsorted(present, labels).astype(np.int64, copy=False), names
    from evalstudio.core.data.labels import canonical_labels

    given = canonical_labels([str(c) for c in classes])
    if given is None or len(given) < 2 or len(set(given)) != len(given) or any(("." in g or "e" in g or "n" in g) for g in given):
        raise _NotPlain("the known classes are not integers")
    values = np.array([int(g) for g in given], dtype=np.int64)
    order = np.argsort(values)
    pos = np.searchsorted(values[order], labels)
    pos = np.minimum(pos, len(values) - 1)
    if not np.array_equal(values[order][pos], labels):
        raise _NotPlain("a label outside the known classes")  # the full reader names it
    return order[pos].astype(np.int64, copy=False), tuple(str(c) for c in classes)


def read_numeric(
    fmt: CsvFormat,
    features: Sequence[str],
    target: str,
    classes: Sequence[str] | None = None,
    *,
    piece_bytes: int = PIECE_BYTES,
    workers: int | None = None,
    parser_factory: Callable[[dict[str, object], Sequence[str]], _Parser] = _Parser,
) -> NumericRead | None:
    """The matrix and class codes of a plain numeric file, or None when the file is not plain.

    ``None`` means: let the full reader take this file (it reports every problem precisely).
    """
    if not hasattr(os, "pread"):  # Windows: the full reader (correct, slower)
        return None
    if not fmt.encoding.lower().replace("_", "-").startswith(("utf-8", "utf8", "cp1252", "ascii")):
        return None
    try:
        fd = os.open(fmt.path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _read(fd, fmt, features, target, classes, piece_bytes, workers or _worker_count(), parser_factory)
    except (_NotPlain, ValueError, TypeError, OverflowError, UnicodeDecodeError, KeyError, OSError, ImportError):
        return None
    except Exception as exc:  # pandas.errors.ParserError and friends
        if type(exc).__module__.startswith("pandas"):
            return None
        raise
    finally:
        os.close(fd)


def _read(
    fd: int,
    fmt: CsvFormat,
    features: Sequence[str],
    target: str,
    classes: Sequence[str] | None,
    piece_bytes: int,
    workers: int,
    parser_factory: Callable[[dict[str, object], Sequence[str]], _Parser],
) -> NumericRead:
    size = os.fstat(fd).st_size
    start = _data_start(fd, fmt)
    kwargs = _parse_kwargs(fmt, features, target)
    local = threading.local()
    n_features = len(features)

    def work(span: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = span
        data = os.pread(fd, hi - lo, lo)
        if b'"' in data:
            raise _NotPlain("quoted values")
        # pandas reads True / False as 1 / 0 in a number column; a label written that way must
        # keep its name (the full reader reads labels as text).
        if any(letter in data for letter in _BOOL_LETTERS):
            raise _NotPlain("true / false values")
        parser = getattr(local, "parser", None)
        if parser is None:
            parser = local.parser = parser_factory(kwargs, fmt.columns)
        columns = parser.parse(data)
        del data
        labels = columns[target]
        block = np.empty((len(labels), n_features), dtype=np.float32)
        for j, name in enumerate(features):
            block[:, j] = columns[name]
        if not np.isfinite(block).all():
            raise _NotPlain("a missing or infinite value")
        if not (np.isfinite(labels).all() and (np.abs(labels) < _LABEL_LIMIT).all()):
            raise _NotPlain("a missing or huge label")
        codes = labels.astype(np.int64)
        if not np.array_equal(codes, labels):
            raise _NotPlain("a label that is not an integer")
        return block, codes, np.stack([block.min(axis=0), block.max(axis=0)], axis=1)

    X = y = None
    n = 0
    ranges: list[np.ndarray] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[tuple[np.ndarray, np.ndarray, np.ndarray]]] = deque()
        spans = _pieces(fd, start, size, piece_bytes)
        try:
            for span in spans:
                pending.append(pool.submit(work, span))
                if len(pending) <= 2 * workers:
                    continue
                block, codes, piece_range = pending.popleft().result()
                ranges.append(piece_range)
                X, y, n = _place((block, codes), X, y, n, size - start, piece_bytes)
            while pending:
                block, codes, piece_range = pending.popleft().result()
                ranges.append(piece_range)
                X, y, n = _place((block, codes), X, y, n, size - start, piece_bytes)
        finally:
            for future in pending:
                future.cancel()
    if X is None or y is None or n == 0:
        raise _NotPlain("no data rows")
    codes, names = _class_codes(y[:n], classes)
    stacked = np.stack(ranges)
    column_range = np.stack([stacked[:, :, 0].min(axis=0), stacked[:, :, 1].max(axis=0)], axis=1)
    return NumericRead(X=X[:n], y=codes, classes=names, span=column_range)


def _place(
    result: tuple[np.ndarray, np.ndarray],
    X: np.ndarray | None,
    y: np.ndarray | None,
    n: int,
    data_bytes: int,
    piece_bytes: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Copy one piece into the matrix, growing it when the first piece's rows per byte was short.

    The matrix is allocated once for the rows the first piece predicts (plus 5 %); pages past the
    rows actually read are never written, so they take no memory.
    """
    block, codes = result
    m = len(codes)
    if X is None or y is None:
        per_byte = m / max(1, min(piece_bytes, data_bytes))
        capacity = int(data_bytes * per_byte * 1.05) + 1024
        X = np.empty((capacity, block.shape[1]), dtype=np.float32)
        y = np.empty(capacity, dtype=np.int64)
    if n + m > len(X):
        capacity = max(n + m, int(len(X) * 1.25))
        X2 = np.empty((capacity, X.shape[1]), dtype=np.float32)
        X2[:n] = X[:n]
        y2 = np.empty(capacity, dtype=np.int64)
        y2[:n] = y[:n]
        X, y = X2, y2
    X[n : n + m] = block
    y[n : n + m] = codes
    return X, y, n + m
