"""The files a command reads and writes: inputs are regular files, outputs never replace an input.

- :func:`special_file_kind` names what a path is when it is not a regular file (a named pipe, a
  device, a socket): opening a FIFO for reading blocks until someone writes to it, so loaders
  refuse such paths before they open them.
- :func:`check_outputs` refuses an output path that resolves to an input of the same command
  (through symbolic links, ``..``, hard links or case differences: compared by device and inode),
  or two outputs that name one file.
- :func:`check_output_folder` explains a folder that cannot hold outputs (a file, ``/dev/null``, a
  symbolic-link loop, read-only) before any work starts.
- :class:`FolderLock` is one process's claim on a folder (a run folder): a second process is told
  which process holds it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from evalstudio.core.atomic import pid_alive
from evalstudio.core.errors import EvalStudioError

PathArg = str | os.PathLike[str]


def special_file_kind(path: PathArg) -> str | None:
    """What ``path`` is, in words, when it exists and is neither a regular file nor a folder.

    Returns None for regular files, folders and paths that do not exist (the caller's own
    messages cover those).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def require_regular_file(path: PathArg, what: str, error: type[EvalStudioError] = EvalStudioError) -> None:
    """Refuse a named pipe, device or socket given as an input (reading it could block forever).

    ``what`` names the input in the message ("--data", "the data file", "checkpoint").
    """
    kind = special_file_kind(path)
    if kind is not None:
        raise error(
            f"{what} {str(path)!r} is {kind}, not a regular file: evalstudio reads its inputs only from regular "
            "files (reading a pipe or a device could wait forever).",
            hint="Save the content to a file and pass that file instead.",
            hints={"app": "Save the content to a file and open that file instead."},
        )


