"""archviz diagram: a Graphviz graph of the layers, or the paper-style blocks figure."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from archviz.cli.common import InputOption, SetOption, SpecArgument, UntilOption, analyze, clean_errors, write_output
from archviz.cli.shared import warn
from archviz.errors import ArchvizError
from archviz.render.diagram import Detail, Direction
from archviz.render.theme import ThemeName as Theme


class Style(str, Enum):
    graph = "graph"
    blocks = "blocks"


EXTENSIONS = {"svg": "svg", "png": "png", "pdf": "pdf", "dot": "dot", "gv": "dot"}
STYLE_FORMATS = {Style.graph: ("svg", "png", "pdf", "dot"), Style.blocks: ("svg", "png", "pdf")}


def output_format(out: Path, style: Style) -> str:
    """The file format named by the output's extension, checked against what the style writes."""
    extension = out.suffix.lower().lstrip(".")
    fmt = EXTENSIONS.get(extension)
    allowed = STYLE_FORMATS[style]
    if fmt is None or fmt not in allowed:
        raise ArchvizError(
            f"the {style.value} style writes {', '.join('.' + f for f in allowed)} files. "
            f"Received: --out {out}",
            hint=f"name the output file with one of these extensions, e.g. --out {out.stem or 'network'}.svg",
        )
    return fmt


def diagram(
    spec: SpecArgument = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file; its extension picks the format: .svg, .png, "
                                      ".pdf, or .dot (graph style: the Graphviz source).", show_default=False)] = ...,  # type: ignore[assignment]
    style: Annotated[Style, typer.Option("--style", help="graph: Graphviz layer graph; blocks: the paper figure "
                                         "of 3-D tensor boxes.")] = Style.graph,
    detail: Annotated[Detail, typer.Option("--detail", help="Graph style: compact folds activations, batch norm, dropout and flatten into the layer they follow; all draws every layer; blocks one node per block instance (a residual block, an encoder layer); stages one node per stage.")
                      ] = Detail.compact,
    direction: Annotated[Direction, typer.Option("--direction", help="Graph style: top-to-bottom or "
                                                 "left-to-right.")] = Direction.TB,
    input: InputOption = None,
    set_: SetOption = None,
    until: UntilOption = None,
    theme: Annotated[Theme, typer.Option("--theme", help="Colour theme.")] = Theme.light,
    title: Annotated[bool, typer.Option("--title/--no-title", help="Draw the network's name and totals on top.")
                     ] = True,
    max_nodes: Annotated[int, typer.Option("--max-nodes", min=1, help="Graph style: above this many layers draw "
                                           "one node per stage (with a warning); blocks style: above this many "
                                           "boxes draw one box per stage.")] = 500,
    scale: Annotated[str, typer.Option("--scale", metavar="auto|fixed|SIDE,CHANNELS",
                                       help="Blocks style: auto fits the sizes to this figure (side as √pixels, "
                                       "thickness as channels^0.4); fixed draws every figure alike (1 px per 1.5 "
                                       "pixels of side, per 8 channels of thickness), so a family compares; "
                                       "SIDE,CHANNELS sets both (e.g. 2,16). The figure states its scale.")
                     ] = "auto",
) -> None:
    """Draw a network: a layered graph (Graphviz) or the blocks figure used in papers.

    Examples:

      archviz diagram --out vgg16.svg

      archviz diagram vgg19 --style blocks --out vgg19.png

      archviz diagram vgg16-cifar10 --style blocks --scale fixed --out cifar.svg

      archviz diagram resnet18 --detail stages --direction LR --out resnet18.pdf
    """
    fmt = output_format(out, style)
    network, analysis = analyze(spec, input, 1, set_, until)
    if style is Style.blocks:
        from archviz.render.figure import render_blocks

        data = render_blocks(analysis, network, fmt=fmt, theme=theme.value, title=title, max_boxes=max_nodes,
                             warn=warn, scale=scale)
    else:
        from archviz.render.diagram import choose_detail, render_graph

        choice = choose_detail(analysis, detail.value, max_nodes)
        if choice.warning:
            warn(choice.warning)
        data = render_graph(analysis, network, fmt=fmt, detail=choice.detail, direction=direction.value,
                            theme=theme.value, title=title)
    write_output(out, data)


def register(app: typer.Typer) -> None:
    app.command("diagram")(clean_errors(diagram))
