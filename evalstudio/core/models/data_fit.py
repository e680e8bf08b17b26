"""Does a checkpoint fit the data? Its recorded training columns, target and classes against the data's.

An evalstudio checkpoint records what it was trained on (``feature_names``, ``target``,
``classes``; see docs/checkpoint-format.md). Loading its weights into a model built for the
data's width succeeds whenever the column *count* matches, so a user who picks another target
column (the real label becomes a feature, a feature becomes the label) gets a model that loads
"fine" and scores the wrong columns. :func:`check_data_fit` compares names, not counts, so a
front end can say so the moment the data or the model changes, not at Evaluate.

Pure and cheap (no torch): the window calls it on every data or model change. A checkpoint with a
column ``encoding`` finds its columns by name (any order, extra columns fine), so only columns it
needs and the data lacks are a problem there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

#: At most this many names are listed in one sentence.
_SHOW = 6


class RecordedColumns(Protocol):
    """What a checkpoint recorded about its training data (a ``checkpoints.Checkpoint``); ``None``: not recorded."""

    @property
    def feature_names(self) -> Sequence[str] | None: ...

    @property
    def classes(self) -> Sequence[str] | None: ...

    @property
    def target(self) -> str | None: ...


class DataColumns(Protocol):
    """The data's side (a ``Dataset``)."""

    @property
    def feature_names(self) -> Sequence[str]: ...

    @property
    def classes(self) -> Sequence[str]: ...

    @property
    def target_name(self) -> str: ...


@dataclass(frozen=True)
class DataFit:
    """How a checkpoint's training columns compare with the data's.

    Attributes
    ----------
    problems : tuple of str
        One sentence per difference that makes the checkpoint score the wrong thing (empty: fits).
    compared : tuple of str
        What the checkpoint recorded and was compared: any of "target", "columns", "classes".
        Empty when it recorded nothing (a plain state_dict): nothing can be said either way.
    """

    problems: tuple[str, ...] = ()
    compared: tuple[str, ...] = ()

    @property
    def fits(self) -> bool:
        """No difference found (also when nothing was recorded; see :attr:`compared`)."""
        return not self.problems

    def summary(self) -> str:
        """One line: what differs, or what was checked."""
        if self.problems:
            return "; ".join(self.problems)
        if not self.compared:
            return "the checkpoint records no training columns, so its fit to the data cannot be checked"
        return f"the data matches the checkpoint's recorded {', '.join(self.compared)}"


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(repr(str(x)) for x in items[:_SHOW])
    return shown + (f" and {len(items) - _SHOW} more" if len(items) > _SHOW else "")


def _check_target(recorded: RecordedColumns, data: DataColumns) -> tuple[str, list[str]] | None:
    if not recorded.target:
        return None
    if recorded.target == data.target_name:
        return "target", []
    return "target", [f"the checkpoint was trained to predict {recorded.target!r}, but the data's target is "
                      f"{data.target_name!r}"]


def _check_encoded_columns(state: dict[str, object], data: DataColumns) -> tuple[str, list[str]]:
    """A checkpoint with a column encoding reads the data's columns by name: only absent ones matter."""
    columns = state.get("columns")
    needed = [str(c.get("name")) for c in columns if isinstance(c, dict) and c.get("kind") != "ignored"] \
        if isinstance(columns, list) else []
    table = getattr(data, "table", None)
    have = set(table.names) if table is not None else set(str(c) for c in data.feature_names)
    missing = [c for c in needed if c not in have]
    if not missing:
        return "columns", []
    now_target = [c for c in missing if c == data.target_name]
    why = f" ({now_target[0]!r} is now the target)" if now_target else ""
    return "columns", [f"the checkpoint was trained on column{'s' if len(missing) > 1 else ''} {_names(missing)} "
                       f"that the data does not have as features{why}"]


def _check_columns(recorded: RecordedColumns, data: DataColumns) -> tuple[str, list[str]] | None:
    state = getattr(recorded, "encoding", None)
    if isinstance(state, dict):
        return _check_encoded_columns(state, data)
    trained = tuple(str(c) for c in recorded.feature_names or ())
    if not trained:
        return None
    have = tuple(str(c) for c in data.feature_names)
    if trained == have:
        return "columns", []
    missing = [c for c in trained if c not in have]
    extra = [c for c in have if c not in trained]
    out = []
    if missing:
        now_target = [c for c in missing if c == data.target_name]
        why = f" ({now_target[0]!r} is now the target)" if now_target else ""
        out.append(f"the checkpoint was trained on feature column{'s' if len(missing) > 1 else ''} "
                   f"{_names(missing)} that the data does not have as features{why}")
    if extra:
        out.append(f"the data has feature column{'s' if len(extra) > 1 else ''} {_names(extra)} that the "
                   "checkpoint was not trained on")
    if not missing and not extra:
        out.append(f"the data has the checkpoint's feature columns in another order (trained on {_names(trained)}); "
                   "columns are fed to the model in file order")
    return "columns", out


def _check_classes(recorded: RecordedColumns, data: DataColumns) -> tuple[str, list[str]] | None:
    trained = tuple(str(c) for c in recorded.classes or ())
    if not trained:
        return None
    unknown = [c for c in data.classes if str(c) not in trained]
    if not unknown:  # the same classes, or some of them (a file holding only positives scores fine)
        return "classes", []
    return "classes", [f"the data's target has class{'es' if len(unknown) > 1 else ''} {_names(unknown)} that the "
                       f"checkpoint does not know (it was trained on {_names(trained)})"]


_CHECKS: tuple[Callable[[RecordedColumns, DataColumns], tuple[str, list[str]] | None], ...] = (
    _check_target, _check_columns, _check_classes,
)


def check_data_fit(recorded: RecordedColumns | None, data: DataColumns) -> DataFit:
    """Compare what ``recorded`` (a checkpoint) says it was trained on with ``data``.

    Parameters
    ----------
    recorded : Checkpoint-like or None
        ``feature_names``, ``classes`` and ``target`` as the checkpoint recorded them (each
        None when not recorded). None (no checkpoint) compares nothing.
    data : Dataset-like
        ``feature_names``, ``classes`` and ``target_name`` of the data to score.

    Returns
    -------
    DataFit
        ``problems`` names each difference: another target, columns missing, extra or in
        another order, classes the checkpoint does not know.
    """
    if recorded is None:
        return DataFit()
    problems: list[str] = []
    compared: list[str] = []
    for check in _CHECKS:
        found = check(recorded, data)
        if found is not None:
            compared.append(found[0])
            problems.extend(found[1])
    return DataFit(tuple(problems), tuple(compared))
