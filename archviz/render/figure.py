"""The blocks style: the figure people put in papers and slides (the classic VGG16 drawing).

Each layer's output tensor is an oblique 3-D box: its height and receding depth follow the
spatial size, its thickness along the flow follows the channels. Activations, batch norm and
dropout are drawn inside the box of the layer they follow, so a figure has one box per weight
layer and per pooling step; every spatial pooling step is a thin slab at the end of the boxes
before it; dense layers and other vectors are thin bars. A softmax joins the box before it,
which then takes the output colour.

Branches are drawn from the layer graph itself, for any network whose branches nest (every
fork's branches meet again at one merge): the branches of a fork are lanes stacked across the
flow (Inception's towers), the longest on the main line when one is longest; a branch with no
layer (an identity shortcut) is an arc over the others into the merge; ``add`` and ``multiply``
are drawn as ⊕ and ⊗, ``concat`` as the box of its output. Runs of identical blocks (ResNet's,
MobileNet's) are drawn once, marked ×N. A figure wider than ``MAX_WIDTH`` at one box per layer,
or whose branches do not nest (SSD's heads, taken from several depths), is drawn one box per
block instance (EfficientNet-B0's MBConv blocks, each its output tensor, ⊕ after the residual
ones); where that is too wide as well or does not nest either, and for a network of more than
``MAX_BOXES`` boxes, one box per stage, showing each stage's output tensor; the note says which
level is drawn and why.

The scale is either fitted to the figure (``scale="auto"``: side ∝ √pixels, thickness ∝
channels^0.4, so 224 and 7, 64 and 512 all read) or fixed (``scale="fixed"``, or ``"S,C"``: 1 px
of side per S pixels, 1 px of thickness per C channels), so that figures of a family compare;
the note under the legend states which.

The SVG is built as text with every spec string escaped; PNG and PDF come from cairosvg.

>>> import archviz
>>> svg = render_blocks(archviz.load("vgg16").analyze())
>>> svg.startswith(b"<svg")
True
"""

from __future__ import annotations

import html
import itertools
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archviz.analysis import Analysis, LayerRecord
from archviz.errors import ArchvizError
from archviz.render import units
from archviz.render.diagram import group_blocks
from archviz.render.external import convert_svg
from archviz.render.theme import FONT, Theme, get_theme, printable, shade

if TYPE_CHECKING:
    from archviz.network import Network

FORMATS = ("svg", "png", "pdf")
MAX_BOXES = 200
PNG_SCALE = 2.0

# Geometry, in SVG pixels.
MARGIN = 28
TALLEST = 168          # auto scale: front-face height of the largest spatial size
OBLIQUE = 0.42         # receding depth per pixel of spatial width
BAR_WIDTH = 9
BAR_DEPTH = 6
GAP = 6                # between boxes of one group
BAR_GAP = 16           # between thin bars, which have almost no depth to separate them
GROUP_GAP = 22
POOL_THICKNESS = 0.45  # a pooling slab's thickness, as a share of a box of its channels
SYMBOL_RADIUS = 11     # the ⊕ and ⊗ of add and multiply
LANE_GAP = 18          # between stacked branches
ARC_CLEARANCE = 14     # a shortcut arc's height above the boxes it passes over
HEIGHT_BUDGET = 640    # auto scale: the tallest a figure's boxes, branches and captions may stand
MAX_WIDTH = 6000       # wider than this at one box per layer, one box per block instance; then per stage
# Fixed scale (scale="fixed"): the same for every figure, so a family of figures compares.
FIXED_SIDE = 1.5       # pixels of input side per SVG pixel (224 -> 149 px, 32 -> 21 px)
FIXED_CHANNELS = 8.0   # channels per SVG pixel of thickness (64 -> 8 px, 512 -> 64 px)
MIN_THICKNESS = 2.0
MIN_SIDE = 1.0
# Text is sized for the figure shrunk to a page's width: a 1,100-pixel-wide figure in a
# 7-inch column still has 7-point captions. Stage headers lead, dimensions follow, lighter.
CAPTION_SIZE = 14
SECOND_CAPTION_SIZE = 12
STAGE_SIZE = 16
LEGEND_SIZE = 14
LEGEND_ROW = 28
LEGEND_GAP = 24        # between legend columns
LEGEND_LIMIT = 90      # characters of a legend entry before it is cut
REPEAT_SIZE = 15
NOTE_SIZE = 13
NOTE_WIDTH = 560       # the narrowest a note wraps to
TITLE_SIZE = 21
SUBTITLE_SIZE = 14

MERGED_ACTIVATIONS = {"relu": "ReLU", "relu6": "ReLU6", "leaky_relu": "LeakyReLU", "elu": "ELU", "gelu": "GELU",
                      "silu": "SiLU", "sigmoid": "sigmoid", "tanh": "tanh"}
BASE_NAMES = {
    "conv2d": "convolution", "dense": "fully connected", "max_pool2d": "max pooling",
    "avg_pool2d": "average pooling", "global_avg_pool2d": "global average pooling",
    "global_max_pool2d": "global max pooling", "adaptive_avg_pool2d": "adaptive average pooling",
    "lrn": "local response normalisation", "batch_norm": "batch normalisation", "softmax": "softmax",
    "add": "add", "concat": "concatenate", "multiply": "multiply", "layer_norm": "layer normalisation",
    "group_norm": "group normalisation", "l2_norm": "L2 normalisation", "multi_head_attention": "multi-head attention",
    "conv_transpose2d": "transposed convolution", "upsample": "upsampling", "stochastic_depth": "stochastic depth",
}
SYMBOLS = {"add": "+", "multiply": "×"}  # merges drawn as a circled sign rather than a tensor
KERNEL_SIZE = 9  # font size of the kernel printed on a convolution's box
DEEP_NOTE = "Branches nested too deeply to draw: one box per stage, showing each stage's output tensor."
STAGE_NAMES = {"conv": "convolution stage", "dense": "fully connected stage", "pool": "pooling stage",
               "merge": "stage with branches", "norm": "normalisation stage"}


@dataclass(frozen=True)
class Box:
    """One drawn tensor: the output of ``names[0]`` and of the layers merged into it."""

    color: str                 # a theme family: input, conv, pool, dense, norm, output, ...
    shape: tuple[int, ...]     # channels-first, as in the records
    names: tuple[str, ...]
    legend: str                # 'convolution + ReLU'
    caption: str               # '64x224x224', 'FC 4096'
    stage: str | None
    pool: bool = False
    kernel: str = ""           # '3×3' for a convolution: printed on its front face
    symbol: str = ""           # '+' for add, '×' for multiply: drawn as a circled sign
    base: str = ""             # 'convolution': the legend before the layers merged into it
    inputs: tuple[tuple[int, ...], ...] = ()  # the input shapes, so equal-looking blocks that stride differ
    content: tuple[object, ...] = ()  # a block instance's box: what is inside it, so only equal blocks fold

    @property
    def flat(self) -> bool:
        """Vectors and 1x1 maps are drawn as thin bars, as in the classic figure."""
        return len(self.shape) != 3 or (self.shape[1] == 1 and self.shape[2] == 1)


@dataclass(frozen=True)
class Branches:
    """A fork's branches, between the box before (the fork) and the box after (the merge).

    ``lanes`` are the branches with layers, in the spec's order except that a branch longer than
    every other comes first; ``anchor`` is the one drawn on the line of the boxes around it, the
    others stacked above and below it. ``shortcut``: one more branch with no layer (an identity
    shortcut), drawn as an arc over the others.
    """

    lanes: tuple[tuple[Item, ...], ...]
    anchor: int
    shortcut: bool


