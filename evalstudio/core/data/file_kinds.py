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

SAVE_AS_CSV = "Save or export it as a CSV file (comma-separated text) and load that."

# Files that are clearly not CSV text nor PyTorch files, told apart by their first bytes:
# (magic bytes at offset 0, what the file is, how to get a CSV from it). Shared by the CSV reader
# (csv_format) and the model/checkpoint sniffer below, so both name a file the same way.
BINARY_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "a gzip-compressed file", "Decompress it first (gunzip FILE) and load the CSV inside."),
    (b"BZh", "a bzip2-compressed file", "Decompress it first (bunzip2 FILE) and load the CSV inside."),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "Decompress it first (unxz FILE) and load the CSV inside."),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "Extract the CSV file from it and load that."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls) or another old Office file",
     "In Excel use File > Save As > CSV UTF-8, then load the .csv file."),
    (b"PAR1", "a Parquet file",
     "Convert it, e.g. pandas.read_parquet(PATH).to_csv('data.csv', index=False), and load the CSV."),
    (b"ARROW1", "an Arrow/Feather file",
     "Convert it, e.g. pandas.read_feather(PATH).to_csv('data.csv', index=False), and load the CSV."),
    (b"\x93NUMPY", "a NumPy .npy array", "Save the array as text (numpy.savetxt with delimiter=',') and load that."),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file", SAVE_AS_CSV),
    (b"SQLite format 3\x00", "an SQLite database", "Export the table as CSV and load that."),
    (b"%PDF", "a PDF document", "Export the table as CSV and load that."),
    (b"\x89PNG", "a PNG image", "Load a CSV file with one row per sample."),
    (b"\xff\xd8\xff", "a JPEG image", "Load a CSV file with one row per sample."),
    (b"\x7fELF", "a program (ELF executable)", "Load a CSV file with one row per sample."),
)


# Only for model/checkpoint files: a protobuf's first byte is too weak a sign for CSV input.
_ONNX: tuple[bytes, str] = (b"\x08", "possibly an ONNX model (protobuf)")


def is_pickle(head: bytes) -> bool:
    """A pickle stream (protocol 2-5): the legacy ``torch.save`` format, or ``pickle.dump``."""
    return head[:1] == b"\x80" and len(head) > 1 and head[1] in (2, 3, 4, 5)


def has_safetensors_header(head: bytes) -> bool:
    """The start of a safetensors file: an 8-byte length, then a JSON object with a string key."""
    return len(head) > 10 and head[8:10] == b'{"'


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
    if is_pickle(head):
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
    for magic, words in [*((m, w) for m, w, _hint in BINARY_MAGIC), _ONNX]:
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
