"""archviz export: the spec as source for another framework (today: a standalone PyTorch module)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from archviz.cli.common import (
    InputOption,
    SetOption,
    SpecArgument,
    UntilOption,
    clean_errors,
    emit,
    load_network,
    parse_input,
    write_output,
)
from archviz.errors import SpecError


class Target(str, Enum):
    pytorch = "pytorch"
    onnx = "onnx"
    keras = "keras"


def export(
    spec: SpecArgument = None,
    to: Annotated[Target, typer.Option("--to", "-t", help="What to export to.")] = Target.pytorch,
    input: InputOption = None,
    set_: SetOption = None,
    until: UntilOption = None,
    class_name: Annotated[str | None, typer.Option("--class-name", help="Name of the generated class "
                                                   "(default: from the spec's name).", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to a file instead of stdout.",
                                             show_default=False)] = None,
) -> None:
    """Write the spec for another framework: readable PyTorch or Keras 3 source, or an ONNX model.

    PyTorch and Keras source needs no archviz to run (and no framework to generate); an ONNX model
    (opset 18, random weights, symbolic batch) needs --out and the onnx package, and passes
    onnx.checker. Padding is resolved for the input size (the spec's, or --input).

    Examples:

      archviz export vgg16 --to pytorch > vgg16.py

      archviz export resnet18 --to pytorch --input 3x64x64 --class-name ResNet18 -o resnet18.py

      archviz export vgg16 --to onnx --out vgg16.onnx

      archviz export resnet18 --to keras -o resnet18_keras.py
    """
    network = load_network(spec, set_, until)
    shape = parse_input(input, network.input_shape)
    if to is Target.onnx:
        from archviz.backends.optional import require

        require("onnx", "exporting to ONNX")
        if out is None:
            raise SpecError("an ONNX model is binary: give --out FILE.onnx", hint="e.g. --out model.onnx")
        from archviz.backends.onnx.writer import onnx_bytes

        write_output(out, onnx_bytes(network, network.analyze(shape)))
        return
    if to is Target.keras:
        from archviz.backends.keras.writer import to_keras_source

        emit(to_keras_source(network, network.analyze(shape)), out)
        return
    from archviz.backends.pytorch.source import to_source

    emit(to_source(network, shape, class_name), out)


def register(app: typer.Typer) -> None:
    app.command("export")(clean_errors(export))
