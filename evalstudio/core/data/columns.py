"""Column roles and kinds: which columns are features, and whether each is numeric or categorical.

Every column other than the target gets a kind: ``numeric``, ``categorical`` or ``ignored``
(set aside, with the reason). The defaults are inferred from the parsed column and said in a note:

- every non-missing cell is a number: numeric. A column of whole numbers that are all different
  and count like a row number (or are named like an id) stays numeric, but a note suggests
  ``--ignore``;
- text: categorical, unless (nearly) every row holds its own value (names, customer ids, tickets,
  free text: at least :data:`DISTINCT_SHARE` of the filled cells distinct, and at least
  :data:`DISTINCT_MIN` of them), which is set aside;
- every cell missing, or one value in every row: set aside (nothing to learn from).

:class:`ColumnRoles` carries the user's overrides (``--ignore``, ``--categorical``, ``--numeric``,
``--features``, ``--min-category-count``); a name that is not a column, or ``--numeric`` on a column
holding text, is refused with the column and an offending value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from evalstudio.core.data.csv_format import is_number
from evalstudio.core.data.table import RawColumn, Table
from evalstudio.core.errors import DataError, Note

KINDS = ("numeric", "categorical", "ignored")
#: A text column is set aside when this share of its filled cells are distinct values ...
DISTINCT_SHARE = 0.5
#: ... and there are at least this many of them (a 30-row table's 16 colours are categories).
DISTINCT_MIN = 20
#: A numeric column of all-different whole numbers gets the "looks like an id" note from this many rows.
ID_MIN_ROWS = 20
#: Categories seen in fewer training rows than this share one "other" input (``--min-category-count``).
MIN_CATEGORY_COUNT = 5


@dataclass(frozen=True)
class ColumnRoles:
    """The user's say over the inferred roles (empty: infer everything).

    Attributes
    ----------
    ignore, categorical, numeric : tuple of str -- column names
    features : tuple of str or None -- only these columns are features (the rest are ignored)
    min_category_count : int -- categories seen in fewer training rows share an "other" input
    """

    ignore: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    features: tuple[str, ...] | None = None
    min_category_count: int = MIN_CATEGORY_COUNT

    def __post_init__(self) -> None:
        if not isinstance(self.min_category_count, int) or self.min_category_count < 1:
            raise DataError(f"--min-category-count is {self.min_category_count!r}.",
                            hint="Use a whole number of at least 1 (default 5).")

    def forget(self, name: str) -> "ColumnRoles":
        """These roles without any choice about ``name`` (it became the target, say)."""
        return ColumnRoles(
            ignore=tuple(c for c in self.ignore if c != name),
            categorical=tuple(c for c in self.categorical if c != name),
            numeric=tuple(c for c in self.numeric if c != name),
            features=None if self.features is None else tuple(c for c in self.features if c != name),
            min_category_count=self.min_category_count,
        )

    def with_kind(self, name: str, kind: str) -> "ColumnRoles":
        """These roles with ``name`` set to ``kind`` (numeric / categorical / ignored) by the user."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        drop = {name}
        roles = {k: tuple(c for c in getattr(self, k) if c not in drop) for k in ("ignore", "categorical", "numeric")}
        key = {"ignored": "ignore", "categorical": "categorical", "numeric": "numeric"}[kind]
        roles[key] = (*roles[key], name)
        features = self.features
        if features is not None and kind != "ignored" and name not in features:
            features = (*features, name)
        return ColumnRoles(**roles, features=features, min_category_count=self.min_category_count)


@dataclass(frozen=True)
class ColumnKind:
    """One column's kind and why.

    Attributes
    ----------
    name : str
    kind : {"numeric", "categorical", "ignored"}
    reason : str -- why (inferred, or which flag); for an ignored column the note the user sees
    inferred : bool -- False when the user chose it
    note : str -- something the user should know even though the column is used ("" when none)
    detail : str -- the counts behind an inferred ``reason`` ("681 distinct values in 891 filled cells")
    default : str -- the kind inference gives the column ("" when not known), whatever the user chose
    """

    name: str
    kind: str
    reason: str
    inferred: bool = True
    note: str = field(default="")
    detail: str = field(default="")
    default: str = field(default="")


