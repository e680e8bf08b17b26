"""Errors a person can act on, worded for the front end that shows them.

Every problem with the user's input (a file, an option, a device) is raised as an
:class:`EvalStudioError` subclass whose text says what is wrong and how to fix it. Front ends
(CLI, GUI) show it as is and never a traceback.

How to fix a problem depends on where the person is: on the command line it is a flag
(``--target NAME``), in the window a control (the Target picker of the Data tab). An error
therefore carries a front-end-neutral ``hint`` and, where the fix names an option, a hint per
front end (``hints={"cli": ..., "app": ...}``); ``error.text("app")`` is what the window shows
and ``str(error)`` (the same as ``error.text("cli")``) what the command line and a Python caller
see. A message that itself names an option (``--epochs is 0``) can be worded per front end the
same way (``messages``). The core never guesses which front end it serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The front ends an error can word its fix for: "cli" (flags; what ``str(error)`` gives) and
#: "app" (the window's controls: checkboxes, pickers, menu items).
FRONT_ENDS = ("cli", "app")


class EvalStudioError(Exception):
    """A problem with the user's input, worded for the user.

    Parameters
    ----------
    message : str
        What is wrong, naming the file, column, key or option involved.
    hint : str, optional
        How to fix it, in words that hold in every front end. Appended to the message.
    hints : mapping of str to str, optional
        How to fix it per front end (keys from :data:`FRONT_ENDS`), where the fix names an
        option: ``{"cli": "... (--drop-missing)", "app": "... (tick Drop rows with missing values)"}``.
        A front end without an entry gets ``hint``.
    messages : mapping of str to str, optional
        The message per front end, where it names an option itself (``--epochs is 0`` /
        ``Epochs is 0``). A front end without an entry gets ``message``.
    """

    def __init__(self, message: str, *, hint: str | None = None, hints: Mapping[str, str] | None = None,
                 messages: Mapping[str, str] | None = None) -> None:
        unknown = sorted(set(hints or {}).union(messages or {}) - set(FRONT_ENDS))
        if unknown:
            raise ValueError(f"unknown front end(s) {unknown}; known: {FRONT_ENDS}")
        self.message = message
        self.hint = hint
        self.hints: dict[str, str] = dict(hints or {})
        self.messages: dict[str, str] = dict(messages or {})
        super().__init__(self.text("cli"))

    def hint_for(self, front_end: str) -> str | None:
        """How to fix it in ``front_end`` (its own hint, else the neutral one)."""
        return self.hints.get(front_end, self.hint)

    def text(self, front_end: str = "cli") -> str:
        """The message and the hint, worded for ``front_end`` ("cli" or "app")."""
        message = self.messages.get(front_end, self.message)
        hint = self.hint_for(front_end)
        if not hint:
            return message
        # "ValueError: boom Fix the file" reads as one sentence: end the message before the hint.
        end = message.rstrip()[-1:]
        sep = ". " if end.isalnum() or end in ")'\"" else " "
        return f"{message.rstrip()}{sep}{hint}"


class Note(str):
    """A remark or warning (not an error) that names an option, worded per front end.

    It *is* the command line's text (a ``str``, so notes tuples, reports and JSON take it as
    they are); ``note.text("app")`` gives the window's wording.
    """

    texts: dict[str, str]

    def __new__(cls, text: str, *, texts: Mapping[str, str] | None = None) -> Note:
        unknown = sorted(set(texts or {}) - set(FRONT_ENDS))
        if unknown:
            raise ValueError(f"unknown front end(s) {unknown}; known: {FRONT_ENDS}")
        note = super().__new__(cls, text)
        note.texts = dict(texts or {})
        return note

    def text(self, front_end: str = "cli") -> str:
        texts: dict[str, str] = getattr(self, "texts", {})
        return texts.get(front_end, str.__str__(self))


def text_for(item: object, front_end: str) -> str:
    """An error's or note's words for ``front_end`` (:class:`EvalStudioError`, :class:`Note`);
    ``str(item)`` for anything else."""
    if isinstance(item, (EvalStudioError, Note)):
        return item.text(front_end)
    return str(item)


class DataError(EvalStudioError):
    """The dataset cannot be used as given."""


class ModelError(EvalStudioError):
    """The model definition cannot be loaded or does not fit the data."""


class CheckpointError(EvalStudioError):
    """The checkpoint cannot be read, is unsafe, or does not fit the model."""


class DeviceError(EvalStudioError):
    """The requested device is not available."""


class TrainingError(EvalStudioError):
    """Training cannot start or had to stop (non-finite loss, out of memory)."""


class Cancelled(Exception):
    """Raised inside a core job when its cancel token was set. Not an error.

    Attributes
    ----------
    history : tuple of EpochMetrics -- the epochs :func:`~evalstudio.core.training.loop.fit`
        finished before the cancel (empty when not training)
    histories : tuple of tuple of EpochMetrics -- the same per fold, for folds trained together
    """

    # EpochMetrics lives in the training layer, which this foundation module cannot name.
    history: tuple[Any, ...] = ()
    histories: tuple[tuple[Any, ...], ...] = ()
