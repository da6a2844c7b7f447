"""What every command shares: spec/input/--set options, clean errors, safe output files.

The typer-free helpers live in :mod:`archviz.cli.shared` and are re-exported here.

Commands stay thin: parse arguments here, call load/analyze, hand the result to a renderer.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, TypeVar

import typer

from archviz.cli.shared import (  # noqa: F401  (re-exported: the commands import them from here)
    DEFAULT_SPEC,
    MAX_WIDTH,
    MIN_WIDTH,
    analyze,
    closed_pipe,
    emit,
    flush_warnings,
    load_network,
    parse_input,
    parse_sets,
    print_warnings,
    report_error,
    write_output,
)
from archviz.errors import ArchvizError

SpecArgument = Annotated[
    str | None,
    typer.Argument(help="A spec file (.yaml) or a built-in name (see 'archviz list'). Default: vgg16.",
                   show_default=False),
]
InputOption = Annotated[
    str | None,
    typer.Option("--input", "-i", help="Input shape CxHxW (e.g. 3x227x227), HxW with the spec's channels, or one size S "
                 "for SxS; default: the spec's. Two sizes starting with the channel count (3x224) are refused "
                 "as ambiguous.", show_default=False),
]
BatchOption = Annotated[int, typer.Option("--batch", "-b", min=1, help="Batch size for MACs, FLOPs and memory.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a spec variable: NAME=VALUE (repeatable), e.g. --set num_classes=10.",
                 show_default=False),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", "-u", help="Analyse the network up to this layer (or comma-separated layers), as a "
                 "backbone: e.g. --until relu4_3.", show_default=False),
]
class Dtype(str, Enum):
    """The dtypes memory is counted in (archviz.analysis.BYTES_PER_VALUE)."""

    float32 = "float32"
    bfloat16 = "bfloat16"
    float16 = "float16"
    int8 = "int8"


# One spelling set for every command: summary's float32/bfloat16/float16 and verify's fp32/bf16/fp16
# (PyTorch's and the benchmarks' names) both work wherever --dtype is taken.
DTYPE_SPELLINGS = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
                   "float16": "float16", "fp16": "float16", "half": "float16", "int8": "int8"}


MEMORY_DTYPES = tuple(dtype.value for dtype in Dtype)


def canonical_dtype(text: str, allowed: tuple[str, ...] = MEMORY_DTYPES) -> str:
    """'bf16' -> 'bfloat16'; a name outside ``allowed`` is a usage error (exit 2) naming the choices."""
    value = DTYPE_SPELLINGS.get(str(text).strip().lower())
    if value is None or value not in allowed:
        shown = " ".join(f"{name} ({short})" if short else name for name, short in
                         ((name, next((k for k, v in DTYPE_SPELLINGS.items() if v == name and len(k) == 4 and k != name), ""))
                          for name in allowed))
        raise typer.BadParameter(f"{text!r} is not a dtype here; choose one of {shown}")
    return value


def parse_dtype(text: str | Dtype) -> Dtype:
    return Dtype(canonical_dtype(text.value if isinstance(text, Dtype) else text))


DtypeOption = Annotated[Dtype, typer.Option(
    "--dtype", parser=parse_dtype, metavar="<float32|bfloat16|float16|int8>",
    help="Count parameter, activation and training memory in this dtype (bfloat16/float16: mixed "
    "precision training with float32 master weights, gradients and optimizer state; int8: no training estimate; "
    "fp32, bf16, fp16 are the same). See docs/conventions.md.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.", hidden=True)]

F = TypeVar("F", bound=Callable[..., Any])


def check_width(value: int | None) -> int | None:
    """--width must leave room for a table: MIN_WIDTH to MAX_WIDTH characters (0 or -5 would cut names)."""
    if value is not None and not MIN_WIDTH <= value <= MAX_WIDTH:
        raise typer.BadParameter(f"must be between {MIN_WIDTH} and {MAX_WIDTH} characters. Received: {value}")
    return value


WidthOption = Annotated[int | None, typer.Option(
    "--width", callback=check_width, help=f"Table width in characters, {MIN_WIDTH}-{MAX_WIDTH} (default: the "
    "terminal's, or the table's natural width when piped). Labels wrap and columns move to another table "
    "before a number is cut; a table that still does not fit keeps its narrowest width.", show_default=False)]


def clean_errors(function: F) -> F:
    """Turn ArchvizError (and unreadable output paths, and a missing optional module) into a message
    on stderr and exit code 2."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = function(*args, **kwargs)
            if sys.stdout is not None:
                sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
        except BrokenPipeError:
            raise typer.Exit(closed_pipe()) from None
        except (ArchvizError, RecursionError, ImportError) as exc:
            raise typer.Exit(report_error(exc)) from None
        except typer.Exit:
            flush_warnings()  # a check that failed (exit 1) still says what it noticed
            raise
        flush_warnings()
        return result

    return wrapper  # type: ignore[return-value]
