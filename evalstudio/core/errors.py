"""Errors a person can act on.

Every problem with the user's input (a file, an option, a device) is raised as an
:class:`EvalStudioError` subclass whose text says what is wrong and how to fix it. Front ends
(CLI, GUI) show ``str(error)`` as is and never a traceback.
"""

from __future__ import annotations


class EvalStudioError(Exception):
    """A problem with the user's input, worded for the user.

    Parameters
    ----------
    message : str
        What is wrong, naming the file, column, key or option involved.
    hint : str, optional
        How to fix it. Appended to the message after a space.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        # "ValueError: boom Fix the file" reads as one sentence: end the message before the hint.
        end = message.rstrip()[-1:]
        sep = ". " if end.isalnum() or end in ")'\"" else " "
        super().__init__(message if not hint else f"{message.rstrip()}{sep}{hint}")


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
    """Raised inside a core job when its cancel token was set. Not an error."""
