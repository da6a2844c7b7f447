"""Machine and document formats of a summary: JSON (the stable contract), CSV, Markdown, HTML."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from archviz.analysis import TRAINING_ASSUMPTIONS, Analysis

if TYPE_CHECKING:
    from archviz.render.columns import Column

# csv, html, the column table and the facts footer are imported by the functions that use them:
# `archviz summary --format json` is a start-up-time path (see benchmarks/).

JSON_SCHEMA_VERSION = 1
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def analysis_dict(analysis: Analysis, conventions: dict[str, int] | None = None) -> dict[str, Any]:
    """The JSON contract (docs/json.md): exact integers, shapes channels-first without batch."""
    layers = []
    for r in analysis.layers:
        layers.append({
            "name": r.name,
            "op": r.op,
            "label": r.label,
            "family": r.family,
            "stage": r.stage,
            "inputs": list(r.inputs),
            "input_shapes": [list(s) for s in r.input_shapes],
            "output_shape": list(r.output_shape),
            "params": r.params,
            "buffers": r.buffers,
            "macs": r.macs,
            "flops": r.flops,
            "bias_adds": r.bias_adds,
            "elementwise_ops": r.elementwise_ops,
            "input_elements": r.input_elements,
            "output_elements": r.output_elements,
            "activation_bytes": r.activation_bytes,
            "receptive_field": list(r.receptive_field) if r.receptive_field else None,
            "effective_stride": list(r.effective_stride) if r.effective_stride else None,
            "effective_padding": list(r.effective_padding) if r.effective_padding else None,
            "line": r.line,
        })
    totals = analysis.totals.as_dict()
    totals["output_shape"] = list(analysis.totals.output_shape)
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "name": analysis.name,
        "spec": analysis.spec,
        "input_shape": list(analysis.input_shape),
        "batch": analysis.batch,
        "dtype": analysis.dtype,
        "training_assumptions": TRAINING_ASSUMPTIONS[analysis.dtype],
        "variables": analysis.variables,
        "layers": layers,
        "stages": [{"stage": stage, **sums} for stage, sums in analysis.stage_totals()],
        "totals": totals,
        "outputs": [{"name": name, "output_shape": list(shape)} for name, shape in analysis.output_shapes],
        "conventions": conventions or {},
        "warnings": list(analysis.warnings),
        "notes": list(analysis.notes),
    }


def to_json(analysis: Analysis, conventions: dict[str, int] | None = None) -> str:
    return json.dumps(analysis_dict(analysis, conventions), indent=2, ensure_ascii=False) + "\n"


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (a name like '=cmd|...')."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(analysis: Analysis, columns: list[Column]) -> str:
    import csv
    import io

    from archviz.render.columns import raw_value

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for record in analysis.layers:
        writer.writerow([csv_safe(raw_value(c, record, analysis)) for c in columns])
    return buffer.getvalue()


def markdown_escape(text: str) -> str:
    import html

    out = html.escape(text, quote=False)
    for char in ("\\", "|", "`", "*", "_", "[", "]", "#"):
        out = out.replace(char, "\\" + char)
    return out.replace("\n", " ").replace("\r", " ")


def to_markdown(analysis: Analysis, columns: list[Column], human_units: bool = False) -> str:
    from archviz.render.columns import cell_text
    from archviz.render.facts import summary_facts

    numeric = {"count", "percent", "field", "bytes"}
    lines = [f"### {markdown_escape(analysis.name)}", ""]
    lines.append("| " + " | ".join(c.header for c in columns) + " |")
    lines.append("|" + "|".join("---:" if c.kind in numeric else "---" for c in columns) + "|")
    for record in analysis.layers:
        lines.append("| " + " | ".join(markdown_escape(cell_text(c, record, analysis, human_units))
                                        for c in columns) + " |")
    lines += ["", "| Total | |", "|---|---|"]
    for label, value in summary_facts(analysis):
        lines.append(f"| {markdown_escape(label)} | {markdown_escape(value)} |")
    return "\n".join(lines) + "\n"


def to_html_table(analysis: Analysis, columns: list[Column], human_units: bool = False) -> str:
    """A plain, self-contained HTML page with the layer table and totals."""
    import html

    from archviz.render.columns import cell_text
    from archviz.render.facts import summary_facts
    from archviz.render.palette import LIGHT_NEUTRALS

    numeric = {"count", "percent", "field", "bytes"}
    head = "".join(f"<th>{html.escape(c.header)}</th>" for c in columns)
    rows = []
    for record in analysis.layers:
        cells = "".join(
            f'<td class="{"num" if c.kind in numeric else ""}">'
            f"{html.escape(cell_text(c, record, analysis, human_units))}</td>" for c in columns
        )
        rows.append(f"<tr>{cells}</tr>")
    facts = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in summary_facts(analysis))
    title = html.escape(analysis.name)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{title} — archviz summary</title><style>"
        f"body{{font-family:system-ui,sans-serif;margin:2rem;color:{LIGHT_NEUTRALS['text']}}}"
        "table{border-collapse:collapse;margin-bottom:1.5rem}"
        "th,td{padding:.25rem .6rem;border-bottom:1px solid "
        f"{LIGHT_NEUTRALS['cluster_border']};text-align:left}}"
        "td.num{text-align:right;font-variant-numeric:tabular-nums}"
        "</style></head><body>"
        f"<h1>{title}</h1><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<table class=\"totals\">{facts}</table></body></html>\n"
    )
