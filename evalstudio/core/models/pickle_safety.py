"""What a pickle would run, found without running it.

``torch.load(weights_only=True)`` refuses any global outside torch's allow-list, and its own
error message then advises ``weights_only=False``, which is exactly the wrong advice for a file
from elsewhere. Here the pickle is disassembled instead (``pickletools``; torch's
``get_unsafe_globals_in_checkpoint`` for zip files), so the refusal can name every global the
file needs and the GUI can show them in a consent prompt. Plain numpy scalars are allow-listed
explicitly; anything else runs only when the user trusts the file.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalstudio.core.errors import CheckpointError

# Globals that make up a plain numpy scalar (np.float64(0.3) saved as a loss, say). They build
# a number and nothing else, so they are allow-listed explicitly, unlike anything else.
NUMPY_SCALAR_GLOBALS = {
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.dtype",
} | {f"numpy.dtypes.{n}DType" for n in (
    "Float64", "Float32", "Float16", "Int64", "Int32", "Int16", "Int8",
    "UInt64", "UInt32", "UInt16", "UInt8", "Bool",
)}
_SAVE_STATE_DICT = (
    "Save the weights instead: torch.save(model.state_dict(), 'weights.pt'), "
    "and pass the Python file that defines the model with --model."
)
_SAVE_STATE_DICT_APP = (
    "Or save the weights instead: torch.save(model.state_dict(), 'weights.pt'), "
    "and open the Python file that defines the model with Model\u2026 (Model tab)."
)
_TRUST_APP = "tick \u201cI trust this checkpoint's pickled objects\u201d in the Model tab"


class UnsafeCheckpointError(CheckpointError):
    """The checkpoint needs arbitrary unpickling; nothing in it was run.

    Attributes
    ----------
    unsafe_globals : tuple of str -- e.g. ("__main__.Net", "torch.nn.modules.linear.Linear")
    pickled_model : bool -- the file looks like a whole pickled model (torch.save(model))
    path : Path
    """

    def __init__(self, message: str, *, hint: str | None, unsafe_globals: tuple[str, ...],
                 pickled_model: bool, path: Path, hints: Mapping[str, str] | None = None) -> None:
        super().__init__(message, hint=hint, hints=hints)
        self.unsafe_globals = unsafe_globals
        self.pickled_model = pickled_model
        self.path = path


def find_unsafe_globals(p: Path) -> set[str]:
    """Globals the pickle in ``p`` names that weights_only would refuse (no code runs)."""
    import torch

    try:
        return set(torch.serialization.get_unsafe_globals_in_checkpoint(p))
    except Exception:
        pass  # legacy (non-zip) format or a damaged zip: scan the pickle stream ourselves
    found: set[str] = set()
    try:
        with p.open("rb") as fh:
            stream = io.BytesIO(fh.read())
        # Legacy torch.save writes 4 pickles: magic number, protocol, sys info, then the object.
        for _ in range(4):
            found |= _globals_in_one_pickle(stream)
    except Exception:
        pass  # keep what was found before the damage; torch.load reports the damage itself
    return found - _safe_global_names()


def _globals_in_one_pickle(stream: io.BytesIO) -> set[str]:
    """Globals one pickle names (GLOBAL, and STACK_GLOBAL after its two strings), read by opcode."""
    found: set[str] = set()
    strings: list[str] = []
    for op, arg, _pos in pickletools.genops(stream):
        if op.name == "GLOBAL":
            found.add(str(arg).replace(" ", "."))
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(str(arg))
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.add(f"{strings[-2]}.{strings[-1]}")
    return found


def _safe_global_names() -> set[str]:
    try:
        from torch import _weights_only_unpickler as wou

        return set(wou._get_allowed_globals()) | set(wou._get_user_allowed_globals())
    except Exception:  # private API; without it every global is reported, which errs on the safe side
        return set()


def numpy_scalar_types() -> list[Any]:
    """The objects behind :data:`NUMPY_SCALAR_GLOBALS`, for ``torch.serialization.safe_globals``."""
    import numpy as np

    out: list[Any] = [np.dtype]
    try:
        from numpy._core.multiarray import scalar  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        # mypy reads numpy 2's stubs, where this is the same name a second time
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    # A file saved under numpy 1 names it numpy.core.multiarray.scalar, one saved under numpy 2
    # numpy._core.multiarray.scalar: the same function, allowed under both names.
    out += [(scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar")]
    # The dtype class (np.dtypes.Float64DType) is pushed dynamically, so the static scan does
    # not list it: allow the plain numeric ones.
    for n in NUMPY_SCALAR_GLOBALS:
        if n.startswith("numpy.dtypes."):
            dt = getattr(np.dtypes, n.rsplit(".", 1)[1], None)
            if dt is not None:
                out.append(dt)
    return out


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences (torch's messages embed bold on/off)."""
    return _ANSI.sub("", text)


def refusal(p: Path, unsafe: tuple[str, ...]) -> UnsafeCheckpointError:
    """The error for a file that needs ``unsafe`` globals: what they are, that nothing ran, what to do."""
    pickled_model = any(g.startswith("torch.nn.modules.") for g in unsafe)
    shown = ", ".join(unsafe[:12]) + (f", ... ({len(unsafe) - 12} more)" if len(unsafe) > 12 else "")
    if pickled_model:
        msg = (f"{str(p)!r} is a whole pickled model (torch.save(model)); loading it would run code "
               f"named in the file ({shown}). Nothing from it was run.")
        hint = f"If you trust this file, pass --trust-pickle. {_SAVE_STATE_DICT}"
        app = f"If you trust this file, {_TRUST_APP}. {_SAVE_STATE_DICT_APP}"
    else:
        msg = (f"{str(p)!r} needs arbitrary unpickling, which could run code; it names {shown}. "
               "Nothing from it was run.")
        hint = ("Save only tensors and plain values, e.g. torch.save({'model_state_dict': model.state_dict(), "
                "'epoch': epoch}, PATH); or pass --trust-pickle if you trust this file.")
        app = ("Save only tensors and plain values, e.g. torch.save({'model_state_dict': model.state_dict(), "
               f"'epoch': epoch}}, PATH); or, if you trust this file, {_TRUST_APP}.")
    return UnsafeCheckpointError(msg, hint=hint, unsafe_globals=unsafe, pickled_model=pickled_model, path=p,
                                 hints={"app": app})


def pickle_with_fallback(namespace: types.ModuleType | None) -> Any:
    """A pickle module whose Unpickler finds missing classes by name in ``namespace``."""

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            try:
                return super().find_class(module, name)
            except (ModuleNotFoundError, AttributeError):
                if namespace is not None and hasattr(namespace, name):
                    return getattr(namespace, name)
                raise

    shim = types.SimpleNamespace(**{k: getattr(pickle, k) for k in ("load", "loads", "dump", "dumps",
                                                                     "UnpicklingError", "PicklingError")})
    shim.Unpickler = Unpickler
    shim.__name__ = "pickle"
    return shim
