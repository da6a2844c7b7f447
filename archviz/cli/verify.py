"""archviz verify: build the spec in PyTorch and check the analysis against PyTorch's own counts."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from archviz.backends.pytorch.options import Device, DType
from archviz.cli.common import (
    BatchOption,
    InputOption,
    SetOption,
    SpecArgument,
    UntilOption,
    canonical_dtype,
    check_width,
    clean_errors,
    emit,
    load_network,
    parse_input,
)
from archviz.cli.shared import MAX_WIDTH, MIN_WIDTH

if TYPE_CHECKING:
    from archviz.backends.pytorch.bench import Progress
    from archviz.backends.pytorch.records import Benchmark, Verification
    from archviz.network import Network


# Building and running a module costs the frameworks milliseconds a layer (PyTorch on meta: about
# 5-15 ms with FlopCounterMode and the hooks), so verification stops at 1,000 layers (ResNet-152: 500).
MAX_VERIFY_LAYERS = 1_000


def check_layer_count(network: Network) -> None:
    """Refuse to verify a network the frameworks would take minutes to build and run (exit 2)."""
    from archviz.errors import SpecError
    from archviz.spec.expand import MAX_LAYERS

    if len(network.layers) > MAX_VERIFY_LAYERS:
        raise SpecError(f"verify builds and runs every layer in the framework, which takes milliseconds a layer; "
                        f"it stops at {MAX_VERIFY_LAYERS:,} layers. Received: {len(network.layers):,} layers",
                        hint=f"the analysis itself (summary, conventions, compare) handles up to {MAX_LAYERS:,} layers")


class Backend(str, Enum):
    pytorch = "pytorch"
    onnxruntime = "onnxruntime"
    keras = "keras"


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"


def _parse_precision(text: str | DType) -> DType:
    if isinstance(text, DType):
        return text
    short = {"float32": DType.fp32, "bfloat16": DType.bf16, "float16": DType.fp16}
    return short[canonical_dtype(text, tuple(short))]


def verify(
    spec: SpecArgument = None,
    input: InputOption = None,
    batch: BatchOption = 1,
    set_: SetOption = None,
    until: UntilOption = None,
    backend: Annotated[Backend, typer.Option("--backend", help="What builds and runs the spec: PyTorch, ONNX "
                                             "Runtime (the ONNX export) or Keras 3 (the Keras export).")] = Backend.pytorch,
    device: Annotated[Device, typer.Option("--device", "-d", help="meta: shapes and counts only, no memory for "
                                           "weights; cpu or cuda: real weights and a real forward pass.")] = Device.meta,
    dtype: Annotated[DType, typer.Option("--dtype", parser=_parse_precision, metavar="<fp32|bf16|fp16>",
                                         help="Weights and activations type (float32, bfloat16, float16 are the "
                                         "same).")] = DType.fp32,
    benchmark: Annotated[bool, typer.Option("--benchmark", help="Also time whole forward passes and each layer "
                                            "(cpu or cuda).")] = False,
    channels_last: Annotated[bool, typer.Option("--channels-last", help="Benchmark in channels_last memory "
                                                "format.")] = False,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Untimed passes before timing.")] = 3,
    iterations: Annotated[int, typer.Option("--iterations", "-n", min=1, help="Timed passes (the median is "
                                            "reported), for whole passes and again for the layers.")] = 10,
    peak_tflops: Annotated[float | None, typer.Option("--peak-tflops", min=0.001, help="The device's peak in "
                          "TFLOP/s, for devices archviz does not know (every CPU).", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to a file instead of stdout.",
                                             show_default=False)] = None,
    width: Annotated[int | None, typer.Option("--width", callback=check_width, help=f"Table width in characters ({MIN_WIDTH}-{MAX_WIDTH}).",
                                              show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Run on the CPU even when the weights and activations "
                                        "need more memory than is available.")] = False,
) -> None:
    """Build the spec as a PyTorch module, run it and compare shapes, params, buffers and FLOPs per layer.

    Exit code 0 when every measured quantity agrees, 1 on any mismatch, 2 for bad input.
    Needs torch: pip install 'archviz[torch]'.

    Examples:

      archviz verify vgg16

      archviz verify resnet18 --device cpu --input 3x64x64

      archviz verify vgg16 --device cpu --benchmark --batch 8

      archviz verify vgg19 --device cuda --benchmark --batch 64 --dtype bf16 --channels-last
    """
    from archviz.backends.pytorch.options import BackendError, check_device, require_torch

    if backend is not Backend.pytorch:
        if benchmark or device is not Device.meta:
            raise BackendError(f"--device and --benchmark belong to the PyTorch backend. Received: --backend {backend.value}",
                               hint="the ONNX Runtime and Keras backends run once on the CPU")
        _verify_elsewhere(backend, spec, set_, until, input, batch, format, out, width, force)
        return

    require_torch()
    check_device(device, benchmark=benchmark)
    if (channels_last or peak_tflops is not None) and not benchmark:
        raise BackendError("--channels-last and --peak-tflops only apply to a benchmark", hint="add --benchmark")
    from archviz.backends.pytorch.verify import verify as run_verify

    network = load_network(spec, set_, until)
    check_layer_count(network)
    shape = parse_input(input, network.input_shape)
    _check_memory(network, shape, batch, device, dtype, force)
    result = run_verify(network, shape, batch, device, dtype, force=True)  # checked just above
    measured = None
    if benchmark:
        from archviz.backends.pytorch.bench import benchmark as run_benchmark

        with _progress_bar() as progress:
            measured = run_benchmark(network, shape, batch, device, dtype, channels_last=channels_last,
                                     warmup=warmup, iterations=iterations, peak_tflops=peak_tflops,
                                     progress=progress, force=True)
    _emit(result, measured, format, out, width)


def _emit(result: Verification, measured: Benchmark | None, format: Format, out: Path | None,
          width: int | None) -> None:
    """Print the verification (and benchmark) in the format asked for; exit 0 when it verified, else 1."""
    from archviz.render import verify as render

    if format is Format.json:
        emit(render.render_json(result, measured), out)
    elif format is Format.markdown:
        emit(render.render_markdown(result, measured), out)
    else:
        emit(render.render_text(result, measured, width=width, color=False if out is not None else None), out)
    raise typer.Exit(0 if result.ok else 1)


def _check_memory(network: Network, shape: tuple[int, ...] | None, batch: int, device: Device, dtype: DType,
                  force: bool, what: str = "verify --device cpu") -> None:
    """Refuse a CPU run the machine cannot hold (exit 2), and say so before a large one starts."""
    import sys

    from archviz.backends.pytorch.memory import WARN_BYTES, available_bytes, check_fits, describe

    need = check_fits(network.analyze(shape, batch), device, dtype, force=force, what=what)
    if need is not None and need.total >= WARN_BYTES:
        available = available_bytes()
        room = f"; {describe(available)} available" if available is not None else ""
        sys.stderr.write(f"warning: --device cpu allocates about {describe(need.total)} for this run{room}\n")


def _verify_elsewhere(backend: Backend, spec: str | None, sets: list[str] | None, until: str | None,
                      input: str | None, batch: int,
                      format: Format, out: Path | None, width: int | None, force: bool) -> None:
    from archviz.backends.optional import keras_backend, require

    if backend is Backend.onnxruntime:
        require("onnx", "verifying in ONNX Runtime")
        require("onnxruntime", "verifying in ONNX Runtime")
        from archviz.backends.onnx.verify import verify as run
    else:
        keras_backend()
        from archviz.backends.keras.verify import verify as run
    network = load_network(spec, sets, until)
    check_layer_count(network)
    shape = parse_input(input, network.input_shape)
    # both run real float32 weights on the CPU
    _check_memory(network, shape, batch, Device.cpu, DType.fp32, force, what=f"verify --backend {backend.value}")
    _emit(run(network, shape, batch), None, format, out, width)


class _progress_bar:
    """A rich progress bar on stderr while a benchmark runs (nothing when stderr is not a terminal)."""

    def __enter__(self) -> Progress:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=console, transient=True, disable=not console.is_terminal)
        self.bar.start()
        self.tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in self.tasks:
                self.tasks[stage] = self.bar.add_task(stage, total=total)
            self.bar.update(self.tasks[stage], completed=done)  # type: ignore[arg-type]

        return update

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def register(app: typer.Typer) -> None:
    app.command("verify")(clean_errors(verify))
