"""``archviz summary ... --format json|csv`` without typer or rich.

Scripts and CI call the machine-readable summary far more often than people read the table,
and importing typer, click and rich costs more than the whole analysis. :func:`try_fast` reads
that one command's arguments itself and answers with exactly what the typer command prints
(tests/test_performance_paths.py compares the two byte for byte). Anything it does not
recognise -- another command, another format, ``--help``, an option it does not know, a value
it would have to guess about, shell completion -- it declines by returning None, and the typer
app runs as usual. It never decides an error the typer app would word differently.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from archviz.cli.shared import analyze, emit, report_error

FORMATS = ("json", "csv")
UNITS = ("auto", "raw")
_VALUE_OPTIONS = {
    "--format": "format", "-f": "format",
    "--input": "input", "-i": "input",
    "--batch": "batch", "-b": "batch",
    "--set": "set", "-s": "set",
    "--out": "out", "-o": "out",
    "--columns": "columns", "-c": "columns",
    "--units": "units",
}
_POSITIVE = re.compile(r"[1-9][0-9]{0,17}")


def parse(argv: list[str]) -> dict[str, Any] | None:
    """The summary's options as typer would bind them, or None where typer should decide."""
    if not argv or argv[0] != "summary":
        return None
    options: dict[str, Any] = {"sets": []}
    spec: str | None = None
    index = 1
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--flops":
            if "flops" in options:
                return None
            options["flops"] = True
            continue
        if not arg.startswith("-"):
            if spec is not None:
                return None  # typer: unexpected extra argument
            spec = arg
            continue
        name, equals, value = arg.partition("=")
        key = _VALUE_OPTIONS.get(name)
        if key is None or (equals and not name.startswith("--")):
            return None  # --help, --width, --convention, -fjson, "-", "--", unknown
        if not equals:
            if index >= len(argv):
                return None  # typer: option requires an argument
            value = argv[index]
            index += 1
        if not value or value.startswith("-"):
            return None  # a user error or a missing value: typer's wording
        if key == "set":
            options["sets"].append(value)
            continue
        if key in options:
            return None  # given twice: leave the precedence to click
        options[key] = value
    if options.get("format") not in FORMATS:
        return None
    if "units" in options and options["units"] not in UNITS:
        return None
    batch = options.get("batch", "1")
    if not _POSITIVE.fullmatch(str(batch)):
        return None  # typer words the range and type errors
    options["batch"] = int(str(batch))
    options["spec"] = spec
    return options


def summary(options: dict[str, Any]) -> None:
    """What ``archviz summary`` does for json and csv (archviz/cli/summary.py)."""
    sets = options["sets"]
    _, analysis = analyze(options["spec"], options.get("input"), options["batch"], sets or None)
    columns = options.get("columns")
    out = Path(str(options["out"])) if "out" in options else None
    from archviz.render import formats

    if columns is not None or options["format"] == "csv":
        from archviz.render.columns import select

        chosen = select(columns, bool(options.get("flops")))
    if options["format"] == "json":
        from archviz.conventions import CONVENTIONS

        emit(formats.to_json(analysis, {name: c.total(analysis) for name, c in CONVENTIONS.items()}), out)
    else:
        emit(formats.to_csv(analysis, chosen), out)


def try_fast(argv: list[str]) -> int | None:
    """Run the command if this module can answer it exactly; the exit code, or None to decline."""
    if any(key.startswith("_ARCHVIZ_COMPLETE") for key in os.environ):
        return None  # shell completion is typer's
    options = parse(argv)
    if options is None:
        return None
    try:
        summary(options)
    except BrokenPipeError:
        return 1  # as click does when stdout is closed early
    except KeyboardInterrupt:
        print("Aborted!", file=sys.stderr)  # click's words
        return 1
    except Exception as exc:  # noqa: BLE001  (report_error re-raises what is not a user error)
        return report_error(exc)
    return 0
