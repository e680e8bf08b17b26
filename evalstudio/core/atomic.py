"""Atomic file writes: a temp file in the same folder, flush, fsync, ``os.replace``.

A crash or a kill mid-write leaves the previous file as it was, never a truncated one. A temp
file's name carries its writer's process id (``.NAME.<pid>.XXXXXXXX.tmp``), so a later save
clears only the leftovers of writers that have ended (:func:`clear_stale_temps`), never another
live process's file in flight.

Only regular files are replaced. A symbolic link is followed (the file it points to is replaced,
the link stays, as a shell's ``>`` would do); a character device or a named pipe (``/dev/null``,
``/dev/stdout``, a FIFO) is written into as it is, never replaced by a plain file (which, run as
root, would have turned ``/dev/null`` itself into one); a block device or a socket is refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temp file next to ``path`` for writing; on success it replaces ``path`` atomically.

    ``path`` a character device or a named pipe: written in place (a pipe nobody reads is an
    OSError, never a wait). A block device or a socket: OSError.
    """
    try:
        st_mode = os.stat(path).st_mode  # follows links: /dev/stdout is whatever fd 1 is
    except (OSError, ValueError):
        st_mode = None
    if st_mode is not None and not stat.S_ISREG(st_mode) and not stat.S_ISDIR(st_mode):
        with _open_in_place(path, st_mode, mode, **open_kwargs) as fh:
            yield fh
        return
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would have,
        # or the mode of the file it replaces.
        try:
            mode_bits = target.stat().st_mode & 0o777
        except FileNotFoundError:
            mode_bits = 0o666 & ~_umask()
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode_bits)
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable where the platform allows it.
    with contextlib.suppress(OSError, AttributeError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def _open_in_place(path: str | os.PathLike[str], st_mode: int, mode: str, **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Write into a character device or a named pipe as it is (it cannot be replaced atomically)."""
    if not (stat.S_ISCHR(st_mode) or stat.S_ISFIFO(st_mode)):
        what = "a block device" if stat.S_ISBLK(st_mode) else "a socket" if stat.S_ISSOCK(st_mode) else "not a file"
        raise OSError(errno.EINVAL, f"it is {what}; evalstudio writes its outputs only to files, pipes and "
                      "character devices such as /dev/null", str(path))
    flags = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0)  # a pipe with no reader fails now (ENXIO), never blocks
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, "no process is reading from that named pipe", str(path)) from None
        raise
    with contextlib.suppress(OSError, AttributeError):
        os.set_blocking(fd, True)
    with os.fdopen(fd, mode, **open_kwargs) as fh:
        yield fh
        fh.flush()


def clear_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temp files of ``path`` left by saves whose process has ended; return them.

    A save killed mid-write (SIGKILL, power cut) leaves ``.NAME.<pid>.XXXXXXXX.tmp`` behind. Files
    of a process still alive (another run writing at this moment) and files whose owner cannot be
    told (no process id in the name) are kept.
    """
    target = Path(path)
    removed: list[Path] = []
    for tmp in target.parent.glob(f".{target.name}.*.tmp"):
        owner = tmp.name[len(target.name) + 2:].split(".", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid() or pid_alive(int(owner)):
            continue
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (errs towards True when unsure)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - Windows only; os.kill would terminate it there
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _umask() -> int:
    # Reading it from /proc avoids briefly changing the process-wide umask (other threads
    # may be creating files at the same moment); os.umask is the fallback elsewhere.
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0)
    os.umask(current)
    return current
