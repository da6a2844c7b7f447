"""Output safety: spec strings with markup, quotes, backslashes and formula prefixes come out as
the same text in every format, never as markup, code, a formula or a broken file.

One property writes random hostile layer, stage and network names and descriptions into a spec,
renders it in every format and parses each result back: rich table (plain and coloured), JSON,
CSV, Markdown, the summary's HTML, Graphviz DOT, the blocks SVG, matplotlib charts, the HTML
report, the verification table and the exported PyTorch source.
"""

from __future__ import annotations

import ast
import csv
import html
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import pytest
from archviz_strategies import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import archviz
from archviz.render.columns import select
from archviz.render.formats import CSV_FORMULA_PREFIXES, to_csv, to_html_table, to_json, to_markdown
from archviz.render.table import render_summary

# Line coverage comes from the directed tests (test_error_table.py and the rest); tracing makes
# these generated examples three to five times slower, so they run untraced (pytest-cov).
pytestmark = pytest.mark.no_cover

FRAGMENTS = [
    "[bold red]x[/]", "[/]", "[link=https://evil]", ":smile:", "<script>alert(1)</script>", "</script>", "<b>",
    "&amp;", "&", "\"", "'", "'''", '"""', "`", "``", "*", "_", "|", "||", "#", "\\", "\\N", "\\x", "\\u", "\\n",
    "$", "$x^$", "$\\frac$", "%s", "%(x)s", "=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\t=x", "=", "--",
    "]]>", "<!--", "-->", "<?xml", "&#0;", "\u202e", "ünï", "名前", "😀", " ", "a", "x.y", "[", "]", ";", "->",
    "label=<b>", "\\l", "\\G", "\\E",
]
# what a spec may hold: printable, one line, no braces (templates), and 'input'/'in' are reserved
_CHARS = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"), blacklist_characters="{}")


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable() and ch not in "{}")


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(_CHARS, min_size=1, max_size=6)),
                          min_size=1, max_size=3))
    text = _printable("".join(parts))[:60]
    return text if text.strip() and text not in ("input", "in") else "x" + text


@st.composite
def hostile_specs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    names = draw(st.lists(hostile_text(), min_size=5, max_size=5, unique=True))
    stages = draw(st.lists(hostile_text(), min_size=2, max_size=2, unique=True))
    title = draw(hostile_text())
    description = draw(hostile_text()) + draw(st.sampled_from(("", "\nsecond line", " \\")))
    q = json.dumps  # a YAML double-quoted string with the exact text
    text = (f"name: {q(title)}\ndescription: {q(description)}\ninput: [3, 8, 8]\nlayers:\n"
            f"  - {{stage: {q(stages[0])}, layers: [{{conv2d: {{name: {q(names[0])}, filters: 2, kernel: 3}}}}, "
            f"{{relu: {{name: {q(names[1])}}}}}]}}\n"
            f"  - {{stage: {q(stages[1])}, layers: [{{max_pool2d: {{name: {q(names[2])}, kernel: 2}}}}, "
            f"{{flatten: {{name: {q(names[3])}}}}}, {{dense: {{name: {q(names[4])}, units: 3}}}}]}}\n")
    return text, {"names": names, "stages": stages, "title": title, "description": description}