@dataclass(frozen=True)
class Repeat:
    """``items`` drawn once for ``times`` identical runs of them in a row (marked ×times)."""

    items: tuple[Item, ...]
    times: int


Item = Box | Branches | Repeat  # one thing in a row: a box, a fork's branches, or a run of repeated items


@dataclass(frozen=True)
class Scale:
    """How tensor sizes become pixels. ``side`` and ``channels`` are None for the auto scale
    (fitted to each figure); otherwise pixels of side and channels per SVG pixel."""

    side: float | None = None
    channels: float | None = None

    @property
    def fixed(self) -> bool:
        return self.side is not None and self.channels is not None


AUTO = Scale()
FIXED = Scale(FIXED_SIDE, FIXED_CHANNELS)


def parse_scale(value: str | Scale) -> Scale:
    """'auto', 'fixed', or 'S,C' (1 px of side per S pixels, 1 px of thickness per C channels)."""
    if isinstance(value, Scale):
        return value
    text = str(value).strip().lower()
    if text == "auto":
        return AUTO
    if text == "fixed":
        return FIXED
    parts = text.split(",")
    try:
        side, channels = (float(part) for part in parts)
    except ValueError:
        side = channels = math.nan
    if not (math.isfinite(side) and math.isfinite(channels) and side > 0 and channels > 0):
        raise ArchvizError(f"the blocks scale is 'auto', 'fixed' or two positive numbers 'SIDE,CHANNELS'. "
                           f"Received: scale={value!r}",
                           hint="e.g. --scale fixed (1 px per 1.5 pixels of side, per 8 channels of thickness) "
                                "or --scale 2,16 for a figure half as large")
    return Scale(side, channels)


@dataclass(frozen=True)
class Figure:
    """What to draw: the top-level row of items, every box in drawing order, and the note that
    explains a fallback (None when every layer is drawn)."""

    boxes: tuple[Box, ...]
    note: str | None
    per_stage: bool = False
    items: tuple[Item, ...] = ()
    level: str = "layer"       # what one box is: "layer", "block" (instance) or "stage"


def render_blocks(
    analysis: Analysis,
    network: Network | None = None,
    fmt: str = "svg",
    theme: str | Theme = "light",
    title: bool = True,
    max_boxes: int = MAX_BOXES,
    warn: Callable[[str], None] | None = None,
    scale: str | Scale = "auto",
) -> bytes:
    """The blocks figure as a file's bytes: svg (pure Python), png or pdf (through cairosvg).

    ``network`` adds activations fused into a layer (Keras' ``activation=``) to the legend.
    ``warn`` receives the message when the figure falls back to one box per block instance or per
    stage because the network has more than ``max_boxes`` boxes or would be wider than
    ``MAX_WIDTH`` at this scale (default: ``warnings.warn``). ``scale``: 'auto' (fitted to this figure), 'fixed' (the same
    for every figure) or 'S,C' (see ``parse_scale``).
    """
    if fmt not in FORMATS:
        raise ArchvizError(f"the blocks style writes {', '.join(FORMATS)}. Received: format={fmt!r}",
                           hint="name the output file .svg, .png or .pdf")
    chosen = parse_scale(scale)
    figure = figure_boxes(analysis, network, max_boxes)
    if not figure.per_stage:
        try:
            wide = _width(figure, chosen)
        except RecursionError:  # decomposed, but too deep to lay out (possible only past --max-nodes)
            figure, wide = _stage_figure(analysis, DEEP_NOTE), 0.0
        if wide > MAX_WIDTH and figure.level == "layer":
            reason = f"Wider than {MAX_WIDTH:,} px at one box per layer ({_pixels(wide)})"
            blocks = block_figure(analysis, network, f"{reason}: {BLOCK_NOTE}")
            block_wide = _width(blocks, chosen) if blocks is not None else math.inf
            if blocks is not None and block_wide <= MAX_WIDTH:
                figure = blocks
            else:
                if blocks is not None:
                    reason += f" and at one box per block instance ({_pixels(block_wide)})"
                figure = _stage_figure(analysis, f"{reason}: {STAGE_NOTE}")
        elif wide > MAX_WIDTH:  # already one box per block instance (branches that do not nest)
            figure = _stage_figure(analysis, f"Wider than {MAX_WIDTH:,} px at one box per block instance "
                                             f"({_pixels(wide)}): {STAGE_NOTE}")
    if chosen.fixed and figure.per_stage:
        # Only a scale the user chose can make even one box per stage too wide: refuse it rather
        # than write a figure no viewer opens (a PNG of a million pixels a side).
        stage_wide = _fit(figure, chosen)[1].width + 2 * MARGIN
        if stage_wide > MAX_WIDTH:
            raise ArchvizError(f"the blocks figure at scale {scale!s} is wider than {MAX_WIDTH:,} px even at one box "
                               f"per stage. Received: scale={scale!s} ({_pixels(stage_wide)})",
                               hint="use a larger SIDE,CHANNELS, e.g. --scale fixed (1.5,8) or --scale auto")
    if figure.note is not None and figure.note.startswith(("More than", "Wider than")):
        (warn or _default_warn)(figure.note)
    svg = figure_svg(analysis, figure, get_theme(theme), title, chosen).encode("utf-8")
    if fmt == "svg":
        return svg
    return convert_svg(svg, fmt, scale=PNG_SCALE)


def _pixels(width: float) -> str:
    """A width in px, short even when an absurd scale makes it astronomical."""
    return f"{math.ceil(width):,} px" if width < 1e12 else "over 10^12 px"


def _default_warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def _width(figure: Figure, scale: Scale) -> float:
    return _fit(figure, scale)[1].width + 2 * MARGIN


def _stage_figure(analysis: Analysis, note: str) -> Figure:
    return Figure(tuple(_stage_boxes(analysis)), note, per_stage=True, level="stage")


# -- which boxes --------------------------------------------------------------------------------

def figure_boxes(analysis: Analysis, network: Network | None = None, max_boxes: int = MAX_BOXES) -> Figure:
    """One box per weight layer and pooling step, branches as lanes; one box per block instance
    where the branches do not nest, or per stage where those do not either or the boxes are too many."""
    graph = _drawn_graph(analysis, _fused_activations(network))
    count = len(graph[0]) if graph is not None else 0
    if count > max_boxes:
        note = (f"More than {max_boxes:,} boxes ({count:,}): the figure shows one box per stage, "
                "each stage's output tensor.")
        return _stage_figure(analysis, note)
    try:
        items = _decompose(*graph) if graph is not None else None
        folded = _fold(tuple(items)) if items is not None else ()
    except RecursionError:  # branches nested hundreds deep (possible only past --max-nodes)
        return _stage_figure(analysis, DEEP_NOTE)
    if items is None:
        reason = "Branches that do not nest into blocks (outputs taken from several depths)"
        blocks = block_figure(analysis, network, f"{reason} at one box per layer: {BLOCK_NOTE}", graph)
        return blocks or _stage_figure(analysis, f"{reason}: one box per stage, showing each stage's output tensor.")
    return Figure(tuple(_walk_boxes(folded)), None, items=folded)


BLOCK_NOTE = ("the figure shows one box per block instance, each block's output tensor "
              "(a circled + after a block that ends in an add).")
STAGE_NOTE = "the figure shows one box per stage, each stage's output tensor."


