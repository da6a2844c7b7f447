"""archviz check: the CI gate comparing each spec's analysis with its ``expect`` block."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from archviz.cli.common import WidthOption, clean_errors


class Format(str, Enum):
    table = "table"
    json = "json"


def default_specs() -> list[str]:
    """Every spec in ./specs (when present) and every built-in, each file once."""
    from archviz.spec.document import BUILTIN_DIR, builtin_names

    chosen: list[str] = []
    seen: set[Path] = set()
    local = Path("specs")
    if local.is_dir():
        from archviz.errors import ArchvizError
        from archviz.spec.yamlio import parse_yaml, read_text

        for path in sorted(local.glob("*.yaml")):
            # read as the check will read it (regular files only, bounded): one that fails here is
            # checked, and reported, like any other
            try:
                raw: Any = parse_yaml(read_text(path, str(path)), str(path))
            except ArchvizError:
                raw = {}
            if isinstance(raw, dict) and raw.get("abstract"):
                continue
            try:
                seen.add(path.resolve())
            except (RuntimeError, OSError):  # a symlink loop: checked, and reported, like any other
                pass
            chosen.append(str(path))
    for name in builtin_names():
        if (BUILTIN_DIR / f"{name}.yaml").resolve() not in seen:
            chosen.append(name)
    return chosen


def check(
    specs: Annotated[list[str] | None, typer.Argument(help="Spec files or built-in names (default: specs/ and "
                                                      "the built-ins).", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    width: WidthOption = None,
) -> None:
    """Compare each spec's params, MACs, shapes and receptive fields with its 'expect' block.

    Exit code 1 if any expectation fails, 0 when all hold. Specs without expectations are listed
    as unchecked, not as passing.

    Examples:

      archviz check

      archviz check specs/vgg16.yaml my-net.yaml
    """
    import json

    from archviz.expectations import check_expectations
    from archviz.network import load
    from archviz.spec import preparsed

    names = specs or default_specs()
    results = []
    with preparsed.bypassed():  # the gate trusts nothing but the YAML, not even the package's parsed copies
        for name in names:
            network = load(name)
            results.append((name, network.name, check_expectations(network)))
    failed = any(not e.holds for _, _, expectations in results for e in expectations)
    if format is Format.json:
        payload = [
            {"spec": spec, "name": net, "status": _status(exp),
             "expectations": [{"quantity": e.quantity, "expected": e.expected, "got": e.got, "holds": e.holds,
                               "difference": e.difference, "line": e.line} for e in exp]}
            for spec, net, exp in results
        ]
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print_table(results, width)
    raise typer.Exit(1 if failed else 0)


def _status(expectations: list) -> str:  # type: ignore[type-arg]
    if not expectations:
        return "unchecked"
    return "pass" if all(e.holds for e in expectations) else "FAIL"


def _print_table(results: list, width: int | None = None) -> None:  # type: ignore[type-arg]
    from rich.table import Table
    from rich.text import Text

    from archviz.render.units import exact

    def show(value: object) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return exact(value)
        if isinstance(value, list):
            return "x".join(map(str, value))
        return str(value)

    headers = (("Spec", "left"), ("Status", "left"), ("Quantity", "left"), ("Expected", "right"), ("Got", "right"),
               ("Difference", "right"))
    rows: list[tuple[list[Text], bool]] = []  # cells, ends a spec
    passed = unchecked = failed_specs = 0
    for spec, _, expectations in results:
        status = _status(expectations)
        if status == "unchecked":
            unchecked += 1
            rows.append(([Text(spec), Text("unchecked"), Text("(no expect block)"), Text(""), Text(""), Text("")], True))
            continue
        if status == "pass":
            passed += 1
        else:
            failed_specs += 1
        for index, e in enumerate(expectations):
            mark = "ok" if e.holds else "MISMATCH"
            diff = e.difference
            rows.append(([Text(spec if index == 0 else ""), Text(mark, style="green" if e.holds else "bold red"),
                          Text(e.quantity), Text(show(e.expected)), Text(show(e.got)),
                          Text("" if diff in (None, 0) else f"{diff:+,}")], index == len(expectations) - 1))

    def build(left_out: frozenset[str]) -> Table:
        table = Table(title="archviz check", header_style="bold")
        kept = [index for index, (header, _) in enumerate(headers) if header not in left_out]
        for index in kept:
            header, justify = headers[index]
            # numbers are never folded; the spec and quantity names wrap
            table.add_column(header, justify=justify, no_wrap=justify == "right")  # type: ignore[arg-type]
        for cells, last in rows:
            table.add_row(*(cells[index] for index in kept), end_section=last)
        return table

    from archviz.render.table import fit_by_dropping, terminal_width

    # a difference is shown only where a check fails; a narrow terminal leaves the column out first
    table, _ = fit_by_dropping(build, ("Difference",) if not failed_specs else (), terminal_width(width))
    from archviz.render.table import render_rich

    sys.stdout.write(render_rich(table, Text(f"{passed} passed, {failed_specs} failed, {unchecked} unchecked"),
                                 width=width))


def register(app: typer.Typer) -> None:
    app.command("check")(clean_errors(check))
