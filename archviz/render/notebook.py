"""What a Network, an Analysis and a diagram show in Jupyter: an HTML table with its totals, and
SVG pictures. Imported only when a notebook asks for a display, so no summary pays for it."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archviz.render import units

if TYPE_CHECKING:
    from archviz.analysis import Analysis
    from archviz.network import Network

ROW_LIMIT = 400  # rows a notebook cell shows before it says how many it left out


def analysis_html(analysis: Analysis) -> str:
    """The layer table (name, op, stage, output, params, MACs) with one row per stage subtotal
    and the network's totals, as a notebook cell shows it."""
    e = html.escape
    totals = analysis.totals
    head = "".join(f"<th>{name}</th>" for name in ("layer", "op", "stage", "output", "params", "MACs"))
    sums_of = dict(analysis.stage_totals())
    last_of = {record.stage: index for index, record in enumerate(analysis.layers)}

    def subtotal(stage: str | None) -> str:
        # bold with a rule above, as the terminal table draws them: the rows a reader looks for
        sums = sums_of[stage]
        cell = "style='text-align:right;font-weight:bold;border-top:1px solid currentColor'"
        return (f"<tr><td colspan='4' style='font-weight:bold;border-top:1px solid currentColor'>"
                f"{e(stage if stage is not None else '(no stage)')} subtotal</td>"
                f"<td {cell}>{units.exact(sums['params'])}</td><td {cell}>{units.exact(sums['macs'])}</td></tr>")

    rows = []
    for index, record in enumerate(analysis.layers[:ROW_LIMIT]):
        rows.append(f"<tr><td>{e(record.name)}</td><td>{e(record.label)}</td><td>{e(record.stage or '')}</td>"
                    f"<td>{e(units.shape(record.output_shape))}</td><td style='text-align:right'>"
                    f"{units.exact(record.params)}</td><td style='text-align:right'>{units.exact(record.macs)}</td></tr>")
        if last_of[record.stage] == index:
            rows.append(subtotal(record.stage))
    if len(analysis.layers) > ROW_LIMIT:
        rows.append(f"<tr><td colspan='6'>… {len(analysis.layers) - ROW_LIMIT:,} more layers</td></tr>")
    # the stages whose last layer is past the rows shown still get their subtotal, at the foot
    stages = "".join(subtotal(stage) for stage, last in last_of.items() if last >= ROW_LIMIT)
    total = (f"<tr><th colspan='4' style='text-align:left'>total ({totals.layers:,} layers, output "
             f"{e(units.shape(totals.output_shape))})</th><th style='text-align:right'>{units.exact(totals.params)}</th>"
             f"<th style='text-align:right'>{units.exact(totals.macs)}</th></tr>")
    caption = (f"<b>{e(analysis.name)}</b> at input {e(units.shape(analysis.input_shape))}, batch {analysis.batch}: "
               f"{units.exact(totals.params)} params, {units.exact(totals.macs)} MACs, "
               f"{units.exact(totals.flops)} FLOPs")
    return (f"<table><caption style='text-align:left'>{caption}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody><tfoot>{stages}{total}</tfoot></table>")


def network_html(network: Network) -> str:
    """A network shows its description and its analysis at the spec's input."""
    description = f"<p>{html.escape(network.description)}</p>" if network.description else ""
    if not network.input_shape:
        return f"<p><b>{html.escape(network.name)}</b>: no input shape; analyze(input_shape) to see it</p>"
    return description + analysis_html(network.analyze())


@dataclass(frozen=True)
class Picture:
    """A rendered SVG picture; Jupyter draws it inline (``_repr_svg_``)."""

    svg: bytes

    def _repr_svg_(self) -> str:
        return self.svg.decode("utf-8")

    def save(self, path: str) -> None:
        with open(path, "wb") as file:
            file.write(self.svg)