def block_figure(analysis: Analysis, network: Network | None, note: str,
                 graph: tuple[dict[str, Box], dict[str, list[str]]] | None = None) -> Figure | None:
    """One box per block instance (the outermost block a layer was expanded from, as the graph's
    ``--detail blocks`` groups them), drawn as the block's output tensor; a block that ends in
    an add or multiply is its body's box and the sign, so a shortcut into it is an arc. A layer
    outside any block, and a block drawn as one box anyway, keeps its own box. None when the
    blocks' branches do not nest either, or the network has no block with more than one box."""
    graph = graph or _drawn_graph(analysis, _fused_activations(network))
    if graph is None:
        return None
    boxes, sources = graph
    _, owner = group_blocks(analysis)
    members: dict[str, list[str]] = {}
    for key in boxes:
        members.setdefault(owner.get(key, key), []).append(key)
    if all(len(keys) == 1 for keys in members.values()):
        return None  # nothing to group: the figure at one box per block would be the same
    drawn_as: dict[str, str] = {}  # a layer box's key -> the block-level box it is drawn in
    block_boxes: dict[str, Box] = {}
    block_sources: dict[str, list[str]] = {}

    def outside(keys: Sequence[str], block: set[str]) -> list[str]:
        return list(dict.fromkeys(drawn_as[s] for key in keys for s in sources.get(key, []) if s not in block))

    for block, keys in members.items():
        if len(keys) == 1:
            block_boxes[keys[0]] = boxes[keys[0]]
            block_sources[keys[0]] = outside(keys, set(keys))
            drawn_as[keys[0]] = keys[0]
            continue
        inside = set(keys)
        last = boxes[keys[-1]]
        body_keys = keys[:-1] if last.symbol else keys
        body_out = next((s for s in sources[keys[-1]] if s in inside), body_keys[-1]) if last.symbol else keys[-1]
        body = _block_box(block, [boxes[key] for key in body_keys], boxes[body_out].shape,
                          [block_boxes[s] for s in outside(body_keys, inside)])
        body_key = f"\0{block}"  # a block's own key, apart from every layer's name
        block_boxes[body_key] = body
        block_sources[body_key] = outside(body_keys, inside)
        for key in body_keys:
            drawn_as[key] = body_key
        if last.symbol:
            block_boxes[keys[-1]] = last
            block_sources[keys[-1]] = [body_key, *(s for s in outside(keys[-1:], inside) if s != body_key)]
            drawn_as[keys[-1]] = keys[-1]
    try:
        items = _decompose(block_boxes, block_sources)
        folded = _fold(tuple(items)) if items is not None else ()
    except RecursionError:
        return None
    if items is None:
        return None
    return Figure(tuple(_walk_boxes(folded)), note, items=folded, level="block")


def _block_box(name: str, inner: Sequence[Box], shape: tuple[int, ...], inputs: Sequence[Box]) -> Box:
    """A block instance drawn as one tensor: its body's output, in the colour of most of its boxes,
    the largest spatial kernel of its convolutions printed on it (3×3 or 5×5 in an MBConv)."""
    colors = Counter(box.color for box in inner if not box.symbol)
    kernels = [box.kernel for box in inner if box.kernel]
    kernel = max(kernels, key=lambda text: [int(part) for part in text.split("×")], default="")
    if kernel == "1×1":
        kernel = ""
    names = tuple(n for box in inner for n in box.names)
    return Box(color=colors.most_common(1)[0][0] if colors else "merge", shape=shape, names=(name, *names),
               legend="block instance", caption=_caption(shape, False), stage=inner[0].stage, kernel=kernel,
               base="block instance", inputs=tuple(box.shape for box in inputs),
               content=tuple(_signature(box) for box in inner))


def _walk_boxes(items: Sequence[Item]) -> Iterator[Box]:
    for item in items:
        if isinstance(item, Box):
            yield item
        elif isinstance(item, Branches):
            for lane in item.lanes:
                yield from _walk_boxes(lane)
        else:
            yield from _walk_boxes(item.items)


def _fused_activations(network: Network | None) -> dict[str, str]:
    if network is None:
        return {}
    fused = {}
    for layer in network.layers:
        activation = layer.op.values.get("activation")
        if isinstance(activation, str) and activation != "linear":
            fused[layer.name] = activation
    return fused


NORMS_AFTER_WEIGHTS = {"layer_norm": "LN", "group_norm": "GN", "instance_norm": "IN"}


def _folds_into_previous(record: LayerRecord, source: Box, opens_branch: bool) -> bool:
    """Drawn inside the box before: activations, softmax, dropout, batch norm, and a layer, group
    or instance norm right after a convolution or dense layer (ConvNeXt's 7×7 + LN). A layer that
    opens a branch (a transformer's pre-norm, a pre-activation block's BN) stays a box of its own
    in that branch."""
    if opens_branch:
        return False
    if record.op in NORMS_AFTER_WEIGHTS:
        return source.color in ("conv", "dense")
    return (record.op in MERGED_ACTIVATIONS or record.op == "softmax" or record.family == "regularization"
            or record.op == "batch_norm")


def _drawn_graph(analysis: Analysis, fused: dict[str, str]) -> tuple[dict[str, Box], dict[str, list[str]]] | None:
    """The boxes to draw, keyed by the layer each starts at, and each box's input boxes.

    Layers that change nothing a reader needs to see (flatten, identity, a split's halves) are
    the box they read; activations, BN, dropout and a merge of one drawn input (ViT's class
    token, a layer-scale parameter) are drawn inside it; learned parameters are not boxes.
    None when the graph has a source or an end other than the input and the one output.
    """
    boxes: dict[str, Box] = {"input": _input_box(analysis)}
    inside: dict[str, list[str]] = {"input": []}
    names: dict[str, list[str]] = {"input": ["input"]}
    sources: dict[str, list[str]] = {"input": []}
    alias: dict[str, str | None] = {"input": "input"}
    readers = Counter(name for record in analysis.layers if record.family != "parameter" for name in record.inputs)
    for record in analysis.layers:
        if record.family == "parameter":
            alias[record.name] = None
            continue
        drawn = list(dict.fromkeys(a for a in (alias.get(name) for name in record.inputs) if a is not None))
        if len(drawn) == 1:
            source = drawn[0]
            if record.family == "shape":
                alias[record.name] = source
                continue
            opens_branch = any(readers[name] > 1 for name in record.inputs)
            if source != "input" and (_folds_into_previous(record, boxes[source], opens_branch)
                                      or record.family == "merge"):
                alias[record.name] = source
                if record.family != "merge":  # a class token or layer scale is in the tooltip, not the legend
                    inside[source].append(_merged_name(record))
                names[source].append(record.name)
                continue
        if not drawn:
            return None
        boxes[record.name] = _layer_box(record)
        activation = fused.get(record.name)
        inside[record.name] = [MERGED_ACTIVATIONS.get(activation, activation)] if activation else []
        names[record.name] = [record.name]
        sources[record.name] = drawn
        alias[record.name] = record.name
    result = {}
    for key, box in boxes.items():
        parts = list(dict.fromkeys(inside[key]))
        ends_in_softmax = bool(inside[key]) and inside[key][-1] == "softmax"
        result[key] = Box(color="output" if ends_in_softmax else box.color, shape=box.shape, names=tuple(names[key]),
                          legend=" + ".join([box.legend, *parts]), caption=box.caption, stage=box.stage,
                          pool=box.pool, kernel=box.kernel, symbol=box.symbol, base=box.legend, inputs=box.inputs)
    return result, sources


def _input_box(analysis: Analysis) -> Box:
    return Box("input", analysis.input_shape, ("input",), "input", _caption(analysis.input_shape, False), None,
               base="input")


