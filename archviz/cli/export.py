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
)


class Target(str, Enum):
    pytorch = "pytorch"


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
    """Print readable, standalone PyTorch source for the spec (needs no archviz, and no torch to generate).

    Padding is resolved for the input size (the spec's, or --input).

    Examples:

      archviz export vgg16 --to pytorch > vgg16.py

      archviz export resnet18 --to pytorch --input 3x64x64 --class-name ResNet18 -o resnet18.py
    """
    from archviz.backends.pytorch.source import to_source

    network = load_network(spec, set_, until)
    emit(to_source(network, parse_input(input, network.input_shape), class_name), out)


def register(app: typer.Typer) -> None:
    app.command("export")(clean_errors(export))