_ID_WORD = re.compile(r"(^|[^a-z])(id|no|nr|num|number|index|key|code)([^a-z]|$)", re.IGNORECASE)
_ID_CAMEL = re.compile(r"[a-z](Id|ID|No|Number|Key|Code)$")  # PassengerId, customerID


def _is_id_like(col: RawColumn, lo: float, hi: float) -> str:
    """A note when a numeric column holds a different whole number on every row and counts like a
    row number (the values fill their range) or is named like an id, else ""."""
    x = col.numbers
    if x is None or col.n_missing or x.shape[0] < ID_MIN_ROWS:
        return ""
    # Cheap tests first (a million-row float column must not be sorted to learn it is not an id).
    head = x[:1000]
    if not np.array_equal(head, np.trunc(head)):
        return ""
    dense = hi - lo + 1 <= 2 * x.shape[0]
    if not dense and not (_ID_WORD.search(col.name) or _ID_CAMEL.search(col.name)):
        return ""
    if hi - lo + 1 < x.shape[0] or not np.array_equal(x, np.trunc(x)) or np.unique(x).size != x.shape[0]:
        return ""
    return (f"{col.name!r} holds a different whole number on every row ({x.min():.0f} to {x.max():.0f}): it "
            f"looks like a row number or an id and is used as a feature; pass --ignore {col.name} if it is one")


def infer_kind(col: RawColumn, span: tuple[float, float] | None = None) -> ColumnKind:
    """The default kind of one parsed column (see the module docstring).

    ``span`` : a numeric column's (min, max) over its filled cells, when already known.
    """
    n = col.n_rows
    filled = n - col.n_missing
    if filled == 0:
        return ColumnKind(col.name, "ignored", "every cell is missing")
    if col.numbers is not None:
        if span is None:
            present = col.numbers if col.missing is None else col.numbers[~col.missing]
            span = (float(present.min()), float(present.max()))
        lo, hi = span
        if col.n_missing == 0 and lo == hi:
            return ColumnKind(col.name, "ignored", "one value in every row", detail=repr(col.cell(0)))
        return ColumnKind(col.name, "numeric", "numbers", note=_is_id_like(col, lo, hi))
    distinct = col.n_distinct()
    if distinct == 1 and col.n_missing == 0:
        return ColumnKind(col.name, "ignored", "one value in every row", detail=repr(col.cell(0)))
    detail = f"{distinct:,} distinct values in {filled:,} filled cells"
    if distinct >= DISTINCT_MIN and distinct >= DISTINCT_SHARE * filled:
        what = "one value per row" if distinct == filled else "nearly one value per row"
        return ColumnKind(col.name, "ignored", what, detail=detail + ": names, ids or free text")
    return ColumnKind(col.name, "categorical", "text", detail=detail)


def _unknown(names: Sequence[str], table: Table, flag: str) -> None:
    known = set(table.names)
    for name in names:
        if name == table.target_name:
            raise DataError(f"{flag} {name}: {name!r} is the target column, not a feature.",
                            hint="Choose another target with --target, or leave it out of " + flag + ".")
        if name not in known:
            raise DataError(
                f"{flag} {name}: there is no column {name!r}; the columns are: {', '.join(table.names)}.",
                hint="Use the column names as the file's header writes them (col_1 ... for a file without one).",
            )


# The user's choices as the window words them (the command line's are its flags).
_APP_REASONS = {"--ignore": "set to ignored", "not in --features": "not among the features",
                "--numeric": "set to numeric", "--categorical": "set to categorical", "--features": "a chosen feature"}


