"""The graph style: a Graphviz layered graph of a network, one node per layer or per stage.

Nodes carry the layer's name, its paper label and key attributes (conv3-64 · s1 · p1), and its
params and MACs; edges carry the tensor shape that flows along them; stages are clusters;
colours come from the theme's op families. Everything shown is read from the Analysis (and,
for attributes such as stride, from the network's ops); nothing is counted here.

>>> import archviz
>>> network = archviz.load("vgg16")
>>> source = graph_source(network.analyze(), network)
>>> source.startswith("digraph")
True
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from archviz.analysis import Analysis, LayerRecord
from archviz.errors import ArchvizError
from archviz.render import units
from archviz.render.external import run_dot
from archviz.render.theme import GRAPHVIZ_FONT, Theme, get_theme, printable

if TYPE_CHECKING:
    import graphviz

    from archviz.network import Network
    from archviz.ops.base import Op

MAX_NODES = 500
FORMATS = ("svg", "png", "pdf", "dot")
NAME_LIMIT = 48
PNG_DPI = 144
# Layers that change nothing a reader counts are drawn as small one-line nodes.
SMALL_FAMILIES = frozenset({"activation", "regularization", "shape"})
UNSTAGED = "(no stage)"


class Detail(str, Enum):
    layers = "layers"
    stages = "stages"


class Direction(str, Enum):
    TB = "TB"
    LR = "LR"


@dataclass(frozen=True)
class DetailChoice:
    """The detail a graph is drawn at, and the warning to show when it differs from the request."""

    detail: Detail
    warning: str | None = None


def choose_detail(analysis: Analysis, detail: Detail | str = Detail.layers, max_nodes: int = MAX_NODES) -> DetailChoice:
    """Fall back to one node per stage when a per-layer graph would have more than ``max_nodes``
    nodes: dot needs minutes for thousands of labelled nodes, and nobody can read them."""
    wanted = Detail(detail)
    count = len(analysis.layers)
    if wanted is Detail.layers and count > max_nodes:
        stages = len(analysis.stage_totals())
        return DetailChoice(
            Detail.stages,
            f"{count:,} layers is more than {max_nodes:,} nodes for one graph; drawing one node per stage "
            f"({stages:,}) instead. Pass --detail stages to silence this, or --max-nodes {count} to draw "
            "every layer (dot may take minutes).",
        )
    return DetailChoice(wanted)


def render_graph(
    analysis: Analysis,
    network: Network | None = None,
    fmt: str = "svg",
    detail: Detail | str = Detail.layers,
    direction: Direction | str = Direction.TB,
    theme: str | Theme = "light",
    title: bool = True,
) -> bytes:
    """The graph as a file's bytes: ``fmt`` is svg, png, pdf (drawn by Graphviz's dot) or dot (source).

    ``network`` supplies attributes the records do not hold (stride, padding); without it nodes
    show the paper label only.
    """
    if fmt not in FORMATS:
        raise ArchvizError(f"the graph style writes {', '.join(FORMATS)}. Received: format={fmt!r}",
                           hint="name the output file with one of these extensions")
    source = graph_source(analysis, network, detail=detail, direction=direction, theme=theme, title=title,
                          dpi=PNG_DPI if fmt == "png" else None)
    if fmt == "dot":
        return source.encode("utf-8")
    return run_dot(source, fmt)


def graph_source(
    analysis: Analysis,
    network: Network | None = None,
    *,
    detail: Detail | str = Detail.layers,
    direction: Direction | str = Direction.TB,
    theme: str | Theme = "light",
    title: bool = True,
    dpi: int | None = None,
) -> str:
    """DOT source of the graph (no external program needed)."""
    palette = get_theme(theme)
    graph = _new_graph(analysis, palette, Direction(direction), title, dpi)
    if Detail(detail) is Detail.stages:
        _add_stages(graph, analysis, palette)
    else:
        _add_layers(graph, analysis, _ops(network), palette)
    return str(graph.source)


# -- building ---------------------------------------------------------------------------------

def _new_graph(analysis: Analysis, theme: Theme, direction: Direction, title: bool, dpi: int | None) -> graphviz.Digraph:
    import graphviz

    graph = graphviz.Digraph("archviz")
    attributes: dict[str, str] = {
        "rankdir": direction.value,
        "bgcolor": theme.background,
        "fontname": GRAPHVIZ_FONT,
        "fontcolor": theme.text,
        "fontsize": "12",
        "nodesep": "0.3",
        "ranksep": "0.32" if direction is Direction.TB else "0.45",
        "pad": "0.3",
        "newrank": "true",
    }
    if dpi is not None:
        attributes["dpi"] = str(dpi)
    if title:
        totals = analysis.totals
        align = "CENTER" if direction is Direction.TB else "LEFT"
        subtitle = (f"input {units.shape(analysis.input_shape)} · {units.human(totals.params)} params · "
                    f"{units.human(totals.macs)} MACs · {totals.layers:,} layers")
        attributes.update(
            label=_html_label(
                f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
                f'<TR><TD ALIGN="{align}"><FONT POINT-SIZE="16"><B>{_text(analysis.name)}</B></FONT></TD></TR>'
                f'<TR><TD ALIGN="{align}"><FONT POINT-SIZE="11" COLOR="{theme.muted}">{subtitle}</FONT></TD></TR>'
                f'<TR><TD HEIGHT="10"></TD></TR></TABLE>'
            ),
            labelloc="t",
            # A left-to-right graph is too wide for a centred title to be seen.
            labeljust="c" if direction is Direction.TB else "l",
        )
    graph.attr(**attributes)
    graph.attr("node", shape="box", style="rounded,filled", fontname=GRAPHVIZ_FONT, fontsize="11",
               fontcolor=theme.text, penwidth="1.2", margin="0.14,0.05", height="0.3")
    graph.attr("edge", color=theme.edge, fontname=GRAPHVIZ_FONT, fontsize="9", fontcolor=theme.muted,
               arrowsize="0.6", penwidth="1.1")
    return graph


def _add_layers(graph: graphviz.Digraph, analysis: Analysis, ops: Mapping[str, Op], theme: Theme) -> None:
    ids = {"input": "in"}
    ids.update((record.name, f"n{index}") for index, record in enumerate(analysis.layers))
    shapes = {"input": analysis.input_shape}
    shapes.update((record.name, record.output_shape) for record in analysis.layers)

    _endpoint(graph, "in", "input", analysis.input_shape, theme)
    by_stage: dict[str | None, list[LayerRecord]] = {}
    for record in analysis.layers:
        by_stage.setdefault(record.stage, []).append(record)
    for index, (stage, records) in enumerate(by_stage.items()):
        if stage is None:
            for record in records:
                _layer_node(graph, ids[record.name], record, ops.get(record.name), theme)
            continue
        with graph.subgraph(name=f"cluster_{index}") as cluster:
            _cluster_style(cluster, stage, theme)
            for record in records:
                _layer_node(cluster, ids[record.name], record, ops.get(record.name), theme)
    # An edge out of a node that already shows its shape (input, or a shape-preserving relu or
    # dropout right after the labelled edge into it) is left unlabelled: the same shape twice in a
    # row is noise.
    quiet = {"input"} | {record.name for record in analysis.layers if _keeps_shape(record)}
    for record in analysis.layers:
        for source in record.inputs:
            merging = len(record.inputs) > 1  # the shapes that meet at a merge always matter
            label = None if source in quiet and not merging else _edge_label(shapes[source])
            graph.edge(ids[source], ids[record.name], label=label)
    for node_id, name, record in _outputs(analysis):
        _endpoint(graph, node_id, name, record.output_shape, theme)
        graph.edge(ids[record.name], node_id, label=None if record.name in quiet else _edge_label(record.output_shape))


def _outputs(analysis: Analysis) -> list[tuple[str, str, LayerRecord]]:
    """An endpoint per output: 'output' after the last layer, or 'output NAME' after each of several."""
    if not analysis.layers:
        return []
    names = analysis.outputs or (analysis.layers[-1].name,)
    if len(names) == 1:
        return [("out", "output", analysis.layer(names[0]))]
    return [(f"out{index}", f"output {_text(name)}", analysis.layer(name)) for index, name in enumerate(names)]


def _add_stages(graph: graphviz.Digraph, analysis: Analysis, theme: Theme) -> None:
    totals = analysis.stage_totals()
    ids = {stage: f"s{index}" for index, (stage, _) in enumerate(totals)}
    stage_of: dict[str, str | None] = {record.name: record.stage for record in analysis.layers}
    shapes = {"input": analysis.input_shape}
    shapes.update((record.name, record.output_shape) for record in analysis.layers)
    members: dict[str | None, list[LayerRecord]] = {}
    for record in analysis.layers:
        members.setdefault(record.stage, []).append(record)

    _endpoint(graph, "in", "input", analysis.input_shape, theme)
    for stage, sums in totals:
        records = members[stage]
        family = _dominant_family(records)
        colors = theme.family(family)
        lines = [
            f"<B>{_text(stage if stage is not None else UNSTAGED)}</B>",
            _text(_op_summary(records)),
            (f'<FONT POINT-SIZE="9" COLOR="{theme.muted}">{_costs(sums["params"], sums["macs"])}'
             f'{" · " if sums["params"] or sums["macs"] else ""}{sums["layers"]:,} layers</FONT>'),
        ]
        graph.node(ids[stage], label=_table(lines), fillcolor=colors.fill, color=colors.border,
                   tooltip=_plain(stage if stage is not None else UNSTAGED))
    seen: set[tuple[str, str, str]] = set()
    for record in analysis.layers:
        for source in record.inputs:
            tail = "in" if source == "input" else ids[stage_of[source]]
            head = ids[record.stage]
            label = "" if source == "input" else _edge_label(shapes[source])
            if tail == head or (tail, head, label) in seen:
                continue
            seen.add((tail, head, label))
            graph.edge(tail, head, label=label)
    for node_id, name, record in _outputs(analysis):
        _endpoint(graph, node_id, name, record.output_shape, theme)
        graph.edge(ids[record.stage], node_id)


def _layer_node(graph: graphviz.Digraph, node_id: str, record: LayerRecord, op: Op | None, theme: Theme) -> None:
    colors = theme.family(record.family)
    description = record.label
    extra = key_attributes(op) if op is not None else ""
    tooltip = _plain(f"{record.name}: {record.op} {record.label} -> {units.shape(record.output_shape)}")
    if record.family in SMALL_FAMILIES and not record.params and not record.macs:
        named = record.name != description
        label = (f'<FONT POINT-SIZE="9">{_text(record.name)}'
                 + (f' <FONT COLOR="{theme.muted}">{_text(description)}</FONT>' if named else "")
                 + (f' <FONT COLOR="{theme.muted}">{_text(extra)}</FONT>' if extra else "") + "</FONT>")
        graph.node(node_id, label=_html_label(label), fillcolor=colors.fill, color=colors.border,
                   height="0.22", margin="0.08,0.02", penwidth="0.9", tooltip=tooltip)
        return
    lines = [f"<B>{_text(record.name)}</B>", _text(description) + (f" · {_text(extra)}" if extra else "")]
    if record.params or record.macs:
        lines.append(f'<FONT POINT-SIZE="9" COLOR="{theme.muted}">{_costs(record.params, record.macs)}</FONT>')
    graph.node(node_id, label=_table(lines), fillcolor=colors.fill, color=colors.border, tooltip=tooltip)


def _endpoint(graph: graphviz.Digraph, node_id: str, name: str, shape: Sequence[int], theme: Theme) -> None:
    colors = theme.family("input")
    graph.node(node_id, label=_html_label(f"<B>{name}</B> <FONT COLOR=\"{theme.muted}\">{units.shape(shape)}</FONT>"),
               shape="box", style="rounded,filled,dashed", fillcolor=colors.fill, color=colors.border,
               fontsize="10", height="0.26")


def _cluster_style(cluster: graphviz.Digraph, stage: str, theme: Theme) -> None:
    cluster.attr(label=_html_label(f"<B>{_text(stage)}</B>"), style="rounded,filled", fillcolor=theme.cluster_fill,
                 color=theme.cluster_border, fontcolor=theme.muted, fontsize="11", labeljust="l", margin="10")


# -- text -------------------------------------------------------------------------------------

def key_attributes(op: Op) -> str:
    """The attributes a reader wants beside the paper label: 's2 · p1 · d2 · g32' for convolutions,
    '2x2 · s2' for pooling, 'rate 0.5' for dropout. Defaults that say nothing (dilation 1) are left out."""
    values: Mapping[str, Any] = op.values
    parts: list[str] = []
    pool = op.family == "pool"
    if pool and "kernel" in values:
        kernel = values["kernel"]
        parts.append(f"{kernel[0]}x{kernel[1]}" if isinstance(kernel, tuple) else f"{kernel}x{kernel}")
    if "stride" in values:
        parts.append(f"s{_pair(values['stride'])}")
    if "padding" in values and not (pool and _padding(values["padding"]) == "0"):
        padding = _padding(values["padding"])
        parts.append(padding if padding.isalpha() else f"p{padding}")
    if values.get("dilation") not in (None, 1, (1, 1)):
        parts.append(f"d{_pair(values['dilation'])}")
    if values.get("groups", 1) != 1:
        parts.append(f"g{values['groups']}")
    if values.get("ceil_mode"):
        parts.append("ceil")
    if op.name == "dropout" and "rate" in values:
        parts.append(f"rate {values['rate']}")
    activation = values.get("activation")
    if activation not in (None, "linear"):
        parts.append(f"+{activation}")
    return " · ".join(parts)


def _pair(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2:
        return str(value[0]) if value[0] == value[1] else f"{value[0]}x{value[1]}"
    return str(value)


def _padding(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, tuple) for v in value):
        (top, bottom), (left, right) = value
        if top == bottom and left == right:
            return _pair((top, left))
        return f"({top},{bottom},{left},{right})"
    return _pair(value)


def _op_summary(records: Sequence[LayerRecord], limit: int = 4) -> str:
    """'conv3-64 ×2 · maxpool': the stage's counted layers in order, repeats folded."""
    runs: list[list[Any]] = []
    for record in records:
        if record.family in SMALL_FAMILIES or record.family == "norm":
            continue
        if runs and runs[-1][0] == record.label:
            runs[-1][1] += 1
        else:
            runs.append([record.label, 1])
    parts = [label if count == 1 else f"{label} ×{count}" for label, count in runs]
    if len(parts) > limit:
        parts = [*parts[: limit - 1], f"… {len(parts) - limit + 1} more"]
    return " · ".join(parts) if parts else "·".join(sorted({r.label for r in records}))[:60]


