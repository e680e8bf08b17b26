"""Resolve a device name (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) with clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from evalstudio.core.errors import DeviceError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DeviceInfo:
    name: str  # "cpu", "cuda:0", "mps"
    label: str  # what a person reads, e.g. "cuda:0 - NVIDIA H100 (80 GB)"


def available_devices() -> list[DeviceInfo]:
    """CPU, every CUDA device (with name and memory) and MPS where present."""
    import torch

    devices = [DeviceInfo("cpu", "CPU")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gib = props.total_memory / 2**30
            devices.append(DeviceInfo(f"cuda:{i}", f"cuda:{i} - {props.name} ({gib:.0f} GiB)"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(DeviceInfo("mps", "MPS (Apple GPU)"))
    return devices


def resolve_device(name: str | None = "auto") -> "torch.device":
    """Turn a user's device string into a ``torch.device`` that exists on this machine."""
    import torch

    spec = (name or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda:0")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "gpu":
        spec = "cuda"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r} was requested but no CUDA GPU is available "
                "(torch.cuda.is_available() is False).",
                hint="Use --device cpu (or auto), or install a CUDA build of torch on a machine with an NVIDIA GPU.",
                hints={"app": "Choose the CPU in the Device picker, or install a CUDA build of torch on a machine "
                       "with an NVIDIA GPU."},
            )
        index = 0
        if ":" in spec:
            try:
                index = int(spec.split(":", 1)[1])
            except ValueError:
                raise DeviceError(f"device {name!r} is not a valid CUDA device name.",
                                  hint="Write cuda or cuda:N, e.g. cuda:0.") from None
        count = torch.cuda.device_count()
        if not 0 <= index < count:
            raise DeviceError(
                f"device {name!r} does not exist: this machine has {count} CUDA device(s).",
                hint=f"Use cuda:0 ... cuda:{count - 1}.",
            )
        return torch.device(f"cuda:{index}")
    if spec == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("device 'mps' was requested but Apple's MPS backend is not available here.",
                              hint="Use --device cpu or auto.",
                              hints={"app": "Choose the CPU in the Device picker."})
        return torch.device("mps")
    raise DeviceError(f"unknown device {name!r}.", hint="Use auto, cpu, cuda, cuda:N or mps.")
