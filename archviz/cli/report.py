"""archviz report: the Markdown report folder, or a self-contained HTML page per spec."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from archviz.cli.common import (
    Dtype,
    DtypeOption,
    InputOption,
    SetOption,
    clean_errors,
    parse_input,
    parse_sets,
    write_output,
)
from archviz.cli.shared import note
from archviz.errors import SpecError


class Format(str, Enum):
    markdown = "markdown"
    html = "html"


def report(
    specs: Annotated[list[str] | None, typer.Argument(help="Spec files or built-in names (default: every built-in "
                                                      "spec for a folder, vgg16 for an .html file).",
                                                      show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="A folder (Markdown report, or one HTML page per spec "
                                      "with --format html) or a FILE.html.")] = Path("reports"),
    format: Annotated[Format | None, typer.Option("--format", "-f", help="markdown or html (default: html for "
                                                  "an .html file, else markdown).", show_default=False)] = None,
    input: InputOption = None,
    set_: SetOption = None,
    dtype: DtypeOption = Dtype.float32,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Verify each spec with PyTorch (meta and "
                                         "CPU) for the Markdown report. Not run (--no-verify, or torch not "
                                         "installed), the results already in the folder are kept.")] = True,
) -> None:
    """Write reports: the VGG family report with one page per spec (Markdown, for GitHub), or a
    self-contained HTML page with diagrams, a sortable layer table, charts and conventions.

    Examples:

      archviz report --out reports/            # regenerate the committed reports

      archviz report vgg16 --out vgg16.html    # one shareable page, no network needed to view it

      archviz report vgg16 --input 512 --dtype bfloat16 --out vgg16-bf16.html

      archviz report vgg16 resnet18 --format html --out pages/
    """
    chosen = format or (Format.html if out.suffix.lower() in (".html", ".htm") else Format.markdown)
    if chosen is Format.markdown:
        if out.suffix.lower() in (".html", ".htm"):
            raise SpecError(f"--format markdown writes a folder. Received: --out {out}",
                            hint="give a folder, or use --format html")
        if input or set_ or dtype is not Dtype.float32:
            raise SpecError("the Markdown report analyses each spec at its own input and variables, in float32",
                            hint="use --format html for a page at another input, with --set or --dtype")
        from archviz.report import write_reports

        written = write_reports(out, specs or None, verify=verify, log=_note)
        note(f"wrote {len(written)} files under {out}")
        return

    from archviz.network import load
    from archviz.report.html import render_html_report

    names = specs or ["vgg16"]
    overrides = parse_sets(set_)
    pages = []
    for name in names:
        network = load(name, **{k: v for k, v in overrides.items()})
        analysis = network.analyze(parse_input(input, network.input_shape), dtype=dtype.value)
        pages.append((network.name, render_html_report(network, analysis)))
    if out.suffix.lower() in (".html", ".htm"):
        if len(pages) != 1:
            raise SpecError(f"one .html file holds one spec. Received: {len(pages)} specs",
                            hint="give a folder as --out to write one page per spec")
        write_output(out, pages[0][1])
        return
    from archviz.cli.output import safe_file_name, write_tree

    files: dict[str, bytes] = {}
    for name, page in pages:
        file = f"{safe_file_name(name, 'network name')}.html"
        if file in files:
            raise SpecError(f"two specs would write the same page. Received: {file}",
                            hint="give the networks different names, or write them one by one")
        files[file] = page.encode("utf-8")
    write_tree(out, files)


def _note(line: str) -> None:
    note(f"note: {line}")


def register(app: typer.Typer) -> None:
    app.command("report")(clean_errors(report))
