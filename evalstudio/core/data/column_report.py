"""What the encoding did, for people: the JSON ``features`` block and the app's column table.

:func:`features_json` is the contract the CLI writes (``train``, ``kfold``, ``evaluate --json``)::

    "features": {"input_width": 46,
                 "columns": [{"name": "customerID", "kind": "ignored", "reason": "one value per row"},
                             {"name": "Contract", "kind": "categorical", "categories": [...],
                              "missing": 0, "unseen": 0},
                             {"name": "TotalCharges", "kind": "numeric", "missing": 11}, ...]}

``kind`` is numeric, categorical or ignored; ``missing`` counts missing cells in the rows used;
``unseen`` the rows whose value the training rows never held. The target is not listed. Each
column also names its ``inputs``, and the block lists every input in order.

:func:`column_overview` is one row per column of a loaded dataset for the data panel: name, kind,
role, missing and distinct counts, a few example values, the note when it was set aside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from evalstudio.core.data.encoding import CategoricalEncoding, IgnoredColumn, NumericEncoding
from evalstudio.core.errors import text_for

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset
    from evalstudio.core.data.encoding import Encoding
    from evalstudio.core.data.table import RawColumn, Table


def features_json(encoding: "Encoding", table: "Table | None" = None, *,
                  unseen: dict[str, int] | None = None) -> dict[str, Any]:
    """The ``features`` block for ``encoding`` over the rows of ``table``.

    ``unseen`` : per-column counts to report (k-fold sums its folds'); default: counted on ``table``.
    """
    names = table.names if table is not None else ()
    if unseen is None:
        unseen = encoding.count_unseen(table) if table is not None else {}
    columns: list[dict[str, Any]] = []
    for c in encoding.columns:
        missing = table.column(c.name).n_missing if c.name in names and table is not None else 0
        if isinstance(c, IgnoredColumn):
            columns.append({"name": c.name, "kind": "ignored", "reason": c.reason})
        elif isinstance(c, NumericEncoding):
            columns.append({"name": c.name, "kind": "numeric", "missing": missing, "median": _short(c.median),
                            "inputs": list(c.inputs)})
        else:
            assert isinstance(c, CategoricalEncoding)
            columns.append({"name": c.name, "kind": "categorical", "categories": list(c.known), "missing": missing,
                            "unseen": int(unseen.get(c.name, 0)), "rare": len(c.rare), "inputs": list(c.inputs)})
    return {"input_width": encoding.width, "columns": columns, "inputs": list(encoding.input_names),
            "min_category_count": encoding.min_category_count}


def _short(value: float) -> float:
    """A median of float32 cells as it was written (70.35, not 70.3499984741211): the shortest
    decimal that reads back as the same float32 (the checkpoint keeps the value itself)."""
    short = float(np.format_float_positional(np.float32(value), unique=True, trim="-"))
    return short if np.float32(short) == np.float32(value) else float(value)


#: Distinct numbers are counted over at most this many rows (a sort per column): the table must
#: fill in a blink on the window's thread; past it, the count is a lower bound ("1,234+").
DISTINCT_SAMPLE = 50_000


@dataclass(frozen=True)
class ColumnOverview:
    """One column as the data panel's column table shows it.

    Attributes
    ----------
    name : str
    inferred : str -- the kind inference gives it (numeric / categorical / ignored; "target")
    kind : str -- the kind used now (numeric / categorical / ignored; "target" for the label)
    chosen : bool -- the user set ``kind`` (else it is the inferred one)
    n_missing : int
    n_distinct : int -- distinct filled values (over the first :data:`DISTINCT_SAMPLE` rows of a
        long numeric column: then a lower bound, and ``distinct_sampled`` is True)
    distinct_sampled : bool
    examples : tuple of str -- a few values as written (the most frequent, for text)
    note : str -- why it was set aside, or what the user should know
    inputs : tuple of str -- the model inputs it makes
    numeric_text : bool -- every filled cell is a number (so it can be read as numeric)
    """

    name: str
    inferred: str
    kind: str
    chosen: bool
    n_missing: int
    n_distinct: int
    distinct_sampled: bool
    examples: tuple[str, ...]
    note: str
    inputs: tuple[str, ...]
    numeric_text: bool


def _text_stats(col: "RawColumn") -> tuple[int, tuple[str, ...]]:
    assert col.codes is not None
    present = col.codes[col.codes >= 0]
    if not col.values or present.size == 0:
        return 0, ()
    counts = np.bincount(present, minlength=len(col.values))
    top = np.argsort(-counts, kind="stable")[:4]
    return int(np.count_nonzero(counts)), tuple(col.values[int(i)] for i in top if counts[int(i)] > 0)


def _number_stats(col: "RawColumn") -> tuple[int, bool, tuple[str, ...]]:
    assert col.numbers is not None
    head = col.numbers[:DISTINCT_SAMPLE]
    head = head[~np.isnan(head)]
    distinct = np.unique(head)
    examples = tuple(dict.fromkeys(f"{v:g}" for v in head[:200]))[:4]
    return int(distinct.size), col.n_rows > DISTINCT_SAMPLE, examples


def column_overview(data: "Dataset") -> tuple[ColumnOverview, ...]:
    """Every column of ``data`` (features in file order, then the target). Cheap: no full sort."""
    if data.table is None or data.encoding is None:
        return tuple(ColumnOverview(n, "numeric", "numeric", False, 0, 0, False, (), "", (n,), True)
                     for n in data.feature_names)
    table, enc = data.table, data.encoding
    by_name = {c.name: c for c in enc.columns}
    plan = {k.name: k for k in enc.plan()}
    out = []
    for col in table.columns:
        spec = by_name.get(col.name)
        k = plan.get(col.name)
        kind = "ignored" if spec is None or isinstance(spec, IgnoredColumn) else (
            "numeric" if isinstance(spec, NumericEncoding) else "categorical")
        if col.numbers is not None:
            n_distinct, sampled, examples = _number_stats(col)
        else:
            (n_distinct, examples), sampled = _text_stats(col), False
        note = ""
        if kind == "ignored" and k is not None:
            note = k.reason + (f" ({k.detail})" if k.detail else "")
        elif k is not None and k.note:
            note = text_for(k.note, "app")
        elif isinstance(spec, CategoricalEncoding) and spec.rare:
            note = f"{len(spec.rare)} rare value{'s' if len(spec.rare) != 1 else ''} share '{spec.name}=(other)'"
        out.append(ColumnOverview(
            col.name, (k.default or kind) if k is not None else kind, kind, bool(k is not None and not k.inferred),
            col.n_missing, n_distinct, sampled, examples, note, tuple(spec.inputs) if spec is not None else (),
            col.is_numeric,
        ))
    counts = data.class_counts()
    out.append(ColumnOverview(
        data.target_name, "target", "target", False, 0, int((counts > 0).sum()), False, tuple(data.classes[:4]),
        f"the label: {data.n_classes} classes", (), False,
    ))
    return tuple(out)