def _keeps_shape(record: LayerRecord) -> bool:
    return (record.family in SMALL_FAMILIES and len(record.input_shapes) == 1
            and record.input_shapes[0] == record.output_shape)


def _dominant_family(records: Sequence[LayerRecord]) -> str:
    for family in ("conv", "dense", "merge", "pool", "norm"):
        if any(record.family == family for record in records):
            return family
    return records[0].family if records else "shape"


def _costs(params: int, macs: int) -> str:
    parts = []
    if params:
        parts.append(f"{units.human(params)} params")
    if macs:
        parts.append(f"{units.human(macs)} MACs")
    return " · ".join(parts)


def _edge_label(shape: Sequence[int]) -> str:
    return f" {units.shape(shape)} "


def _text(value: str) -> str:
    """A spec string inside an HTML-like label: control characters shown, markup escaped.

    Graphviz still expands escString sequences (\\N, \\G, ...) inside HTML-like labels, so
    backslashes are doubled, and a ']' right after a tag is a syntax error for its HTML lexer.
    """
    return html.escape(printable(value, NAME_LIMIT).replace("\\", "\\\\"), quote=True).replace("]", "&#93;")


def _table(lines: Sequence[str]) -> str:
    rows = "".join(f"<TR><TD>{line}</TD></TR>" for line in lines if line)
    return _html_label(f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{rows}</TABLE>')


def _html_label(inner: str) -> str:
    # The graphviz package passes '<...>' through unquoted as an HTML-like label; every user
    # string inside has been through _text().
    return f"<{inner}>"


def _plain(value: str) -> Any:
    """A spec string as a quoted DOT string: backslashes doubled so escString sequences such as
    \\N or a trailing backslash cannot act, and wrapped so '<...>' is never taken for HTML."""
    import graphviz

    return graphviz.nohtml(printable(value, 120).replace("\\", "\\\\"))


def _ops(network: Network | None) -> dict[str, Op]:
    if network is None:
        return {}
    return {layer.name: layer.op for layer in network.layers}
