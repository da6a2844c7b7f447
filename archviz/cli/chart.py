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
from archviz.published import Metric, Source, TrainScale
from archviz.render.charts import Kind
from archviz.render.theme import ThemeName as Theme

VGG_FAMILY = ("vgg11", "vgg11-lrn", "vgg13", "vgg16-c", "vgg16", "vgg19")
FORMATS = ("svg", "png", "pdf")


def chart(
    specs: Annotated[list[str] | None, typer.Argument(
        help="Spec files or built-in names. Default: vgg16; for --kind compare the paper's six "
        "configurations (A, A-LRN, B, C, D, E); for --kind accuracy every built-in with a published number.",
        show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .svg, .png or .pdf.",
                                      show_default=False)] = ...,  # type: ignore[assignment]
    kind: Annotated[Kind | None, typer.Option(
        "--kind", "-k", help="cost: params and MACs per layer side by side; params; macs; memory: activation "
        "memory per layer; compare: params against MACs, one point per network; accuracy: published ImageNet "
        "accuracy against MACs and params, with the Pareto front. Default: cost for one spec, compare for several.",
        show_default=False)] = None,
    # None stands for "not given", so that these options given to another kind are refused
    source: Annotated[Source | None, typer.Option(
        "--source", help="accuracy: whose numbers. torchvision (default): acc@1/acc@5 of its IMAGENET1K_V1 weights; "
        "paper: the VGG paper's top-1/top-5 validation error (Tables 3 and 4), configurations A-E only.",
        show_default=False)] = None,
    metric: Annotated[Metric | None, typer.Option("--metric", help="accuracy: top1 (default) or top5.",
                                                  show_default=False)] = None,
    table: Annotated[int | None, typer.Option(
        "--table", help="accuracy --source paper: Table 3 (single test scale Q; default) or 4 (multiple test scales).",
        show_default=False)] = None,
    train_scale: Annotated[TrainScale | None, typer.Option(
        "--train-scale", help="accuracy --source paper: the training scale S, 256 (default), 384 or 256-512 "
        "(jittered, the paper's [256;512]).", show_default=False)] = None,
    accuracy: Annotated[list[str] | None, typer.Option(
        "--accuracy", help="accuracy: NAME=VALUE (repeatable), your own number for a network without a published "
        "one, in the chart's quantity (an accuracy in %, or an error for --source paper); drawn hollow.",
        show_default=False)] = None,
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

      archviz chart --kind accuracy --out accuracy.svg

      archviz chart --kind accuracy --source paper --table 4 --train-scale 256-512 --out vgg-errors.png
    """
    from archviz.render.charts import render_chart

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ArchvizError(f"charts are written as .svg, .png or .pdf files. Received: --out {out}",
                           hint=f"e.g. --out {out.stem or 'chart'}.svg")
    chosen = kind or (Kind.compare if specs and len(specs) > 1 else Kind.cost)
    if chosen is Kind.accuracy:
        from archviz.published import accuracy_chart, default_specs
        from archviz.render.accuracy_chart import render_accuracy

        own = _own_numbers(accuracy or [])
        chosen_source, chosen_metric = source or Source.torchvision, metric or Metric.top1
        chosen_table, chosen_scale = table or 3, train_scale or TrainScale.s256
        names = specs or default_specs(chosen_source, chosen_metric, chosen_table, chosen_scale)
        data = accuracy_chart(_analyses(names, input, batch, set_), chosen_source, chosen_metric, chosen_table,
                              chosen_scale, own)
        write_output(out, render_accuracy(data, fmt, theme.value))
        return
    given = [flag for flag, value in (("--accuracy", accuracy), ("--source", source), ("--metric", metric),
                                      ("--table", table), ("--train-scale", train_scale)) if value]
    if given:
        raise ArchvizError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} with --kind accuracy. "
                           f"Received: --kind {chosen.value}", hint="add --kind accuracy, or leave them out")
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


def _own_numbers(texts: list[str]) -> dict[str, float]:
    numbers: dict[str, float] = {}
    for text in texts:
        name, sep, raw = text.rpartition("=")
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not sep or not name.strip() or not 0 <= value <= 100:
            raise ArchvizError(f"--accuracy expects NAME=VALUE with a percentage from 0 to 100. Received: {text!r}",
                               hint="e.g. --accuracy my-net=74.5")
        name = name.strip()
        if name in numbers and numbers[name] != value:
            raise ArchvizError(f"--accuracy gives {name!r} two numbers. Received: {numbers[name]:g} and {value:g}",
                               hint=f"keep one --accuracy {name}=VALUE")
        numbers[name] = value + 0.0  # -0 is 0
    return numbers


def register(app: typer.Typer) -> None:
    app.command("chart")(clean_errors(chart))
