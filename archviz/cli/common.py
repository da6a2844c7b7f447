"""What every command shares: spec/input/--set options, clean errors, safe output files.

Commands stay thin: parse arguments here, call load/analyze, hand the result to a renderer.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from archviz.errors import ArchvizError, SpecError

DEFAULT_SPEC = "vgg16"

SpecArgument = Annotated[
    str | None,
    typer.Argument(help="A spec file (.yaml) or a built-in name (see 'archviz list'). Default: vgg16.",
                   show_default=False),
]
InputOption = Annotated[
    str | None,
    typer.Option("--input", "-i", help="Input shape CxHxW (e.g. 3x227x227), HxW, or one size S for SxS; "
                 "default: the spec's.", show_default=False),
]
BatchOption = Annotated[int, typer.Option("--batch", "-b", min=1, help="Batch size for MACs, FLOPs and memory.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a spec variable: NAME=VALUE (repeatable), e.g. --set num_classes=10.",
                 show_default=False),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.", hidden=True)]

F = TypeVar("F", bound=Callable[..., Any])


def clean_errors(function: F) -> F:
    """Turn ArchvizError (and unreadable output paths) into a message on stderr and exit code 2."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ArchvizError as exc:
            if os.environ.get("ARCHVIZ_DEBUG"):
                raise
            print(f"error: {exc.render()}", file=sys.stderr)
            raise typer.Exit(2) from None
        except RecursionError:
            print("error: the spec is nested too deeply to analyse", file=sys.stderr)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def parse_input(text: str | None, default: tuple[int, ...]) -> tuple[int, ...] | None:
    """'3x224x224', '224x224' (channels from the spec) or '224' (square)."""
    if text is None:
        return None
    parts = text.lower().replace("×", "x").replace(",", "x").split("x")
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        raise SpecError(f"--input must look like CxHxW, HxW or S. Received: {text!r}",
                        hint="e.g. --input 3x224x224") from None
    if any(size < 1 for size in sizes):
        raise SpecError(f"--input sizes must be >= 1. Received: {text!r}")
    if len(default) == 1:
        if len(sizes) != 1:
            raise SpecError(f"this network takes a flat input of {default[0]} features. Received: --input {text}")
        return sizes
    if len(sizes) == 1:
        return (default[0], sizes[0], sizes[0])
    if len(sizes) == 2:
        return (default[0], *sizes)
    if len(sizes) == 3:
        return sizes
    raise SpecError(f"--input must look like CxHxW, HxW or S. Received: {text!r}")


def parse_sets(values: list[str] | None) -> dict[str, Any]:
    from archviz.spec.expand import parse_override

    return dict(parse_override(value) for value in values or [])


def load_network(spec: str | None, sets: list[str] | None = None):  # type: ignore[no-untyped-def]
    from archviz.network import load

    return load(spec or DEFAULT_SPEC, **parse_sets(sets))


def analyze(spec: str | None, input_text: str | None = None, batch: int = 1, sets: list[str] | None = None):  # type: ignore[no-untyped-def]
    network = load_network(spec, sets)
    return network, network.analyze(parse_input(input_text, network.input_shape), batch)


def write_output(path: Path, data: str | bytes) -> None:
    """Write all or nothing: a temporary file in the same folder, renamed into place."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SpecError(f"cannot write {path}: folder {folder} does not exist", hint="create the folder first")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)  # mkstemp makes 0600 files; a report should be readable
        os.replace(temporary, path)
    except OSError as exc:
        raise SpecError(f"cannot write {path}: {exc.strerror}") from None


def emit(text: str, out: Path | None) -> None:
    """Print to stdout, or write to --out."""
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        write_output(out, text)
