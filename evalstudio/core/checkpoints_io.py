"""Read checkpoints safely: state_dicts, training dicts, safetensors, evalstudio's own format.

Every ``torch.save`` file is read with ``torch.load(map_location="cpu", weights_only=True)``.
A file that needs arbitrary unpickling is refused *before* anything in it runs, with the list of
globals it names (found by disassembling the pickle, not executing it). Only when the user says
they trust the file (``trust_pickle=True``) is it unpickled in full, e.g. a whole pickled model
from ``torch.save(model)``.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalstudio.core import file_kinds
from evalstudio.core.errors import CheckpointError

if TYPE_CHECKING:
    import torch

EVALSTUDIO_FORMAT = "evalstudio-checkpoint"
# Keys under which training scripts commonly keep the weights, in the order they are tried.
WEIGHT_KEYS = ("model_state_dict", "state_dict", "model", "net")
# Globals that make up a plain numpy scalar (np.float64(0.3) saved as a loss, say). They build
# a number and nothing else, so they are allow-listed explicitly, unlike anything else.
_NUMPY_SCALAR_GLOBALS = {
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.dtype",
} | {f"numpy.dtypes.{n}DType" for n in (
    "Float64", "Float32", "Float16", "Int64", "Int32", "Int16", "Int8",
    "UInt64", "UInt32", "UInt16", "UInt8", "Bool",
)}
_SAVE_STATE_DICT = (
    "Save the weights instead: torch.save(model.state_dict(), 'weights.pt'), "
    "and pass the Python file that defines the model with --model."
)


class UnsafeCheckpointError(CheckpointError):
    """The checkpoint needs arbitrary unpickling; nothing in it was run.

    Attributes
    ----------
    unsafe_globals : tuple of str -- e.g. ("__main__.Net", "torch.nn.modules.linear.Linear")
    pickled_model : bool -- the file looks like a whole pickled model (torch.save(model))
    path : Path
    """

    def __init__(self, message: str, *, hint: str | None, unsafe_globals: tuple[str, ...],
                 pickled_model: bool, path: Path) -> None:
        super().__init__(message, hint=hint)
        self.unsafe_globals = unsafe_globals
        self.pickled_model = pickled_model
        self.path = path


@dataclass(frozen=True)
class Checkpoint:
    """The weights and what travelled with them.

    Attributes
    ----------
    state_dict : dict of str to Tensor -- on the CPU
    meta : dict -- everything else in the file (epoch, optimizer state, loss, safetensors metadata)
    preprocessing : dict or None -- a Standardizer state (evalstudio checkpoints only)
    classes : list of str or None -- class names in output order (evalstudio checkpoints only)
    feature_names : list of str or None -- training columns (evalstudio checkpoints only)
    target : str or None -- training target column (evalstudio checkpoints only)
    format : str -- what the file was, in words ("evalstudio checkpoint (epoch 12)")
    source : Path or None
    pickled_module : nn.Module or None -- the whole model, when a trusted pickle held one
    unsafe_globals : tuple of str -- globals a trusted pickle needed (empty for safe files)
    notes : tuple of str
    """

    state_dict: dict[str, "torch.Tensor"]
    meta: dict[str, Any] = field(default_factory=dict)
    preprocessing: dict[str, Any] | None = None
    classes: list[str] | None = None
    feature_names: list[str] | None = None
    target: str | None = None
    format: str = "state_dict"
    source: Path | None = None
    pickled_module: "torch.nn.Module | None" = field(default=None, repr=False)
    unsafe_globals: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    trust_pickle: bool = False,
    namespace: types.ModuleType | None = None,
) -> Checkpoint:
    """Read a checkpoint onto the CPU without running code from it (unless trusted).

    Parameters
    ----------
    path : path-like
        A ``torch.save`` file (bare state_dict, or a dict with the weights under one of
        ``model_state_dict``, ``state_dict``, ``model``, ``net``; or evalstudio's format) or a
        safetensors file. Recognised by content, whatever the extension.
    trust_pickle : bool
        Unpickle in full a file that needs it (a whole pickled model). Only for trusted files:
        unpickling can run any code.
    namespace : module, optional
        An executed model file; a trusted pickle's classes that cannot be imported are looked
        up in it by name (a model saved from a script pickles its class as ``__main__.Net``).

    Raises
    ------
    UnsafeCheckpointError
        The file needs arbitrary unpickling and ``trust_pickle`` is False.
    CheckpointError
        Missing, empty, truncated, not a checkpoint, or no weights in it.
    """
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"checkpoint {str(p)!r} does not exist.", hint="Check the path given to --checkpoint.")
    if p.is_dir():
        raise CheckpointError(f"{str(p)!r} is a folder, not a checkpoint file.",
                              hint="Pass the checkpoint file itself to --checkpoint.")
    kind = file_kinds.sniff(p)
    if kind.kind == file_kinds.SAFETENSORS:
        return _load_safetensors(p)
    if kind.kind == file_kinds.TORCHSCRIPT:
        raise CheckpointError(f"{str(p)!r} is a TorchScript archive, which holds its own weights.",
                              hint="Pass it with --model and leave out --checkpoint.")
    if kind.kind == file_kinds.TEXT:
        words = " (Python source?)" if p.suffix == ".py" else ""
        raise CheckpointError(f"{str(p)!r} is a text file{words}, not a PyTorch checkpoint.",
                              hint="Pass a file written by torch.save or safetensors to --checkpoint "
                              "(a model definition goes to --model).")
    if kind.kind not in (file_kinds.TORCH_ZIP, file_kinds.TORCH_LEGACY):
        raise CheckpointError(f"{str(p)!r} is {kind.description}, not a PyTorch checkpoint.",
                              hint="Pass a file written by torch.save or safetensors to --checkpoint.")
    obj, unsafe, notes = _torch_load(p, trust_pickle=trust_pickle, namespace=namespace)
    return _interpret(obj, p, unsafe, notes)


# -- reading ---------------------------------------------------------------------------------


def _torch_load(p: Path, *, trust_pickle: bool, namespace: types.ModuleType | None) -> tuple[Any, tuple[str, ...], list[str]]:
    import torch

    unsafe = tuple(sorted(_unsafe_globals(p)))
    notes: list[str] = []
    allowed: list[Any] = []
    if unsafe and set(unsafe) <= _NUMPY_SCALAR_GLOBALS:
        allowed = _numpy_scalar_types()
        notes.append("numpy scalars in the checkpoint allowed explicitly (" + ", ".join(unsafe) + ")")
        unsafe = ()
    if unsafe and not trust_pickle:
        raise _refusal(p, unsafe)
    if unsafe:
        return _full_load(p, namespace), unsafe, [*notes, "trusted pickle unpickled in full (it named: "
                                                  + ", ".join(unsafe) + ")"]
    try:
        with torch.serialization.safe_globals(allowed):
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's own message advises weights_only=False; never pass that on. The static scan
        # misses globals pushed dynamically, so take the name from the message too.
        found = _unsafe_globals(p) | set(re.findall(r"Unsupported global: GLOBAL ([\w.]+)", str(exc)))
        if not found:
            raise CheckpointError(f"cannot unpickle {str(p)!r}: the file is corrupt or not a checkpoint.",
                                  hint="Save it again with torch.save.") from None
        if not trust_pickle:
            raise _refusal(p, tuple(sorted(found))) from None
        unsafe = tuple(sorted(found))
        return _full_load(p, namespace), unsafe, [*notes, "trusted pickle unpickled in full (it named: "
                                                  + ", ".join(unsafe) + ")"]
    except Exception as exc:  # the zip reader and storage loader raise RuntimeError, EOFError, ...
        raise _corrupt(p, exc) from None
    return obj, unsafe, notes


def _full_load(p: Path, namespace: types.ModuleType | None) -> Any:
    """Unpickle in full (the user trusts the file); classes the pickle cannot import are looked
    up by name in the user's model file."""
    import torch

    try:
        return torch.load(p, map_location="cpu", weights_only=False, pickle_module=_pickle_with_fallback(namespace))
    except (ImportError, AttributeError) as exc:
        raise CheckpointError(
            f"the pickled model in {str(p)!r} needs a class that cannot be imported here: {_first_line(exc)}.",
            hint="Pass the Python file that defines those classes with --model (and this file with "
            "--checkpoint). Better still, save "
            "the weights: torch.save(model.state_dict(), 'weights.pt').",
        ) from None
    except Exception as exc:
        raise _corrupt(p, exc) from None


def _corrupt(p: Path, exc: BaseException) -> CheckpointError:
    return CheckpointError(
        f"cannot read checkpoint {str(p)!r}: it is truncated or corrupt ({type(exc).__name__}: "
        f"{_first_line(exc)[:200]}).",
        hint="Copy or save the file again; a download or a save that was cut short leaves such a file.",
    )


def _unsafe_globals(p: Path) -> set[str]:
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


def _numpy_scalar_types() -> list[Any]:
    import numpy as np

    out: list[Any] = [np.dtype]
    try:
        out.append(np._core.multiarray.scalar)  # numpy >= 2
    except AttributeError:  # pragma: no cover - numpy 1.x
        out.append(np.core.multiarray.scalar)
    # The dtype class (np.dtypes.Float64DType) is pushed dynamically, so the static scan does
    # not list it: allow the plain numeric ones.
    for n in _NUMPY_SCALAR_GLOBALS:
        if n.startswith("numpy.dtypes."):
            dt = getattr(np.dtypes, n.rsplit(".", 1)[1], None)
            if dt is not None:
                out.append(dt)
    return out


def _refusal(p: Path, unsafe: tuple[str, ...]) -> UnsafeCheckpointError:
    pickled_model = any(g.startswith("torch.nn.modules.") for g in unsafe)
    shown = ", ".join(unsafe[:12]) + (f", ... ({len(unsafe) - 12} more)" if len(unsafe) > 12 else "")
    if pickled_model:
        msg = (f"{str(p)!r} is a whole pickled model (torch.save(model)); loading it would run code "
               f"named in the file ({shown}). Nothing from it was run.")
        hint = f"If you trust this file, pass --trust-pickle. {_SAVE_STATE_DICT}"
    else:
        msg = (f"{str(p)!r} needs arbitrary unpickling, which could run code; it names {shown}. "
               "Nothing from it was run.")
        hint = ("Save only tensors and plain values, e.g. torch.save({'model_state_dict': model.state_dict(), "
                "'epoch': epoch}, PATH); or pass --trust-pickle if you trust this file.")
    return UnsafeCheckpointError(msg, hint=hint, unsafe_globals=unsafe, pickled_model=pickled_model, path=p)


def _pickle_with_fallback(namespace: types.ModuleType | None) -> Any:
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


def _load_safetensors(p: Path) -> Checkpoint:
    try:
        from safetensors import safe_open
    except ImportError:  # pragma: no cover - a declared dependency
        raise CheckpointError(f"{str(p)!r} is a safetensors file and the safetensors package is missing.",
                              hint="pip install safetensors") from None
    try:
        with safe_open(str(p), framework="pt", device="cpu") as fh:
            meta = dict(fh.metadata() or {})
            state = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:
        raise CheckpointError(
            f"cannot read the safetensors file {str(p)!r}: it is truncated or corrupt ({_first_line(exc)[:200]}).",
            hint="Copy or save the file again.",
        ) from None
    if not state:
        raise CheckpointError(f"the safetensors file {str(p)!r} holds no tensors.")
    return Checkpoint(state, meta, format="safetensors", source=p)


# -- what the loaded object means ------------------------------------------------------------


def _is_state_dict(obj: Any) -> bool:
    import torch

    return (isinstance(obj, dict) and len(obj) > 0 and all(isinstance(k, str) for k in obj)
            and all(isinstance(v, torch.Tensor) for v in obj.values()))


def _interpret(obj: Any, p: Path, unsafe: tuple[str, ...], notes: list[str]) -> Checkpoint:
    import torch.nn as nn

    if isinstance(obj, nn.Module):
        return Checkpoint(_cpu_state(obj), {}, format="whole pickled model", source=p, pickled_module=obj,
                          unsafe_globals=unsafe, notes=tuple(notes))
    if isinstance(obj, dict) and obj.get("format") == EVALSTUDIO_FORMAT:
        return _interpret_evalstudio(obj, p, notes)
    if _is_state_dict(obj):
        return Checkpoint(dict(obj), {}, format="state_dict", source=p, unsafe_globals=unsafe, notes=tuple(notes))
    if isinstance(obj, dict):
        for key in WEIGHT_KEYS:
            value = obj.get(key)
            if isinstance(value, nn.Module):
                meta = {k: v for k, v in obj.items() if k != key}
                return Checkpoint(_cpu_state(value), meta, format=f"pickled model under {key!r}", source=p,
                                  pickled_module=value, unsafe_globals=unsafe, notes=tuple(notes))
            if _is_state_dict(value):
                meta = {k: v for k, v in obj.items() if k != key}
                extra = f", epoch {meta['epoch']}" if isinstance(meta.get("epoch"), int) else ""
                return Checkpoint(dict(value), meta, format=f"dict with weights under {key!r}{extra}", source=p,
                                  unsafe_globals=unsafe, notes=tuple(notes))
        keys = ", ".join(map(repr, list(obj)[:12])) or "none"
        raise CheckpointError(
            f"{str(p)!r} holds a dict with no model weights in it (keys: {keys}).",
            hint="Expected a state_dict, or a dict with it under 'model_state_dict', 'state_dict', 'model' or 'net'.",
        )
    raise CheckpointError(
        f"{str(p)!r} holds a {type(obj).__name__}, not model weights.",
        hint="Save a state_dict: torch.save(model.state_dict(), PATH).",
    )


def _interpret_evalstudio(obj: dict[str, Any], p: Path, notes: list[str]) -> Checkpoint:
    state = obj.get("model_state_dict")
    if not _is_state_dict(state):
        raise CheckpointError(f"the evalstudio checkpoint {str(p)!r} has no model weights (model_state_dict).",
                              hint="It was not written completely; use another checkpoint from the run.")
    pre = obj.get("preprocessing")
    classes = obj.get("classes")
    features = obj.get("feature_names")
    target = obj.get("target")
    meta = {k: v for k, v in obj.items()
            if k not in ("model_state_dict", "preprocessing", "classes", "feature_names", "target")}
    epoch = obj.get("epoch")
    return Checkpoint(
        dict(state), meta,
        preprocessing=dict(pre) if isinstance(pre, dict) else None,
        classes=[str(c) for c in classes] if isinstance(classes, (list, tuple)) else None,
        feature_names=[str(c) for c in features] if isinstance(features, (list, tuple)) else None,
        target=str(target) if target is not None else None,
        format="evalstudio checkpoint" + (f" (epoch {epoch})" if isinstance(epoch, int) else ""),
        source=p, notes=tuple(notes),
    )


def _cpu_state(module: "torch.nn.Module") -> dict[str, "torch.Tensor"]:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
