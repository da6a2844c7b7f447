"""The typer-free half of what every command shares: input parsing, loading, error text, output.

Kept apart from :mod:`archviz.cli.common` (the typer options) so that :mod:`archviz.cli.fast`
can answer ``summary --format json|csv`` without importing typer or rich.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from archviz.errors import ArchvizError, SpecError

if TYPE_CHECKING:
    from archviz.analysis import Analysis
    from archviz.network import Network

DEFAULT_SPEC = "vgg16"
EXIT_USER_ERROR = 2
# 128 + SIGPIPE: what a shell reports for a tool the closed pipe stopped (`yes | head`), so
# `set -o pipefail` scripts see what they see for cat or grep, and never 1 (a failed check).
EXIT_CLOSED_PIPE = 141
# --width: narrower than 20 no table shows a name beside a number (0 or -5 cut every name); the bound
# far past any terminal (a huge width would only pad lines).
MIN_WIDTH, MAX_WIDTH = 20, 10_000


def closed_pipe() -> int:
    """stdout's reader went away (``archviz sweep ... | head``): stop quietly, no message.

    stdout is pointed at /dev/null first, so that Python's own flush at exit does not fail
    again with "Exception ignored ... BrokenPipeError".
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return EXIT_CLOSED_PIPE


def report_error(exc: BaseException) -> int:
    """Print a user error the house way (``error: ...`` on stderr); returns the exit code.

    Re-raises where ``ARCHVIZ_DEBUG`` asks for tracebacks, and anything that is not a user error.
    An ImportError of an optional module (torch, matplotlib, cairosvg), raised however deep, is a
    user error: one line naming the extra that installs it (:mod:`archviz.optional`).
    """
    _PENDING_WARNINGS.clear()
    if isinstance(exc, ImportError) and not isinstance(exc, ArchvizError):
        from archviz.optional import as_missing_dependency

        missing = as_missing_dependency(exc)
        if missing is None:
            raise exc
        exc = missing
    if isinstance(exc, ArchvizError):
        if os.environ.get("ARCHVIZ_DEBUG"):
            raise exc
        print(f"error: {exc.render()}", file=sys.stderr)
        return EXIT_USER_ERROR
    if isinstance(exc, RecursionError):
        print("error: the spec is nested too deeply to analyse", file=sys.stderr)
        return EXIT_USER_ERROR
    raise exc


def warn(message: str) -> None:
    """A warning on stderr, escaped and cut like an error message (it may quote a spec's names)."""
    from archviz.errors import shown

    print(f"warning: {shown(message)}", file=sys.stderr)


def note(message: str) -> None:
    """A line of progress on stderr (``wrote 7 files under DIR``), escaped and cut the same way."""
    from archviz.errors import shown

    print(shown(message), file=sys.stderr)


def parse_input(text: str | None, default: tuple[int, ...]) -> tuple[int, ...] | None:
    """'3x224x224' (CxHxW), '224x160' (HxW, channels from the spec) or '224' (square).

    Two sizes that start with the spec's channel count ('3x224') are refused as ambiguous
    (archviz.shapes.input_from_sizes).
    """
    if text is None:
        return None
    from archviz.shapes import input_from_sizes

    parts = text.lower().replace("×", "x").replace(",", "x").split("x")
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        raise SpecError(f"--input must look like CxHxW, HxW or S. Received: {text!r}",
                        hint="e.g. --input 3x224x224") from None
    if any(size < 1 for size in sizes):
        raise SpecError(f"--input sizes must be >= 1. Received: {text!r}")
    if not default:  # the spec has no 'input:' to take the channels from
        if len(sizes) != 3:
            raise SpecError(f"this spec has no 'input:', so --input gives every size: CxHxW. Received: --input {text}",
                            hint="e.g. --input 3x224x224")
        return sizes
    return input_from_sizes(sizes, default, f"--input {text}")


def parse_sets(values: list[str] | None) -> dict[str, Any]:
    from archviz.spec.expand import parse_override

    return dict(parse_override(value) for value in values or [])


def load_network(spec: str | None, sets: list[str] | None = None, until: str | None = None) -> Network:
    """The network, truncated at --until's comma-separated layers where given, with its warnings
    (a layer nothing reads) printed on stderr."""
    from archviz.network import load

    network = load(spec or DEFAULT_SPEC, **parse_sets(sets))
    if until is not None:
        names = [name.strip() for name in until.split(",") if name.strip()]
        if not names:
            raise SpecError(f"--until expects layer names. Received: {until!r}", hint="e.g. --until relu4_3")
        network = network.truncate(*names)
    return print_warnings(network)


# Warnings wait until the command has done its work: a command that then fails prints its one
# error and nothing else (flush_warnings prints them; report_error drops them).
_PENDING_WARNINGS: list[str] = []


def print_warnings(network: Network) -> Network:
    """Queue the network's warnings for stderr (``warning: ...``, in the errors' style); returns it."""
    _PENDING_WARNINGS.extend(warning for warning in network.warnings if warning not in _PENDING_WARNINGS)
    return network


def flush_warnings() -> None:
    """Print the queued warnings on stderr, once."""
    for warning in _PENDING_WARNINGS:
        warn(warning)
    _PENDING_WARNINGS.clear()


def analyze(spec: str | None, input_text: str | None = None, batch: int = 1,
            sets: list[str] | None = None, until: str | None = None,
            dtype: str = "float32") -> tuple[Network, Analysis]:
    network = load_network(spec, sets, until)
    return network, network.analyze(parse_input(input_text, network.input_shape), batch, dtype)


def write_output(path: Path, data: str | bytes) -> None:
    """Write all or nothing (:mod:`archviz.cli.output`: devices and FIFOs written through,
    symlinks kept, errors as exit 2, no temporary file left behind)."""
    from archviz.cli.output import write_output as write

    write(path, data)


@contextmanager
def stream_output(out: Path | None) -> Iterator[TextIO]:
    """Write text as it is produced: to stdout, or to ``out`` all or nothing (a temporary file in
    the same folder, renamed into place only when the block finishes without an error)."""
    if out is None:
        yield sys.stdout
        return
    import io

    from archviz.cli.output import open_output

    with open_output(out) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=False)
        yield text
        text.flush()
        text.detach()


def emit(text: str, out: Path | None) -> None:
    """Print to stdout, or write to --out."""
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        write_output(out, text)
