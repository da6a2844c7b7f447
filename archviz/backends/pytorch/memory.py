"""What a run on the CPU will allocate, known from the analysis before torch allocates anything.

A verification or benchmark on ``--device cpu`` materialises every weight and runs a forward
pass: a spec whose weights or activations need 120 GB ended in ``DefaultCPUAllocator: can't
allocate memory`` (or the kernel's OOM killer) after minutes of work. The estimate is

- weights: every parameter and buffer at the run's dtype;
- the input batch (twice where the dtype is not float32: it is drawn in float32, then converted);
- activations: the most layer outputs alive at once in a forward pass without gradients, where
  an output is freed after the last layer that reads it (the network's outputs stay to the end),
  plus one more buffer the size of the largest output: oneDNN's convolutions reorder into one
  (VGG16 at batch 300: 12.3 GB estimated this way, 12.6 GB peak RSS measured, about 0.24 GB of it
  Python and torch themselves; 8.4 GB without the workspace).

The allocator's own overhead comes on top. It is compared with the memory this process can still
get: ``MemAvailable`` in /proc/meminfo (or ``os.sysconf``), and the cgroup's limit where the
process runs in one (a container's limit is not in /proc/meminfo).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from archviz.analysis import BYTES_PER_VALUE
from archviz.backends.pytorch.options import BackendError, Device, DType

if TYPE_CHECKING:
    from archviz.analysis import Analysis

WARN_BYTES = 2 * 1024**3  # a run this large says so on stderr before it starts
CGROUP_V2 = Path("/sys/fs/cgroup")
CGROUP_V1 = Path("/sys/fs/cgroup/memory")


class MemoryNeed(NamedTuple):
    """Bytes a forward pass on a real device allocates, by kind."""

    weights: int
    inputs: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.inputs + self.activations


def estimate(analysis: Analysis, dtype: DType | str = DType.fp32) -> MemoryNeed:
    """The bytes of weights, input and peak live activations of one forward pass of ``analysis``."""
    value = BYTES_PER_VALUE[DType(dtype).torch_name]
    totals = analysis.totals
    input_elements = analysis.batch
    for size in analysis.input_shape:
        input_elements *= size
    inputs = input_elements * value + (input_elements * BYTES_PER_VALUE["float32"] if value != 4 else 0)
    last_reader: dict[str, int] = {}
    for index, record in enumerate(analysis.layers):
        for source in record.inputs:
            last_reader[source] = index
    live = peak = largest = 0
    freed_at: dict[int, list[int]] = {}
    for index, record in enumerate(analysis.layers):
        size = record.output_elements * value
        largest = max(largest, size)
        live += size
        peak = max(peak, live)
        # unread outputs are the network's: returned, so alive to the end
        freed_at.setdefault(last_reader.get(record.name, len(analysis.layers)), []).append(size)
        live -= sum(freed_at.pop(index, ()))
    return MemoryNeed((totals.params + totals.buffers) * value, inputs, peak + largest)


def available_bytes() -> int | None:
    """The memory this process can still allocate, or None where the system does not say."""
    candidates = [amount for amount in (_meminfo_available(), _cgroup_room()) if amount is not None]
    return min(candidates) if candidates else None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _cgroup_room() -> int | None:
    """The cgroup's limit less what it uses now (v2, else v1), or None without a limit."""
    for limit_file, usage_file in ((CGROUP_V2 / "memory.max", CGROUP_V2 / "memory.current"),
                                   (CGROUP_V1 / "memory.limit_in_bytes", CGROUP_V1 / "memory.usage_in_bytes")):
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and usage is not None and limit < 2**60:  # v1 says "no limit" with a huge number
            return max(limit - usage, 0)
    return None


def describe(amount: int) -> str:
    """Bytes as GB/MB with one decimal (powers of 1000, like the summary's memory columns)."""
    return f"{amount / 1e9:,.1f} GB" if amount >= 1e9 else f"{amount / 1e6:,.1f} MB"


def check_fits(analysis: Analysis, device: Device | str, dtype: DType | str, *, force: bool = False,
               what: str = "verify --device cpu") -> MemoryNeed | None:
    """Refuse a CPU run that would need more memory than is available (unless ``force``); the need.

    Only the CPU is checked: the meta device allocates nothing, and CUDA reports its own
    out-of-memory error without harming the machine.
    """
    if Device(device) is not Device.cpu:
        return None
    need = estimate(analysis, dtype)
    available = available_bytes()
    if force or available is None or need.total <= available:
        return need
    raise BackendError(
        f"{what} would allocate about {describe(need.total)} (weights {describe(need.weights)}, "
        f"input {describe(need.inputs)}, activations {describe(need.activations)}); this machine "
        f"has {describe(available)} available",
        hint="use --device meta (shapes and counts without memory), a smaller --input or --batch, "
             "or --force to try anyway")
