"""Run a model file first in a child process, behind a timeout, before it runs in this one.

A model file is code: importing it, building the model and its ``forward()`` may call
``sys.exit``, ``os._exit``, crash the interpreter (a segfault in a C extension) or loop forever.
In this process any of those would end the command silently or hang the window. So the file is
first imported, built and run on two rows of zeros in a child (:mod:`probe_child`), which the
parent watches: an exit, a crash or a phase that outlasts ``timeout`` becomes one
:class:`~evalstudio.core.errors.ModelError` naming the file, the phase and (for a crash) the line;
a cancel (the app's Stop) ends the child at once.

Cost: the child starts Python and imports torch. :func:`start_probe` starts it before the caller
reads its data, and :meth:`ModelProbe.finish` sends the data's sizes later, so the import runs
beside the data loading. The child is started with ``sys.executable`` (``-m``; the frozen app's
front door takes ``__probe_model__``), never forked, so it is the same on Windows and macOS.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Protocol

from evalstudio.core.data import file_kinds
from evalstudio.core.errors import Cancelled, CheckpointError, EvalStudioError, ModelError

#: Seconds each phase (import, build, forward) may take in the child (``--model-timeout``).
DEFAULT_TIMEOUT = 60.0
#: Seconds the child may take to start Python and import torch, before the model file runs.
START_TIMEOUT = 120.0
#: The argument the frozen app's front door hands to :func:`probe_child.main`.
FROZEN_COMMAND = "__probe_model__"

_PHASE_WORDS = {
    "start": "starting Python and PyTorch to import it",
    "import": "being imported",
    "build": "building the model",
    "forward": "running forward() on 2 rows",
}
_ERRORS: dict[str, type[EvalStudioError]] = {
    "ModelError": ModelError, "CheckpointError": CheckpointError, "EvalStudioError": EvalStudioError,
}


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


def child_command() -> list[str]:
    """How to start the child: this interpreter (or the frozen app) on :mod:`probe_child`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, FROZEN_COMMAND]
    return [sys.executable, "-m", "evalstudio.core.models.probe_child"]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The child imports evalstudio from where this process did, even from a source tree.
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # two rows need no thread pool
        env.setdefault(name, "1")
    env["PYTHONFAULTHANDLER"] = "1"
    return env


