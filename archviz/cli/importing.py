"""archviz import: a model from PyTorch, ONNX or Keras, written as a readable spec."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archviz.cli.common import emit


def import_model(
    source: Annotated[str, typer.Argument(help="A .onnx or .keras file, path/to/file.py:NAME, package.module:NAME "
                                          "or torchvision.models.NAME.", show_default=False)],
    input: Annotated[str | None, typer.Option("--input", "-i", help="Input shape CxHxW (needed for PyTorch modules "
                                              "and for models whose input size is symbolic).",
                                              show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the spec to a file instead of stdout.",
                                             show_default=False)] = None,
) -> None:
    """Write a spec for a model from another framework: names, stages and repeated blocks kept.

    Examples:

      archviz import model.onnx --out model.yaml

      archviz import seed.keras

      archviz import torchvision.models.resnet50 --input 3x224x224 --out resnet50.yaml

      archviz import mynet.py:Net --input 3x32x32
    """
    from archviz.backends.formats import imported_spec_text
    from archviz.backends.sources import read_source
    from archviz.cli.shared import parse_input

    shape = parse_input(input, (3, 224, 224)) if input is not None else None
    model = read_source(source, shape)
    emit(imported_spec_text(model), out)


def register(app: typer.Typer) -> None:
    from archviz.cli.common import clean_errors

    app.command("import")(clean_errors(import_model))
