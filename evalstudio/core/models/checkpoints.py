"""Read checkpoints safely: state_dicts, training dicts, safetensors, evalstudio's own format.

Every ``torch.save`` file is read with ``torch.load(map_location="cpu", weights_only=True)``.
A file that needs arbitrary unpickling is refused *before* anything in it runs, with the list of
globals it names (found by disassembling the pickle, not executing it). Only when the user says
they trust the file (``trust_pickle=True``) is it unpickled in full, e.g. a whole pickled model
from ``torch.save(model)``.
"""

from __future__ import annotations

import os
import pickle
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from evalstudio.core.data import file_kinds
from evalstudio.core.errors import CheckpointError
from evalstudio.core.models.checkpoint_format import FORMAT as EVALSTUDIO_FORMAT
from evalstudio.core.models.checkpoint_format import upgrade
from evalstudio.core.models.limits import check_archive_sizes, newer_torch_message
from evalstudio.core.models.pickle_safety import (
    NUMPY_SCALAR_GLOBALS,
    find_unsafe_globals,
    numpy_scalar_types,
    pickle_with_fallback,
    refusal,
    strip_ansi,
)
from evalstudio.core.paths import require_regular_file

if TYPE_CHECKING:
    import torch

# Keys under which training scripts commonly keep the weights, in the order they are tried.
WEIGHT_KEYS = ("model_state_dict", "state_dict", "model", "net")


@dataclass(frozen=True)
class Checkpoint:
    """The weights and what travelled with them.

    Attributes
    ----------
    state_dict : dict of str to Tensor -- on the CPU
    meta : dict -- everything else in the file (epoch, optimizer state, loss, safetensors metadata)
    preprocessing : dict or None -- a Standardizer state (evalstudio checkpoints only)
    classes : list of str or None -- class names in output order (evalstudio checkpoints only)
    feature_names : list of str or None -- the model's inputs by name (evalstudio checkpoints only)
    target : str or None -- training target column (evalstudio checkpoints only)
    encoding : dict or None -- the column encoding learned from the training rows, as plain data
        (:meth:`evalstudio.core.data.encoding_state.from_state` reads it); evalstudio
        checkpoints written since it was recorded
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
    encoding: dict[str, Any] | None = None
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
        raise CheckpointError(f"checkpoint {str(p)!r} does not exist.", hint="Check the path given to --checkpoint.",
                              hints={"app": "Choose the checkpoint again (Checkpoint\u2026 in the Model tab)."})
    if p.is_dir():
        raise CheckpointError(f"{str(p)!r} is a folder, not a checkpoint file.",
                              hint="Pass the checkpoint file itself to --checkpoint.",
                              hints={"app": "Choose the checkpoint file itself (Checkpoint\u2026 in the Model tab)."})
    require_regular_file(p, "checkpoint", CheckpointError)
    kind = file_kinds.sniff(p)
    if kind.kind == file_kinds.SAFETENSORS:
        return _load_safetensors(p)
    if kind.kind == file_kinds.TORCHSCRIPT:
        raise CheckpointError(f"{str(p)!r} is a TorchScript archive, which holds its own weights.",
                              hint="Pass it with --model and leave out --checkpoint.",
                              hints={"app": "Open it with Model\u2026 and Clear the checkpoint (Model tab)."})
    if kind.kind == file_kinds.TEXT:
        words = " (Python source?)" if p.suffix == ".py" else ""
        raise CheckpointError(f"{str(p)!r} is a text file{words}, not a PyTorch checkpoint.",
                              hint="Pass a file written by torch.save or safetensors to --checkpoint "
                              "(a model definition goes to --model).",
                              hints={"app": "Choose a file written by torch.save or safetensors with Checkpoint\u2026 "
                                     "(a model definition goes to Model\u2026)."})
    if kind.kind not in (file_kinds.TORCH_ZIP, file_kinds.TORCH_LEGACY):
        raise CheckpointError(f"{str(p)!r} is {kind.description}, not a PyTorch checkpoint.",
                              hint="Pass a file written by torch.save or safetensors to --checkpoint.",
                              hints={"app": "Choose a file written by torch.save or safetensors with Checkpoint\u2026."})
    check_archive_sizes(p)
    obj, unsafe, notes = _torch_load(p, trust_pickle=trust_pickle, namespace=namespace)
    return _interpret(obj, p, unsafe, notes)


@dataclass(frozen=True)
class DataContract:
    """What an evalstudio checkpoint says about the data it takes (read before the model is built).

    Attributes
    ----------
    classes : tuple of str -- in output order (empty when not recorded)
    target : str or None
    encoding : Encoding or None -- the column encoding (None: numeric columns, as before it existed)
    """

    classes: tuple[str, ...] = ()
    target: str | None = None
    encoding: Any = None  # evalstudio.core.data.encoding.Encoding | None


def read_data_contract(path: str | os.PathLike[str] | None) -> DataContract:
    """The classes, target and column encoding an evalstudio checkpoint records; empty for any
    other file, or one that cannot be read (its own load reports why, later).

    Reads the file weights-only and memory-mapped, so a large checkpoint costs little.

    Raises
    ------
    DataError
        The checkpoint's encoding section is damaged or newer than this evalstudio reads.
    CheckpointError
        A zip bomb, or an archive larger than the memory available (:func:`check_archive_sizes`).
    """
    import torch

    from evalstudio.core.data.encoding_state import from_state

    if path is None:
        return DataContract()
    p = Path(path)
    try:
        if not p.is_file() or file_kinds.sniff(p).kind != file_kinds.TORCH_ZIP:
            return DataContract()
    except OSError:
        return DataContract()
    check_archive_sizes(p)  # before torch.load unpacks its pickle: a zip bomb is refused here, unopened
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not ours to judge here: load_checkpoint says what is wrong with the file
        return DataContract()
    if not isinstance(obj, dict) or obj.get("format") != EVALSTUDIO_FORMAT:
        return DataContract()
    classes = obj.get("classes")
    target = obj.get("target")
    state = obj.get("encoding")
    return DataContract(
        tuple(str(c) for c in classes) if isinstance(classes, (list, tuple)) else (),
        str(target) if isinstance(target, str) else None,
        from_state(state, repr(str(p))) if state is not None else None,
    )


# -- reading ---------------------------------------------------------------------------------


def _torch_load(p: Path, *, trust_pickle: bool, namespace: types.ModuleType | None) -> tuple[Any, tuple[str, ...], list[str]]:
    import torch

    unsafe = tuple(sorted(find_unsafe_globals(p)))
    notes: list[str] = []
    allowed: list[Any] = []
    if unsafe and set(unsafe) <= NUMPY_SCALAR_GLOBALS:
        allowed = numpy_scalar_types()
        notes.append("numpy scalars in the checkpoint allowed explicitly (" + ", ".join(unsafe) + ")")
        unsafe = ()
    if unsafe and not trust_pickle:
        raise refusal(p, unsafe)
    if unsafe:
        return _full_load(p, namespace), unsafe, [*notes, "trusted pickle unpickled in full (it named: "
                                                  + ", ".join(unsafe) + ")"]
    try:
        with torch.serialization.safe_globals(allowed):
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's own message advises weights_only=False; never pass that on. The static scan
        # misses globals pushed dynamically, so take the name from the message too.
        found = find_unsafe_globals(p) | set(re.findall(r"Unsupported global: GLOBAL ([\w.]+)", str(exc)))
        if not found:
            raise CheckpointError(f"cannot unpickle {str(p)!r}: the file is corrupt or not a checkpoint.",
                                  hint="Save it again with torch.save.") from None
        if not trust_pickle:
            raise refusal(p, tuple(sorted(found))) from None
        unsafe = tuple(sorted(found))
        return _full_load(p, namespace), unsafe, [*notes, "trusted pickle unpickled in full (it named: "
                                                  + ", ".join(unsafe) + ")"]
    except Exception as exc:  # the zip reader and storage loader raise RuntimeError, EOFError, ...
        raise _corrupt(p, exc) from None
    return obj, unsafe, notes


def _full_load(p: Path, namespace: types.ModuleType | None) -> Any:
    """Unpickle in full (the user trusts the file); classes the pickle cannot import are looked
    up by name in the user's model file."""
    import sys

    import torch

    # As `python -c "torch.load(...)"` run beside the file would: the pickle's own modules
    # (e.g. mymodel.py saved next to model.pt) import from the checkpoint's folder and the current one.
    extra = [d for d in dict.fromkeys((str(p.resolve().parent), os.getcwd())) if d not in sys.path]
    sys.path[:0] = extra
    try:
        return torch.load(p, map_location="cpu", weights_only=False, pickle_module=pickle_with_fallback(namespace))
    except (ImportError, AttributeError) as exc:
        raise CheckpointError(
            f"the pickled model in {str(p)!r} needs a class that cannot be imported here: {_first_line(exc)}.",
            hint="Pass the Python file that defines those classes with --model (and this file with "
            "--checkpoint). Better still, save "
            "the weights: torch.save(model.state_dict(), 'weights.pt').",
            hints={"app": "Open the Python file that defines those classes with Model\u2026 (and this file with "
                   "Checkpoint\u2026) in the Model tab. Better still, save the weights: "
                   "torch.save(model.state_dict(), 'weights.pt')."},
        ) from None
    except Exception as exc:
        raise _corrupt(p, exc) from None
    finally:
        for d in extra:
            if d in sys.path:
                sys.path.remove(d)


