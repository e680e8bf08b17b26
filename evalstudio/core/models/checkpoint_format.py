"""evalstudio's own checkpoint format: the one module that writes, versions and reads it.

A checkpoint is one dict of tensors and plain values that ``torch.load(weights_only=True)`` reads,
written atomically. The schema, every version and what each field means are written down in
``docs/checkpoint-format.md``; this module is its code. Layout of version 2 (the current one)::

    "format": "evalstudio-checkpoint"      "format_version": 2        "evalstudio_version": str
    "model_state_dict": {name: tensor}     "optimizer_state_dict": dict
    "scheduler_state_dict": dict or None   "epoch": int (epochs completed, 1-based)
    "history": [EpochMetrics.to_dict()]    "rng_state": {"torch", "generator", "cuda": [...]} tensors
    "preprocessing": Standardizer.to_state() or None
    "classes": [str]   "feature_names": [str]   "target": str
    "config": TrainConfig as a plain dict  "output_kind": str   "best_score": float or None
    "best_epoch": int or None              "monitor": str       "mode": "min" | "max"
    "split": {"n_train": int, "n_val": int}
    "integrity": {"algorithm": "sha256", "digest": hex str}   (see below)

plus the optional sections of :data:`SECTIONS` (absent means "not recorded"). Version 1 (no
``format_version`` key) is the same without the optional sections; :func:`upgrade` reads it.

Writes go to a temp file in the same folder, are flushed and fsynced, then ``os.replace``-d over
the target, so a crash or SIGKILL mid-save leaves the previous file loadable. Every payload is
sealed with a SHA-256 of all its other fields (:func:`payload_digest`), and :func:`upgrade` (the
path every reader takes) verifies it, so a flipped bit or an edit is refused, not evaluated.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalstudio import __version__
from evalstudio.core.atomic import atomic_write, clear_stale_temps
from evalstudio.core.data import file_kinds
from evalstudio.core.errors import CheckpointError
from evalstudio.core.models.limits import check_archive_sizes, newer_torch_message
from evalstudio.core.models.pickle_safety import find_unsafe_globals, strip_ansi
from evalstudio.core.paths import describe_os_error, require_regular_file

if TYPE_CHECKING:
    import torch

FORMAT = "evalstudio-checkpoint"
#: The version this evalstudio writes. Readers accept every version up to it (see :func:`upgrade`).
FORMAT_VERSION = 2

REQUIRED_KEYS = (
    "format", "evalstudio_version", "model_state_dict", "optimizer_state_dict", "epoch", "history",
    "rng_state", "preprocessing", "classes", "feature_names", "target", "config",
)

#: Optional sections of version 2, each owned by one feature; absent means "not recorded", which
#: is how every checkpoint written before the feature reads. docs/checkpoint-format.md has each
#: section's schema. Every value is plain data (str, int, float, bool, None, list, dict, tensor).
SECTIONS: dict[str, str] = {
    "training_rows": "fingerprints of the rows that trained the checkpoint and of those that chose it "
    "(evalstudio.core.models.training_rows)",
    "integrity": "SHA-256 of every other field (tensors by dtype, shape and bytes), verified on every load",
    "model_file": "name and SHA-256 of the model file that trained the weights (a resume compares them)",
    "temperature": "temperature scaling fitted by `evalstudio calibrate` or `train --calibrate`: "
                   "{value, n_samples, fitted_on, nll_before, nll_after}",
    "encoding": "the column encoding learned from the training rows (roles, kinds, categories, medians): "
                "core.data.encoding_state.to_state(); evaluation applies it (issue 12)",
}

#: The one digest algorithm this evalstudio writes and verifies.
INTEGRITY_ALGORITHM = "sha256"

# Keys every version may hold beside the required ones.
_OTHER_KEYS = ("scheduler_state_dict", "output_kind", "best_score", "best_epoch", "monitor", "mode", "split")


def make_payload(**fields: Any) -> dict[str, Any]:
    """A checkpoint dict of the current version: ``fields`` plus the format's own header keys,
    sealed with its ``integrity`` digest (a payload changed afterwards must be made again)."""
    unknown = sorted(k for k in fields if k not in REQUIRED_KEYS and k not in _OTHER_KEYS and k not in SECTIONS)
    if unknown:  # a typo here would write a field no reader looks for
        raise ValueError(f"not fields of the checkpoint format: {', '.join(unknown)}")
    fields.pop("integrity", None)
    return seal({"format": FORMAT, "format_version": FORMAT_VERSION, "evalstudio_version": __version__, **fields})


# -- integrity -------------------------------------------------------------------------------


def payload_digest(payload: dict[str, Any]) -> str:
    """SHA-256 (hex) of a canonical serialisation of every field of ``payload`` but ``integrity``.

    Canonical: dict entries in the order of their encoded keys, lists and tuples alike, each value
    tagged with its type; a tensor by dtype, shape and its bytes in C order; a float by its 8
    IEEE-754 bytes. A section added later is covered without any change here.
    """
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in payload.items() if k != "integrity"})
    return h.hexdigest()


def seal(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with its ``integrity`` section (computed over everything else), in place."""
    payload["integrity"] = {"algorithm": INTEGRITY_ALGORITHM, "digest": payload_digest(payload)}
    return payload


