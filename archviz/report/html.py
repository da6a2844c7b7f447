"""One self-contained HTML page per spec: diagrams, a sortable and filterable layer table, totals,
charts and conventions. No network: inline CSS, inline SVG, a few lines of inline script."""

from __future__ import annotations

import html
import re

from archviz import __version__
from archviz.analysis import Analysis
from archviz.conventions import CONVENTIONS
from archviz.expectations import check_expectations
from archviz.network import Network
from archviz.render import palette, units
from archviz.render.columns import COLUMNS, cell_text, raw_value
from archviz.render.facts import summary_facts

TABLE_COLUMNS = ("name", "op", "stage", "output_shape", "params", "params_pct", "macs", "macs_pct", "flops",
                 "elementwise", "activation_bytes", "receptive_field", "stride", "padding")
NUMERIC = {"count", "percent", "field", "bytes"}

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--ink);
background:linear-gradient(180deg,var(--wash) 0,var(--card) 320px)}
main{max-width:1180px;margin:0 auto;padding:32px 24px 64px}
header h1{font-size:34px;margin:0 0 4px;letter-spacing:-.02em}
header p{margin:0;color:var(--muted)}
.ref{font-size:13px;margin-top:6px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:24px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 16px;
box-shadow:0 1px 2px rgba(31,35,40,.06)}
.card .label{font-size:12px;letter-spacing:.02em;color:var(--muted)}
.card .value{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums;white-space:nowrap}
.card .exact{font-size:12px;color:var(--muted);font-variant-numeric:tabular-nums}
section{margin-top:36px}
h2{font-size:20px;margin:0 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
.figure{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:12px;overflow:auto}
.figure svg{max-width:100%;height:auto;display:block;margin:0 auto}
details.figure summary{cursor:pointer;color:var(--accent);font-weight:600}
.tools{display:flex;gap:12px;align-items:center;margin-bottom:10px;flex-wrap:wrap}
.tools input{font:inherit;padding:7px 10px;border:1px solid var(--line);border-radius:8px;min-width:260px}
.tools .count{color:var(--muted);font-size:13px}
.scroll{overflow:auto;border:1px solid var(--line);border-radius:12px;max-height:70vh;background:var(--card)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 10px;border-bottom:1px solid var(--rule);white-space:nowrap;text-align:left}
thead th{position:sticky;top:0;background:var(--soft);cursor:pointer;user-select:none;z-index:1}
thead th[aria-sort=ascending]::after{content:" ▲";color:var(--accent)}
thead th[aria-sort=descending]::after{content:" ▼";color:var(--accent)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:hover{background:var(--hover)}
.plain th{cursor:default;position:static}
.ok{color:var(--good);font-weight:600}.bad{color:var(--bad);font-weight:600}
footer{margin-top:48px;color:var(--muted);font-size:12px}
#layers tbody td:first-child,#layers thead th:first-child{position:sticky;left:0;background:var(--card);z-index:2}
#layers thead th:first-child{background:var(--soft);z-index:3}
@media (max-width:600px){main{padding:16px 10px 40px}header h1{font-size:26px}
.tools input{min-width:0;width:100%}table{font-size:12px}th,td{padding:4px 6px}}
@media print{@page{size:A4 landscape;margin:10mm}
body{background:none;font-size:10px}main{max-width:none;padding:0}
.scroll{max-height:none;overflow:visible;border:0}
thead th,#layers tbody td:first-child,#layers thead th:first-child{position:static}
table{font-size:7px;width:auto}th,td{padding:1px 3px}
thead{display:table-header-group}tr{break-inside:avoid}
.tools{display:none}details.figure{display:none}.figure{break-inside:avoid}
.cards{grid-template-columns:repeat(4,1fr)}}
"""

def _expected_text(value: object) -> str:
    """138357544 -> '138,357,544' and [3, 3] -> '3×3', as the rest of the page writes them."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return units.exact(value)
    if isinstance(value, list | tuple) and value and all(isinstance(v, int) for v in value):
        return "×".join(str(v) for v in value)
    return str(value)


def _palette_css() -> str:
    """The page's colours, every one from the palette: neutrals as CSS variables, and the table's
    family stripes in the same hues as the figures on the page."""
    neutrals = palette.LIGHT_NEUTRALS
    variables = {"ink": neutrals["text"], "muted": neutrals["muted"], "line": neutrals["line"],
                 "soft": neutrals["cluster_fill"], "accent": neutrals["accent"], "card": neutrals["background"],
                 "wash": neutrals["wash"], "rule": neutrals["rule"], "hover": neutrals["hover"],
                 "good": palette.GOOD, "bad": palette.BAD}
    root = ":root{" + ";".join(f"--{name}:{value}" for name, value in variables.items()) + "}"
    stripes = "".join(f"tr.fam-{family} td:first-child{{border-left:4px solid {palette.family_hue(family)}}}\n"
                      for family in ("conv", "dense", "pool", "norm", "merge"))
    return root + "\n" + stripes


SCRIPT = """
(function(){
  const table=document.getElementById('layers');
  const body=table.tBodies[0];
  const heads=table.tHead.rows[0].cells;
  const filter=document.getElementById('filter');
  const count=document.getElementById('count');
  function refresh(){
    const q=filter.value.trim().toLowerCase();
    let shown=0;
    for(const row of body.rows){
      const hit=!q||row.dataset.search.includes(q);
      row.hidden=!hit; if(hit) shown++;
    }
    count.textContent=shown+' of '+body.rows.length+' layers';
  }
  for(let i=0;i<heads.length;i++){
    heads[i].addEventListener('click',function(){
      const numeric=heads[i].classList.contains('num');
      const order=heads[i].getAttribute('aria-sort')==='descending'?'ascending':'descending';
      for(const h of heads) h.removeAttribute('aria-sort');
      heads[i].setAttribute('aria-sort',order);
      const rows=Array.from(body.rows);
      rows.sort(function(a,b){
        const x=a.cells[i].dataset.value, y=b.cells[i].dataset.value;
        let c;
        if(numeric){
          const bx=x===''?-1n:BigInt(x), by=y===''?-1n:BigInt(y);
          c=bx<by?-1:bx>by?1:0;
        } else { c=x.localeCompare(y); }
        if(c===0) c=Number(a.dataset.index)-Number(b.dataset.index);
        return order==='ascending'?c:-c;
      });
      for(const r of rows) body.appendChild(r);
    });
  }
  filter.addEventListener('input',refresh);
  refresh();
})();
"""


def _inline_svg(data: bytes) -> str:
    """An SVG file's markup without its XML prolog, ready to sit inside HTML."""
    text = data.decode("utf-8")
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text, flags=re.DOTALL)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    return text.strip()


def _sort_value(column_key: str, record, analysis: Analysis) -> str:  # type: ignore[no-untyped-def]
    column = COLUMNS[column_key]
    value = column.value(record, analysis)
    if column.kind == "percent":
        return str(value[0])
    if column.kind == "field":
        return "" if value is None else str(value[0] * 100_000 + value[1])
    if column.kind in ("count", "bytes"):
        return str(value)
    return str(raw_value(column, record, analysis))


def html_report(network: Network, analysis: Analysis, graph_svg: bytes | None, blocks_svg: bytes | None,
                chart_svg: bytes | None) -> str:
    e = html.escape
    t = analysis.totals
    cards = [
        ("Parameters", units.human(t.params), units.exact(t.params)),
        ("MACs", units.human(t.macs), units.exact(t.macs)),
        ("FLOPs (2 x MACs)", units.human(t.flops), units.exact(t.flops)),
        ("Param memory", units.human_bytes(t.param_bytes), t.dtype),
        ("Activations", units.human_bytes(t.activation_bytes), f"{t.dtype}, batch {analysis.batch}"),
        ("Layers", str(t.layers), f"output {units.shape(t.output_shape)}"),
    ]
    card_html = "".join(
        f'<div class="card"><div class="label">{e(label)}</div><div class="value">{e(value)}</div>'
        f'<div class="exact">{e(exact)}</div></div>' for label, value, exact in cards)
    columns = [COLUMNS[key] for key in TABLE_COLUMNS]
    head = "".join(f'<th class="{"num" if c.kind in NUMERIC else ""}" title="{e(c.help)}">{e(c.header)}</th>'
                   for c in columns)
    rows = []
    for index, record in enumerate(analysis.layers):
        search = " ".join((record.name, record.op, record.label, record.stage or "")).lower()
        cells = "".join(
            f'<td class="{"num" if c.kind in NUMERIC else ""}" data-value="{e(_sort_value(c.key, record, analysis))}">'
            f"{e(cell_text(c, record, analysis, human_units=c.kind == 'bytes'))}</td>" for c in columns)
        rows.append(f'<tr class="fam-{e(record.family)}" data-index="{index}" data-search="{e(search)}">{cells}</tr>')
    facts = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in summary_facts(analysis))
    conventions = "".join(
        f'<tr><th>{e(c.name)}</th><td>{e(c.tool)}</td><td>{e(c.unit)}</td>'
        f'<td class="num">{units.exact(c.total(analysis))}</td><td>{e(c.counts)}</td></tr>'
        for c in CONVENTIONS.values())
    expectations = check_expectations(network)
    expect_rows = "".join(
        f"<tr><th>{e(x.quantity)}</th><td class=\"num\">{e(_expected_text(x.expected))}</td>"
        f"<td class=\"num\">{e(_expected_text(x.got))}"
        f"</td><td class=\"{'ok' if x.holds else 'bad'}\">{'✓ holds' if x.holds else '✗ differs'}</td></tr>"
        for x in expectations)
    sections = []
    if blocks_svg is not None:
        sections.append(f'<section><h2>Architecture</h2><div class="figure">{_inline_svg(blocks_svg)}</div></section>')
    if chart_svg is not None:
        sections.append(f'<section><h2>Where the parameters and the compute sit</h2>'
                        f'<div class="figure">{_inline_svg(chart_svg)}</div></section>')
    if graph_svg is not None:
        sections.append(f'<section><h2>Layer graph</h2><details class="figure"><summary>Graphviz layer graph '
                        f'(click to open)</summary>{_inline_svg(graph_svg)}</details></section>')
    reference = f'<p class="ref">{e(" ".join(network.reference.split()))}</p>' if network.reference else ""
    expect_section = (f'<section><h2>Expectations</h2><div class="scroll"><table class="plain"><thead><tr>'
                      f'<th>quantity</th><th class="num">expected</th><th class="num">archviz</th><th>result</th></tr>'
                      f'</thead><tbody>{expect_rows}</tbody></table></div></section>') if expectations else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{e(analysis.name)} — archviz report</title>\n<style>{_palette_css()}{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{e(analysis.name)}</h1><p>{e(network.description)}</p>{reference}</header>\n"
        f'<div class="cards">{card_html}</div>\n'
        + "\n".join(sections)
        + f'\n<section><h2>Layers</h2><div class="tools"><input id="filter" type="search" '
        f'placeholder="Filter by name, op or stage" aria-label="Filter layers"><span id="count" class="count"></span>'
        f'</div><div class="scroll"><table id="layers"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
        f"</table></div></section>\n"
        f'<section><h2>Totals</h2><div class="scroll"><table class="plain"><tbody>{facts}</tbody></table></div>'
        f"</section>\n"
        f'<section><h2>One network, many “FLOPs”</h2><div class="scroll"><table class="plain"><thead><tr>'
        f'<th>convention</th><th>tool</th><th>unit</th><th class="num">total</th><th>counts</th></tr></thead>'
        f"<tbody>{conventions}</tbody></table></div></section>\n"
        f"{expect_section}\n"
        f"<footer>Generated by archviz {e(__version__)} from {e(analysis.spec)} at input {e(units.shape(analysis.input_shape))}, "
        f"batch {analysis.batch}. Conventions: params as PyTorch counts them; MACs of conv and dense layers; "
        f"FLOPs = 2 x MACs.</footer>\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def render_html_report(network: Network, analysis: Analysis) -> str:
    from archviz.render.charts import render_chart
    from archviz.render.diagram import render_graph
    from archviz.render.external import MissingToolError
    from archviz.render.figure import render_blocks

    try:
        graph = render_graph(analysis, network, "svg")
    except MissingToolError:
        graph = None
    return html_report(network, analysis, graph, render_blocks(analysis, network, "svg"),
                       render_chart([analysis], "cost", "svg"))
