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
import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from archviz.analysis import Analysis, LayerRecord
from archviz.errors import ArchvizError
from archviz.render import units
from archviz.render.external import run_dot
from archviz.render.theme import FAMILIES, GRAPHVIZ_FONT, Theme, get_theme, printable

if TYPE_CHECKING:
    import graphviz

    from archviz.network import Network
    from archviz.ops.base import Op

MAX_NODES = 500
FORMATS = ("svg", "png", "pdf", "dot")
NAME_LIMIT = 48
PNG_DPI = 144
LEGEND_CHAR_PT = 5.4  # the widest average advance of the fallback fonts at 9 pt
# Layers that change nothing a reader counts are drawn as small one-line nodes.
SMALL_FAMILIES = frozenset({"activation", "regularization", "shape"})
UNSTAGED = "(no stage)"
# What the compact graph folds into the node a layer follows: nothing a reader counts as a layer
# of its own (Keras's show_layer_activations=False and Netron draw activations the same way).
FOLDABLE = frozenset({"activation", "norm", "regularization", "shape"})
# A stage that is a plain chain of at most this many nodes is drawn as one row.
CHAIN_LIMIT = 6
WEIGHT_FAMILIES = ("conv", "dense")
RESIDUAL_MERGES = frozenset({"add"})


class Detail(str, Enum):
    """compact: one node per weight layer with the activation, batch norm and dropout after it
    folded in; all: one node per layer; blocks: one node per block instance (a residual block,
    an encoder layer), layers outside blocks as in compact; stages: one node per stage."""

    compact = "compact"
    all = "all"
    blocks = "blocks"
    stages = "stages"

    @classmethod
    def _missing_(cls, value: object) -> Detail | None:
        # 'layers' was the name of one node per layer before the compact graph became the default.
        return cls.all if value == "layers" else None


class Direction(str, Enum):
    TB = "TB"
    LR = "LR"


@dataclass(frozen=True)
class DetailChoice:
    """The detail a graph is drawn at, and the warning to show when it differs from the request."""

    detail: Detail
    warning: str | None = None


def choose_detail(analysis: Analysis, detail: Detail | str = Detail.compact, max_nodes: int = MAX_NODES) -> DetailChoice:
    """Fall back to one node per stage when a per-layer graph would have more than ``max_nodes``
    nodes: dot needs minutes for thousands of labelled nodes, and nobody can read them."""
    wanted = Detail(detail)
    count = len(analysis.layers)
    if wanted is not Detail.stages and count > max_nodes:
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
    detail: Detail | str = Detail.compact,
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
    detail: Detail | str = Detail.compact,
    direction: Direction | str = Direction.TB,
    theme: str | Theme = "light",
    title: bool = True,
    dpi: int | None = None,
) -> str:
    """DOT source of the graph (no external program needed)."""
    palette = get_theme(theme)
    chosen = Detail(detail)
    if chosen is Detail.blocks and not any(block.is_block for block in group_blocks(analysis)[0]):
        chosen = Detail.compact  # no block instances (a VGG): the compact graph, with its stage rows
    if chosen is Detail.stages:
        members: dict[str | None, list[LayerRecord]] = {}
        for record in analysis.layers:
            members.setdefault(record.stage, []).append(record)
        drawn = {_dominant_family(records) for records in members.values()}
    elif chosen is Detail.blocks:
        drawn = {block.family for block in group_blocks(analysis)[0]}
    else:
        drawn = {group.host.family for group in group_layers(analysis, chosen is Detail.compact)[0]}
    graph = _new_graph(analysis, palette, Direction(direction), title, dpi, sorted(drawn | {"input"}))
    if chosen is Detail.stages:
        _add_stages(graph, analysis, palette)
    elif chosen is Detail.blocks:
        _add_blocks(graph, analysis, _ops(network), palette)
    else:
        _add_layers(graph, analysis, _ops(network), palette, fold=chosen is Detail.compact)
    return str(graph.source)


# -- building ---------------------------------------------------------------------------------

