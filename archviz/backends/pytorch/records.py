"""Plain results of verifying and benchmarking a network with PyTorch (no torch needed to read them).

Verification compares, per layer and in total, what archviz computed (``expected``) with what
PyTorch measured (``measured``). Each comparison is one ``Check`` with a status:

- ``ok``: both agree (``note`` says "both zero" where that is the agreement);
- ``mismatch``: they differ, the network does not verify;
- ``not checked``: PyTorch does not measure the quantity for this layer (e.g. FLOPs of LRN,
  pooling or batch norm, which ``FlopCounterMode`` does not count). Never shown as agreeing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

QUANTITIES = ("output_shape", "params", "buffers", "flops")


class Status(str, Enum):
    ok = "ok"
    mismatch = "mismatch"
    not_checked = "not checked"


@dataclass(frozen=True)
class Check:
    """One quantity compared: archviz's number against PyTorch's."""

    quantity: str
    expected: Any
    measured: Any
    status: Status
    note: str = ""


@dataclass(frozen=True)
class LayerCheck:
    """Every quantity of one layer. ``module`` is the layer's path inside the built module."""

    name: str
    op: str
    module: str
    checks: tuple[Check, ...]

    def check(self, quantity: str) -> Check:
        for item in self.checks:
            if item.quantity == quantity:
                return item
        raise KeyError(quantity)

    @property
    def ok(self) -> bool:
        return all(item.status is not Status.mismatch for item in self.checks)


@dataclass(frozen=True)
class Verification:
    """A whole network verified on one device, with the time each stage took."""

    spec: str
    input_shape: tuple[int, ...]
    batch: int
    device: str
    dtype: str
    torch_version: str
    layers: tuple[LayerCheck, ...]
    totals: tuple[Check, ...]
    build_seconds: float
    forward_seconds: float
    framework: str = "PyTorch"  # what measured: PyTorch, ONNX Runtime or Keras
    framework_version: str = ""  # its version, where not torch's (torch_version then says torch's, or "")

    @property
    def measured_by(self) -> str:
        """'torch 2.13.0', 'onnxruntime 1.22.0', 'keras 3.10.0 (torch backend)'."""
        return self.framework_version or f"torch {self.torch_version}"

    @property
    def ok(self) -> bool:
        return all(layer.ok for layer in self.layers) and all(c.status is not Status.mismatch for c in self.totals)

    def mismatches(self) -> list[tuple[str, Check]]:
        """(layer name or 'total', check) for every disagreement."""
        found = [(layer.name, c) for layer in self.layers for c in layer.checks if c.status is Status.mismatch]
        found += [("total", c) for c in self.totals if c.status is Status.mismatch]
        return found

    def counts(self) -> dict[str, int]:
        """How many checks ended in each status (layers and totals together)."""
        result = {status.value: 0 for status in Status}
        for check in [c for layer in self.layers for c in layer.checks] + list(self.totals):
            result[check.status.value] += 1
        return result

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["counts"] = self.counts()
        return _plain(data)


@dataclass(frozen=True)
class Peak:
    """A device's advertised peak for one precision (dense, no sparsity)."""

    device: str
    precision: str
    flops_per_second: float
    source: str


@dataclass(frozen=True)
class LayerTiming:
    """One layer's median time per forward pass (measured with hooks around the layer)."""

    name: str
    op: str
    seconds: float
    flops: int
    flops_per_second: float | None
    share_of_time: float
    share_of_peak: float | None


@dataclass(frozen=True)
class Benchmark:
    """Measured speed of whole forward passes and of each layer at one batch, dtype and layout.

    ``seconds`` is the median of ``iterations`` timed whole passes (no hooks) after ``warmup``
    untimed ones; ``flops`` is archviz's count (2 x MACs of conv and dense) for the batch.
    """

    spec: str
    input_shape: tuple[int, ...]
    batch: int
    device: str
    device_name: str
    dtype: str
    channels_last: bool
    warmup: int
    iterations: int
    seconds: float
    seconds_min: float
    seconds_mean: float
    images_per_second: float
    flops: int
    flops_per_second: float
    peak: Peak | None
    share_of_peak: float | None
    layers: tuple[LayerTiming, ...]
    layer_seconds_sum: float
    torch_version: str
    threads: int | None
    timer: str

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    """JSON-ready: enums to their values, tuples to lists."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
