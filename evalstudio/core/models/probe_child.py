"""The child side of :mod:`evalstudio.core.models.probe`: run a model file where it can do no harm.

Started as ``python -m evalstudio.core.models.probe_child REQUEST`` (or through the frozen app's
front door). It imports the model file (phase ``import``), then waits for the data's sizes on
stdin, builds the model (``build``) and runs one forward pass on two rows of zeros (``forward``).
Each phase is announced on a private channel (the original stdout; the user's own prints go to
stderr), so the parent knows where a crash, an exit or a hang happened. An error the loader
explains (a syntax error, ``sys.exit`` in the file...) is sent back as it would be raised in
process; a forward pass that merely raises is left to the parent's own checks, which explain
width and dtype problems better.
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
from pathlib import Path
from typing import IO, Any


def _send(channel: IO[str], kind: str, **fields: Any) -> None:
    channel.write(json.dumps({"kind": kind, **fields}) + "\n")
    channel.flush()


def _error_fields(exc: BaseException) -> dict[str, Any]:
    from evalstudio.core.errors import EvalStudioError

    if isinstance(exc, EvalStudioError):
        return {"message": exc.message, "hint": exc.hint, "hints": exc.hints, "messages": exc.messages,
                "error_class": type(exc).__name__}
    return {"message": f"{type(exc).__name__}: {exc}", "hint": None, "hints": {}, "messages": {},
            "error_class": "ModelError"}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # The protocol keeps the process's real stdout; anything the model file prints goes to stderr.
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    faulthandler.enable(file=sys.stderr, all_threads=False)  # a segfault prints where it happened
    request = json.loads(args[0])
    path = Path(request["path"])
    entry = request.get("entry")

    from evalstudio.core.data import file_kinds
    from evalstudio.core.errors import EvalStudioError
    from evalstudio.core.models import model_files

    kind = file_kinds.sniff(path).kind
    import torch  # noqa: F401 - every model file imports it: its seconds count as start-up, not the file's

    _send(channel, "phase", phase="import")
    try:
        if kind == file_kinds.TORCHSCRIPT:
            torchscript = model_files._load_torchscript(path).module
            namespace = None
        else:
            namespace = model_files._exec_python_file(path)
    except EvalStudioError as exc:
        _send(channel, "error", **_error_fields(exc))
        return 0
    _send(channel, "imported")
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # the parent needed the import only
    sizes = json.loads(line)
    n_features, n_classes = sizes.get("n_features"), sizes.get("n_classes")
    _send(channel, "phase", phase="build")
    try:
        if namespace is not None:
            module = model_files._pick_entry(namespace, path, entry, n_features, n_classes)[0]
        else:
            module = torchscript
    except EvalStudioError as exc:
        _send(channel, "error", **_error_fields(exc))
        return 0
    if n_features:
        _send(channel, "phase", phase="forward")
        try:
            module.eval()
            with torch.no_grad():
                module(torch.zeros(2, int(n_features)))
        except SystemExit as exc:
            from evalstudio.core.errors import ModelError

            _send(channel, "error", **_error_fields(ModelError(
                f"the model's forward() in {str(path)!r} calls sys.exit({exc.code!r}).",
                hint="forward() must return the outputs; remove the exit.")))
            return 0
        except Exception:  # noqa: BLE001 -- a width or dtype problem: the parent's checks explain it
            pass
    _send(channel, "ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