def verify_integrity(obj: dict[str, Any], source: str = "the checkpoint") -> None:
    """Check the ``integrity`` digest of a loaded checkpoint dict (none recorded: nothing to check).

    Raises
    ------
    CheckpointError
        The content does not match the digest: the file changed after it was written.
    """
    section = obj.get("integrity")
    if section is None:
        return  # written before the section existed (version 1, early version 2) or by hand
    if not isinstance(section, dict) or not isinstance(section.get("digest"), str):
        raise CheckpointError(f"{source} has a damaged integrity section, so its content cannot be verified.",
                              hint="Use another copy of the checkpoint, or another checkpoint of the run.")
    if section.get("algorithm") != INTEGRITY_ALGORITHM:
        raise CheckpointError(
            f"{source} is sealed with the digest {section.get('algorithm')!r}, which this evalstudio "
            f"({__version__}) cannot verify.", hint="Update evalstudio (pip install -U evalstudio) to read it.")
    if payload_digest(obj) != section["digest"]:
        raise CheckpointError(
            f"{source} changed after evalstudio wrote it: its content does not match the SHA-256 digest it "
            "carries (a flipped bit, a damaged copy or an edit).",
            hint="Use an intact copy of the checkpoint, or another checkpoint of the run (best.pt, last.pt).",
        )


def _feed(h: "hashlib._Hash", value: Any) -> None:
    import torch

    if isinstance(value, torch.Tensor):
        t = value.detach()
        if t.layout != torch.strided or t.is_quantized:
            t = t.to_dense() if t.layout != torch.strided else t.dequantize()
        t = t.to("cpu").contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().data)
    elif isinstance(value, dict):
        h.update(f"D{len(value)}".encode())
        entries = []
        for k, v in value.items():
            kh = hashlib.sha256()
            _feed(kh, k)
            entries.append((kh.digest(), v))
        for key_digest, v in sorted(entries, key=lambda e: e[0]):
            h.update(key_digest)
            _feed(h, v)
    elif isinstance(value, (list, tuple)):
        h.update(f"L{len(value)}".encode())
        for v in value:
            _feed(h, v)
    elif isinstance(value, bool) or value is None:
        h.update(f"B{value}".encode())
    elif isinstance(value, int):
        h.update(f"I{value}".encode())
    elif isinstance(value, float):
        h.update(b"F" + struct.pack("<d", value))
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        h.update(f"S{len(data)}:".encode() + data)
    elif isinstance(value, bytes):
        h.update(f"Y{len(value)}:".encode() + value)
    else:  # not plain data (the format holds none); its type and text still count
        text = f"{type(value).__module__}.{type(value).__qualname__}:{value!r}".encode("utf-8", "replace")
        h.update(f"O{len(text)}:".encode() + text)


def copy_sections(source: dict[str, Any], payload: dict[str, Any], *names: str) -> dict[str, Any]:
    """Copy the optional sections ``names`` that ``source`` holds into ``payload`` (returned).

    A checkpoint made from another (calibrated, converted) keeps what the other recorded, e.g.
    ``copy_sections(read_checkpoint(src), payload, "training_rows")``: the new file still knows
    which rows trained its weights.
    """
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise ValueError(f"not optional sections of the checkpoint format: {', '.join(unknown)}")
    for name in names:
        if name != "integrity" and source.get(name) is not None:  # a digest is never copied: it is made
            payload[name] = source[name]
    if "integrity" in payload:  # sealed by make_payload: seal the new content again
        seal(payload)
    return payload