class _Tags(HTMLParser):
    """Collects start tags, attributes and the text of table cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _csv_cell(text: str) -> str:
    return "'" + text if text.startswith(CSV_FORMULA_PREFIXES) else text


def _markdown_unescape(cell: str) -> str:
    return html.unescape(re.sub(r"\\(.)", r"\1", cell))


def _markdown_cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line)
    assert cells[0] == "" and cells[-1] == "", line
    return [cell.strip() for cell in cells[1:-1]]


ANSI = re.compile(r"\x1b\[[0-9;]*m")
COLUMNS = "name,op,type,stage,inputs,output_shape,params"


def check_text_formats(analysis: archviz.Analysis, strings: dict[str, Any]) -> None:
    names, stages = strings["names"], strings["stages"]
    columns = select(COLUMNS)
    # JSON: the exact strings back
    data = json.loads(to_json(analysis))
    assert data["name"] == strings["title"]
    assert [layer["name"] for layer in data["layers"]] == names
    assert [layer["stage"] for layer in data["layers"]] == [stages[0]] * 2 + [stages[1]] * 3
    # CSV: one row per layer, every cell where it belongs, formulas neutralised
    rows = list(csv.reader(io.StringIO(to_csv(analysis, columns))))
    assert len(rows) == 1 + len(names) and all(len(row) == len(columns) for row in rows)
    assert [row[0] for row in rows[1:]] == [_csv_cell(name) for name in names]
    assert [row[3] for row in rows[1:]] == [_csv_cell(stage) for stage in [stages[0]] * 2 + [stages[1]] * 3]
    for row in rows[1:]:
        assert not any(cell.startswith(CSV_FORMULA_PREFIXES) for cell in row), row
    # Markdown: every row has its columns (no stray '|'), no raw HTML, and the names come back
    lines = to_markdown(analysis, columns).splitlines()
    body = [line for line in lines if line.startswith("| ") and not line.startswith(("| Layer", "| Total"))][:5]
    assert len(body) == len(names)
    for line, name in zip(body, names):
        cells = _markdown_cells(line)
        assert len(cells) == len(columns), line
        assert "<" not in line and ">" not in line
        assert _markdown_unescape(cells[0]) == name.strip()  # a cell's outer spaces do not count
    assert _markdown_unescape(lines[0][4:]).strip() == strings["title"].strip()
    # HTML table: only the page's own tags, the names as cell text
    parser = _Tags()
    parser.feed(to_html_table(analysis, columns))
    assert set(parser.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "table", "thead", "tbody",
                                "tr", "th", "td"}, set(parser.tags)
    assert set(parser.attributes) <= {"lang", "charset", "class"}
    for name in names:
        assert name in parser.cells
    # rich table: markup is not interpreted, nothing but rich's own colour codes
    plain = render_summary(analysis, columns, width=400, color=False)
    assert "\x1b" not in plain
    coloured = ANSI.sub("", render_summary(analysis, columns, width=400, color=True))
    assert "\x1b" not in coloured
    for text in (plain, coloured):
        for name in names:
            assert name in text, name


@settings(max_examples=examples(150))
@given(hostile_specs())
def test_hostile_names_come_out_as_text_in_every_text_format(case: tuple[str, dict[str, Any]]) -> None:
    text, strings = case
    network = archviz.loads(text)
    check_text_formats(network.analyze(), strings)


def _svg(data: bytes) -> ET.Element:
    root = ET.fromstring(data)  # well-formed: every string was escaped
    assert not [e for e in root.iter() if e.tag.split("}")[-1] in ("script", "foreignObject")]
    assert not [k for e in root.iter() for k in e.attrib if k.lower().startswith("on")]
    return root


def _svg_text(root: ET.Element) -> str:
    return " ".join("".join(e.itertext()) for e in root.iter() if e.tag.split("}")[-1] in ("text", "title", "tspan"))


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # CJK and emoji in matplotlib's font
@settings(max_examples=examples(20))
@given(hostile_specs())
def test_hostile_names_come_out_as_text_in_pictures_and_code(case: tuple[str, dict[str, Any]]) -> None:
    """DOT (through Graphviz when installed), blocks SVG, charts, the HTML report, exported source."""
    from archviz.render.charts import render_chart
    from archviz.render.diagram import graph_source
    from archviz.render.figure import render_blocks

    text, strings = case
    network = archviz.loads(text)
    analysis = network.analyze()
    names = strings["names"]
    blocks = _svg(render_blocks(analysis, network, "svg"))
    assert strings["title"][:20] in _svg_text(blocks).replace("\\\\", "\\") or len(strings["title"]) > 40
    for kind, shown in (("cost", [names[0], names[4]]), ("memory", names)):  # cost: layers with weights
        chart = _svg_text(_svg(render_chart([analysis], kind, "svg")))
        for name in shown:
            if len(name) <= 30:
                assert name in chart, name  # '$' shown as '$', not a formula
    source = graph_source(analysis, network, detail="all")  # every layer a node: every name drawn
    if shutil.which("dot"):
        svg = subprocess.run(["dot", "-Tsvg"], input=source.encode("utf-8"), capture_output=True, timeout=60,
                             check=False)
        assert svg.returncode == 0, svg.stderr
        rendered = _svg_text(_svg(svg.stdout))
        for name in names:
            if len(name) <= 30:
                assert name in rendered, name
    from archviz.backends.pytorch.source import to_source

    code = to_source(network)
    module = ast.parse(code)
    assert strings["description"] in (ast.get_docstring(module, clean=False) or "")
    compile(code, "<export>", "exec")
    from archviz.report.html import html_report

    page = html_report(network, analysis, None, render_blocks(analysis, network, "svg"),
                       render_chart([analysis], "cost", "svg"))
    parser = _Tags()
    parser.feed(page)
    assert parser.tags.count("script") == 1  # the report's own sorting script, nothing injected
    assert not [a for a in parser.attributes if a.lower().startswith("on")]
    for name in names:
        assert name in parser.cells


def test_hostile_names_in_the_verification_table() -> None:
    """The verify command's table and Markdown: names as text, inside code spans they cannot close."""
    pytest.importorskip("torch")
    import archviz.torch
    from archviz.render.verify import render_markdown, render_text

    names = ["[red]c[/] | =1", "<script>", "a` <img src=x onerror=alert(1)> `b", "``x"]
    network = archviz.loads('name: "[bold]<t>[/]"\ninput: [3, 8, 8]\nlayers:\n'
                            + "".join(f"  - relu: {{name: {json.dumps(n)}}}\n" for n in names))
    result = archviz.torch.verify(network)
    text = render_text(result, width=300, color=False)
    assert "\x1b" not in text and all(name in text for name in names)
    markdown = render_markdown(result)
    outside_code = re.sub(r"(`+)(.+?)\1", "", markdown.replace("\\|", ""))
    assert "<" not in outside_code and "onerror" not in outside_code, outside_code
    assert markdown.startswith("## \\[bold\\]&lt;t&gt;\\[/\\]:")


