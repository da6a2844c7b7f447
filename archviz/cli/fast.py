"""``archviz summary ...`` without typer or click.

People and scripts call the summary far more often than any other command, and importing typer
and click costs several times the whole analysis. :func:`try_fast` reads that one command's
arguments itself and runs the same function the typer command runs
(:func:`archviz.cli.summarize.summarize`), so it prints exactly what the typer command prints
(tests/test_performance_paths.py compares the two byte for byte). Only the table imports rich.
Anything it does not recognise -- another command, ``--help``, an option it does not know, a
value it would have to guess about, shell completion -- it declines by returning None, and the
typer app runs as usual. It never decides an error the typer app would word differently: the
user errors it reports are the ones summarize raises, worded by the same report_error.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from archviz.cli.shared import MAX_WIDTH, MIN_WIDTH, closed_pipe, flush_warnings, report_error
from archviz.cli.summarize import DTYPES, FORMATS, UNITS, summarize

_VALUE_OPTIONS = {
    "--format": "format", "-f": "format",
    "--input": "input", "-i": "input",
    "--batch": "batch", "-b": "batch",
    "--set": "set", "-s": "set",
    "--out": "out", "-o": "out",
    "--columns": "columns", "-c": "columns",
    "--units": "units",
    "--convention": "convention",
    "--width": "width",
    "--dtype": "dtype",
    "--until": "until", "-u": "until",
}
_POSITIVE = re.compile(r"[1-9][0-9]{0,17}")
# click reads an int with int(): " 80", "+80", "0_80" and huge widths are typer's to decide
_WIDTH = re.compile(r"[1-9][0-9]{0,4}")


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
            return None  # --help, -h, --no-flops, -fjson, "-", "--", unknown
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
    if options.setdefault("format", "table") not in FORMATS:
        return None
    if "units" in options and options["units"] not in UNITS:
        return None
    if "dtype" in options and options["dtype"] not in DTYPES:
        return None  # typer words the choice error
    batch = options.get("batch", "1")
    if not _POSITIVE.fullmatch(str(batch)):
        return None  # typer words the range and type errors
    options["batch"] = int(str(batch))
    if "width" in options:
        if not _WIDTH.fullmatch(options["width"]) or not MIN_WIDTH <= int(options["width"]) <= MAX_WIDTH:
            return None  # typer states the range
        options["width"] = int(options["width"])
    options["spec"] = spec
    return options


def run_summary(options: dict[str, Any]) -> None:
    """Run the summary with the options :func:`parse` bound."""
    out = options.get("out")
    summarize(options["spec"], options.get("input"), options["batch"], options["sets"] or None, options["format"],
              options.get("columns"), bool(options.get("flops")), options.get("units", "auto"),
              options.get("convention"), Path(out) if out is not None else None, options.get("width"),
              options.get("until"), options.get("dtype", "float32"))


def try_fast(argv: list[str]) -> int | None:
    """Run the command if this module can answer it exactly; the exit code, or None to decline."""
    if any(key.startswith("_ARCHVIZ_COMPLETE") for key in os.environ):
        return None  # shell completion is typer's
    options = parse(argv)
    if options is None:
        return None
    try:
        run_summary(options)
        sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
    except BrokenPipeError:
        return closed_pipe()
    except KeyboardInterrupt:
        print("Aborted!", file=sys.stderr)  # click's words
        return 1
    except Exception as exc:  # noqa: BLE001  (report_error re-raises what is not a user error)
        return report_error(exc)
    flush_warnings()
    return 0