_HEADER_KEYS = ("format", "format_version", "evalstudio_version")


def derive_payload(source: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A new checkpoint dict from an evalstudio checkpoint ``source`` (any version): every field and
    optional section it holds travels, ``changes`` replace or add fields, the header is this
    evalstudio's. Keys the format does not define are dropped (a newer writer's, or foreign ones); the
    integrity digest is made again for the new content.
    """
    known = (*REQUIRED_KEYS, *_OTHER_KEYS, *SECTIONS)
    kept = {k: v for k, v in source.items() if k in known and k not in _HEADER_KEYS}
    kept.update(changes)
    return make_payload(**kept)


def temperature_section(
    value: float, *, n_samples: int, fitted_on: str, nll_before: float, nll_after: float
) -> dict[str, Any]:
    """The ``temperature`` section: calibrated probabilities are ``softmax(log p / value)``."""
    return {"value": float(value), "n_samples": int(n_samples), "fitted_on": str(fitted_on),
            "nll_before": float(nll_before), "nll_after": float(nll_after)}


def read_temperature(obj: dict[str, Any], source: str = "the checkpoint") -> dict[str, Any] | None:
    """The ``temperature`` section of a checkpoint dict, checked; None when not recorded.

    Raises
    ------
    CheckpointError
        The section is there but its value is not a positive finite number.
    """
    import math

    section = obj.get("temperature")
    if section is None:
        return None
    value = section.get("value") if isinstance(section, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise CheckpointError(f"{source} has a temperature section without a positive temperature ({section!r}).",
                              hint="Run `evalstudio calibrate` again to write a new checkpoint.")
    return dict(section)


def model_file_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``model_file`` section: ``{"name": file name, "sha256": hex}`` of a model file."""
    p = Path(path)
    try:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError:
        digest = ""
    return {"name": p.name, "sha256": digest}


