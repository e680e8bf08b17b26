"""Writing CSV files people open in spreadsheets: text that cannot run, scores that read back exactly.

- :func:`spreadsheet_safe` neutralises a text cell a spreadsheet would run as a formula (one that
  starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: OWASP's "CSV injection"),
  by prefixing a single quote; numbers, and text that reads as a number (a label ``-1``), are
  left as they are.
- :func:`score_format` is the ``%`` format that writes a score so that it reads back as the same
  number: 9 significant digits for float32, 17 for float64.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from evalstudio.core.data.csv_format import is_number

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would evaluate; anything else unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not is_number(value):
        return "'" + value
    return value


def safe_texts(values: Sequence[str]) -> list[str]:
    """:func:`spreadsheet_safe` of every text (class names, column names)."""
    return [spreadsheet_safe(str(v)) for v in values]


def safe_rows(rows: Iterable[Sequence[Any]]) -> Iterator[list[Any]]:
    """Rows with their text cells neutralised. The columns holding text are found from the first
    row (tables here keep one type per column), so a million numeric cells are not each inspected."""
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return
    text_columns = [i for i, v in enumerate(first) if v is None or isinstance(v, str)]
    yield [spreadsheet_safe(v) for v in first]
    if not text_columns:
        yield from (list(row) for row in it)
        return
    seen: dict[Any, Any] = {}  # text cells repeat (class names): decide each value once
    for row in it:
        out = row if isinstance(row, list) else list(row)  # callers hand over fresh lists
        for i in text_columns:
            v = out[i]
            safe = seen.get(v)
            if safe is None:
                safe = seen[v] = spreadsheet_safe(v) if v is not None else v
            out[i] = safe
        yield out


def score_format(dtype: Any) -> str:
    """The ``%`` format that round-trips a score of ``dtype`` (float32: 9 significant digits)."""
    return "%.9g" if np.dtype(dtype).itemsize <= 4 else "%.17g"