def _layer_box(record: LayerRecord) -> Box:
    color = {"conv": "conv", "pool": "pool", "dense": "dense", "norm": "norm", "merge": "merge"}.get(
        record.family, "output" if record.op == "softmax" else "shape")
    legend = BASE_NAMES.get(record.op, record.op)
    return Box(color=color, shape=record.output_shape, names=(record.name,), legend=legend,
               caption=_caption(record.output_shape, record.op == "dense"), stage=record.stage,
               pool=record.family == "pool", kernel=_kernel(record), symbol=SYMBOLS.get(record.op, ""),
               base=legend, inputs=tuple(tuple(shape) for shape in record.input_shapes))


def _kernel(record: LayerRecord) -> str:
    """'3×3' for a convolution's kernel, so vgg16-c's 1×1 layers differ from vgg16's 3×3."""
    kernel = record.attributes.get("kernel") if record.family == "conv" else None
    if isinstance(kernel, tuple) and len(kernel) == 2:
        return f"{kernel[0]}×{kernel[1]}"
    return f"{kernel}×{kernel}" if isinstance(kernel, int) else ""


def _merged_name(record: LayerRecord) -> str:
    if record.op in MERGED_ACTIVATIONS:
        return MERGED_ACTIVATIONS[record.op]
    if record.op == "batch_norm":
        return "BN"
    return NORMS_AFTER_WEIGHTS.get(record.op) or BASE_NAMES.get(record.op, record.op)


def _decompose(boxes: dict[str, Box], sources: dict[str, list[str]]) -> list[Item] | None:
    """The drawn graph as nested rows: the boxes every path passes through, in order, and between
    two of them that are not neighbours, the branches (each decomposed the same way). None when
    some branch does not start at one fork and end at one merge."""
    order = {name: index for index, name in enumerate(boxes)}
    targets: dict[str, list[str]] = {name: [] for name in boxes}
    for name, inputs in sources.items():
        for source in inputs:
            targets[source].append(name)
    ends = [name for name, after in targets.items() if not after]
    if len(ends) != 1:
        return None
    return _row("input", ends[0], boxes, sources, targets, order)


def _row(first: str, last: str, boxes: dict[str, Box], sources: dict[str, list[str]],
         targets: dict[str, list[str]], order: dict[str, int], within: set[str] | None = None) -> list[Item] | None:
    """The row from ``first`` to ``last``, looking only at the boxes ``within`` (a branch's own)."""
    between = _reachable(first, targets, within) & _reachable(last, sources, within)
    ordered = sorted(between, key=order.__getitem__)
    position = {name: index for index, name in enumerate(ordered)}
    paths_in: dict[str, int] = {}
    for name in ordered:
        paths_in[name] = 1 if name == first else sum(paths_in.get(s, 0) for s in sources[name] if s in between)
    paths_out: dict[str, int] = {}
    for name in reversed(ordered):
        paths_out[name] = 1 if name == last else sum(paths_out.get(t, 0) for t in targets[name] if t in between)
    total = paths_in[last]
    # a box every path passes through: the paths through it are all the paths
    cuts = [name for name in ordered if paths_in[name] * paths_out[name] == total]
    items: list[Item] = [boxes[first]]
    for fork, merge in itertools.pairwise(cuts):
        # every box between two cuts in the order lies on a path from the one to the other
        inner = set(ordered[position[fork] + 1:position[merge]])
        if not inner:
            items.append(boxes[merge])
            continue
        lanes: list[tuple[Item, ...]] = []
        for component in _components(inner, sources, targets, order):
            if any(s not in component and s != fork for n in component for s in sources[n]) or any(
                    t not in component and t != merge for n in component for t in targets[n]):
                return None
            starts = [n for n in component if fork in sources[n]]
            stops = [n for n in component if merge in targets[n]]
            if len(starts) != 1 or len(stops) != 1:
                return None
            lane = _row(starts[0], stops[0], boxes, sources, targets, order, component)
            if lane is None:
                return None
            lanes.append(tuple(lane))
        weights = [_weight(lane) for lane in lanes]
        longest = max(weights)
        if weights.count(longest) == 1 and len(lanes) > 1:
            main = weights.index(longest)
            lanes.insert(0, lanes.pop(main))
            anchor = 0
        else:
            anchor = (len(lanes) - 1) // 2
        items.append(Branches(tuple(lanes), anchor, merge in targets[fork]))
        items.append(boxes[merge])
    return items


def _reachable(start: str, edges: dict[str, list[str]], within: set[str] | None = None) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for following in edges[stack.pop()]:
            if following not in seen and (within is None or following in within):
                seen.add(following)
                stack.append(following)
    return seen


def _components(nodes: set[str], sources: dict[str, list[str]], targets: dict[str, list[str]],
                order: dict[str, int]) -> list[set[str]]:
    """Weakly connected parts of ``nodes``, in the order of their first layer."""
    left = set(nodes)
    parts = []
    for start in sorted(nodes, key=order.__getitem__):
        if start not in left:
            continue
        part = {start}
        stack = [start]
        while stack:
            name = stack.pop()
            for other in (*sources[name], *targets[name]):
                if other in left and other not in part:
                    part.add(other)
                    stack.append(other)
        left -= part
        parts.append(part)
    return parts


def _weight(items: Sequence[Item]) -> int:
    return sum(1 for _ in _walk_boxes(items))


def _signature(item: Item) -> tuple[object, ...]:
    if isinstance(item, Box):
        return ("box", item.color, item.shape, item.legend, item.kernel, item.symbol, item.stage, item.inputs,
                item.content)
    if isinstance(item, Branches):
        return ("branches", item.anchor, item.shortcut, tuple(tuple(map(_signature, lane)) for lane in item.lanes))
    return ("repeat", item.times, tuple(map(_signature, item.items)))


def _fold(items: tuple[Item, ...]) -> tuple[Item, ...]:
    """Runs of identical blocks (branches and the merge after them, or two or three such blocks
    that alternate, like a transformer layer's two residual halves) drawn once, marked ×N."""
    inner: list[Item] = [Branches(tuple(_fold(lane) for lane in item.lanes), item.anchor, item.shortcut)
                         if isinstance(item, Branches) else item for item in items]
    signatures = [_signature(item) for item in inner]
    out: list[Item] = []
    index = 0
    while index < len(inner):
        best = (1, 1)
        if isinstance(inner[index], Branches):
            for length in (2, 4, 6):
                unit = signatures[index:index + length]
                if len(unit) < length:
                    break
                times = 1
                while signatures[index + times * length:index + (times + 1) * length] == unit:
                    times += 1
                if times > 1 and times * length > best[0] * best[1]:
                    best = (times, length)
        times, length = best
        if times > 1:
            out.append(Repeat(tuple(inner[index:index + length]), times))
            index += times * length
        else:
            out.append(inner[index])
            index += 1
    return tuple(out)


def _stage_boxes(analysis: Analysis) -> list[Box]:
    boxes = [_input_box(analysis)]
    last: dict[str | None, LayerRecord] = {}
    families: dict[str | None, set[str]] = {}
    for record in analysis.layers:
        last[record.stage] = record
        families.setdefault(record.stage, set()).add(record.family)
    for stage, _ in analysis.stage_totals():
        record = last[stage]
        present = families[stage]
        family = next((f for f in ("merge", "conv", "dense", "pool", "norm") if f in present), "shape")
        legend = STAGE_NAMES.get(family, "stage")
        boxes.append(Box(color=family, shape=record.output_shape,
                         names=(stage if stage is not None else record.name,), legend=legend,
                         caption=_caption(record.output_shape, record.op == "dense"), stage=stage, base=legend))
    return boxes


