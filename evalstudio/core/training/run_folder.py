"""A training run's folder: never overwritten silently, one run at a time.

:func:`open_run_folder` checks the folder can hold checkpoints (not a file, a device, a link loop
or read-only), refuses one that already holds another run's checkpoints unless the user says
``overwrite``, and takes a :class:`~evalstudio.core.paths.FolderLock` for the run's whole life, so
a second run on the same folder stops at once, naming the process that holds it.
:func:`new_run_folder` makes a fresh, numbered folder for a run that names none.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from evalstudio.core.errors import EvalStudioError
from evalstudio.core.paths import FolderLock, check_output_folder, same_file

#: Files a run writes into its folder (checkpoint_every adds epoch_NNNN.pt).
RUN_FILES = ("best.pt", "last.pt")
_PERIODIC = re.compile(r"^epoch_\d{4,}\.pt$")


def run_files_in(folder: str | os.PathLike[str]) -> list[str]:
    """Names of the checkpoints of a run already in ``folder`` (best.pt, last.pt, epoch_NNNN.pt)."""
    p = Path(folder)
    if not p.is_dir():
        return []
    names = [n for n in RUN_FILES if (p / n).exists()]
    names += sorted(e.name for e in p.iterdir() if _PERIODIC.match(e.name))
    return names


def new_run_folder(parent: str | os.PathLike[str], prefix: str = "train") -> Path:
    """A new folder ``parent/PREFIX-YYYYmmdd-HHMMSS`` (``-2``, ``-3``... when that one exists)."""
    base = Path(parent) / time.strftime(f"{prefix}-%Y%m%d-%H%M%S")
    check_output_folder(base.parent, "the runs folder")
    for n in range(1, 1000):
        candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise EvalStudioError(f"cannot make a new run folder in {str(base.parent)!r}: too many runs started this second.")


def remove_if_empty(folder: str | os.PathLike[str]) -> None:
    """Remove ``folder`` when nothing but this run's lock is in it (a run that wrote no checkpoint)."""
    p = Path(folder)
    try:
        if all(e.name == FolderLock.NAME for e in p.iterdir()):
            (p / FolderLock.NAME).unlink(missing_ok=True)
            p.rmdir()
    except OSError:
        pass


def open_run_folder(
    folder: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    resume_from: str | os.PathLike[str] | None = None,
    inputs: tuple[tuple[str, str | os.PathLike[str] | None], ...] = (),
    flag: str = "--out",
) -> FolderLock:
    """Make ``folder`` ready for a run and lock it; release the returned lock when the run ends.

    Parameters
    ----------
    overwrite : bool
        Let the run replace the checkpoints of an earlier run in the folder.
    resume_from : path, optional
        The checkpoint a resumed run continues from: when it is the folder's own ``last.pt`` the run
        continues the folder; resuming from another file would replace the folder's ``last.pt``
        (and ``best.pt``), which needs ``overwrite``.
    inputs : tuple of (flag, path)
        The run's inputs (``--checkpoint`` ...): none may be a file the run writes, even with ``overwrite``.

    Raises
    ------
    EvalStudioError
        The folder cannot be written, holds an earlier run's checkpoints, or another run holds it.
    """
    p = check_output_folder(folder, flag)
    written = [p / n for n in RUN_FILES]
    for iflag, ipath in inputs:
        if ipath is None:
            continue
        for w in written + [p / n for n in run_files_in(p) if n not in RUN_FILES]:
            if w.exists() and same_file(w, ipath):
                raise EvalStudioError(
                    f"{iflag} {str(ipath)!r} is in the run folder {flag} {str(p)!r}, where this run writes "
                    f"{w.name}: it would replace the file it starts from.",
                    hint=f"Give {flag} another folder (or copy the checkpoint elsewhere first).",
                )
    lock = FolderLock(p).acquire(flag)
    try:
        existing = run_files_in(p)
        # A resumed run continues its own folder from its last.pt (or from any of its files when
        # last.pt is gone); anything else would replace later checkpoints.
        continuing = resume_from is not None and same_file(Path(resume_from).parent, p) and (
            not (p / "last.pt").exists() or same_file(p / "last.pt", resume_from))
        if existing and not overwrite and not continuing:
            shown = ", ".join(existing[:6]) + (f" and {len(existing) - 6} more" if len(existing) > 6 else "")
            if resume_from is not None:
                raise EvalStudioError(
                    f"{flag} {str(p)!r} holds checkpoints ({shown}) later than {str(resume_from)!r}: resuming from it "
                    "there would replace them.",
                    hint=f"Resume from {str(p / 'last.pt')!r}, pass --overwrite to replace them, or give {flag} "
                    "another folder.",
                )
            raise EvalStudioError(
                f"{flag} {str(p)!r} already holds the checkpoints of an earlier run ({shown}); this run would "
                "replace them.",
                hint=f"Pass --overwrite to replace them, give {flag} another folder, or continue that run with "
                f"--resume {str(p / 'last.pt')!r}.",
            )
    except BaseException:
        lock.release()
        raise
    return lock
