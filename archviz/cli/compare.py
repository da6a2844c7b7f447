"""archviz compare: networks side by side (the paper's Tables 1 and 2, compute, memory)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from archviz.cli.common import (
    BatchOption,
    Dtype,
    DtypeOption,
    InputOption,
    SetOption,
    WidthOption,
    clean_errors,
    parse_input,
    parse_sets,
    print_warnings,
)

VGG_FAMILY = ("vgg11", "vgg11-lrn", "vgg13", "vgg16-c", "vgg16", "vgg19")


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def compare(
    specs: Annotated[list[str] | None, typer.Argument(help="Spec files or built-in names (default: the paper's "
                                                      "six configurations A, A-LRN, B, C, D, E).",
                                                      show_default=False)] = None,
    input: InputOption = None,
    batch: BatchOption = 1,
    set_: SetOption = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    dtype: DtypeOption = Dtype.float32,
    width: WidthOption = None,
) -> None:
    """Compare networks side by side: layout in the paper's notation (Table 1), parameters in
    millions (Table 2), exact params, MACs, memory, and where parameters and compute sit.

    Examples:

      archviz compare                                # the paper's Table 1 and Table 2

      archviz compare vgg16 vgg16-bn resnet18 --format markdown

      archviz compare vgg16 resnet50 --input 512 --batch 32 --dtype bfloat16
    """
    from archviz.comparison import compare as build
    from archviz.network import load
    from archviz.render import compare as render

    analyses = []
    overrides = parse_sets(set_)
    for name in specs or VGG_FAMILY:
        network = print_warnings(load(name))
        known = {k: v for k, v in overrides.items() if k in network.variables}
        if known:
            network = network.with_variables(**known)
        analyses.append(network.analyze(parse_input(input, network.input_shape), batch, dtype.value))
    columns = build(analyses)
    if format is Format.json:
        sys.stdout.write(render.compare_json(columns))
    elif format is Format.csv:
        sys.stdout.write(render.compare_csv(columns))
    elif format is Format.markdown:
        sys.stdout.write(render.compare_markdown(columns))
    else:
        sys.stdout.write(render.render_compare(columns, width))


def register(app: typer.Typer) -> None:
    app.command("compare")(clean_errors(compare))