def _caption(shape: Sequence[int], dense: bool) -> str:
    """'64x224x224' (channels x height x width, the one axis order of every archviz text, the
    subtitle's input included) or 'FC 4096'."""
    if dense and len(shape) == 1:
        return f"FC {shape[0]}"
    return units.shape(shape)


# -- sizes ----------------------------------------------------------------------------------------

def _spatial_scale(boxes: Sequence[Box]) -> float:
    """Auto scale: pixels per √pixel, so the largest spatial size is ``TALLEST`` high."""
    spatial = max((max(b.shape[1], b.shape[2]) for b in boxes if not b.flat and not b.symbol), default=1)
    return TALLEST / math.sqrt(spatial)


def _size(box: Box, spatial_scale: float, scale: Scale = AUTO) -> tuple[float, float, float]:
    """(thickness, height, depth) of a box, before placement."""
    if box.symbol:
        return 2 * SYMBOL_RADIUS, 2 * SYMBOL_RADIUS, 0.0
    if box.flat:
        length = box.shape[0]
        height = min(max(12.0 * math.log2(max(length, 2)), 28.0), TALLEST)
        return BAR_WIDTH, height, BAR_DEPTH
    channels, height, width = box.shape
    if scale.side is not None and scale.channels is not None:
        thickness = max(channels / scale.channels, MIN_THICKNESS)
        if box.pool:
            thickness = max(thickness * POOL_THICKNESS, MIN_THICKNESS)
        return thickness, max(height / scale.side, MIN_SIDE), max(width / scale.side * OBLIQUE, MIN_SIDE * OBLIQUE)
    thickness = min(max(3.0 * channels ** 0.4, 3.0), 64.0)
    if box.pool:
        thickness = max(thickness * POOL_THICKNESS, 3.0)
    return thickness, max(spatial_scale * math.sqrt(height), 6.0), max(spatial_scale * math.sqrt(width) * OBLIQUE, 3.0)


def _text_width(text: str, size: float, bold: bool = False) -> float:
    """An estimate of Helvetica's advance widths; enough to keep labels from colliding."""
    total = 0.0
    for char in text:
        if char in "il.,:;|!'":
            total += 0.28
        elif char in " ()[]-/" or char == "·":
            total += 0.33
        elif char.isdigit() or char in "xkfjtr":
            total += 0.56
        elif char.isupper() or char in "mw":
            total += 0.8 if char in "MWmw" else 0.68
        else:
            total += 0.55
    return total * size * (1.06 if bold else 1.0)


# -- layout ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Placed:
    box: Box
    x: float       # left of the front face
    y: float       # top of the front face
    width: float   # front face: thickness along the flow (channels)
    height: float  # front face: spatial height
    depth: float   # receding offset, up and to the right (spatial width)


@dataclass
class _Canvas:
    """What a layout draws, in SVG coordinates: boxes in drawing order (left to right within a
    row, so a box's side face is covered by the next one's front), branch lines per lane,
    shortcut arcs, ×N marks and the captions (x, baseline, text, secondary)."""

    boxes: list[_Placed] = field(default_factory=list)
    towers: list[list[list[tuple[float, float]]]] = field(default_factory=list)
    arcs: list[list[tuple[float, float]]] = field(default_factory=list)
    repeats: list[tuple[float, float, float, str]] = field(default_factory=list)
    captions: list[tuple[float, float, str, bool]] = field(default_factory=list)


@dataclass(frozen=True)
class _Extent:
    """A row's size around its centre line: width, and how far it reaches up (top < 0) and down."""

    width: float
    top: float
    bottom: float
    first_left: float = 0.0   # the first box's front face, from the row's left edge
    last_right: float = 0.0   # the last box's front face's right edge


@dataclass
class _Waiting:
    """Lines that end on a merge not yet placed, by the merge box's id: shortcut arcs (start and
    apex known) and branch lines (their last point moved onto the merge's front face)."""

    arcs: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    lines: dict[int, list[list[tuple[float, float]]]] = field(default_factory=dict)


@dataclass
class _Open:
    kind: str                 # 'branches' or 'repeat'
    item: Branches | Repeat
    start: float              # x where the span's first group starts
    pad: float                # branches: room added on both sides of a narrower main lane
    fork: _Placed | None      # the box before
    reach: float = 0.0        # how far up the span's boxes and inner marks reach (positive)
    floor: float = 0.0        # how far down inner branches reach
    first: _Placed | None = None  # the span's first box on the row's line


def _tokens(items: Sequence[Item]) -> Iterator[tuple[str, Box | Branches | Repeat]]:
    """A row's items flattened along its centre line: a branch point's main lane is drawn inline."""
    for item in items:
        if isinstance(item, Box):
            yield "box", item
        elif isinstance(item, Branches):
            yield "open", item
            yield from _tokens(item.lanes[item.anchor])
            yield "close", item
        else:
            yield "repeat", item
            yield from _tokens(item.items)
            yield "end", item