def needs_probe(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is something a probe can run: an existing Python file or TorchScript archive."""
    p = Path(path)
    if not p.is_file():
        return False  # missing or special: the in-process loader explains
    return file_kinds.sniff(p).kind in (file_kinds.TEXT, file_kinds.TORCHSCRIPT)


class ModelProbe:
    """A child process importing one model file; :meth:`finish` builds and runs it and waits.

    Use :func:`start_probe`; always :meth:`close` (or use it as a context manager).
    """

    def __init__(self, path: str | os.PathLike[str], *, entry: str | None, timeout: float,
                 cancel: CancelToken | None = None) -> None:
        self.path = Path(path)
        self.entry = entry
        self.timeout = float(timeout)
        self.cancel = cancel
        self.phase = "start"
        self._phase_started = time.monotonic()
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr_tail: list[str] = []
        self._readers: list[threading.Thread] = []
        self.proc: subprocess.Popen[str] | None = None
        # This exact file imported fine before: start the child only if its build with these
        # sizes has not passed too (known at finish()).
        self._content_key = passed_key(self.path, entry, None, None)
        if not passed_before(self._content_key):
            self._start()

    def _start(self) -> None:
        request = json.dumps({"path": str(self.path), "entry": self.entry})  # the child starts in this folder
        kwargs: dict[str, Any] = {}
        if sys.platform == "win32":  # pragma: no cover - Windows only
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        else:
            kwargs["start_new_session"] = True  # its own process group: a kill reaches its children
        self.phase, self._phase_started = "start", time.monotonic()
        self.proc = subprocess.Popen(
            [*child_command(), request], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=_child_env(), text=True, encoding="utf-8", errors="replace", **kwargs,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read_messages, args=(self.proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self.proc.stderr,), daemon=True),
        ]
        for t in self._readers:
            t.start()

    # -- reading the child ----------------------------------------------------------------------
    def _read_messages(self, stream: IO[str]) -> None:
        for line in stream:
            with contextlib.suppress(ValueError):
                msg = json.loads(line)
                msg["at"] = time.monotonic()  # when it arrived, not when the caller got to it
                self._messages.put(msg)
        self._messages.put(None)  # the channel closed: the child ended

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in stream:  # drained continuously so a chatty model file cannot block on a full pipe
            self._stderr_tail.append(line)
            if len(self._stderr_tail) > 400:
                del self._stderr_tail[:200]

    def _wait_for(self, wanted: str) -> dict[str, Any]:
        """Messages until ``wanted`` (or an error); phases restart the clock."""
        while True:
            if self.cancel is not None and self.cancel.is_set():
                self.close()
                raise Cancelled("loading the model was stopped")
            try:  # what already arrived first: the clock of a phase starts when its message came
                msg = self._messages.get_nowait()
            except queue.Empty:
                # Starting Python and torch is evalstudio's part, not the file's: it gets at least
                # START_TIMEOUT whatever --model-timeout says (a busy machine can take seconds).
                allowed = max(self.timeout, START_TIMEOUT) if self.phase == "start" else self.timeout
                left = self._phase_started + allowed - time.monotonic() if self.timeout > 0 else 0.1
                if left <= 0:
                    self.close()
                    raise self._timed_out() from None
                try:
                    msg = self._messages.get(timeout=min(0.1, max(left, 0.001)))
                except queue.Empty:
                    continue
            if msg is None:
                raise self._died()
            kind = msg.get("kind")
            if kind == "phase":
                self.phase = str(msg.get("phase"))
                self._phase_started = float(msg["at"])
            elif kind == "error":
                self.close()
                cls = _ERRORS.get(str(msg.get("error_class")), ModelError)
                raise cls(str(msg.get("message")), hint=msg.get("hint"), hints=msg.get("hints") or None,
                          messages=msg.get("messages") or None)
            elif kind == wanted:
                return msg

    # -- the two steps --------------------------------------------------------------------------
    def wait_imported(self) -> None:
        """Until the file is imported (raises on an exit, a crash, a timeout or a cancel)."""
        self._wait_for("imported")

    def finish(self, n_features: int | None, n_classes: int | None) -> None:
        """Send the data's sizes; wait until the model is built and ran forward on 2 rows."""
        full_key = _combine(self._content_key, n_features, n_classes)
        try:
            if passed_before(full_key):
                return  # this exact file passed with these sizes before: no child needed
            if self.proc is None:
                self._start()
            self.wait_imported()
            assert self.proc is not None and self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps({"n_features": n_features, "n_classes": n_classes}) + "\n")
                self.proc.stdin.flush()
            except OSError:
                pass  # it ended meanwhile: the next message says how
            self.phase, self._phase_started = "build", time.monotonic()
            self._wait_for("ok")
            remember_passed(self._content_key, full_key)
        finally:
            self.close()

    def close(self) -> None:
        """End the child (if it still runs) and its process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if sys.platform != "win32":
                with contextlib.suppress(OSError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> ModelProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what went wrong, in words ----------------------------------------------------------------
    def _where(self) -> str:
        return _PHASE_WORDS.get(self.phase, self.phase)

    def _line(self) -> str:
        """ " at line N" from the child's traceback (faulthandler or Python's) inside the model file."""
        resolved = str(self.path.resolve())
        for line in self._stderr_tail:
            m = re.search(r'File "(.+?)", line (\d+)', line)
            if m and os.path.normcase(m.group(1)) == os.path.normcase(resolved):
                return f" at line {m.group(2)}"
        return ""

    def _timed_out(self) -> ModelError:
        return ModelError(
            f"model file {str(self.path)!r} did not finish {self._where()} within {self.timeout:g} s "
            "(it runs first in a separate process, which was stopped).",
            hint="If it loops forever (say `while True:` at import or in forward()), fix the file; if it is only "
            "slow, allow it more time with --model-timeout SECONDS (0: no limit).",
            hints={"app": "If it loops forever (say `while True:` at import or in forward()), fix the file; "
                   "if it is only slow, set EVALSTUDIO_MODEL_TIMEOUT to more seconds and load it again."},
        )

    def _died(self) -> ModelError:
        assert self.proc is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        for t in self._readers:
            t.join(2)
        code = self.proc.returncode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            how = f"crashed Python ({name}{', a segmentation fault' if name == 'SIGSEGV' else ''})"
        elif code is not None and code > 255:  # Windows: an NTSTATUS crash code
            how = f"crashed Python (exit code 0x{code:08X})"
        else:
            how = f"ended the Python process with exit code {code} (os._exit or a crash in native code)"
        return ModelError(
            f"model file {str(self.path)!r} {how}{self._line()} while {self._where()}; evalstudio ran it in a "
            "separate process first, so nothing else was affected.",
            hint="Fix the file: importing it, building the model and forward() must return normally.",
        )


def start_probe(path: str | os.PathLike[str] | None, *, entry: str | None = None,
                timeout: float = DEFAULT_TIMEOUT, cancel: CancelToken | None = None) -> ModelProbe | None:
    """Start the child importing ``path``; None when there is nothing to probe (no path, a checkpoint
    given as the model, a missing file) or ``timeout`` is 0 (the user turned the probe off)."""
    if path is None or timeout == 0 or not needs_probe(path):
        return None
    return ModelProbe(path, entry=entry, timeout=timeout, cancel=cancel)


# -- files that passed before ------------------------------------------------------------------
# A model file whose exact content (and that of the Python files beside it, which it may import)
# passed with the same entry and sizes, under the same Python, torch and evalstudio, is not run in
# a child again: the probe costs a Python start and a torch import, and the same file is evaluated,
# trained and cross-validated many times. The record is a list of digests in the user's cache folder.


def cache_folder() -> Path:
    """``EVALSTUDIO_CACHE_DIR``, else the platform's per-user cache folder for evalstudio."""
    explicit = os.environ.get("EVALSTUDIO_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "evalstudio" / "Cache"
    if sys.platform == "darwin":  # pragma: no cover - macOS only
        return Path.home() / "Library" / "Caches" / "evalstudio"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evalstudio"


def passed_key(path: str | os.PathLike[str], entry: str | None, n_features: int | None = None,
               n_classes: int | None = None) -> str | None:
    """A digest of everything the probe's outcome depends on; None when it cannot be told."""
    import hashlib

    from evalstudio import __version__

    p = Path(path)
    h = hashlib.sha256()
    try:
        from importlib.metadata import version

        torch_version = version("torch")  # from its metadata: importing torch here would delay the child
    except Exception:  # noqa: BLE001 - no metadata (a frozen app): the versions still count below
        torch_version = "?"
    try:
        h.update(f"{sys.version}|{torch_version}|{__version__}|{entry}|{n_features}|{n_classes}|".encode())
        h.update(p.read_bytes())
        me = p.resolve()
        siblings = sorted(q for q in me.parent.glob("*.py") if q.resolve() != me)[:100]
        for q in siblings:  # the file may import them; at most 256 KB of each counts
            with open(q, "rb") as fh:
                h.update(q.name.encode() + b"\0" + fh.read(256 << 10))
    except OSError:
        return None
    return h.hexdigest()


def passed_before(key: str | None) -> bool:
    if key is None:
        return False
    try:
        return key in (cache_folder() / "probes-passed.txt").read_text(encoding="ascii").split()
    except (OSError, ValueError):
        return False


def _combine(content_key: str | None, n_features: int | None, n_classes: int | None) -> str | None:
    import hashlib

    if content_key is None:
        return None
    return hashlib.sha256(f"{content_key}|{n_features}|{n_classes}".encode()).hexdigest()


def remember_passed(*given: str | None) -> None:
    keys = [k for k in given if k is not None]
    if not keys:
        return
    folder = cache_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        record = folder / "probes-passed.txt"
        if record.exists() and record.stat().st_size > 1 << 20:  # about 15,000 files: start over
            record.unlink()
        with open(record, "a", encoding="ascii") as fh:
            fh.write("".join(k + "\n" for k in keys))
    except OSError:
        pass  # no cache folder: the next command probes again


def probe_model(path: str | os.PathLike[str] | None, *, entry: str | None = None, n_features: int | None = None,
                n_classes: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                cancel: CancelToken | None = None) -> None:
    """:func:`start_probe` and :meth:`ModelProbe.finish` at once."""
    probe = start_probe(path, entry=entry, timeout=timeout, cancel=cancel)
    if probe is not None:
        probe.finish(n_features, n_classes)


def timeout_from_env(default: float = DEFAULT_TIMEOUT) -> float:
    """``EVALSTUDIO_MODEL_TIMEOUT`` (seconds; 0 turns the probe off) where the app has no flag for it."""
    try:
        value = float(os.environ.get("EVALSTUDIO_MODEL_TIMEOUT", default))
    except ValueError:
        return default
    return value if value >= 0 else default


def finish_probe(probe: ModelProbe | None, n_features: int | None, n_classes: int | None) -> None:
    """:meth:`ModelProbe.finish` when there is a probe."""
    if probe is not None:
        probe.finish(n_features, n_classes)

