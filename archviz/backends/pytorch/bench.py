"""Benchmark a built network: whole forward passes and each layer, on the CPU or a CUDA GPU.

Method: build on the device (PyTorch's default initialisation, random input), run ``warmup``
untimed passes (cuDNN picks its algorithms then: ``torch.backends.cudnn.benchmark`` is on), then
time ``iterations`` whole passes without hooks and report their median. Per-layer times come from
another ``iterations`` passes with a pre- and post-forward hook on every layer module: CUDA events
recorded on the stream on a GPU (no synchronisation inside the pass), ``time.perf_counter`` on the
CPU, where every op is synchronous. Hooks cost a little, so the layers' times add up to a bit more
than a whole pass; both are reported.

Achieved FLOP/s = archviz's FLOPs (2 x MACs of conv and dense layers at the batch) / measured time.
The share of the device's peak is given where ``peaks.py`` knows the device, or ``peak_tflops``.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from archviz.backends.pytorch.build import SpecModule, instantiate
from archviz.backends.pytorch.memory import check_fits
from archviz.backends.pytorch.options import Device, DType, check_device
from archviz.backends.pytorch.peaks import find_peak, given_peak
from archviz.backends.pytorch.records import Benchmark, LayerTiming, Peak
from archviz.backends.pytorch.verify import make_input

if TYPE_CHECKING:
    from archviz.analysis import Analysis
    from archviz.network import Network

# progress(stage, done, total): called as passes finish, for a progress bar the caller draws.
Progress = Callable[[str, int, int], None]


def benchmark(network: Network | str, input_shape: Sequence[int] | None = None, batch: int = 1,
              device: Device | str = Device.cpu, dtype: DType | str = DType.fp32, *,
              channels_last: bool = False, warmup: int = 3, iterations: int = 10,
              peak_tflops: float | None = None, progress: Progress | None = None, force: bool = False) -> Benchmark:
    """Time ``iterations`` forward passes of ``network`` (and of each layer) after ``warmup`` ones.

    >>> import archviz, archviz.torch
    >>> result = archviz.torch.benchmark(archviz.load("vgg11"), (3, 32, 32), batch=2, iterations=2)
    >>> result.images_per_second > 0
    True
    """
    chosen = check_device(device, benchmark=True)
    precision = DType(dtype)
    if warmup < 0 or iterations < 1:
        from archviz.backends.pytorch.options import BackendError

        raise BackendError(f"warmup must be >= 0 and iterations >= 1. Received: warmup={warmup}, "
                           f"iterations={iterations}")
    if isinstance(network, str):
        from archviz.network import load

        network = load(network)
    if input_shape is not None:  # a spec whose expressions read shapes expands for its input
        network = network.for_input(input_shape)
    analysis = network.analyze(input_shape, batch)
    check_fits(analysis, chosen, precision, force=force, what="benchmark --device cpu")  # before any allocation
    report = progress or (lambda stage, done, total: None)
    cudnn_benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        model = instantiate(network, analysis, chosen.value, precision.torch_name)
        if channels_last:
            # torch's stubs omit memory_format, which Module.to accepts.
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        x = make_input(analysis, chosen.value, precision.torch_name, channels_last)
        timer = _CudaTimer() if chosen is Device.cuda else _CpuTimer()
        with torch.inference_mode():
            for done in range(warmup):
                model(x)
                timer.sync()
                report("warm-up", done + 1, warmup)
            passes = _time_passes(model, x, iterations, timer, report)
            layer_times = _time_layers(model, x, iterations, timer, report)
    finally:
        torch.backends.cudnn.benchmark = cudnn_benchmark
    return _result(analysis, chosen, precision, channels_last, warmup, iterations, passes, layer_times,
                   peak_tflops, timer.name)


class _CpuTimer:
    name = "time.perf_counter (CPU ops are synchronous)"

    def mark(self) -> Any:
        return time.perf_counter()

    def seconds(self, start: Any, end: Any) -> float:
        return float(end - start)

    def sync(self) -> None:
        pass


class _CudaTimer:
    name = "CUDA events on the current stream"

    def mark(self) -> Any:
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def seconds(self, start: Any, end: Any) -> float:
        return float(start.elapsed_time(end)) / 1000.0

    def sync(self) -> None:
        torch.cuda.synchronize()


def _time_passes(model: SpecModule, x: torch.Tensor, iterations: int, timer: Any, report: Progress) -> list[float]:
    marks = []
    for done in range(iterations):
        start = timer.mark()
        model(x)
        end = timer.mark()
        marks.append((start, end))
        if isinstance(timer, _CpuTimer):
            report("whole passes", done + 1, iterations)
    timer.sync()
    if not isinstance(timer, _CpuTimer):
        report("whole passes", iterations, iterations)
    return [timer.seconds(start, end) for start, end in marks]


def _time_layers(model: SpecModule, x: torch.Tensor, iterations: int, timer: Any,
                 report: Progress) -> dict[str, list[float]]:
    marks: dict[str, list[list[Any]]] = {name: [] for name in model.layer_modules()}
    handles = []
    for name, module in model.layer_modules().items():
        def before(module: Any, inputs: Any, name: str = name) -> None:
            marks[name].append([timer.mark()])

        def after(module: Any, inputs: Any, output: Any, name: str = name) -> None:
            marks[name][-1].append(timer.mark())

        handles.append(module.register_forward_pre_hook(before))
        handles.append(module.register_forward_hook(after))
    try:
        for done in range(iterations):
            model(x)
            timer.sync()
            report("layer by layer", done + 1, iterations)
    finally:
        for handle in handles:
            handle.remove()
    return {name: [timer.seconds(start, end) for start, end in pairs] for name, pairs in marks.items()}


def _precision(device: Device, dtype: DType) -> str:
    if device is Device.cuda and dtype is DType.fp32 and torch.backends.cudnn.allow_tf32:
        return "tf32"
    return dtype.value


def device_name(device: Device) -> str:
    """The GPU's name, or the CPU's model name."""
    if device is Device.cuda:
        return str(torch.cuda.get_device_name())
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def _result(analysis: Analysis, device: Device, dtype: DType, channels_last: bool, warmup: int, iterations: int,
            passes: list[float], layer_times: dict[str, list[float]], peak_tflops: float | None,
            timer: str) -> Benchmark:
    name = device_name(device)
    precision = _precision(device, dtype)
    peak: Peak | None = (given_peak(name, precision, peak_tflops) if peak_tflops is not None
                         else find_peak(name, precision) if device is Device.cuda else None)
    medians = {layer: statistics.median(times) for layer, times in layer_times.items() if times}
    layer_sum = sum(medians.values())
    layers = []
    for record in analysis.layers:
        seconds = medians.get(record.name, 0.0)
        rate = record.flops / seconds if record.flops and seconds > 0 else None
        layers.append(LayerTiming(
            name=record.name,
            op=record.op,
            seconds=seconds,
            flops=record.flops,
            flops_per_second=rate,
            share_of_time=seconds / layer_sum if layer_sum > 0 else 0.0,
            share_of_peak=rate / peak.flops_per_second if rate is not None and peak is not None else None,
        ))
    seconds = statistics.median(passes)
    rate = analysis.totals.flops / seconds
    return Benchmark(
        spec=analysis.name,
        input_shape=tuple(analysis.input_shape),
        batch=analysis.batch,
        device=device.value,
        device_name=name,
        dtype=dtype.value,
        channels_last=channels_last,
        warmup=warmup,
        iterations=iterations,
        seconds=seconds,
        seconds_min=min(passes),
        seconds_mean=statistics.fmean(passes),
        images_per_second=analysis.batch / seconds,
        flops=analysis.totals.flops,
        flops_per_second=rate,
        peak=peak,
        share_of_peak=rate / peak.flops_per_second if peak is not None else None,
        layers=tuple(layers),
        layer_seconds_sum=layer_sum,
        torch_version=torch.__version__,
        threads=torch.get_num_threads() if device is Device.cpu else None,
        timer=timer,
    )
