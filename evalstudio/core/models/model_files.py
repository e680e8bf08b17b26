"""Load a model definition: a Python file or a TorchScript archive.

A Python file is executed under a fresh, unique module name every time, so a file the user has
just edited is read again (``importlib.reload`` keeps stale attributes; a cached import would not
see the edit at all). The model is found in this order: ``build_model()``, a module-level
``model`` instance, the one ``nn.Module`` subclass the file defines; ``entry=NAME`` picks any of
them explicitly. Errors raised while running the file are reported with the file, the line and
the exception, never as a traceback.
"""

from __future__ import annotations

import inspect
import itertools
import os
import sys
import threading
import traceback
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalstudio.core.data import file_kinds
from evalstudio.core.errors import EvalStudioError, ModelError
from evalstudio.core.paths import require_regular_file

if TYPE_CHECKING:
    import torch

# Keyword arguments a builder or class may ask for by name.
SIZE_KEYWORDS = ("n_features", "n_classes")

# Text files that are surely not Python, whatever they parse as.
_DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".md", ".yaml", ".yml", ".tab", ".dat", ".data")

_counter = itertools.count(1)
_import_lock = threading.Lock()  # sys.path and sys.modules are process-wide


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for a checkpoint and evaluation.

    Attributes
    ----------
    module : torch.nn.Module -- on the CPU, as built or loaded
    kind : str -- "python", "torchscript" or "pickle"
    source : Path or None -- the file it came from
    entry : str -- how it was built, e.g. "build_model(n_features=8)" or "class Net()"
    builder : callable or None -- returns a FRESH, untrained module built the same way (k-fold
        needs one per fold); None for TorchScript and pickled models, which hold trained weights
    notes : tuple of str -- what the user should know about how the model was found
    namespace : module or None -- the executed Python file (resolves classes for a pickled model)
    """

    module: "torch.nn.Module"
    kind: str
    source: Path | None
    entry: str
    builder: Callable[[], "torch.nn.Module"] | None = None
    notes: tuple[str, ...] = field(default=())
    namespace: types.ModuleType | None = field(default=None, repr=False, compare=False)


def load_model(
    path: str | os.PathLike[str],
    *,
    entry: str | None = None,
    n_features: int | None = None,
    n_classes: int | None = None,
) -> LoadedModel:
    """Load the model defined by ``path`` (a Python file or a TorchScript archive).

    Parameters
    ----------
    path : path-like
        A Python file (any extension) or a TorchScript archive (recognised by content).
    entry : str, optional
        Name of the function, instance or class in the Python file that gives the model.
    n_features, n_classes : int, optional
        Passed to ``build_model`` / the class when its signature names them.

    Raises
    ------
    ModelError
        The file is missing, is not a model definition, fails to run, or defines no usable model.
    """
    p = Path(path)
    if not p.exists():
        raise ModelError(f"model file {str(p)!r} does not exist.", hint="Check the path given to --model.",
                         hints={"app": "Choose the model file again (Model\u2026 in the Model tab)."})
    if p.is_dir():
        raise ModelError(f"{str(p)!r} is a folder, not a model file.", hint="Pass the model's Python file to --model.",
                         hints={"app": "Choose the model's Python file (Model\u2026 in the Model tab)."})
    require_regular_file(p, "model file", ModelError)
    kind = file_kinds.sniff(p)
    if kind.kind == file_kinds.TORCHSCRIPT:
        if entry:
            raise ModelError(f"--entry {entry!r} applies to Python model files; {str(p)!r} is a TorchScript archive.",
                             hint="Drop --entry.")
        return _load_torchscript(p)
    if kind.kind in (file_kinds.TORCH_ZIP, file_kinds.TORCH_LEGACY, file_kinds.SAFETENSORS):
        raise ModelError(
            f"{str(p)!r} is {kind.description}: weights or a pickled model, not a model definition.",
            hint="Pass it with --checkpoint and give the Python file that defines the model with --model "
            "(a whole pickled model loads from --checkpoint alone with --trust-pickle).",
            hints={"app": "Open it with Checkpoint\u2026 and the Python file that defines the model with Model\u2026 "
                   "(Model tab); a whole pickled model loads from Checkpoint\u2026 alone once you tick "
                   "\u201cI trust this checkpoint's pickled objects\u201d."},
        )
    if kind.kind == file_kinds.TEXT and p.suffix.lower() in _DATA_SUFFIXES:
        # A CSV line such as `a,b,c` is valid Python (a tuple), so say what it is before running it.
        raise ModelError(
            f"{str(p)!r} is a {p.suffix.lower()[1:].upper()} text file, not a model definition.",
            hint="Pass the data with --data and the model's Python file (or a TorchScript archive) with --model.",
            hints={"app": "Open the data with File > Open data\u2026 and the model's Python file (or a TorchScript "
                   "archive) with File > Open model\u2026."},
        )
    if kind.kind != file_kinds.TEXT:
        raise ModelError(
            f"{str(p)!r} is {kind.description}, not a model definition.",
            hint="Pass a Python file that defines the model (build_model(), `model` or an nn.Module class) "
            "or a TorchScript archive.",
        )
    namespace = _exec_python_file(p)
    module, description, notes = _pick_entry(namespace, p, entry, n_features, n_classes)

    def builder() -> "torch.nn.Module":
        # Run the file again: a fresh module, initialised the same way (under the caller's seed).
        ns = _exec_python_file(p)
        return _pick_entry(ns, p, entry, n_features, n_classes)[0]

    return LoadedModel(module, "python", p, description, builder, tuple(notes), namespace)


def _load_torchscript(p: Path) -> LoadedModel:
    import torch

    from evalstudio.core.models.limits import check_archive_sizes, newer_torch_message

    try:
        check_archive_sizes(p)
    except EvalStudioError as exc:
        raise ModelError(str(exc)) from None
    try:
        with warnings.catch_warnings():
            # torch >= 2.9 deprecates TorchScript; the archives people have still load fine.
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(p), map_location="cpu")
    except Exception as exc:  # a damaged archive fails in many ways inside the C++ reader
        newer = newer_torch_message(p, exc)
        if newer is not None:
            raise ModelError(newer[0], hint=newer[1]) from None
        raise ModelError(
            f"cannot load the TorchScript archive {str(p)!r}: {_first_line(exc)}",
            hint="Export it again with torch.jit.script(model).save(PATH) or torch.jit.trace.",
        ) from None
    return LoadedModel(module, "torchscript", p, "TorchScript archive", None,
                       ("TorchScript archive: weights included, no checkpoint needed",))


# -- running a Python file -------------------------------------------------------------------


def _exec_python_file(p: Path) -> types.ModuleType:
    """Execute ``p`` as a new module with a unique name; errors name the file and the line."""
    try:
        source = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model file {str(p)!r}: {exc.strerror}.") from None
    filename = str(p.resolve())
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        text = f" ({exc.text.strip()})" if exc.text and exc.text.strip() else ""
        raise ModelError(
            f"model file {str(p)!r} has a syntax error at line {exc.lineno}: {exc.msg}{text}.",
            hint="Fix the file and load it again (it is re-read every time).",
        ) from None
    except ValueError as exc:  # e.g. null bytes in the source
        raise ModelError(f"model file {str(p)!r} is not valid Python source: {exc}.") from None

    stem = "".join(c if c.isalnum() else "_" for c in p.stem) or "model"
    name = f"evalstudio_user_model_{next(_counter)}_{stem}"
    # A plain module object rather than importlib's file spec: the file may have any extension.
    module = types.ModuleType(name)
    module.__file__ = filename
    folder = str(p.resolve().parent)
    with _import_lock:
        # Registered before running (dataclasses and pickling look the module up by name) and
        # the file's folder on sys.path so it can import its sibling helper modules.
        sys.modules[name] = module
        added = folder not in sys.path
        if added:
            sys.path.insert(0, folder)
        try:
            exec(code, module.__dict__)
        except SystemExit as exc:
            sys.modules.pop(name, None)
            line = _line_in_file(exc, filename)
            raise ModelError(
                f"model file {str(p)!r} calls sys.exit({exc.code!r}){line} while being loaded.",
                hint="Move script code under `if __name__ == \"__main__\":` so importing the file only defines the model.",
            ) from None
        except Exception as exc:
            sys.modules.pop(name, None)
            raise ModelError(
                f"model file {str(p)!r} failed{_line_in_file(exc, filename)}: {type(exc).__name__}: {_first_line(exc)}",
                hint="Fix the file and load it again (it is re-read every time).",
            ) from None
        finally:
            if added:
                try:
                    sys.path.remove(folder)
                except ValueError:
                    pass
    return module


def _line_in_file(exc: BaseException, filename: str) -> str:
    """ " at line N" for the deepest traceback frame inside ``filename`` ("" when none is)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return f" at line {frames[-1].lineno}" if frames else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


