"""One page per spec and the verification page (Markdown), from the analysis and the torch backend."""

from __future__ import annotations

import re
from dataclasses import dataclass

from archviz.analysis import Analysis
from archviz.expectations import check_expectations
from archviz.network import Network
from archviz.render import units
from archviz.render.columns import select
from archviz.render.facts import summary_facts
from archviz.render.formats import markdown_escape, to_markdown
from archviz.report.markdown import keep_units_together

PAGE_COLUMNS = "name,op,stage,output_shape,params,params_pct,macs,macs_pct,receptive_field,stride,padding"


@dataclass(frozen=True)
class RecordedVerification:
    """One verification row as an earlier report wrote it (its Markdown cells, as written)."""

    input: str
    layers: str
    result: str


# A row of verification.md: | [name](specs/NAME.md) | device | input | layers | result |
_ROW = re.compile(r"^\| \[.*\]\(specs/(?P<spec>[^)/]+)\.md\) \| (?P<device>\w+) \| (?P<input>[^|]+?) \| "
                  r"(?P<layers>\d+) \| (?P<result>.*) \|$")


def recorded_verifications(page: str) -> dict[tuple[str, str], RecordedVerification]:
    """(spec, device) -> the row an earlier verification.md holds."""
    found = {}
    for line in page.splitlines():
        match = _ROW.match(line)
        if match:
            found[(match["spec"], match["device"])] = RecordedVerification(match["input"], match["layers"],
                                                                           match["result"])
    return found


@dataclass(frozen=True)
class VerificationSummary:
    """What a report says about one spec verified on one device (no timings: reports are reproducible)."""

    device: str
    input_shape: tuple[int, ...]
    ok: bool | None  # None: not run
    layers: int
    agree: int
    not_checked: int
    mismatches: tuple[str, ...]
    note: str = ""
    recorded: RecordedVerification | None = None  # not run now: an earlier report's result, kept

    def status(self) -> str:
        """The result cell, as Markdown."""
        if self.recorded is not None:
            return self.recorded.result
        return markdown_escape(self._status())

    def input_cell(self) -> str:
        return self.recorded.input if self.recorded is not None else units.shape(self.input_shape)

    def layers_cell(self) -> str:
        return self.recorded.layers if self.recorded is not None else str(self.layers)

    def _status(self) -> str:
        if self.ok is None:
            return f"not run ({self.note})"
        if self.ok:
            return f"✓ {self.agree} checks agree, {self.not_checked} not measured by PyTorch"
        return f"✗ {len(self.mismatches)} mismatches: {', '.join(self.mismatches[:5])}"


def summarize_verification(network: Network, device: str, input_shape: tuple[int, ...] | None = None
                           ) -> VerificationSummary:
    shape = input_shape or network.input_shape
    try:
        import archviz.torch as backend

        result = backend.verify(network, shape, 1, device)
    except ImportError:
        return VerificationSummary(device, shape, None, 0, 0, 0, (), "torch is not installed")
    counts = result.counts()
    mismatches = tuple(f"{layer}.{check.quantity}" for layer, check in result.mismatches())
    return VerificationSummary(device, shape, result.ok, len(result.layers), counts["ok"], counts["not checked"],
                               mismatches)


def _published(analysis: Analysis) -> list[str]:
    """The published accuracies of a built-in, as published (errors stay errors), with their source."""
    from archviz.published import published_rows

    rows = published_rows(analysis)
    if not rows:
        return []
    lines = ["## Published accuracy", "",
             ("As published, not computed (an error is not turned into an accuracy): torchvision's weights meta, "
              "the VGG paper's Tables 3 and 4 (S: training scale, Q: test scales). Sources and the chart: "
              "[docs/conventions.md](../../docs/conventions.md#published-accuracies), `archviz chart --kind accuracy`."),
             "", "| source | setting | quantity | top-1 | top-5 |", "|---|---|---|---:|---:|"]
    for row in rows:
        top5 = "" if row.top5 is None else f"{row.top5:.{row.decimals}f}"
        lines.append(f"| {row.source} | {markdown_escape(row.setting)} | {row.quantity} | "
                     f"{row.top1:.{row.decimals}f} | {top5} |")
    return [*lines, ""]