class _Layout:
    def __init__(self, spatial_scale: float, scale: Scale, per_stage: bool) -> None:
        self.spatial_scale = spatial_scale
        self.scale = scale
        self.per_stage = per_stage
        # measured rows by identity (the row kept alive beside its extent): a row is measured by
        # every branch point around it, which doubled the work per level of nesting
        self._measured: dict[int, tuple[Sequence[Item], _Extent]] = {}

    def measure(self, items: Sequence[Item]) -> _Extent:
        known = self._measured.get(id(items))
        if known is None or known[0] is not items:
            known = (items, self.row(items))
            self._measured[id(items)] = known
        return known[1]

    def size(self, box: Box) -> tuple[float, float, float]:
        return _size(box, self.spatial_scale, self.scale)

    def half(self, box: Box) -> float:
        _, height, depth = self.size(box)
        return (height + depth) / 2

    def row(self, items: Sequence[Item], canvas: _Canvas | None = None, dx: float = 0.0,
            dy: float = 0.0) -> _Extent:
        """Lay out a row with its left edge at ``dx`` and its centre line at ``dy``; draw into
        ``canvas`` (None: only measure)."""
        tokens = list(_tokens(items))
        boxes = [item for kind, item in tokens if kind == "box" and isinstance(item, Box)]
        half = max((self.half(box) for box in boxes), default=0.0)
        caption_y = half + 14 + CAPTION_SIZE
        has_second = False
        cursor = 0.0
        top = -half
        bottom = caption_y + 6
        stack: list[_Open] = []
        group: list[tuple[Box, float, tuple[float, float, float]]] = []  # (box, offset, size)
        last_placed: _Placed | None = None
        box_index = 0
        waiting = _Waiting()
        first_left: float | None = None
        last_right = 0.0

        def next_box(after: int) -> Box | None:
            return boxes[after] if after < len(boxes) else None

        def flush() -> None:
            nonlocal cursor, has_second, last_placed, first_left, last_right
            if not group:
                return
            first = group[0][0]
            drawn = group[-1][1] + group[-1][2][0] + group[-1][2][2]
            texts: list[tuple[str, float, float, bool]] = []  # text, left, right (within group), secondary
            if not first.symbol:
                shared = [entry for entry in group if entry[0].caption == first.caption or entry is group[0]]
                right = shared[-1][1] + shared[-1][2][0] + shared[-1][2][2]
                texts.append((first.caption, 0.0, right, False))
            for entry in group:
                box, offset, (thickness, _, depth) = entry
                if entry is not group[0] and box.pool and box.caption != first.caption and id(box) in speaking:
                    texts.append((box.caption, offset, offset + thickness + depth, True))
            needed = max([drawn] + [_text_width(t, SECOND_CAPTION_SIZE if s else CAPTION_SIZE) + 10
                                    for t, _, _, s in texts])
            start = cursor + (needed - drawn) / 2
            for text, left, right, secondary in texts:
                size = SECOND_CAPTION_SIZE if secondary else CAPTION_SIZE
                centre = start + (left + right) / 2
                half_text = (_text_width(text, size) + 10) / 2
                # keep a wide caption inside its slot even when its boxes sit at one side
                centre = min(max(centre, cursor + half_text - 5), cursor + needed - half_text + 5)
                y = caption_y + (SECOND_CAPTION_SIZE + 6 if secondary else 0)
                has_second = has_second or secondary
                if canvas is not None:
                    canvas.captions.append((dx + centre, dy + y, text, secondary))
            for box, offset, (thickness, height, depth) in group:
                total = height + depth
                placed = _Placed(box, dx + start + offset, dy - total / 2 + depth, thickness, height, depth)
                if canvas is not None:
                    canvas.boxes.append(placed)
                    arc = waiting.arcs.pop(id(box), None)
                    if arc is not None:
                        end = _top_middle(placed)
                        canvas.arcs.append([*arc, (end[0], arc[1][1]), end])
                    for line in waiting.lines.pop(id(box), []):
                        line[-1] = (placed.x, line[-1][1])
                for frame in stack:
                    if frame.first is None:
                        frame.first = placed
                if first_left is None:
                    first_left = placed.x - dx
                last_right = placed.x - dx + thickness
                last_placed = placed
            cursor += needed + GROUP_GAP
            group.clear()

        speaking: set[int] = set()
        # which pooling slabs print their output under them: those whose size the next box does not show
        for index, box in enumerate(boxes):
            following = next_box(index + 1)
            if box.pool and not box.flat and not (following is not None and not following.flat
                                                  and not following.symbol and following.shape[1:] == box.shape[1:]):
                speaking.add(id(box))

        for kind, item in tokens:
            if kind == "box" and isinstance(item, Box):
                box = item
                size = self.size(box)
                joins = bool(group) and not box.symbol and not group[-1][0].symbol and (
                    (box.pool and not box.flat) or box.caption == group[0][0].caption) and not self.per_stage
                if group and not joins:
                    flush()
                if group:
                    previous = group[-1]
                    both_bars = box.flat and previous[0].flat
                    offset = previous[1] + previous[2][0] + (BAR_GAP if both_bars else GAP)
                else:
                    offset = 0.0
                group.append((box, offset, size))
                for frame in stack:
                    frame.reach = max(frame.reach, self.half(box))
                box_index += 1
                continue
            flush()
            if kind in ("open", "repeat"):
                assert isinstance(item, (Branches, Repeat))
                pad = 0.0
                if isinstance(item, Branches):
                    main = self.measure(item.lanes[item.anchor]).width
                    others = [self.measure(lane).width for number, lane in enumerate(item.lanes)
                              if number != item.anchor]
                    pad = max(0.0, max(others, default=0.0) - main) / 2
                    cursor += pad
                stack.append(_Open(kind, item, cursor, pad, last_placed))
                continue
            frame = stack.pop()
            span_right = cursor - GROUP_GAP + frame.pad  # the span's right edge
            cursor += frame.pad
            following = next_box(box_index)
            if isinstance(frame.item, Branches):
                reach, floor = self._branches(frame, span_right, following, last_placed, caption_y + 6, canvas,
                                              dx, dy, waiting)
            else:
                # a bracket over the repeated blocks, ×N above its middle
                reach, floor = frame.reach + 14 + REPEAT_SIZE, frame.floor
                if canvas is not None:
                    canvas.repeats.append((dx + frame.start, dx + span_right, dy - frame.reach - 8,
                                           f"×{frame.item.times}"))
            top = min(top, -reach)
            bottom = max(bottom, floor)
            if stack:
                stack[-1].reach = max(stack[-1].reach, reach)
                stack[-1].floor = max(stack[-1].floor, floor)
        flush()
        if has_second:
            bottom = max(bottom, caption_y + SECOND_CAPTION_SIZE + 12)
        width = max(cursor - GROUP_GAP, 0.0)
        return _Extent(width, top, bottom, first_left or 0.0, last_right)

    def _branches(self, frame: _Open, right: float, merge: Box | None, last: _Placed | None, floor_start: float,
                  canvas: _Canvas | None, dx: float, dy: float, waiting: _Waiting) -> tuple[float, float]:
        """Place the lanes other than the main one, the lines into and out of every lane and the
        shortcut arc; return how far the branches reach up and down."""
        item = frame.item
        assert isinstance(item, Branches)
        left = frame.start - frame.pad
        span = right + frame.pad - left
        x_in, x_out = left - GROUP_GAP / 2, left + span + GROUP_GAP / 2
        reach = frame.reach
        fork_half = self.half(frame.fork.box) if frame.fork is not None else 0.0
        merge_half = self.half(merge) if merge is not None else 0.0
        arc_y = -(max(reach, fork_half, merge_half) + ARC_CLEARANCE)
        if item.shortcut:
            reach = -arc_y + 2
            if canvas is not None and frame.fork is not None and merge is not None:
                # from the middle of the fork's top; the end is set when the merge is placed
                start = _top_middle(frame.fork)
                waiting.arcs[id(merge)] = [start, (start[0], dy + arc_y)]
        lanes: list[tuple[int, float]] = []  # (lane number, centre line)
        upper = -reach
        for number in range(item.anchor - 1, -1, -1):
            extent = self.measure(item.lanes[number])
            centre = upper - LANE_GAP - extent.bottom
            upper = centre + extent.top
            lanes.append((number, centre))
        lower = max(floor_start, frame.floor)
        for number in range(item.anchor + 1, len(item.lanes)):
            extent = self.measure(item.lanes[number])
            centre = lower + LANE_GAP - extent.top
            lower = centre + extent.bottom
            lanes.append((number, centre))
        if canvas is not None and frame.fork is not None and frame.first is not None and last is not None:
            # lines from the fork's front face to each lane's first box, and from each lane's last
            # box to the merge's front face (set when the merge is placed)
            fork_right = frame.fork.x + frame.fork.width
            into = [(dx + x_out + GROUP_GAP / 2, dy)]
            outs = [[(last.x + last.width, dy), *into]]
            canvas.towers.append([[(fork_right, dy), (frame.first.x, dy)], outs[0]])
            for number, centre in sorted(lanes):
                extent = self.measure(item.lanes[number])
                lane_left = dx + left + (span - extent.width) / 2
                self.row(item.lanes[number], canvas, lane_left, dy + centre)
                outs.append([(lane_left + extent.last_right, dy + centre), (dx + x_out, dy + centre),
                             (dx + x_out, dy), *into])
                canvas.towers.append([
                    [(fork_right, dy), (dx + x_in, dy), (dx + x_in, dy + centre),
                     (lane_left + extent.first_left, dy + centre)], outs[-1]])
            if merge is not None:
                waiting.lines[id(merge)] = outs
        return -upper, lower


def _top_middle(placed: _Placed) -> tuple[float, float]:
    """Where a shortcut arc leaves or enters a box: the middle of its top face (a sign's top)."""
    if placed.box.symbol:
        return placed.x + placed.width / 2, placed.y
    return placed.x + (placed.width + placed.depth) / 2, placed.y - placed.depth / 2