def _corrupt(p: Path, exc: BaseException) -> CheckpointError:
    newer = newer_torch_message(p, exc)
    if newer is not None:
        return CheckpointError(newer[0], hint=newer[1])
    return CheckpointError(
        f"cannot read checkpoint {str(p)!r}: it is truncated or corrupt ({type(exc).__name__}: "
        f"{_first_line(exc)[:200]}).",
        hint="Copy or save the file again; a download or a save that was cut short leaves such a file.",
    )


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


def _is_state_dict(obj: object) -> TypeGuard[dict[str, "torch.Tensor"]]:
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
    obj = upgrade(obj, repr(str(p)))
    state = obj.get("model_state_dict")
    if not _is_state_dict(state):
        raise CheckpointError(f"the evalstudio checkpoint {str(p)!r} has no model weights (model_state_dict).",
                              hint="It was not written completely; use another checkpoint from the run.")
    pre = obj.get("preprocessing")
    classes = obj.get("classes")
    features = obj.get("feature_names")
    target = obj.get("target")
    encoding = obj.get("encoding")
    meta = {k: v for k, v in obj.items()
            if k not in ("model_state_dict", "preprocessing", "classes", "feature_names", "target", "encoding")}
    epoch = obj.get("epoch")
    return Checkpoint(
        dict(state), meta,
        preprocessing=dict(pre) if isinstance(pre, dict) else None,
        classes=[str(c) for c in classes] if isinstance(classes, (list, tuple)) else None,
        feature_names=[str(c) for c in features] if isinstance(features, (list, tuple)) else None,
        target=str(target) if target is not None else None,
        encoding=dict(encoding) if isinstance(encoding, dict) else None,
        format="evalstudio checkpoint" + (f" (epoch {epoch})" if isinstance(epoch, int) else ""),
        source=p, notes=tuple(notes),
    )


def _cpu_state(module: "torch.nn.Module") -> dict[str, "torch.Tensor"]:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def _first_line(exc: BaseException) -> str:
    text = strip_ansi(str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
