"""archviz schema: print the JSON Schema of the spec language."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archviz.cli.common import clean_errors, emit


def schema(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to a file instead of stdout.",
                                             show_default=False)] = None,
) -> None:
    """Print the JSON Schema of the spec language (for editor validation and completion).

    Examples:

      archviz schema --out archviz-spec.schema.json

      # VS Code (YAML extension): put '# yaml-language-server: $schema=archviz-spec.schema.json' atop a spec
    """
    from archviz.schema_gen import schema_text

    emit(schema_text(), out)


def register(app: typer.Typer) -> None:
    app.command("schema")(clean_errors(schema))
