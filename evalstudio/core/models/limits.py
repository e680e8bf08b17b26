"""Limits of this machine and this PyTorch: memory, archives too big to unpack, newer file versions.

- :func:`check_archive_sizes` reads a zip archive's central directory (the sizes each entry
  declares, nothing unpacked) and refuses a zip bomb or an archive larger than the memory
  available, before ``torch.load`` or ``torch.jit.load`` would try.
- :func:`is_out_of_memory` and :func:`out_of_memory_error` turn torch's out-of-memory errors (the
  CPU allocator's "can't allocate memory" as much as CUDA's "out of memory") into one line that
  says so, instead of blaming the model or the input.
- :func:`newer_torch_message` recognises a file written by a newer PyTorch than this one reads
  (torch calls it "too old"; it is neither truncated nor corrupt).
"""

from __future__ import annotations

import os
import re
import sys
import zipfile
from pathlib import Path

from evalstudio.core.errors import CheckpointError, EvalStudioError

#: An entry that unpacks more than this many times its packed size, and to more than
#: :data:`BOMB_MIN_BYTES`, is a zip bomb (torch.save stores its entries unpacked: ratio 1).
BOMB_RATIO = 100
BOMB_MIN_BYTES = 64 << 20


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (None when it cannot be told)."""
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/meminfo", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        if sys.platform == "win32":  # pragma: no cover - Windows only
            import ctypes

            class _Status(ctypes.Structure):
                _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                            ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                            ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                            ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                            ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

            status = _Status()
            status.dwLength = ctypes.sizeof(_Status)
            if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
                return int(status.ullAvailPhys)
            return None
        # macOS and other POSIX: the physical memory (what is free is not exposed without psutil).
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def check_archive_sizes(path: str | os.PathLike[str], *, available: int | None = None) -> None:
    """Refuse a zip archive that is a zip bomb or declares more content than memory can hold.

    Only the central directory is read. Files that are not zip archives pass (the loader reports them).

    Raises
    ------
    CheckpointError
        An entry unpacks more than :data:`BOMB_RATIO` times its size to over 64 MB, or the declared
        content is larger than the memory available.
    """
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    for info in infos:
        if (info.compress_type != zipfile.ZIP_STORED and info.file_size > BOMB_MIN_BYTES
                and info.file_size > BOMB_RATIO * max(info.compress_size, 1)):
            raise CheckpointError(
                f"{str(p)!r} is a zip bomb: its entry {info.filename!r} would unpack from "
                f"{format_bytes(info.compress_size)} to {format_bytes(info.file_size)} "
                f"({info.file_size // max(info.compress_size, 1):,} times its size); it was not loaded.",
                hint="PyTorch never compresses what it saves: this file was not written by torch.save. "
                "Check where it came from.",
            )
    total = sum(i.file_size for i in infos)
    avail = available_memory() if available is None else available
    if avail is not None and total > avail:
        raise CheckpointError(
            f"{str(p)!r} would take {format_bytes(total)} once unpacked, more than the {format_bytes(avail)} "
            "of memory available; it was not loaded.",
            hint="Load it on a machine with more memory, or close other programs and try again.",
        )


_CPU_ALLOC = re.compile(r"DefaultCPUAllocator: (?:can't|not enough memory|could not) allocate|"
                        r"can't allocate memory|Cannot allocate memory", re.I)
_TRIED = re.compile(r"(?:tried|trying) to allocate ([\d.]+)\s*([KMGT]i?B|bytes)", re.I)


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's (CPU, CUDA, MPS) or Python's out-of-memory error."""
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch

        oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
        if oom_type is not None and isinstance(exc, oom_type):
            return True
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    text = str(exc)
    return "out of memory" in text.lower() or bool(_CPU_ALLOC.search(text))


class OutOfMemory(EvalStudioError):
    """Ran out of memory; ``original`` is torch's (or Python's) error."""

    original: BaseException


def out_of_memory_error(exc: BaseException, *, where: str, device: str = "cpu", batch_size: int | None = None,
                        flag: str = "--batch-size") -> OutOfMemory:
    """One line for an out-of-memory ``exc`` raised while ``where`` (e.g. "evaluating")."""
    text = str(exc)
    m = _TRIED.search(text)
    amount = ""
    if m:
        value, unit = float(m.group(1)), m.group(2).lower()
        scale = {"bytes": 1, "kb": 1e3, "kib": 1024, "mb": 1e6, "mib": 1 << 20, "gb": 1e9, "gib": 1 << 30,
                 "tb": 1e12, "tib": 1 << 40}.get(unit, 1)
        amount = f" (it tried to allocate {format_bytes(value * scale)})"
    avail = available_memory() if str(device).startswith("cpu") else None
    free = f"; {format_bytes(avail)} of memory is available" if avail is not None else ""
    batch = f" with batch size {batch_size}" if batch_size is not None else ""
    error = OutOfMemory(
        f"ran out of memory on {device} while {where}{batch}{amount}{free}.",
        hint=(f"Use a smaller {flag}, " if batch_size is not None else "")
        + "close other programs, or use a machine (or device) with more memory.",
        hints={"app": ("Use a smaller Batch size, " if batch_size is not None else "")
               + "close other programs, or use a machine (or device) with more memory."},
    )
    error.original = exc
    return error


_NEWER_TORCH = re.compile(r"PyTorch file with version (\d+), but the maximum supported version for reading is (\d+)")


def newer_torch_message(path: str | os.PathLike[str], exc: BaseException) -> tuple[str, str] | None:
    """(message, hint) when ``exc`` says the file was written by a newer PyTorch, else None."""
    m = _NEWER_TORCH.search(str(exc))
    if m is None:
        return None
    try:
        import torch

        version = str(torch.__version__)
    except ImportError:  # pragma: no cover
        version = "?"
    return (f"{str(path)!r} was written by a newer PyTorch than this one (file format version {m.group(1)}; "
            f"PyTorch {version} reads up to version {m.group(2)}); the file itself is probably fine.",
            "Upgrade PyTorch (pip install -U torch), or save the checkpoint again with this PyTorch version.")
