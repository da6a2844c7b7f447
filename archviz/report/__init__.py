"""Reports: the VGG family explained (Markdown, browsable on GitHub) and self-contained HTML pages.

``build_reports`` computes every file in memory first; ``write_reports`` then writes them, so a
failure never leaves a half-written report. The output is reproducible (no dates, no machine
paths, no timings): CI regenerates it and compares with the committed copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from archviz.cli.common import write_output

DEVICES = ("meta", "cpu")


def build_reports(specs: Sequence[str] | None = None, verify: bool = True) -> dict[str, bytes]:
    """Relative path -> content of every report file (Markdown pages and their SVG pictures)."""
    from archviz.network import load
    from archviz.render.charts import render_chart
    from archviz.render.diagram import render_graph
    from archviz.render.figure import render_blocks
    from archviz.report.family import PAPER_ORDER, family_report
    from archviz.report.pages import VerificationSummary, spec_page, summarize_verification, verification_page
    from archviz.spec.document import builtin_names

    names = list(specs or builtin_names())
    files: dict[str, bytes] = {}
    pages: dict[str, str] = {}
    verification_rows = []
    for name in names:
        network = load(name)
        analysis = network.analyze()
        files[f"diagrams/{name}-graph.svg"] = render_graph(analysis, network, "svg")
        files[f"diagrams/{name}-blocks.svg"] = render_blocks(analysis, network, "svg")
        files[f"diagrams/{name}-cost.svg"] = render_chart([analysis], "cost", "svg")
        if verify:
            summaries = [summarize_verification(network, device) for device in DEVICES]
        else:
            summaries = [VerificationSummary(d, network.input_shape, None, 0, 0, 0, (), "--no-verify") for d in DEVICES]
        page = f"specs/{name}.md"
        files[page] = spec_page(network, f"../../specs/{name}.yaml", f"../diagrams/{name}", summaries).encode()
        pages[name] = page
        verification_rows.append((name, page, summaries))
    files["diagrams/vgg-family-compare.svg"] = render_chart([load(n).analyze() for n in PAPER_ORDER], "compare", "svg")
    files["verification.md"] = verification_page(verification_rows).encode()
    files["README.md"] = family_report(pages).encode()
    return files


def write_reports(folder: Path, specs: Sequence[str] | None = None, verify: bool = True) -> list[Path]:
    files = build_reports(specs, verify)
    written = []
    for relative, content in sorted(files.items()):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_output(path, content)
        written.append(path)
    return written
