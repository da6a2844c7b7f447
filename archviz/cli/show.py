"""archviz show: one spec's description, input and variables (defaults and what each changes)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Any

import typer

from archviz.cli.common import SpecArgument, WidthOption, clean_errors


class Format(str, Enum):
    table = "table"
    json = "json"


def variable_rows(network: Any) -> list[dict[str, Any]]:
    """Each variable as ``{name, default, description}``, in the spec's order."""
    descriptions = network.variable_descriptions
    return [{"name": name, "default": value, "description": descriptions.get(name, "")}
            for name, value in network.variables.items()]


def show(
    spec: SpecArgument = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    width: WidthOption = None,
) -> None:
    """A spec's description, default input and variables with their defaults and descriptions
    (every variable can be changed with --set NAME=VALUE).

    Examples:

      archviz show vgg16

      archviz show resnet18 --format json
    """
    import json

    from archviz.network import load

    network = load(spec or "vgg16")
    rows = variable_rows(network)
    if format is Format.json:
        typer.echo(json.dumps({"name": network.name, "description": network.description,
                               "input_shape": list(network.input_shape), "variables": rows}, indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    from archviz.render.table import render_rich
    from archviz.render.theme import printable

    table = Table(title=Text(printable(network.name, 80), style="bold"), header_style="bold")
    table.add_column("Variable", no_wrap=True)
    table.add_column("Default", no_wrap=True)
    table.add_column("Description")
    for row in rows:
        default = row["default"]
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        table.add_row(Text(row["name"]), Text(shown), Text(row["description"] or "-"))
    about = Text(f"{printable(network.description, 400)}\ninput: {'x'.join(map(str, network.input_shape))}  "
                 "(change a variable with --set NAME=VALUE)")
    sys.stdout.write(render_rich(about, table, width=width))


def register(app: typer.Typer) -> None:
    app.command("show")(clean_errors(show))
