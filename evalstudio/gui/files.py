"""What a dropped or named file is (data, model, checkpoint), by content; and what ships with evalstudio."""

from __future__ import annotations

import os

DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".data")


def classify_file(path: str) -> str:
    """"data", "model" or "checkpoint", by content (extension only breaks ties for text)."""
    from evalstudio.core.data import file_kinds

    suffix = os.path.splitext(path)[1].lower()
    try:
        kind = file_kinds.sniff(path).kind
    except OSError:
        return "data" if suffix in DATA_SUFFIXES else "model"
    if kind == file_kinds.TORCHSCRIPT:
        return "model"
    if kind in (file_kinds.TORCH_ZIP, file_kinds.TORCH_LEGACY, file_kinds.SAFETENSORS):
        return "checkpoint"
    if suffix == ".py":
        return "model"
    return "data"


def is_bundled(path: str) -> bool:
    """Files shipped inside evalstudio (the demo model) are part of the program itself."""
    from evalstudio.resources import resources_dir

    try:
        root = os.path.realpath(resources_dir())
    except FileNotFoundError:
        return False
    return os.path.realpath(path).startswith(root + os.sep)