def same_file(a: PathArg, b: PathArg) -> bool:
    """Whether ``a`` and ``b`` are one file: the same device and inode (links and ``..`` resolved),
    or, where one does not exist yet, the same resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        pass
    try:
        ra, rb = os.path.realpath(a), os.path.realpath(b)
    except (OSError, ValueError):
        return False
    return os.path.normcase(ra) == os.path.normcase(rb)


def check_outputs(
    outputs: Iterable[tuple[str, PathArg | None]], inputs: Iterable[tuple[str, PathArg | None]]
) -> None:
    """Refuse an output that is one of the inputs, or two outputs that are one file.

    Parameters
    ----------
    outputs, inputs : iterables of (flag, path)
        e.g. ``[("--json", "out.json"), ("--predictions", "data.csv")]``; None paths are skipped.

    Raises
    ------
    EvalStudioError
        "--predictions 'data.csv' is the same file as --data 'data.csv': writing it would replace that input."
    """
    outs = [(f, p) for f, p in outputs if p is not None and str(p) != ""]
    ins = [(f, p) for f, p in inputs if p is not None and str(p) != ""]
    for oflag, opath in outs:
        for iflag, ipath in ins:
            if same_file(opath, ipath):
                shown = f"{iflag} {str(ipath)!r}" if str(ipath) != str(opath) else iflag
                raise EvalStudioError(
                    f"{oflag} {str(opath)!r} is the same file as {shown}: writing it would replace that input.",
                    hint=f"Choose another path for {oflag}.",
                )
    for i, (flag_a, a) in enumerate(outs):
        for flag_b, b in outs[i + 1:]:
            if same_file(a, b) and special_file_kind(a) is None:  # /dev/null twice replaces nothing
                raise EvalStudioError(f"{flag_a} and {flag_b} both name {str(a)!r}: one would replace the other.",
                                      hint=f"Choose another path for {flag_b}.")


def check_output_folder(path: PathArg, flag: str) -> Path:
    """Create ``path`` as a folder (with its parents) or explain in one line why it cannot hold outputs.

    Raises
    ------
    EvalStudioError
        A file or a device in the way, a symbolic-link loop, no permission, a read-only file system.
    """
    p = Path(path)
    if os.path.islink(p):
        try:
            os.stat(p)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise EvalStudioError(f"{flag} {str(p)!r} is a symbolic link that loops back on itself.",
                                      hint=f"Remove the link or give {flag} another folder.") from None
            raise EvalStudioError(f"{flag} {str(p)!r} is a symbolic link to {os.readlink(p)!r}, which does not exist.",
                                  hint=f"Create that folder, or give {flag} another folder.") from None
    kind = special_file_kind(p)
    if kind is not None:
        raise EvalStudioError(f"{flag} {str(p)!r} is {kind}, not a folder.", hint=f"Give {flag} a folder to write into.")
    if p.exists() and not p.is_dir():
        raise EvalStudioError(f"{flag} {str(p)!r} is a file, not a folder.",
                              hint=f"Give {flag} a folder (it is created when missing).")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvalStudioError(f"cannot create the folder {flag} {str(p)!r}: {describe_os_error(exc)}.",
                              hint=f"Give {flag} a folder you can write to.") from None
    probe = p / f".evalstudio-write-test.{os.getpid()}"
    try:
        with open(probe, "wb"):
            pass
    except OSError as exc:
        raise EvalStudioError(f"cannot write into {flag} {str(p)!r}: {describe_os_error(exc)}.",
                              hint=f"Give {flag} a folder you can write to.") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return p


def describe_os_error(exc: OSError) -> str:
    """An OSError in words a user can act on (disk full, size limit, read-only, permission)."""
    words = {
        errno.ENOSPC: "no space left on the device",
        errno.EFBIG: "the file would exceed the file-size limit (ulimit -f) or the file system's largest file",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ELOOP: "a symbolic link loops back on itself",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EISDIR: "it is a folder",
        errno.ENAMETOOLONG: "the name is too long",
    }
    if getattr(errno, "EDQUOT", None) is not None:
        words[errno.EDQUOT] = "the disk quota is exceeded"
    if exc.errno in words:
        return words[exc.errno]
    return exc.strerror or str(exc) or type(exc).__name__


class FolderLock:
    """A claim on a folder by this process, released when the process ends (even by SIGKILL).

    POSIX: ``flock`` on ``.evalstudio.lock`` (the kernel drops it with the process); Windows:
    ``msvcrt.locking`` on one byte of it. The file holds the holder's process id, host and
    command line, so a second process can say who holds the folder.
    """

    NAME = ".evalstudio.lock"

    def __init__(self, folder: PathArg) -> None:
        self.folder = Path(folder)
        self.path = self.folder / self.NAME
        self._fd: int | None = None

    def acquire(self, flag: str = "the folder") -> FolderLock:
        """Take the lock or raise EvalStudioError naming the process that holds it."""
        for _ in range(10):  # the holder may release (and unlink) between our open and our lock
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                locked = _try_lock(fd)
            except OSError:  # no locking on this file system (some network mounts): go on without
                locked = True
            if not locked:
                holder = _read_holder(fd)
                os.close(fd)
                raise EvalStudioError(
                    f"{flag} {str(self.folder)!r} is in use by another evalstudio run ({holder}).",
                    hint="Wait for that run to finish, or give this run another folder.",
                )
            if sys.platform != "win32" and not _same_inode(fd, self.path):
                os.close(fd)
                continue
            info = f"{os.getpid()}\n{socket.gethostname()}\n{' '.join(sys.argv)[:500]}\n".encode("utf-8", "replace")
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, info)
            self._fd = fd
            return self
        raise EvalStudioError(f"cannot lock {flag} {str(self.folder)!r}: it keeps changing under this run.")

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # before unlocking: a waiter that opened it sees another inode and retries
        with contextlib.suppress(OSError):
            os.close(self._fd)  # closing drops the lock
        self._fd = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_inode(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, 1 << 20, os.SEEK_SET)  # a byte past the holder's text, which stays readable
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 4096).decode("utf-8", "replace").splitlines()
    except OSError:
        text = []
    if not text or not text[0].strip().isdigit():
        return "a process that has not written its id yet"
    pid = int(text[0])
    host = text[1] if len(text) > 1 else ""
    command = text[2] if len(text) > 2 else ""
    where = "" if not host or host == socket.gethostname() else f" on {host}"
    state = "" if where or pid_alive(pid) else ", which seems to have ended"
    return f"process {pid}{where}{state}" + (f": {command}" if command else "")