# -- finding the model in the file -----------------------------------------------------------


def _candidates(ns: types.ModuleType) -> list[str]:
    """Names the user could pass to --entry: functions, nn.Module instances and subclasses."""
    import torch.nn as nn

    out = []
    for key, value in vars(ns).items():
        if key.startswith("_"):
            continue
        if isinstance(value, nn.Module):
            out.append(key)
        elif inspect.isclass(value) and issubclass(value, nn.Module) and value.__module__ == ns.__name__:
            out.append(key)
        elif inspect.isfunction(value) and value.__module__ == ns.__name__:
            out.append(key)
    return out


def _pick_entry(
    ns: types.ModuleType, p: Path, entry: str | None, n_features: int | None, n_classes: int | None
) -> tuple["torch.nn.Module", str, list[str]]:
    """Find the model in the executed file ``ns``: (module, how it was built, notes)."""
    import torch.nn as nn

    notes: list[str] = []
    if entry is not None:
        if not hasattr(ns, entry):
            found = ", ".join(_candidates(ns)) or "none"
            raise ModelError(
                f"model file {str(p)!r} has no {entry!r}.",
                hint=f"Names --entry can take in this file: {found}.",
            )
        target, how = getattr(ns, entry), "chosen with --entry"
    elif callable(getattr(ns, "build_model", None)):
        target, how = ns.build_model, "found build_model()"
    elif isinstance(getattr(ns, "model", None), nn.Module):
        target, how = ns.model, "found the module-level `model`"
    else:
        classes = [
            v for k, v in vars(ns).items()
            if inspect.isclass(v) and issubclass(v, nn.Module) and v.__module__ == ns.__name__ and not k.startswith("_")
        ]
        if not classes:
            raise ModelError(
                f"model file {str(p)!r} defines no model.",
                hint="Define build_model() returning an nn.Module, a module-level `model = ...`, "
                "or one nn.Module subclass; or pick a name with --entry.",
                hints={"app": "Define build_model() returning an nn.Module, a module-level `model = ...`, "
                       "or one nn.Module subclass."},
            )
        if len(classes) > 1:
            names = ", ".join(c.__name__ for c in classes)
            raise ModelError(
                f"model file {str(p)!r} defines {len(classes)} nn.Module classes ({names}); which one is the model?",
                hint="Pick one with --entry NAME, or add build_model() returning the model.",
                hints={"app": "Add build_model() returning the model to the file (the window loads build_model(), "
                       "a module-level `model`, or the file's only nn.Module class)."},
            )
        target, how = classes[0], f"found the only nn.Module class, {classes[0].__name__}"

    if isinstance(target, nn.Module):
        return target, f"{entry or 'model'} (module-level instance)", [f"model: {how}"]
    if not callable(target):
        raise ModelError(
            f"{entry!r} in {str(p)!r} is a {type(target).__name__}, not a model.",
            hint="--entry must name a function returning an nn.Module, an nn.Module instance or an nn.Module class.",
        )
    if inspect.isclass(target) and not issubclass(target, nn.Module):
        raise ModelError(
            f"{target.__name__} in {str(p)!r} is not an nn.Module subclass.",
            hint="--entry must name a function returning an nn.Module, an nn.Module instance or an nn.Module class.",
        )
    kwargs = _size_kwargs(target, p, n_features, n_classes)
    label = getattr(target, "__name__", entry or "model")
    description = f"{label}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
    filename = str(p.resolve())
    try:
        module = target(**kwargs)
    except SystemExit as exc:  # user code ending the process is an error, never a silent exit
        raise ModelError(
            f"{description} in {str(p)!r} calls sys.exit({exc.code!r}){_line_in_file(exc, filename)}.",
            hint="A model builder must return the model; remove the exit (or move script code under "
            "`if __name__ == \"__main__\":`).",
        ) from None
    except Exception as exc:
        raise ModelError(
            f"{description} in {str(p)!r} failed{_line_in_file(exc, filename)}: {type(exc).__name__}: {_first_line(exc)}",
            hint="Fix the model file and load it again.",
        ) from None
    if not isinstance(module, nn.Module):
        raise ModelError(
            f"{description} in {str(p)!r} returned {type(module).__name__}, not a torch.nn.Module.",
            hint="Make it return the model (an nn.Module).",
        )
    notes.append(f"model: {how}, built as {description}")
    return module, description, notes


def _size_kwargs(
    target: Callable[..., Any], p: Path, n_features: int | None, n_classes: int | None
) -> dict[str, int]:
    """The n_features / n_classes keywords ``target`` names; refuse other required parameters."""
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):  # some builtins have no signature: call with nothing
        return {}
    known = {"n_features": n_features, "n_classes": n_classes}
    kwargs: dict[str, int] = {}
    for name, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        required = param.default is param.empty
        if name in known:
            value = known[name]
            if value is not None:
                kwargs[name] = int(value)
            elif required:
                raise ModelError(
                    f"{getattr(target, '__name__', 'the model')} in {str(p)!r} needs {name}, which is not known yet.",
                    hint=f"Give {name} a default value in the model file, or load the data first.",
                )
        elif required:
            raise ModelError(
                f"{getattr(target, '__name__', 'the model')}() in {str(p)!r} needs the argument {name!r}; "
                "evalstudio can only pass n_features and n_classes.",
                hint=f"Give {name!r} a default value, or add build_model() that calls it with the right value.",
            )
    return kwargs
