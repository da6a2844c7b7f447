"""One self-contained HTML page per spec: diagrams, a sortable and filterable layer table, totals,
charts and conventions. No network: inline CSS, inline SVG, a few lines of inline script."""

from __future__ import annotations

import html
import re

from archviz import __version__
from archviz.analysis import TRAINING_ASSUMPTIONS, Analysis
from archviz.conventions import CONVENTIONS
from archviz.expectations import check_expectations
from archviz.network import Network
from archviz.render import palette, units
from archviz.render.columns import COLUMNS, Column, cell_text, raw_value
from archviz.render.facts import summary_facts

TABLE_COLUMNS = ("name", "op", "stage", "output_shape", "params", "params_pct", "macs", "macs_pct", "flops",
                 "elementwise", "activation_bytes", "receptive_field", "stride", "padding")
NUMERIC = {"count", "percent", "field", "bytes"}
# the op families whose rows carry a coloured stripe (the rest are the uncounted greys)
STRIPED = ("conv", "pool", "dense", "norm", "merge")

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--ink);
background:linear-gradient(180deg,var(--wash) 0,var(--card) 320px)}
main{max-width:1180px;margin:0 auto;padding:32px 24px 64px}
header h1{font-size:34px;margin:0 0 4px;letter-spacing:-.02em}
header p{margin:0;color:var(--muted)}
.ref{font-size:13px;margin-top:6px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:12px;margin:24px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 16px;
box-shadow:0 1px 2px rgba(31,35,40,.06)}
.card .label{font-size:12px;letter-spacing:.02em;color:var(--muted)}
.card .value{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums;white-space:nowrap}
.card .exact{font-size:12px;color:var(--muted);font-variant-numeric:tabular-nums}
section{margin-top:36px}
h2{font-size:20px;margin:0 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
.figure{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:12px;overflow:auto}
.figure svg{max-width:100%;min-width:var(--readable,0);height:auto;display:block;margin:0 auto}
details.figure summary{cursor:pointer;color:var(--accent);font-weight:600}
.tools{display:flex;gap:12px;align-items:center;margin-bottom:10px;flex-wrap:wrap}
.tools input{font:inherit;padding:7px 10px;border:1px solid var(--line);border-radius:8px;min-width:260px}
.tools .count{color:var(--muted);font-size:13px}
.scroll{overflow:auto;border:1px solid var(--line);border-radius:12px;max-height:70vh;background:var(--card)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid var(--rule);white-space:nowrap;text-align:left}
#layers thead th{white-space:normal;vertical-align:bottom;min-width:3.5em}
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
#layers tr.subtotal td{font-weight:650;background:var(--soft);border-top:1px solid var(--line);border-bottom:1px solid var(--line)}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:0 0 8px;font-size:13px;color:var(--muted)}
.legend i{display:inline-block;width:4px;height:14px;margin-right:5px;vertical-align:-2px}
@media (min-width:1240px){.wide{width:fit-content;min-width:100%;max-width:min(1400px,calc(100vw - 48px));position:relative;left:50%;transform:translateX(-50%)}}
@media (max-width:600px){main{padding:16px 10px 40px}header h1{font-size:26px}.cards{grid-template-columns:repeat(auto-fit,minmax(150px,1fr))}.card .value{font-size:19px}
.tools input{min-width:0;width:100%}table{font-size:12px}th,td{padding:4px 6px}}
@media print{@page{size:A4 landscape;margin:10mm}
body{background:none;font-size:10px}main{max-width:none;padding:0}.wide{width:auto;max-width:none;left:0;transform:none}
.scroll{max-height:none;overflow:visible;border:0}
thead th,#layers tbody td:first-child,#layers thead th:first-child{position:static}
table{font-size:7px;width:auto}th,td{padding:1px 3px}
thead{display:table-header-group}tr{break-inside:avoid}
h2{break-after:avoid}.tools,section.graph{display:none}.figure{break-inside:avoid;overflow:visible}
.figure svg{width:auto;height:auto;min-width:0;max-width:100%;max-height:170mm}
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
    # A phone shows the sticky layer name and the numbers first: the stage column, which the
    # subtotal rows already name, gives way (the filter still matches stages).
    stage = TABLE_COLUMNS.index("stage") + 1
    root += (f"\n@media (max-width:600px){{#layers th:nth-child({stage}),#layers td:nth-child({stage})"
             "{display:none}}")
    stripes = "".join(f"tr.fam-{family} td:first-child{{border-left:4px solid {palette.family_hue(family)}}}\n"
                      for family in STRIPED)
    return root + "\n" + stripes


SCRIPT = """
(function(){
  const table=document.getElementById('layers');
  const body=table.tBodies[0];
  const heads=table.tHead.rows[0].cells;
  const filter=document.getElementById('filter');
  const count=document.getElementById('count');
  const original=Array.from(body.rows);
  const layers=original.filter(function(r){return r.classList.contains('layer');});
  const subtotals=original.filter(function(r){return r.classList.contains('subtotal');});
  let sorted=false;
  // A stage's subtotal row shows in network order, and only while every layer of its stage does:
  // sorted rows or a filter that hides some of the stage would put it beside layers it does not sum.
  function refresh(){
    const q=filter.value.trim().toLowerCase();
    const partial=new Set();
    let shown=0;
    for(const row of layers){
      const hit=!q||row.dataset.search.includes(q);
      row.hidden=!hit; if(hit) shown++; else partial.add(row.dataset.stage);
    }
    for(const row of subtotals) row.hidden=sorted||partial.has(row.dataset.stage);
    count.textContent=shown+' of '+layers.length+' layers';
  }
  for(let i=0;i<heads.length;i++){
    heads[i].addEventListener('click',function(){
      const numeric=heads[i].classList.contains('num');
      const now=heads[i].getAttribute('aria-sort');
      // largest first, then smallest first, then back to network order with the subtotals
      const order=now===null?'descending':now==='descending'?'ascending':null;
      for(const h of heads) h.removeAttribute('aria-sort');
      sorted=order!==null;
      if(!sorted){ for(const r of original) body.appendChild(r); refresh(); return; }
      heads[i].setAttribute('aria-sort',order);
      const rows=layers.slice();
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
      for(const r of subtotals) body.appendChild(r);
      refresh();
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


# A figure shrinks to its frame until its smallest text would be MIN_TEXT_PX high, and no
# further: a narrower screen (a phone) scrolls the figure sideways inside its frame instead.
MIN_TEXT_PX = 8.0
_CSS_PIXELS = {"": 1.0, "px": 1.0, "pt": 4 / 3, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}
_FONT_SIZE = re.compile(rb'font-size(?:="|:\s*)([0-9.]+)')


def readable_width(data: bytes) -> float | None:
    """The narrowest width, in CSS pixels, at which an SVG's smallest text is still MIN_TEXT_PX
    high (its natural width if that text is smaller already); None if the SVG does not say its
    size or has no sized text."""
    root = re.search(rb"<svg\b[^>]*>", data)
    if root is None:
        return None
    width = re.search(rb'\swidth="([0-9.]+)([a-z]*)"', root.group(0))
    box = re.search(rb'\sviewBox="[-0-9.]+[ ,]+[-0-9.]+[ ,]+([0-9.]+)', root.group(0))
    sizes = [float(size) for size in _FONT_SIZE.findall(data) if float(size) > 0]
    if width is None or box is None or not sizes or width.group(2).decode() not in _CSS_PIXELS:
        return None
    natural = float(width.group(1)) * _CSS_PIXELS[width.group(2).decode()]
    # font sizes are in viewBox units: one unit is natural / viewBox-width CSS pixels
    return min(natural, MIN_TEXT_PX * float(box.group(1)) / min(sizes))


def _figure(data: bytes, tag: str = "div", summary: str = "") -> str:
    """A framed figure that shrinks to its frame down to its readable width, then scrolls; on a
    wide screen a frame grows past the text column (up to 1,400 px) for a figure that needs it."""
    width = readable_width(data)
    style = f' style="--readable:{width:.0f}px"' if width else ""
    return f'<{tag} class="figure wide"{style}>{summary}{_inline_svg(data)}</{tag}>'


def _cards(analysis: Analysis) -> list[tuple[str, str, str, str]]:
    """(label, value, detail, tooltip) of the headline cards: exact counts, the training estimate
    with its assumptions, and the receptive field of the last layer that still has one."""
    t = analysis.totals
    assumptions = TRAINING_ASSUMPTIONS[analysis.dtype]
    if t.training_bytes_estimate is None:
        training = ("Training memory (estimate)", "not estimated", f"{t.dtype} is an inference format", assumptions)
    else:
        # the assumptions are long: the tooltip and the Totals table quote them whole
        training = ("Training memory (estimate)", units.human_bytes(t.training_bytes_estimate),
                    f"{t.dtype}, batch {analysis.batch}; assumed: see Totals", assumptions)
    cards = [
        ("Parameters", units.human(t.params), units.exact(t.params), "learnable parameters, exact"),
        ("MACs", units.human(t.macs), units.exact(t.macs), "multiply-accumulates of conv and dense layers, exact"),
        ("FLOPs (2 x MACs)", units.human(t.flops), units.exact(t.flops), "FlopCounterMode's convention, exact"),
        ("Param memory", units.human_bytes(t.param_bytes), t.dtype, "the parameters stored in the analysed dtype"),
        ("Activations", units.human_bytes(t.activation_bytes), f"{t.dtype}, batch {analysis.batch}",
         "every layer's output, summed"),
        training,
    ]
    last = _last_field(analysis)
    if last is not None:
        name, (height, width), stride = last
        cards.append(("Receptive field (exact)", f"{height}×{width} px", f"{name}, effective stride {_pair(stride)}",
                      ("input pixels one output position of the last layer with a field sees "
                       "(docs/conventions.md)")))
    cards.append(("Layers", str(t.layers), f"output {units.shape(t.output_shape)}", "layers in the spec, expanded"))
    return cards


def _last_field(analysis: Analysis) -> tuple[str, tuple[int, int], tuple[int, int]] | None:
    """(name, field, effective stride) of the last layer whose outputs are still positions on the
    input's grid (before flatten, dense or global pooling): the network's final receptive field."""
    for record in reversed(analysis.layers):
        if record.receptive_field is not None and record.effective_stride is not None:
            return record.name, record.receptive_field, record.effective_stride
    return None


def _pair(value: tuple[int, int]) -> str:
    return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"


def _subtotal_row(stage: str, sums: dict[str, int], analysis: Analysis, columns: list[Column]) -> str:
    """A stage's subtotal row: the sums analysis.stage_totals() gives, in the layer columns."""
    e = html.escape
    texts = {
        "name": f"{stage} total",
        "op": f"{sums['layers']:,} layers",
        "params": units.exact(sums["params"]),
        "params_pct": units.percent(sums["params"], analysis.totals.params),
        "macs": units.exact(sums["macs"]),
        "macs_pct": units.percent(sums["macs"], analysis.totals.macs),
        "flops": units.exact(sums["flops"]),
        "buffers": units.exact(sums["buffers"]),
    }
    cells = "".join(f'<td class="{"num" if c.kind in NUMERIC else ""}">{e(texts.get(c.key, ""))}</td>'
                    for c in columns)
    return f'<tr class="subtotal" data-stage="{e(stage)}">{cells}</tr>'


def _stripe_legend(analysis: Analysis) -> str:
    """The key to the table's coloured stripes, in the palette's hues (the figures' colours)."""
    present = {record.family for record in analysis.layers}
    items = "".join(f'<span><i style="background:{palette.family_hue(family)}"></i>{family}</span>'
                    for family in STRIPED if family in present)
    return f'<div class="legend" aria-label="stripe colours">{items}</div>' if items else ""


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
                chart_svg: bytes | None, memory_svg: bytes | None = None) -> str:
    e = html.escape
    card_html = "".join(
        f'<div class="card" title="{e(tooltip)}"><div class="label">{e(label)}</div><div class="value">{e(value)}</div>'
        f'<div class="exact">{e(detail)}</div></div>' for label, value, detail, tooltip in _cards(analysis))
    columns = [COLUMNS[key] for key in TABLE_COLUMNS]
    head = "".join(f'<th class="{"num" if c.kind in NUMERIC else ""}" title="{e(c.help)}">{e(c.header)}</th>'
                   for c in columns)
    # stage subtotals after each stage's last layer, as the terminal table has them
    stages = analysis.stage_totals()
    subtotal = dict(stages)
    # a stage's subtotal follows its last layer: once, even when its name returns after another stage
    last_of = {record.stage: index for index, record in enumerate(analysis.layers)}
    rows = []
    for index, record in enumerate(analysis.layers):
        search = " ".join((record.name, record.op, record.label, record.stage or "")).lower()
        cells = "".join(
            f'<td class="{"num" if c.kind in NUMERIC else ""}" data-value="{e(_sort_value(c.key, record, analysis))}">'
            f"{e(cell_text(c, record, analysis, human_units=c.kind == 'bytes'))}</td>" for c in columns)
        rows.append(f'<tr class="layer fam-{e(record.family)}" data-index="{index}" '
                    f'data-stage="{e(record.stage or "")}" data-search="{e(search)}">{cells}</tr>')
        if last_of[record.stage] == index and record.stage is not None and len(stages) > 1:
            rows.append(_subtotal_row(record.stage, subtotal[record.stage], analysis, columns))
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
        sections.append(f"<section><h2>Architecture</h2>{_figure(blocks_svg)}</section>")
    if chart_svg is not None:
        sections.append(f"<section><h2>Where the parameters and the compute sit</h2>{_figure(chart_svg)}</section>")
    if memory_svg is not None:
        sections.append(f"<section><h2>Where the activation memory goes</h2>{_figure(memory_svg)}</section>")
    if graph_svg is not None:
        # the graph's own title block carries its colour legend (render/diagram.py)
        sections.append('<section class="graph"><h2>Layer graph</h2>' + _figure(
            graph_svg, "details", "<summary>Graphviz layer graph, with its colour legend (click to open)</summary>")
            + "</section>")
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
        f'<span class="count">Click a header to sort; again to reverse; a third time for network order with the '
        f"stage subtotals</span></div>{_stripe_legend(analysis)}"
        f'<div class="scroll wide"><table id="layers"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
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
    from archviz.render.charts import MAX_BARS, render_chart
    from archviz.render.diagram import render_graph
    from archviz.render.external import MissingToolError
    from archviz.render.figure import render_blocks

    try:
        graph = render_graph(analysis, network, "svg")
    except MissingToolError:
        graph = None
    # the memory chart draws every layer: past the charts' bar limit the page goes without it
    memory = render_chart([analysis], "memory", "svg") if len(analysis.layers) <= MAX_BARS else None
    return html_report(network, analysis, graph, render_blocks(analysis, network, "svg"),
                       render_chart([analysis], "cost", "svg"), memory)