def spec_page(network: Network, source: str, diagrams: str, verifications: list[VerificationSummary]) -> str:
    """``source``: link to the spec file; ``diagrams``: link prefix of its pictures."""
    analysis = network.analyze()
    name = network.name
    lines = [f"# {markdown_escape(name)}", "", markdown_escape(network.description), ""]
    if network.reference:
        lines += [f"Reference: {markdown_escape(' '.join(network.reference.split()))}", ""]
    lines += [f"Spec: [{source.split('/')[-1]}]({source}) · back to [the family report](../README.md)", ""]
    lines += ["## Totals", "", "| | |", "|---|---|"]
    lines += [f"| {markdown_escape(label)} | {markdown_escape(value)} |" for label, value in summary_facts(analysis)]
    lines.append("")
    expectations = check_expectations(network)
    if expectations:
        lines += ["## Expectations (`archviz check`)", "", "| quantity | expected | archviz | |", "|---|---:|---:|---|"]
        for e in expectations:
            show = (lambda v: units.exact(v) if isinstance(v, int) and not isinstance(v, bool)
                    else "x".join(map(str, v)) if isinstance(v, list) else str(v))
            lines.append(f"| {markdown_escape(e.quantity)} | {show(e.expected)} | {show(e.got)} | "
                         f"{'✓' if e.holds else '✗'} |")
        lines.append("")
    lines += _published(analysis)
    lines += [
        "## Diagrams",
        "",
        f"![{markdown_escape(name)} as a layer graph]({diagrams}-graph.svg)",
        "",
        f"![{markdown_escape(name)} as a block figure]({diagrams}-blocks.svg)",
        "",
        f"![{markdown_escape(name)}: parameters and MACs per weight layer]({diagrams}-cost.svg)",
        "",
        "## Verification against PyTorch",
        "",
        "| device | input | result |",
        "|---|---|---|",
    ]
    for v in verifications:
        lines.append(f"| {v.device} | {v.input_cell()} | {v.status()} |")
    lines += ["", "## Layers", ""]
    table = to_markdown(analysis, select(PAGE_COLUMNS), human_units=False).splitlines()
    body = [line for line in table[2:] if line != ""]
    cut = body.index("| Total | |") if "| Total | |" in body else len(body)
    lines += body[:cut]
    return keep_units_together("\n".join(lines).rstrip() + "\n")


def verification_page(rows: list[tuple[str, str, list[VerificationSummary]]]) -> str:
    """rows: (spec name, page link, summaries per device)."""
    lines = [
        "# Verification against PyTorch",
        "",
        ("Generated by `archviz report`. For every spec, archviz builds the network as a `torch.nn.Module` "
         "(`archviz.torch.build`), runs one forward pass with a hook on every layer and "
         "`torch.utils.flop_counter.FlopCounterMode`, and compares output shapes, parameters, buffers and "
         "FLOPs layer by layer with its own analysis (`archviz verify SPEC --device meta|cpu`). A quantity "
         "PyTorch does not measure (FLOPs of pooling, batch norm, LRN, activations) is counted as *not "
         "measured*, never as agreeing. Timings are left out so the page is reproducible: "
         "[verify-meta-cpu.md](verify-meta-cpu.md) has a timed run at a second input size per spec, "
         "[benchmarks-cpu.md](benchmarks-cpu.md) and [gpu/](gpu/README.md) have measured speed (the GPU run "
         "verifies every spec on CUDA too)."),
        "",
        "| spec | device | input | layers | result |",
        "|---|---|---|---:|---|",
    ]
    for name, page, summaries in rows:
        for v in summaries:
            lines.append(f"| [{markdown_escape(name)}]({page}) | {v.device} | {v.input_cell()} | "
                         f"{v.layers_cell()} | {v.status()} |")
    return keep_units_together("\n".join(lines) + "\n")