# -- drawing ----------------------------------------------------------------------------------

def figure_svg(analysis: Analysis, figure: Figure, theme: Theme, title: bool = True, scale: Scale = AUTO) -> str:
    """The figure as SVG text (no external tools)."""
    items: tuple[Item, ...] = figure.items or figure.boxes
    layout, extent = _fit(figure, scale)
    top = MARGIN + (TITLE_SIZE + SUBTITLE_SIZE + 30 if title else 0)
    stage_row = top + STAGE_SIZE
    axis = stage_row + 14 - extent.top
    canvas = _Canvas()
    layout.row(items, canvas, MARGIN, axis)
    width = extent.width + 2 * MARGIN
    notes = [note for note in (figure.note, _scale_note(figure.boxes, scale, layout.spatial_scale)) if note]
    if title:
        width = max(width, _text_width(_title_line(analysis), SUBTITLE_SIZE) + 2 * MARGIN)
    # notes wrap to the figure's width (at least NOTE_WIDTH), and a narrower figure widens to them
    notes = [line for note in notes for line in _wrap(note, max(width - 2 * MARGIN, NOTE_WIDTH))]
    for note in notes:
        width = max(width, 1.1 * _text_width(note, NOTE_SIZE) + 2 * MARGIN)
    entries = _legend_entries(figure.boxes)
    legend_top = axis + extent.bottom + 16
    legend = _legend_layout(entries, max(width - 2 * MARGIN, 360.0), legend_top)
    width = max(width, max((x + w for _, _, _, x, _, w in legend), default=0.0) + MARGIN)
    legend_rows = len({y for _, _, _, _, y, _ in legend})
    notes_top = legend_top + legend_rows * LEGEND_ROW + 4
    height = notes_top + len(notes) * (NOTE_SIZE + 8) + MARGIN - 10
    # whole pixels: a fractional width leaves a PNG's last column half covered (semi-transparent)
    width, height = float(math.ceil(width)), float(math.ceil(height))

    out: list[str] = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
         f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{_attr(FONT)}">'),
        f"<title>{_esc(analysis.name)}: blocks figure</title>",
        f'<rect width="100%" height="100%" fill="{theme.background}"/>',
    ]
    if title:
        out.append(f'<text x="{MARGIN}" y="{MARGIN + TITLE_SIZE}" font-size="{TITLE_SIZE}" font-weight="bold" '
                   f'fill="{theme.text}">{_esc(analysis.name)}</text>')
        out.append(f'<text x="{MARGIN}" y="{MARGIN + TITLE_SIZE + SUBTITLE_SIZE + 10}" font-size="{SUBTITLE_SIZE}" fill="{theme.muted}">'
                   f"{_esc(_title_line(analysis))}</text>")
    out.extend(_stage_labels(canvas.boxes, stage_row, theme))
    out.append(f'<g fill="none" stroke="{theme.edge}" stroke-width="1.4">')
    for tower in canvas.towers:
        lines = "".join(f'<polyline points="{_points(line)}"/>' for line in tower)
        out.append(f'<g class="blocks-tower">{lines}</g>')
    for arc in canvas.arcs:
        out.append(f'<path class="blocks-skip" d="{_arc_path(arc)}"/>')
    out.append("</g>")
    out.append('<g stroke-linejoin="round" stroke-width="0.8">')
    for item in canvas.boxes:
        out.append(_symbol_svg(item, theme) if item.box.symbol else _box_svg(item, theme))
    out.append("</g>")
    for left, right, y, text in canvas.repeats:
        out.append(f'<path d="M {_n(left)} {_n(y + 5)} V {_n(y)} H {_n(right)} V {_n(y + 5)}" fill="none" '
                   f'stroke="{theme.muted}" stroke-width="1"/>')
        out.append(f'<text class="blocks-repeat" x="{_n((left + right) / 2)}" y="{_n(y - 5)}" font-size="{REPEAT_SIZE}" '
                   f'font-weight="bold" text-anchor="middle" fill="{theme.text}">{_esc(text)}</text>')
    for x, y, text, secondary in canvas.captions:
        size = SECOND_CAPTION_SIZE if secondary else CAPTION_SIZE
        out.append(f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="middle" '
                   f'fill="{theme.muted}">{_esc(text)}</text>')
    out.extend(_legend_svg(legend, theme))
    for number, note in enumerate(notes):
        out.append(f'<text x="{MARGIN}" y="{_n(notes_top + number * (NOTE_SIZE + 8) + NOTE_SIZE)}" '
                   f'font-size="{NOTE_SIZE}" fill="{theme.muted}">{_esc(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _wrap(text: str, width: float) -> list[str]:
    """Words into lines no wider than ``width`` (by the width estimate, with a tenth to spare)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and 1.1 * _text_width(f"{lines[-1]} {word}", NOTE_SIZE) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _fit(figure: Figure, scale: Scale) -> tuple[_Layout, _Extent]:
    """The layout at the figure's scale; the auto scale shrinks the boxes of a figure whose
    stacked branches (Inception's four towers) would be taller than ``HEIGHT_BUDGET``."""
    items: tuple[Item, ...] = figure.items or figure.boxes
    layout = _Layout(_spatial_scale(figure.boxes), scale, figure.per_stage)
    extent = layout.row(items)
    for _ in range(4):
        tall = extent.bottom - extent.top
        if scale.fixed or tall <= HEIGHT_BUDGET:
            break
        layout = _Layout(layout.spatial_scale * max(HEIGHT_BUDGET / tall, 0.5), scale, figure.per_stage)
        extent = layout.row(items)
    return layout, extent


def _scale_note(boxes: Sequence[Box], scale: Scale, spatial_scale: float) -> str:
    """The scale, stated, so a reader knows whether two figures compare."""
    bars = any(box.flat and not box.symbol for box in boxes)
    vectors = "; vectors 12 px per doubling of length" if bars else ""
    if scale.side is not None and scale.channels is not None:
        return (f"Fixed scale: side 1 px per {_number(scale.side)} pixels, thickness 1 px per "
                f"{_number(scale.channels)} channels (at least {_number(MIN_SIDE)} and {_number(MIN_THICKNESS)} px)"
                f"{vectors}.")
    spatial = max((max(b.shape[1], b.shape[2]) for b in boxes if not b.flat and not b.symbol), default=0)
    largest = f" ({spatial} pixels = {round(spatial_scale * math.sqrt(spatial))} px)" if spatial else ""
    return (f"Scale fitted to this figure: side as √pixels{largest}, thickness as channels^0.4{vectors}; "
            "--scale fixed compares figures.")


def _number(value: float) -> str:
    return f"{value:g}"


def _title_line(analysis: Analysis) -> str:
    totals = analysis.totals
    return (f"input {units.shape(analysis.input_shape)} · {units.human(totals.params)} params · "
            f"{units.human(totals.macs)} MACs")


def _box_svg(item: _Placed, theme: Theme, tooltip: bool = True) -> str:
    solid = theme.family(item.box.color).solid
    stroke = shade(solid, -0.45)
    x, y, w, h, d = item.x, item.y, item.width, item.height, item.depth
    front = f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="{solid}"/>'
    top = _polygon([(x, y), (x + d, y - d), (x + w + d, y - d), (x + w, y)], shade(solid, 0.35))
    side = _polygon([(x + w, y), (x + w + d, y - d), (x + w + d, y + h - d), (x + w, y + h)], shade(solid, -0.16))
    title = f"<title>{_esc(_described(item.box))}</title>" if tooltip else ""
    label = ""
    if item.box.kernel and w >= KERNEL_SIZE and h >= _text_width(item.box.kernel, KERNEL_SIZE) + 8:
        # along the front face, read bottom to top, in the page's background colour
        cx, cy = x + w / 2 + KERNEL_SIZE * 0.35, y + h / 2
        label = (f'<text x="{_n(cx)}" y="{_n(cy)}" transform="rotate(-90 {_n(cx)} {_n(cy)})" '
                 f'text-anchor="middle" font-size="{KERNEL_SIZE}" fill="{theme.background}" stroke="none">'
                 f"{_esc(item.box.kernel)}</text>")
    return f'<g stroke="{stroke}">{title}{front}{top}{side}{label}</g>'


def _described(box: Box) -> str:
    kernel = f", kernel {box.kernel}" if box.kernel else ""
    return f"{', '.join(box.names)}: {box.legend}, {box.caption}{kernel}"


def _symbol_svg(item: _Placed, theme: Theme, tooltip: bool = True) -> str:
    """A merge of same-shaped tensors as a circled sign (⊕ add, ⊗ multiply), drawn with lines
    rather than a font's glyph, so it looks the same everywhere."""
    solid = theme.family(item.box.color).solid
    r = item.width / 2
    cx, cy = item.x + r, item.y + r
    arm = r * 0.55
    if item.box.symbol == "×":
        arm *= 0.8
        sign = [((cx - arm, cy - arm), (cx + arm, cy + arm)), ((cx - arm, cy + arm), (cx + arm, cy - arm))]
    else:
        sign = [((cx - arm, cy), (cx + arm, cy)), ((cx, cy - arm), (cx, cy + arm))]
    lines = "".join(f'<line x1="{_n(a[0])}" y1="{_n(a[1])}" x2="{_n(b[0])}" y2="{_n(b[1])}"/>' for a, b in sign)
    title = f"<title>{_esc(_described(item.box))}</title>" if tooltip else ""
    return (f'<g class="blocks-merge" stroke="{shade(solid, -0.45)}">{title}<circle cx="{_n(cx)}" cy="{_n(cy)}" '
            f'r="{_n(r)}" fill="{solid}"/><g stroke="{theme.background}" stroke-width="2">{lines}</g></g>')


def _polygon(points: Sequence[tuple[float, float]], fill: str) -> str:
    return f'<polygon points="{_points(points)}" fill="{fill}"/>'


def _points(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_n(px)},{_n(py)}" for px, py in points)


def _arc_path(points: Sequence[tuple[float, float]]) -> str:
    """Up from the fork, over, down into the merge, with rounded corners and an arrow head."""
    (x1, y1), (_, apex), (x2, _), (_, y2) = points
    r = min(8.0, (x2 - x1) / 2, (y1 - apex) / 2, (y2 - apex) / 2)
    head = (f" M {_n(x2 - 4)} {_n(y2 - 7)} L {_n(x2)} {_n(y2)} L {_n(x2 + 4)} {_n(y2 - 7)}")
    return (f"M {_n(x1)} {_n(y1)} V {_n(apex + r)} Q {_n(x1)} {_n(apex)} {_n(x1 + r)} {_n(apex)} "
            f"H {_n(x2 - r)} Q {_n(x2)} {_n(apex)} {_n(x2)} {_n(apex + r)} V {_n(y2)}{head}")


def _stage_labels(placed: Sequence[_Placed], row: float, theme: Theme) -> list[str]:
    spans: dict[str, tuple[float, float]] = {}  # stage -> (left, right), in the order stages appear
    for item in placed:
        if item.box.stage is None:
            continue
        right = item.x + item.width + item.depth
        left, old_right = spans.get(item.box.stage, (item.x, right))
        spans[item.box.stage] = (min(left, item.x), max(old_right, right))
    out = []
    last_right = -math.inf
    for stage, (left, right) in sorted(spans.items(), key=lambda entry: entry[1][0]):
        text = printable(stage, 28)
        centre = (left + right) / 2
        half = _text_width(text, STAGE_SIZE, bold=True) / 2
        if centre - half < last_right + 8:
            continue  # a crowded stage name is dropped rather than drawn over its neighbour
        last_right = centre + half
        out.append(f'<text x="{_n(centre)}" y="{_n(row)}" font-size="{STAGE_SIZE}" font-weight="bold" '
                   f'text-anchor="middle" fill="{theme.text}">{_esc(text)}</text>')
    return out


def _legend_entries(boxes: Sequence[Box]) -> list[tuple[str, str, bool]]:
    """One entry per colour (colour, text, drawn as a sign): the kinds of layer in it joined with
    '/', then what is merged into every box of that colour, then what only some have."""
    colours: dict[str, list[Box]] = {}
    for box in boxes:
        colours.setdefault(box.color, []).append(box)
    entries = []
    for colour, members in colours.items():
        bases = list(dict.fromkeys(box.base or box.legend for box in members))
        parts = [[part for part in box.legend.split(" + ")[len((box.base or box.legend).split(" + ")):]]
                 for box in members]
        every = [part for part in dict.fromkeys(p for ps in parts for p in ps) if all(part in ps for ps in parts)]
        some = [part for part in dict.fromkeys(p for ps in parts for p in ps) if part not in every]
        text = " / ".join(bases) + "".join(f" + {part}" for part in every)
        if some:
            text += f" (+ {', '.join(some)} on some)"
        entries.append((colour, text, all(box.symbol for box in members)))
    return entries


def _legend_layout(entries: Sequence[tuple[str, str, bool]], width: float,
                   top: float) -> list[tuple[str, str, bool, float, float, float]]:
    """Entries in columns of one width (the widest entry), so every gap is the same:
    (colour, text, sign, x, y, entry width)."""
    widths = [26 + _text_width(printable(text, LEGEND_LIMIT), LEGEND_SIZE) for _, text, _ in entries]
    column = float(math.ceil(max(widths, default=0.0) + LEGEND_GAP))  # whole pixels: equal steps in the SVG text
    per_row = max(1, int((width + LEGEND_GAP) // column))
    if entries:  # rows as even as they can be: 3 + 2 rather than 4 + 1
        per_row = math.ceil(len(entries) / math.ceil(len(entries) / per_row))
    placed = []
    for number, ((colour, text, sign), entry) in enumerate(zip(entries, widths, strict=True)):
        row, col = divmod(number, per_row)
        placed.append((colour, text, sign, MARGIN + col * column, top + row * LEGEND_ROW, entry))
    return placed


def _legend_svg(entries: Sequence[tuple[str, str, bool, float, float, float]], theme: Theme) -> list[str]:
    out = []
    for colour, text, sign, x, y, _ in entries:
        box = Box(colour, (1,), (), "", "", None, symbol="+" if sign else "")
        if sign:
            out.append(_symbol_svg(_Placed(box, x, y - 5, 16, 16, 0), theme, tooltip=False))
        else:
            out.append(_box_svg(_Placed(box, x, y - 5, 14, 14, 5), theme, tooltip=False))
        out.append(f'<text class="blocks-legend" x="{_n(x + 26)}" y="{_n(y + 7)}" font-size="{LEGEND_SIZE}" '
                   f'fill="{theme.text}">{_esc(printable(text, LEGEND_LIMIT))}</text>')
    return out


def _n(value: float) -> str:
    """Coordinates with one decimal and no '-0.0': stable text for byte-identical reruns."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _esc(value: str) -> str:
    return html.escape(printable(value), quote=True)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)