def plan_columns(table: Table, roles: ColumnRoles | None = None) -> tuple[ColumnKind, ...]:
    """The kind of every non-target column, in file order: inferred, then the user's overrides.

    Raises
    ------
    DataError
        A name that is not a column (or is the target); a column named by two flags; ``--numeric``
        on a column with text (naming a value that is not a number); no feature left.
    """
    roles = roles or ColumnRoles()
    flags = {"--ignore": roles.ignore, "--categorical": roles.categorical, "--numeric": roles.numeric}
    if roles.features is not None:
        flags["--features"] = roles.features
    for flag, names in flags.items():
        _unknown(names, table, flag)
    seen: dict[str, str] = {}
    for flag in ("--ignore", "--categorical", "--numeric"):
        for name in flags[flag]:
            if name in seen and seen[name] != flag:
                raise DataError(f"{name!r} is given to both {seen[name]} and {flag}.",
                                hint="Give each column one role.")
            seen[name] = flag
    spans: list[tuple[float, float] | None] = [None] * len(table.columns)
    if table.span is not None:
        # The fast reader found them piece by piece: no strided pass over each column here.
        spans = [(float(a), float(b)) for a, b in table.span]
    out: list[ColumnKind] = []
    defaults: list[ColumnKind] = []
    for col, span in zip(table.columns, spans):
        inferred = infer_kind(col, span)
        defaults.append(inferred)
        name = col.name
        if name in roles.ignore:
            out.append(ColumnKind(name, "ignored", "--ignore", inferred=False))
        elif roles.features is not None and name not in roles.features:
            out.append(ColumnKind(name, "ignored", "not in --features", inferred=False))
        elif name in roles.numeric:
            if not col.is_numeric:
                codes, values = col.categories()
                bad = next(v for v in values if not is_number(v))
                first = int(np.argmax(codes == values.index(bad)))
                raise DataError(
                    f"--numeric {name}: column {name!r} holds text, such as {bad!r} (row {first + 1}); "
                    "it cannot be read as numbers.",
                    hint=f"Leave {name} categorical (the default for text), or fix those cells in the file.",
                    messages={"app": f"Column {name!r} holds text, such as {bad!r} (row {first + 1}); it cannot be "
                              "read as numbers."},
                    hints={"app": "Leave it categorical in the Columns table, or fix those cells in the file."},
                )
            if inferred.kind == "ignored" and col.n_missing == col.n_rows:
                out.append(inferred)
            else:
                out.append(ColumnKind(name, "numeric", "--numeric", inferred=False))
        elif name in roles.categorical:
            if col.n_missing == col.n_rows:
                out.append(inferred)
            else:
                out.append(ColumnKind(name, "categorical", "--categorical", inferred=False))
        elif roles.features is not None and inferred.kind == "ignored" and col.n_missing < col.n_rows:
            # Named in --features: used, as categories when it is text.
            kind = "numeric" if col.is_numeric else "categorical"
            out.append(ColumnKind(name, kind, "--features", inferred=False))
        else:
            out.append(inferred)
    out = [replace(k, default=d.kind, note=k.note or (d.note if k.kind != "ignored" else ""),
                   detail=k.detail or d.detail) for k, d in zip(out, defaults)]
    if not any(k.kind != "ignored" for k in out):
        why = "; ".join(f"{k.name}: {k.reason}" for k in out[:6])
        app_why = "; ".join(f"{k.name}: {_APP_REASONS.get(k.reason, k.reason)}" for k in out[:6])
        raise DataError(
            f"no feature column is left in {table.source or 'the data'} ({why}).",
            hint="Name the feature columns with --features, or use --categorical / --numeric.",
            hints={"app": "Set some columns to numeric or categorical in the Columns table of the Data tab."},
            messages={"app": f"no feature column is left in {table.source or 'the data'} ({app_why})."},
        )
    return tuple(out)


def plan_notes(kinds: Sequence[ColumnKind]) -> list[str]:
    """What the user should know about the plan: columns set aside by inference, id-like numbers."""
    notes: list[str] = []
    for k in kinds:
        if k.kind == "ignored" and k.inferred:
            head = f"column {k.name!r} set aside: {k.reason}{f' ({k.detail})' if k.detail else ''}"
            if "value per row" in k.reason:
                notes.append(Note(f"{head}; pass --categorical {k.name} to use it as categories",
                                  texts={"app": f"{head}; set it to categorical in the Columns table to use it"}))
            else:
                notes.append(f"{head}; nothing to learn from it")
        if k.note and k.kind != "ignored":
            notes.append(Note(k.note, texts={"app": k.note.replace(
                f"pass --ignore {k.name} if it is one", "set it to ignored in the Columns table if it is one")}))
    n_cat = sum(k.kind == "categorical" for k in kinds)
    if n_cat:
        names = [k.name for k in kinds if k.kind == "categorical"]
        shown = ", ".join(names[:8]) + (f", ... ({n_cat} in all)" if n_cat > 8 else "")
        notes.append(f"categorical columns (one input per category): {shown}")
    return notes