def model_file_changed(ckpt: dict[str, Any], path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` differs from the model file ``ckpt`` recorded (False when none was recorded)."""
    recorded = ckpt.get("model_file")
    if not isinstance(recorded, dict) or not recorded.get("sha256"):
        return False
    return bool(model_file_record(path)["sha256"] != recorded["sha256"])


def format_version(obj: dict[str, Any]) -> int:
    """The format version of an evalstudio checkpoint dict (1 for files written before versions)."""
    v = obj.get("format_version", 1)
    return v if isinstance(v, int) and not isinstance(v, bool) else -1


def upgrade(obj: dict[str, Any], source: str = "the checkpoint") -> dict[str, Any]:
    """Read any version up to :data:`FORMAT_VERSION` as the current one (a new dict; ``obj`` is kept),
    after verifying its ``integrity`` digest when it carries one.

    Raises
    ------
    CheckpointError
        The file was written by a newer evalstudio (a version this one does not know), or its content
        does not match its digest (it changed after it was written).
    """
    version = format_version(obj)
    if version < 1 or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{source} is in evalstudio checkpoint format version {obj.get('format_version')!r}, "
            f"newer than this evalstudio ({__version__}) reads (up to {FORMAT_VERSION}).",
            hint="Update evalstudio (pip install -U evalstudio) to read it.",
        )
    verify_integrity(obj, source)
    out = dict(obj)
    if version == 1:
        out["format_version"] = FORMAT_VERSION  # version 2 only added optional sections
    return out


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` atomically (temp file, flush, fsync, ``os.replace``)."""
    import torch

    target = Path(path)
    if payload.get("format") == FORMAT and "integrity" not in payload:
        payload = seal(dict(payload))
    # A save killed mid-write (power cut, SIGKILL) leaves its temp file behind: clear those of
    # processes that have ended, never another live writer's file in flight.
    clear_stale_temps(target)
    stream: _RecordingWriter | None = None
    try:
        with atomic_write(target, "wb") as fh:
            stream = _RecordingWriter(fh)
            torch.save(payload, stream)  # type: ignore[arg-type]  # write() is all torch.save uses
    except (OSError, RuntimeError) as exc:
        # torch turns a failed write into "unexpected pos ..."; the OSError it hid says what happened.
        cause = stream.error if stream is not None and stream.error is not None else exc
        if not isinstance(cause, OSError):
            raise
        before = "the previous one is intact" if target.exists() else "nothing was written"
        raise CheckpointError(
            f"cannot save {target.name} in {str(target.parent)!r}: {describe_os_error(cause)} ({before}).",
            hint="Free some space (or raise the limit) and resume the run from its last.pt; or give the run "
            "another folder.",
        ) from None
    return target


class _RecordingWriter:
    """A write-only file for ``torch.save`` that keeps the OSError a write raised (torch hides it)."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return int(self._fh.write(data))
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self._fh.flush()


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load an evalstudio checkpoint (weights only, onto the CPU) and check its layout.

    Raises
    ------
    CheckpointError
        When the file is missing, unreadable or not written by evalstudio's trainer.
    """
    import torch

    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"checkpoint {str(p)!r} does not exist.", hint="Check the path given to --resume.")
    require_regular_file(p, "--resume", CheckpointError)
    if not p.is_file():
        raise CheckpointError(f"{str(p)!r} is a folder, not a checkpoint.", hint="Pass DIR/last.pt to --resume.")
    sniffed = file_kinds.sniff(p)
    if sniffed.kind not in (file_kinds.TORCH_ZIP, file_kinds.TORCH_LEGACY):
        raise CheckpointError(
            f"{str(p)!r} is {sniffed.description}, not an evalstudio training checkpoint.",
            hint="Resume needs a file written by `evalstudio train` (best.pt, last.pt or epoch_N.pt).",
        )
    check_archive_sizes(p)
    # What unpickling would run, found without running it: an evalstudio checkpoint never needs
    # more than tensors and plain values, so say so in our words (never torch's weights_only=False advice).
    unsafe = sorted(find_unsafe_globals(p))
    if unsafe:
        shown = ", ".join(unsafe[:8]) + (f", ... ({len(unsafe) - 8} more)" if len(unsafe) > 8 else "")
        raise CheckpointError(
            f"{str(p)!r} needs arbitrary unpickling, which could run code (it names {shown}); nothing from it "
            "was run, and an evalstudio training checkpoint never needs it.",
            hint="Resume needs a file written by `evalstudio train` (best.pt, last.pt or epoch_N.pt); "
            "use --checkpoint to start from other weights.",
        )
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file; all mean the same to a user
        newer = newer_torch_message(p, exc)
        if newer is not None:
            raise CheckpointError(newer[0], hint=newer[1]) from None
        text = strip_ansi(str(exc)).strip()
        if isinstance(exc, pickle.UnpicklingError):
            text = "it holds objects other than tensors and plain values"
        raise CheckpointError(
            f"cannot read checkpoint {str(p)!r} as weights only ({type(exc).__name__}: "
            f"{text.splitlines()[0] if text else 'no details'}).",
            hint="Resume needs a checkpoint written by `evalstudio train` (best.pt, last.pt or epoch_N.pt).",
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(
            f"{str(p)!r} is not an evalstudio training checkpoint (no \"format\": \"{FORMAT}\" entry).",
            hint="Resume needs a file written by `evalstudio train`; use --checkpoint to start from other weights.",
        )
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise CheckpointError(
            f"checkpoint {str(p)!r} lacks {', '.join(missing)}.",
            hint="It may come from an older evalstudio; start a new run or use it with --checkpoint.",
        )
    return upgrade(ckpt, repr(str(p)))


def capture_rng(generator: "torch.Generator") -> dict[str, Any]:
    """Every random state the loop uses, as tensors: torch's CPU RNG, the batch-order generator,
    and each CUDA device's RNG (dropout on the GPU draws from those)."""
    import torch

    state: dict[str, Any] = {"torch": torch.get_rng_state(), "generator": generator.get_state()}
    state["cuda"] = list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else []
    return state


def restore_rng(state: dict[str, Any], generator: "torch.Generator") -> None:
    """Undo :func:`capture_rng` (CUDA states only where this machine has those devices)."""
    import torch

    torch.set_rng_state(state["torch"])
    generator.set_state(state["generator"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def cpu_state_dict(module: "torch.nn.Module") -> dict[str, "torch.Tensor"]:
    """The module's state dict copied to the CPU (a checkpoint must load on any machine)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
