"""Verify an analysis against what PyTorch itself measures on a built module.

One forward pass runs with a forward hook on every layer module and inside
``torch.utils.flop_counter.FlopCounterMode``. Per layer and in total it compares:

- output shape: the hook's tensor shape (batch axis dropped) against the analysis;
- params and buffers: ``numel`` of the layer module's parameters and buffers (recursively,
  so a fused activation or padding inside the layer is included);
- FLOPs: FlopCounterMode's count attributed to the layer's module path. archviz's ``flops``
  is 2 x MACs of convolution and dense layers, which is exactly what FlopCounterMode counts
  for ``aten.convolution`` and ``aten.addmm``/``mm``. A layer whose module ran no op that
  FlopCounterMode counts (pooling, activations, batch norm, LRN, merges...) is "not checked",
  never "ok": PyTorch simply measured nothing there. The total still compares every FLOP.

>>> import archviz, archviz.torch
>>> archviz.torch.verify(archviz.load("vgg16"), device="meta").ok
True
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from archviz.backends.pytorch.build import SpecModule, instantiate
from archviz.backends.pytorch.memory import check_fits
from archviz.backends.pytorch.options import Device, DType, check_device
from archviz.backends.pytorch.records import Check, LayerCheck, Status, Verification

if TYPE_CHECKING:
    from archviz.analysis import Analysis, LayerRecord
    from archviz.network import Network


def verify(network: Network | str, input_shape: Sequence[int] | None = None, batch: int = 1,
           device: Device | str = Device.meta, dtype: DType | str = DType.fp32, *, force: bool = False) -> Verification:
    """Build ``network`` on ``device``, run one forward pass and compare every layer with the analysis.

    On the CPU, a run that would need more memory than is available raises BackendError before
    anything is allocated, unless ``force`` (archviz/backends/pytorch/memory.py).
    """
    chosen = check_device(device)
    precision = DType(dtype)
    if isinstance(network, str):
        from archviz.network import load

        network = load(network)
    if input_shape is not None:  # a spec whose expressions read shapes expands for its input
        network = network.for_input(input_shape)
    analysis = network.analyze(input_shape, batch)
    check_fits(analysis, chosen, precision, force=force)
    started = time.perf_counter()
    model = instantiate(network, analysis, _torch_device(chosen), precision.torch_name)
    built = time.perf_counter()
    shapes, flops, output = measure(model, analysis, _torch_device(chosen), precision.torch_name)
    if chosen is Device.cuda:
        torch.cuda.synchronize()
    ran = time.perf_counter()
    return compare(analysis, model, shapes, flops, output, device=chosen.value, dtype=precision.value,
                   build_seconds=built - started, forward_seconds=ran - built)


def _torch_device(device: Device) -> str:
    return device.value


def make_input(analysis: Analysis, device: str, dtype: str, channels_last: bool = False) -> torch.Tensor:
    """A random batch for the analysed input shape (an empty one on the meta device)."""
    shape = (analysis.batch, *analysis.input_shape)
    kind = getattr(torch, dtype)
    if device == "meta":
        return torch.empty(shape, device=device, dtype=kind)
    generator = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(shape, generator=generator, dtype=torch.float32).to(device=device, dtype=kind)
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def measure(model: SpecModule, analysis: Analysis, device: str, dtype: str
            ) -> tuple[dict[str, tuple[int, ...]], dict[str, int | None], torch.Tensor | tuple[torch.Tensor, ...]]:
    """One forward pass: each layer's output shape (with batch) and counted FLOPs (None: nothing counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, module in model.layer_modules().items():
        handles.append(module.register_forward_hook(_shape_hook(shapes, name)))
    x = make_input(analysis, device, dtype)
    try:
        with warnings.catch_warnings():
            # Newer torch finds the module hierarchy itself and warns that ``mods`` is not needed;
            # torch 2.1/2.2 need it to attribute FLOPs to modules.
            warnings.simplefilter("ignore")
            counter = FlopCounterMode(model, display=False)
        with torch.no_grad(), counter:
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    counts = counter.get_flop_counts()
    root = type(model).__name__
    flops: dict[str, int | None] = {}
    for name, path in model.module_names.items():
        per_op = counts.get(f"{root}.{path}")
        flops[name] = None if per_op is None else int(sum(per_op.values()))
    flops["total"] = int(sum(counts.get("Global", {}).values()))
    return shapes, flops, output


def _shape_hook(shapes: dict[str, tuple[int, ...]], name: str) -> Any:
    def hook(module: nn.Module, inputs: Any, output: Any) -> None:
        shapes[name] = tuple(output.shape) if isinstance(output, torch.Tensor) else ()

    return hook


def compare(analysis: Analysis, model: SpecModule, shapes: dict[str, tuple[int, ...]],
            flops: dict[str, int | None], output: torch.Tensor | tuple[torch.Tensor, ...], *, device: str, dtype: str,
            build_seconds: float = 0.0, forward_seconds: float = 0.0) -> Verification:
    """Turn measurements into one Check per layer and quantity, plus the totals."""
    modules = model.layer_modules()
    layers = []
    for record in analysis.layers:
        module = modules[record.name]
        layers.append(LayerCheck(
            name=record.name,
            op=record.op,
            module=model.module_names[record.name],
            checks=(
                _shape_check(record.output_shape, shapes.get(record.name), analysis.batch),
                _count_check("params", record.params, sum(p.numel() for p in module.parameters())),
                _count_check("buffers", record.buffers, sum(b.numel() for b in module.buffers())),
                _flops_check(record, flops.get(record.name)),
            ),
        ))
    totals = (
        # several outputs: the module returns them in order, and the totals' shape is the first's
        _shape_check(analysis.totals.output_shape, tuple((output[0] if isinstance(output, tuple) else output).shape),
                     analysis.batch),
        _count_check("params", analysis.totals.params, sum(p.numel() for p in model.parameters())),
        _count_check("buffers", analysis.totals.buffers, sum(b.numel() for b in model.buffers())),
        _count_check("flops", analysis.totals.flops, flops["total"] or 0),
    )
    return Verification(
        spec=analysis.name,
        input_shape=tuple(analysis.input_shape),
        batch=analysis.batch,
        device=device,
        dtype=dtype,
        torch_version=torch.__version__,
        layers=tuple(layers),
        totals=totals,
        build_seconds=build_seconds,
        forward_seconds=forward_seconds,
    )


def _shape_check(expected: tuple[int, ...], measured: tuple[int, ...] | None, batch: int) -> Check:
    if measured is None:
        return Check("output_shape", tuple(expected), None, Status.mismatch, "the layer did not run")
    per_sample = tuple(measured[1:])
    if measured[:1] != (batch,):
        return Check("output_shape", tuple(expected), per_sample, Status.mismatch,
                     f"batch axis is {measured[:1]}, expected {batch}")
    status = Status.ok if per_sample == tuple(expected) else Status.mismatch
    return Check("output_shape", tuple(expected), per_sample, status)


def _count_check(quantity: str, expected: int, measured: int) -> Check:
    if expected == measured:
        return Check(quantity, expected, measured, Status.ok, "both zero" if expected == 0 else "")
    return Check(quantity, expected, measured, Status.mismatch)


def _flops_check(record: LayerRecord, measured: int | None) -> Check:
    if measured is None:
        # FlopCounterMode registered no op it counts in this layer: it measured nothing here.
        return Check("flops", record.flops, None, Status.not_checked, "FlopCounterMode does not count this op")
    return _count_check("flops", record.flops, measured)
