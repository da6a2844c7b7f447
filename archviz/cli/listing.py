"""archviz list: the built-in specs."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Any, TypedDict

import typer

from archviz.cli.common import WidthOption, clean_errors


class Format(str, Enum):
    table = "table"
    json = "json"


class SpecRow(TypedDict):
    """One built-in spec as ``archviz list --format json`` prints it."""

    name: str
    description: str
    params: int
    macs: int
    input_shape: list[int]
    variables: list[dict[str, Any]]  # name, default, description (archviz show SPEC)


def list_specs(
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    width: WidthOption = None,
) -> None:
    """List the built-in specs with their description and parameter count.

    Examples:

      archviz list

      archviz list --format json
    """
    import json

    from archviz.cli.show import variable_rows
    from archviz.network import load
    from archviz.render.units import exact
    from archviz.spec.document import builtin_names

    rows: list[SpecRow] = []
    for name in builtin_names():
        network = load(name)
        totals = network.analyze().totals
        rows.append({"name": name, "description": network.description, "params": totals.params,
                     "macs": totals.macs, "input_shape": list(network.input_shape),
                     "variables": variable_rows(network)})
    if format is Format.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Built-in specs", show_lines=False, header_style="bold")
    table.add_column("Name", no_wrap=True)
    table.add_column("Input", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    table.add_column("Description", overflow="fold")
    for row in rows:
        table.add_row(Text(row["name"]), Text("x".join(map(str, row["input_shape"]))), Text(exact(row["params"])),
                      Text(row["description"]))
    from archviz.render.table import render_rich

    note = Text("archviz show NAME: a spec's variables, their defaults and what each changes (--set NAME=VALUE)",
                style="dim")
    sys.stdout.write(render_rich(table, note, width=width))


def register(app: typer.Typer) -> None:
    app.command("list")(clean_errors(list_specs))
