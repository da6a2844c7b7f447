"""archviz chart: per-layer params, MACs and memory, or several networks compared (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archviz.cli.common import (
    BatchOption,
    InputOption,
    SetOption,
    analyze,
    clean_errors,
    parse_input,
    parse_sets,
    print_warnings,
    write_output,
)
from archviz.errors import ArchvizError
from archviz.render.charts import Kind
from archviz.render.theme import ThemeName as Theme

VGG_FAMILY = ("vgg11", "vgg11-lrn", "vgg13", "vgg16-c", "vgg16", "vgg19")
FORMATS = ("svg", "png", "pdf")


def chart(
    specs: Annotated[list[str] | None, typer.Argument(
        help="Spec files or built-in names. Default: vgg16, or for --kind compare the paper's six "
        "configurations (A, A-LRN, B, C, D, E).", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .svg, .png or .pdf.",
                                      show_default=False)] = ...,  # type: ignore[assignment]
    kind: Annotated[Kind | None, typer.Option(
        "--kind", "-k", help="cost: params and MACs per layer side by side; params; macs; memory: activation "
        "memory per layer; compare: params against MACs, one point per network. Default: cost for one spec, "
        "compare for several.", show_default=False)] = None,
    input: InputOption = None,
    batch: BatchOption = 1,
    set_: SetOption = None,
    theme: Annotated[Theme, typer.Option("--theme", help="Colour theme.")] = Theme.light,
) -> None:
    """Charts: where the parameters and the compute sit, activation memory, variants compared.

    Examples:

      archviz chart --out vgg16-cost.svg

      archviz chart vgg19-bn --kind memory --out memory.png

      archviz chart vgg11 vgg13 vgg16 vgg19 resnet18 --out compare.svg
    """
    from archviz.render.charts import render_chart

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ArchvizError(f"charts are written as .svg, .png or .pdf files. Received: --out {out}",
                           hint=f"e.g. --out {out.stem or 'chart'}.svg")
    chosen = kind or (Kind.compare if specs and len(specs) > 1 else Kind.cost)
    if chosen is Kind.compare:
        analyses = _analyses(specs or list(VGG_FAMILY), input, batch, set_)
    else:
        if specs and len(specs) > 1:
            raise ArchvizError(f"the {chosen.value} chart draws one network. Received: {len(specs)} specs",
                               hint="give one spec, or use --kind compare for several")
        _, analysis = analyze(specs[0] if specs else None, input, batch, set_)
        analyses = [analysis]
    write_output(out, render_chart(analyses, chosen.value, fmt, theme.value))


def _analyses(specs: list[str], input: str | None, batch: int, sets: list[str] | None) -> list:  # type: ignore[type-arg]
    from archviz.network import load

    overrides = parse_sets(sets)
    found = []
    for name in specs:
        network = print_warnings(load(name))
        # An override applies to the networks that have that variable (num_classes, width, ...).
        known = {key: value for key, value in overrides.items() if key in network.variables}
        if known:
            network = network.with_variables(**known)
        found.append(network.analyze(parse_input(input, network.input_shape), batch))
    return found


def register(app: typer.Typer) -> None:
    app.command("chart")(clean_errors(chart))
