"""Tell model and checkpoint files apart by their content, never by their extension.

People name files ``model.pt``, ``model.pth``, ``weights.bin`` or ``net.ckpt`` for anything from a
TorchScript archive to a whole pickled model, so the loaders look at the bytes: a zip archive with
``constants.pkl`` or ``code/`` is TorchScript, a zip with ``data.pkl`` is ``torch.save`` output, a
pickle stream is the legacy ``torch.save`` format, a little-endian length followed by ``{`` is
safetensors, readable UTF-8 is text (a Python model file, or a CSV given by mistake).
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Kinds returned by :func:`sniff`.
TORCHSCRIPT = "torchscript"
TORCH_ZIP = "torch-zip"  # torch.save with the (default) zip serialisation
TORCH_LEGACY = "torch-legacy"  # torch.save(..., _use_new_zipfile_serialization=False)
SAFETENSORS = "safetensors"
TEXT = "text"
EMPTY = "empty"
OTHER = "other"

_MAGIC = (
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (a Keras .h5 model?)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PAR1", "a Parquet file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"%PDF", "a PDF document"),
    (b"\x08", "possibly an ONNX model (protobuf)"),
)


@dataclass(frozen=True)
class FileKind:
    """What a file holds.

    Attributes
    ----------
    kind : str -- one of the module constants (``TORCHSCRIPT``, ``TORCH_ZIP``, ...)
    description : str -- words for an error message ("a zip archive that is not a PyTorch file")
    """

    kind: str
    description: str


def sniff(path: str | os.PathLike[str]) -> FileKind:
    """Identify ``path`` from its first bytes (and, for zip archives, its member names)."""
    p = Path(path)
    with p.open("rb") as fh:
        head = fh.read(4096)
    if not head:
        return FileKind(EMPTY, "an empty file (0 bytes)")
    if head.startswith(b"PK"):
        return _sniff_zip(p)
    if head[:1] == b"\x80" and len(head) > 1 and head[1] in (2, 3, 4, 5):
        return FileKind(TORCH_LEGACY, "a pickle file (legacy torch.save format)")
    st = _safetensors_state(p, head)
    if st:
        return FileKind(SAFETENSORS, "a safetensors file" if st == "ok" else "a truncated safetensors file")
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return FileKind(TEXT, "a text file")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the 4096-byte boundary is still text.
            if exc.start >= len(head) - 4:
                return FileKind(TEXT, "a text file")
    for magic, words in _MAGIC:
        if head.startswith(magic):
            return FileKind(OTHER, words)
    return FileKind(OTHER, "a binary file of unknown type")


def _sniff_zip(p: Path) -> FileKind:
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        # torch.save writes a zip; a file cut short loses its central directory.
        return FileKind(TORCH_ZIP, "a zip archive that is truncated or corrupt")
    tails = {n.split("/", 1)[1] if "/" in n else n for n in names}
    if "constants.pkl" in tails or any(t.startswith("code/") for t in tails):
        return FileKind(TORCHSCRIPT, "a TorchScript archive")
    if "data.pkl" in tails:
        return FileKind(TORCH_ZIP, "a torch.save file")
    if any(n.startswith("xl/") for n in names):
        return FileKind(OTHER, "an Excel workbook (.xlsx)")
    return FileKind(OTHER, "a zip archive that is not a PyTorch file")


def _safetensors_state(p: Path, head: bytes) -> str:
    """8-byte little-endian header length, then a JSON object of that length.

    Returns "ok", "truncated" (the header says more bytes than the file has) or "" (not safetensors).
    """
    if len(head) < 10 or head[8:9] != b"{":
        return ""
    (n,) = struct.unpack("<Q", head[:8])
    size = p.stat().st_size
    if n < 2 or n > 100_000_000:
        return ""
    if 8 + n > size:
        return "truncated" if head[9:10] == b'"' else ""
    with p.open("rb") as fh:
        fh.seek(8)
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    return "ok" if isinstance(header, dict) else ""
