"""Checks and choices shared by the PyTorch backend that need no torch: devices, dtypes, errors.

Every user-caused problem (torch missing, CUDA absent, a benchmark on the meta device) becomes a
``BackendError`` here, before any work starts, so the CLI can exit cleanly with code 2.
"""

from __future__ import annotations

from enum import Enum

from archviz.errors import ArchvizError
from archviz.optional import MissingDependencyError, is_installed


class BackendError(ArchvizError):
    """The PyTorch backend cannot run as asked (torch missing, device unavailable, bad option)."""


class TorchMissingError(MissingDependencyError, BackendError):
    """torch is not installed: an ArchvizError for the CLI (exit 2) and an ImportError for callers."""


class Device(str, Enum):
    """Where a verification or benchmark runs. ``meta`` allocates no memory and computes nothing."""

    meta = "meta"
    cpu = "cpu"
    cuda = "cuda"


class DType(str, Enum):
    """Floating-point type of weights and activations."""

    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"

    @property
    def torch_name(self) -> str:
        return {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}[self.value]


def require_torch() -> None:
    """Raise a BackendError naming the ``torch`` extra when torch is not importable."""
    if not is_installed("torch"):
        raise TorchMissingError("torch", "the PyTorch backend")


def check_device(device: Device | str, *, benchmark: bool = False) -> Device:
    """Validate a device choice against this machine (imports torch)."""
    try:
        chosen = Device(device)
    except ValueError:
        raise BackendError(f"device must be one of meta, cpu, cuda. Received: device={device!r}") from None
    require_torch()
    import torch

    if chosen is Device.cuda and not torch.cuda.is_available():
        raise BackendError("CUDA is not available on this machine. Received: --device cuda",
                           hint="use --device cpu or --device meta, or install a CUDA build of torch")
    if benchmark and chosen is Device.meta:
        raise BackendError("the meta device computes nothing, so it cannot be benchmarked. Received: --device meta",
                           hint="add --device cpu or --device cuda")
    return chosen
