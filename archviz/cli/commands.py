"""The typer app: each command lives in its own module and registers itself here."""

from __future__ import annotations

from typing import Annotated

import typer

from archviz import __version__
from archviz.cli import check, compare, conventions, listing, optional_commands, schema, show, summary

app = typer.Typer(
    name="archviz",
    help="Exact shapes, parameters, MACs, memory and receptive fields of convolutional networks, "
    "from a framework-neutral YAML spec.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"archviz {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """archviz: exact numbers and pictures of convolutional networks."""


for module in (summary, compare, check, conventions, listing, show, schema, *optional_commands.modules()):
    module.register(app)