@pytest.mark.parametrize("text", [
    'name: "x\\e[2J"\ninput: [3, 8, 8]\nlayers: [relu]\n',
    'name: "a\\nb"\ninput: [3, 8, 8]\nlayers: [relu]\n',
    'name: x\ndescription: "\\0"\ninput: [3, 8, 8]\nlayers: [relu]\n',
    'name: x\nreference: "\\e]0;title\\a"\ninput: [3, 8, 8]\nlayers: [relu]\n',
    'name: x\ninput: [3, 8, 8]\nlayers: [{relu: {name: "a\\nb"}}]\n',
    'name: x\ninput: [3, 8, 8]\nlayers: [{stage: "\\e[31m", layers: [relu]}]\n',
    'name: x\ninput: [3, 8, 8]\nlayers: [{relu: {name: "\\u202e"}}]\n',
])
def test_control_characters_are_refused_before_any_output(text: str) -> None:
    """Terminal escapes, NUL and line breaks in one-line strings never reach a renderer."""
    with pytest.raises(archviz.SpecError, match="printable"):
        archviz.loads(text)


def test_multi_line_descriptions_are_kept() -> None:
    network = archviz.loads('name: x\ndescription: ["one", "two"]\ninput: [3, 8, 8]\nlayers: [relu]\n')
    assert network.description == "one\ntwo"