def _new_graph(analysis: Analysis, theme: Theme, direction: Direction, title: bool, dpi: int | None,
               families: Sequence[str]) -> graphviz.Digraph:
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
        weight_layers = sum(1 for record in analysis.layers if record.family in WEIGHT_FAMILIES)
        norm_params = sum(record.params for record in analysis.layers if record.family == "norm")
        params = f"{units.exact(totals.params)} params"
        if norm_params:
            params += f" (incl. {units.exact(norm_params)} in normalisation)"
        subtitle = (f"input {_shape(analysis.input_shape)} · {params} · {units.exact(totals.macs)} MACs · "
                    f"{weight_layers:,} weight layers of {totals.layers:,}")
        attributes.update(
            label=_html_label(
                f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
                f'<TR><TD ALIGN="{align}"><FONT POINT-SIZE="16"><B>{_text(analysis.name)}</B></FONT></TD></TR>'
                f'<TR><TD ALIGN="{align}"><FONT POINT-SIZE="11" COLOR="{theme.muted}">{subtitle}</FONT></TD></TR>'
                f'<TR><TD ALIGN="{align}">{_legend(families, theme)}</TD></TR>'
                f'<TR><TD HEIGHT="8"></TD></TR></TABLE>'
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


@dataclass
class LayerGroup:
    """One node of the compact graph: a layer and the parameter-free or per-channel layers folded
    into it (the activation, batch norm, dropout or flatten that follows it on a plain chain)."""

    host: LayerRecord
    folded: list[LayerRecord] = field(default_factory=list)

    @property
    def members(self) -> list[LayerRecord]:
        return [self.host, *self.folded]

    @property
    def params(self) -> int:
        return sum(record.params for record in self.members)

    @property
    def macs(self) -> int:
        return sum(record.macs for record in self.members)


def group_layers(analysis: Analysis, fold: bool = True) -> tuple[list[LayerGroup], dict[str, str]]:
    """The graph's nodes, and for every layer name the node (host layer name) that draws it.

    With ``fold``, a layer of a FOLDABLE family joins the node it follows when it is that layer's
    only consumer and in the same stage (so a fork never hides which tensor a branch reads), and
    an identity shortcut becomes a plain edge. Without it every layer is its own node.
    """
    consumers = Counter(source for record in analysis.layers for source in record.inputs)
    stage_of = {record.name: record.stage for record in analysis.layers}
    outputs = set(analysis.outputs or ())  # a tensor an endpoint shows is never folded past
    owner: dict[str, str] = {"input": "input"}
    groups: dict[str, LayerGroup] = {}
    for record in analysis.layers:
        if fold and len(record.inputs) == 1:
            source = record.inputs[0]
            host = owner[source]
            if record.op == "identity":
                owner[record.name] = host
                continue
            # a flatten after the last pool is part of that pool's output even where the
            # spec opens the classifier's stage with it
            same_stage = stage_of.get(source) == record.stage or record.family == "shape"
            if record.family in FOLDABLE and host != "input" and consumers[source] == 1 and same_stage \
                    and source not in outputs:
                owner[record.name] = host
                groups[host].folded.append(record)
                continue
        owner[record.name] = record.name
        groups[record.name] = LayerGroup(record)
    return list(groups.values()), owner


@dataclass
class BlockGroup:
    """One node of the blocks graph: the compact nodes of one block instance ('layer1_1' and
    every 'layer1_1.*' layer), or a single compact node outside any block."""

    name: str
    groups: list[LayerGroup]

    @property
    def records(self) -> list[LayerRecord]:
        return [record for group in self.groups for record in group.members]

    @property
    def is_block(self) -> bool:
        return len(self.groups) > 1 or any("." in record.name for record in self.records)

    @property
    def family(self) -> str:
        return _dominant_family(self.records) if self.is_block else self.groups[0].host.family

    @property
    def stage(self) -> str | None:
        return self.groups[0].host.stage


def _instance_of(name: str) -> str:
    """'layer1_1' for 'layer1_1.conv1' and for 'layer1_1' itself: the outermost block instance.

    A name with nothing before or after its first dot ('.x', 'x.', '.') names no instance: it is
    its own node, never one named ''.
    """
    head, _, rest = name.partition(".")
    return head if head and rest else name


def group_blocks(analysis: Analysis) -> tuple[list[BlockGroup], dict[str, str]]:
    """The blocks graph's nodes, and for every layer name the node (block or host name) that draws it.

    Consecutive compact nodes of one block instance become one node; a block's inner shortcuts
    and branches then disappear inside it, and the graph shows how blocks follow each other.
    """
    groups, owner = group_layers(analysis, fold=True)
    blocks: list[BlockGroup] = []
    for group in groups:
        name = _instance_of(group.host.name)
        if blocks and blocks[-1].name == name and blocks[-1].stage == group.host.stage:
            blocks[-1].groups.append(group)
        else:
            blocks.append(BlockGroup(name, [group]))
    # a block's name is unique even when an instance is interrupted (a layer between its parts),
    # when a layer is really named 'a (2)', and against the input endpoint's key 'input'
    used = {"input"}
    node_of: dict[str, str] = {}
    for block in blocks:
        base, copy = block.name, 1
        while block.name in used:
            copy += 1
            block.name = f"{base} ({copy})"
        used.add(block.name)
        for group in block.groups:
            node_of[group.host.name] = block.name
    return blocks, {layer: ("input" if host == "input" else node_of[host]) for layer, host in owner.items()}


def _add_blocks(graph: graphviz.Digraph, analysis: Analysis, ops: Mapping[str, Op], theme: Theme) -> None:
    blocks, owner = group_blocks(analysis)
    ids = {"input": "in"}
    ids.update((block.name, f"b{index}") for index, block in enumerate(blocks))
    shapes = {"input": analysis.input_shape}
    shapes.update((record.name, record.output_shape) for record in analysis.layers)
    _endpoint(graph, "in", "input", analysis.input_shape, theme, group="main")
    by_stage: dict[str | None, list[BlockGroup]] = {}
    for block in blocks:
        by_stage.setdefault(block.stage, []).append(block)
    for index, (stage, members) in enumerate(by_stage.items()):
        if stage is None:
            for block in members:
                _block_node(graph, ids[block.name], block, ops, theme)
            continue
        with graph.subgraph(name=f"cluster_{index}") as cluster:
            _cluster_style(cluster, stage, theme)
            for block in members:
                _block_node(cluster, ids[block.name], block, ops, theme)
    drawn: set[tuple[str, str]] = set()
    labelled: set[str] = {"input"}
    for block in blocks:
        for record in block.records:
            for source in record.inputs:
                tail = owner[source]
                if tail == block.name or (tail, block.name) in drawn:
                    continue
                drawn.add((tail, block.name))
                label = None if source in labelled else _edge_label(shapes[source])
                labelled.add(source)
                graph.edge(ids[tail], ids[block.name], label=label)
    for node_id, name, record in _outputs(analysis):
        _endpoint(graph, node_id, name, record.output_shape, theme, group="main" if node_id == "out" else None)
        graph.edge(ids[owner[record.name]], node_id,
                   label=None if record.name in labelled else _edge_label(record.output_shape))


def _block_node(graph: graphviz.Digraph, node_id: str, block: BlockGroup, ops: Mapping[str, Op],
                theme: Theme) -> None:
    if not block.is_block:
        _group_node(graph, node_id, block.groups[0], ops, theme, True)
        return
    records = block.records
    colors = theme.family(block.family)
    params, macs = sum(r.params for r in records), sum(r.macs for r in records)
    shape = _shape(records[-1].output_shape)
    lines = [
        f"<B>{_text(block.name)}</B>",
        _text(_op_summary(records)),
        f'<FONT POINT-SIZE="9" COLOR="{theme.muted}">{len(records):,} layers → {shape}</FONT>',
    ]
    if params or macs:
        lines.append(f'<FONT POINT-SIZE="9" COLOR="{theme.muted}">{_costs(params, macs)}</FONT>')
    graph.node(node_id, label=_table(lines), fillcolor=colors.fill, color=colors.border, group="main",
               tooltip=_plain(f"{block.name}: {', '.join(r.name for r in records)}"))


def _block_of(name: str) -> str | None:
    """'layer1_1' for 'layer1_1.conv1': the block instance a layer was expanded from."""
    return name.rsplit(".", 1)[0] if "." in name else None


def _add_layers(graph: graphviz.Digraph, analysis: Analysis, ops: Mapping[str, Op], theme: Theme,
                fold: bool) -> None:
    groups, owner = group_layers(analysis, fold)
    ids = {"input": "in"}
    ids.update((group.host.name, f"n{index}") for index, group in enumerate(groups))
    shapes = {"input": analysis.input_shape}
    shapes.update((record.name, record.output_shape) for record in analysis.layers)
    inputs = {group.host.name: [owner[source] for source in group.host.inputs] for group in groups}
    main_path = _main_path(groups, inputs)
    rows: list[list[str]] = []
    # Stages become rows only in a network without branches (a VGG); a branching one keeps its
    # main path in one straight column with the shortcuts beside it.
    linear = fold and all(len(sources) == 1 for sources in inputs.values())

    _endpoint(graph, "in", "input", analysis.input_shape, theme, group="main")
    by_stage: dict[str | None, list[LayerGroup]] = {}
    for group in groups:
        by_stage.setdefault(group.host.stage, []).append(group)
    for index, (stage, members) in enumerate(by_stage.items()):
        if stage is None:
            for group in members:
                _group_node(graph, ids[group.host.name], group, ops, theme, group.host.name in main_path)
            continue
        with graph.subgraph(name=f"cluster_{index}") as cluster:
            _cluster_style(cluster, stage, theme)
            blocks = Counter(_block_of(group.host.name) for group in members)
            chain = linear and _is_chain(members, inputs)
            if chain:
                # A plain chain of a few layers (a VGG stage) reads left to right as one row:
                # the page then holds the whole network at a readable size.
                rows.append([ids[group.host.name] for group in members])
                with cluster.subgraph() as row:
                    row.attr(rank="same")
                    for group in members:
                        _group_node(row, ids[group.host.name], group, ops, theme, False)
                continue
            for block, run in itertools.groupby(members, key=lambda group: _block_of(group.host.name)):
                grouped = list(run)
                if not (fold and block is not None and blocks[block] > 1):
                    for group in grouped:
                        _group_node(cluster, ids[group.host.name], group, ops, theme, group.host.name in main_path)
                    continue
                with cluster.subgraph(name=f"cluster_{index}_{ids[grouped[0].host.name]}") as instance:
                    instance.attr(label=_html_label(f'<FONT POINT-SIZE="9">{_text(block)}</FONT>'),
                                  style="rounded,dashed", color=theme.cluster_border, fontcolor=theme.muted,
                                  labeljust="r", margin="6")
                    for group in grouped:
                        _group_node(instance, ids[group.host.name], group, ops, theme, group.host.name in main_path)
    # Each tensor's shape is printed once, on the first edge that carries it (the one along the
    # main path at a fork); an edge out of the input, whose node shows its shape, stays bare.
    labelled: set[str] = {"input"}
    row_starts = {row[0] for row in rows}
    for above, below in itertools.pairwise(rows):
        # rows start under each other; the edge from a row's end back to the next row's start
        # then pulls nothing out of line
        graph.edge(above[0], below[0], style="invis", weight="20")
    for group in groups:
        for position, (source, tail) in enumerate(zip(group.host.inputs, inputs[group.host.name])):
            tensor = _tensor_of(source, owner)
            label = None if tensor in labelled else _edge_label(shapes[source])
            labelled.add(tensor)
            side = position > 0 and group.host.op in RESIDUAL_MERGES  # a shortcut beside the main path
            style: dict[str, str] = {"weight": "0", "style": "dashed"} if side and fold else {}
            if ids[group.host.name] in row_starts:
                style = {"weight": "0"}
            graph.edge(ids[tail], ids[group.host.name], label=label, **style)
    for node_id, name, record in _outputs(analysis):
        _endpoint(graph, node_id, name, record.output_shape, theme, group="main" if node_id == "out" else None)
        graph.edge(ids[owner[record.name]], node_id,
                   label=None if _tensor_of(record.name, owner) in labelled else _edge_label(record.output_shape))


def _tensor_of(source: str, owner: Mapping[str, str]) -> str:
    """The tensor an edge carries, named by the node that makes it (an elided identity passes its
    input on unchanged, so it names the same tensor)."""
    return owner.get(source, source) if source != "input" else "input"


def _main_path(groups: Sequence[LayerGroup], inputs: Mapping[str, list[str]]) -> set[str]:
    """The nodes from the output back to the input along each merge's first input: drawn in one
    straight column, with shortcuts and side branches beside it."""
    path: set[str] = set()
    if not groups:
        return path
    current = groups[-1].host.name
    while current != "input" and current not in path:
        path.add(current)
        sources = inputs.get(current)
        if not sources:
            break
        current = sources[0]
    return path


def _is_chain(members: Sequence[LayerGroup], inputs: Mapping[str, list[str]]) -> bool:
    if not 1 < len(members) <= CHAIN_LIMIT:
        return False
    return all(len(inputs[group.host.name]) == 1 for group in members) and all(
        inputs[group.host.name][0] == previous.host.name for previous, group in itertools.pairwise(members))


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


def _group_node(graph: graphviz.Digraph, node_id: str, group: LayerGroup, ops: Mapping[str, Op], theme: Theme,
                on_main: bool) -> None:
    record = group.host
    colors = theme.family(record.family)
    description = _description(record, ops.get(record.name))
    names = ", ".join(member.name for member in group.members)
    tooltip = _plain(f"{names}: {record.op} {record.label} -> {_shape(group.members[-1].output_shape)}")
    placement = {"group": "main"} if on_main else {}
    if record.family in SMALL_FAMILIES and not group.folded and not group.params and not group.macs:
        # The name alone when it already says the op ('relu1_1', not 'relu1_1 relu').
        named = record.label.lower() not in record.name.lower()
        extra = key_attributes(ops[record.name]) if record.name in ops else ""
        label = (f'<FONT POINT-SIZE="9">{_text(record.name)}'
                 + (f' <FONT COLOR="{theme.muted}">{_text(record.label)}</FONT>' if named else "")
                 + (f' <FONT COLOR="{theme.muted}">{_text(extra)}</FONT>' if extra else "") + "</FONT>")
        graph.node(node_id, label=_html_label(label), fillcolor=colors.fill, color=colors.border,
                   height="0.22", margin="0.08,0.02", penwidth="0.9", tooltip=tooltip, **placement)
        return
    lines = [f"<B>{_text(record.name)}</B>", _text(description)]
    if group.folded:
        folded = " · ".join(_description(member, ops.get(member.name)) for member in group.folded)
        lines.append(f'<FONT POINT-SIZE="9" COLOR="{theme.muted}">+ {_text(folded)}</FONT>')
    if group.params or group.macs:
        lines.append(f'<FONT POINT-SIZE="9" COLOR="{theme.muted}">{_costs(group.params, group.macs)}</FONT>')
    graph.node(node_id, label=_table(lines), fillcolor=colors.fill, color=colors.border, tooltip=tooltip,
               **placement)


def _description(record: LayerRecord, op: Op | None) -> str:
    extra = key_attributes(op) if op is not None else ""
    return record.label + (f" · {extra}" if extra else "")


def _legend(families: Sequence[str], theme: Theme) -> str:
    """One swatch per op family the graph uses, in the theme's order: the colour key."""
    shown = [family for family in FAMILIES if family in families]
    cells = "".join(
        f'<TD BGCOLOR="{theme.family(family).fill}" COLOR="{theme.family(family).border}" BORDER="1" '
        f'WIDTH="14" HEIGHT="10" FIXEDSIZE="TRUE"></TD>'
        f'<TD ALIGN="LEFT"><FONT POINT-SIZE="9" COLOR="{theme.muted}"> {family}   </FONT></TD>'
        for family in shown)
    # dot stretches a nested table to the title's width, spreading the key's entries across the
    # page; a fixed width (the text's, generously estimated at 9 pt) keeps each label by its swatch
    width = sum(14 + 4 + LEGEND_CHAR_PT * (len(family) + 4) for family in shown) + 4
    return (f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="0" FIXEDSIZE="TRUE" '
            f'WIDTH="{round(width)}" HEIGHT="14"><TR>{cells}</TR></TABLE>')


def _endpoint(graph: graphviz.Digraph, node_id: str, name: str, shape: Sequence[int], theme: Theme,
              group: str | None = None) -> None:
    colors = theme.family("input")
    placement = {"group": group} if group else {}
    graph.node(node_id, label=_html_label(f"<B>{name}</B> <FONT COLOR=\"{theme.muted}\">{_shape(shape)}</FONT>"),
               shape="box", style="rounded,filled,dashed", fillcolor=colors.fill, color=colors.border,
               fontsize="10", height="0.26", **placement)


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
        parts.append(f"{kernel[0]}×{kernel[1]}" if isinstance(kernel, tuple) else f"{kernel}×{kernel}")
    if "stride" in values:
        parts.append(f"s{_pair(values['stride'])}")
    if "padding" in values and not (pool and _padding(values["padding"]) == "0"):
        padding = _padding(values["padding"])
        parts.append(f"p {padding}" if padding.isalpha() else f"p{padding}")
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
        return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"
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


def _dominant_family(records: Sequence[LayerRecord]) -> str:
    for family in ("conv", "dense", "merge", "pool", "norm"):
        if any(record.family == family for record in records):
            return family
    return records[0].family if records else "shape"


def _costs(params: int, macs: int) -> str:
    """Exact counts with thousands separators, the one number format of every graph label."""
    parts = []
    if params:
        parts.append(f"{units.exact(params)} params")
    if macs:
        parts.append(f"{units.exact(macs)} MACs")
    return " · ".join(parts)


def _shape(dims: Sequence[int]) -> str:
    """64×112×112: the multiplication sign, as in '×2' and '3×3', everywhere in a graph."""
    return "×".join(str(d) for d in dims)


def _edge_label(shape: Sequence[int]) -> str:
    return f" {_shape(shape)} "


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
