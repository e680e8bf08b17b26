"""An :class:`~evalstudio.core.data.encoding.Encoding` as plain data, and back (checkpoint section ``encoding``).

:func:`to_state` writes it, :func:`from_state` reads and checks it.

Only str, int, float, bool, list and dict, so ``torch.load(weights_only=True)`` reads it. The
schema is written down in docs/checkpoint-format.md; reading checks every field and says which one
is wrong rather than failing later on a shape.
"""

from __future__ import annotations

from typing import Any

from evalstudio.core.data.encoding import (
    STATE_VERSION,
    CategoricalEncoding,
    ColumnEncoding,
    Encoding,
    IgnoredColumn,
    NumericEncoding,
)
from evalstudio.core.errors import DataError


def to_state(enc: Encoding) -> dict[str, Any]:
    """Plain data for a checkpoint (str, int, float, bool, list, dict)."""
    columns: list[dict[str, Any]] = []
    for c in enc.columns:
        if isinstance(c, NumericEncoding):
            columns.append({"name": c.name, "kind": "numeric", "median": float(c.median),
                            "missing_input": c.missing_input, "missing_seen": c.missing_seen})
        elif isinstance(c, CategoricalEncoding):
            columns.append({"name": c.name, "kind": "categorical", "categories": list(c.slots), "known": list(c.known),
                            "rare": list(c.rare), "other_input": c.other_input, "other_seen": c.other_seen,
                            "missing_input": c.missing_input, "missing_seen": c.missing_seen,
                            "numeric_codes": c.numeric_codes})
        else:
            assert isinstance(c, IgnoredColumn)
            columns.append({"name": c.name, "kind": "ignored", "reason": c.reason})
    return {"version": STATE_VERSION, "target": enc.target, "min_category_count": int(enc.min_category_count),
            "n_rows": int(enc.n_rows), "columns": columns, "inputs": list(enc.input_names)}


def _bad(source: str, what: str) -> DataError:
    return DataError(f"the column encoding in {source} is damaged: {what}.",
                     hint="Use another checkpoint of the run, or train again.")


def _get(d: dict[str, Any], key: str, kind: type | tuple[type, ...], source: str, where: str) -> Any:
    value = d.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _bad(source, f"{where} has no valid {key!r}")
    return value


def _strings(d: dict[str, Any], key: str, source: str, where: str) -> tuple[str, ...]:
    value = d.get(key, [])
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _bad(source, f"{where} has no valid {key!r} list")
    return tuple(value)


def from_state(state: Any, source: str = "the checkpoint") -> Encoding:
    """Read :func:`to_state`'s dict.

    Raises
    ------
    DataError
        A field missing or of the wrong type; a newer version of the section.
    """
    if not isinstance(state, dict):
        raise _bad(source, f"it is a {type(state).__name__}, not a dict")
    version = state.get("version")
    if not isinstance(version, int) or version > STATE_VERSION or version < 1:
        raise DataError(f"the column encoding in {source} is version {version!r}; this evalstudio reads up to "
                        f"{STATE_VERSION}.", hint="Update evalstudio to read it.")
    target = _get(state, "target", str, source, "the section")
    raw_columns = state.get("columns")
    if not isinstance(raw_columns, (list, tuple)):
        raise _bad(source, "no 'columns' list")
    columns: list[ColumnEncoding] = []
    for i, d in enumerate(raw_columns):
        if not isinstance(d, dict):
            raise _bad(source, f"column {i} is not a dict")
        name = _get(d, "name", str, source, f"column {i}")
        where = f"column {name!r}"
        kind = d.get("kind")
        flags = {k: bool(d.get(k, False)) for k in ("missing_input", "missing_seen")}
        if kind == "numeric":
            columns.append(NumericEncoding(name, float(_get(d, "median", (int, float), source, where)), **flags))
        elif kind == "categorical":
            columns.append(CategoricalEncoding(
                name, _strings(d, "categories", source, where), _strings(d, "known", source, where),
                _strings(d, "rare", source, where), other_input=bool(d.get("other_input", False)),
                other_seen=bool(d.get("other_seen", False)), numeric_codes=bool(d.get("numeric_codes", False)),
                **flags,
            ))
        elif kind == "ignored":
            columns.append(IgnoredColumn(name, str(d.get("reason", ""))))
        else:
            raise _bad(source, f"{where} has kind {kind!r}")
    min_count = state.get("min_category_count", 5)
    n_rows = state.get("n_rows", 0)
    enc = Encoding(tuple(columns), target, int(min_count) if isinstance(min_count, int) else 5,
                   int(n_rows) if isinstance(n_rows, int) else 0)
    inputs = state.get("inputs")
    if inputs is not None and list(inputs) != list(enc.input_names):
        raise _bad(source, f"its {len(inputs)} input names do not match its columns ({enc.width} inputs)")
    return enc
