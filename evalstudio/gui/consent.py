"""Code that runs with the user's permissions is named before it runs, once per file content.

A Python model file or a TorchScript archive executes code when loaded; a weights-only
checkpoint does not. The prompt is remembered by the file's SHA-256, so editing the file asks
again, and renaming it does not.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str) -> str:
    """Hex SHA-256 of the file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def runs_code(path: str) -> bool:
    """True for a Python source file or a TorchScript archive (by content, not extension)."""
    p = Path(path)
    if p.suffix.lower() == ".py":
        return True
    from evalstudio.core.data.file_kinds import TEXT, TORCHSCRIPT, sniff

    try:
        kind = sniff(p).kind
    except OSError:
        return False  # the loader will report the unreadable file
    return kind == TORCHSCRIPT or (kind == TEXT and p.suffix.lower() not in (".csv", ".txt", ".tsv"))


def consent_text(path: str) -> str:
    """The question shown before a code file is loaded."""
    return (
        f"{Path(path).name} contains code. Loading it runs that code with your permissions "
        "(it can read, change or delete your files).\n\nLoad it only if you trust where it came from. "
        "You will not be asked again for this exact file content."
    )
