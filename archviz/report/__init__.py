"""Reports: the VGG family explained (Markdown, browsable on GitHub) and self-contained HTML pages.

``build_reports`` computes every file in memory first; ``write_reports`` then writes them, so a
failure never leaves a half-written report. The output is reproducible (no dates, no machine
paths, no timings): CI regenerates it and compares with the committed copy.

The verification against PyTorch is the one part that needs torch. When it is not run (torch is
not installed, or ``--no-verify``), the results an earlier run wrote into the same folder's
verification.md are kept, for every spec whose input and layer count are unchanged, and the
caller is told (``log``); a spec without such a result says "not run".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from archviz.errors import OutputError
from archviz.render import units
from archviz.spec.document import BUILTIN_DIR

DEVICES = ("meta", "cpu")


def build_reports(specs: Sequence[str] | None = None, verify: bool = True, previous: Path | None = None,
                  log: Callable[[str], None] | None = None) -> dict[str, bytes]:
    """Relative path -> content of every report file (Markdown pages and their SVG pictures).

    ``previous``: the folder the report goes to, whose earlier verification results are kept when
    the verification is not run (``log`` receives one line saying what was kept), and from which
    the pages link to spec files given as paths. Each spec's files are named by
    :func:`~archviz.cli.output.spec_file_name` (a built-in name, or a path's file name without
    ``.yaml``), so a spec argument like ``../../x.yaml`` cannot name a file outside the report.
    """
    from archviz.cli.output import spec_file_name
    from archviz.network import load
    from archviz.optional import install_command, is_installed
    from archviz.render.charts import render_chart
    from archviz.render.diagram import render_graph
    from archviz.render.figure import render_blocks
    from archviz.report.family import PAPER_ORDER, accuracy_charts, family_report
    from archviz.report.pages import (
        VerificationSummary,
        recorded_verifications,
        spec_page,
        summarize_verification,
        verification_page,
    )
    from archviz.spec.document import builtin_names

    names = list(specs or builtin_names())
    files: dict[str, bytes] = {}
    pages: dict[str, str] = {}
    verification_rows = []
    rerun = verify and is_installed("torch")
    reason = "--no-verify" if not verify else "torch is not installed"
    earlier = previous / "verification.md" if previous is not None else None
    recorded = recorded_verifications(earlier.read_text(encoding="utf-8")) \
        if not rerun and earlier is not None and earlier.is_file() else {}
    kept: list[str] = []
    not_run: list[str] = []
    slugs: dict[str, str] = {}
    for name in names:
        slug = spec_file_name(name)
        if slug in slugs.values():
            raise OutputError(f"two specs would write the same report page. Received: {name!r}",
                              hint="give the spec files different names")
        slugs[name] = slug
    for name in names:
        network = load(name)
        analysis = network.analyze()
        slug = slugs[name]
        files[f"diagrams/{slug}-graph.svg"] = render_graph(analysis, network, "svg")
        files[f"diagrams/{slug}-blocks.svg"] = render_blocks(analysis, network, "svg")
        files[f"diagrams/{slug}-cost.svg"] = render_chart([analysis], "cost", "svg")
        if rerun:
            summaries = [summarize_verification(network, device) for device in DEVICES]
        else:
            summaries = []
            for device in DEVICES:
                row = recorded.get((name, device))
                # A kept result must still describe this network: same input, same number of layers.
                if row is not None and (row.input, row.layers) != (units.shape(network.input_shape),
                                                                   str(len(analysis.layers))):
                    row = None
                summaries.append(VerificationSummary(device, network.input_shape, None, 0, 0, 0, (), reason, row))
            (kept if all(s.recorded for s in summaries) else not_run).append(name)
        page = f"specs/{slug}.md"
        files[page] = spec_page(network, _source_link(name, slug, previous), f"../diagrams/{slug}",
                                summaries).encode()
        pages[name] = page
        verification_rows.append((name, page, summaries))
    files["diagrams/vgg-family-compare.svg"] = render_chart([load(n).analyze() for n in PAPER_ORDER], "compare", "svg")
    files.update(accuracy_charts())
    files["verification.md"] = verification_page(verification_rows).encode()
    files["README.md"] = family_report(pages).encode()
    if not rerun and log is not None:
        parts = [f"{reason}: the verification against PyTorch was not run"]
        if kept:
            parts.append(f"kept the results of {len(kept)} of {len(names)} specs as {earlier} has them")
        if not_run:
            parts.append(f"{len(not_run)} say 'not run' ({', '.join(not_run[:5])}{', ...' if len(not_run) > 5 else ''})")
        if verify:
            parts.append(f"{install_command('torch')} to run it")
        log("; ".join(parts))
    return files


def write_reports(folder: Path, specs: Sequence[str] | None = None, verify: bool = True,
                  log: Callable[[str], None] | None = None) -> list[Path]:
    """Build every file, then write them all or none (:func:`archviz.cli.output.write_tree`)."""
    from archviz.cli.output import write_tree

    files = build_reports(specs, verify, previous=folder, log=log)
    return write_tree(folder, dict(sorted(files.items())))


def _source_link(spec: str, slug: str, folder: Path | None) -> str:
    """The link from a spec's page (``specs/<slug>.md``) to its YAML: the repository's copy for a
    built-in name (the committed report), else the file given, relative to the page."""
    import os
    from urllib.parse import quote

    from archviz.spec.document import resolve_path

    path, _ = resolve_path(spec)
    if folder is None or path.parent == BUILTIN_DIR:
        return f"../../specs/{slug}.yaml"
    relative = os.path.relpath(os.path.realpath(path), os.path.realpath(folder / "specs"))
    return quote(Path(relative).as_posix())
