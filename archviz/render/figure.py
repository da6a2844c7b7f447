"""The blocks style: the figure people put in papers and slides (the classic VGG16 drawing).

Each layer's output tensor is an oblique 3-D box: its height and receding depth follow the
spatial size (square-root scale, so 224 and 7 both read), its thickness follows the channels
(power 0.4, so 64 and 512 both read). Activations, batch norm and dropout are drawn inside the
box of the layer they follow, so a figure has one box per weight layer and per pooling step;
pooling is the step down; dense layers are thin bars. A softmax joins the box before it, which
then takes the output colour.

Branching networks (add, concat) have no single row of tensors to draw; for them, and for
networks with more than ``MAX_BOXES`` boxes, the figure draws one box per stage, showing each
stage's output tensor, and says so under the legend.

The SVG is built as text with every spec string escaped; PNG and PDF come from cairosvg.

>>> import archviz
>>> svg = render_blocks(archviz.load("vgg16").analyze())
>>> svg.startswith(b"<svg")
True
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archviz.analysis import Analysis, LayerRecord
from archviz.errors import ArchvizError
from archviz.render import units
from archviz.render.external import convert_svg
from archviz.render.theme import FONT, Theme, get_theme, printable, shade

if TYPE_CHECKING:
    from archviz.network import Network

FORMATS = ("svg", "png", "pdf")
MAX_BOXES = 200
PNG_SCALE = 2.0

# Geometry, in SVG pixels.
MARGIN = 28
TALLEST = 168          # front-face height of the largest spatial size
OBLIQUE = 0.42         # receding depth per pixel of spatial width
BAR_WIDTH = 9
BAR_DEPTH = 6
GAP = 6                # between boxes of one group
BAR_GAP = 16           # between thin bars, which have almost no depth to separate them
GROUP_GAP = 22
# Text is sized for the figure shrunk to a page's width: a 1,100-pixel-wide figure in a
# 7-inch column still has 7-point captions.
CAPTION_SIZE = 15
STAGE_SIZE = 13
LEGEND_SIZE = 14
LEGEND_ROW = 28
TITLE_SIZE = 21
SUBTITLE_SIZE = 14

MERGED_ACTIVATIONS = {"relu": "ReLU", "relu6": "ReLU6", "leaky_relu": "LeakyReLU", "elu": "ELU", "gelu": "GELU",
                      "silu": "SiLU", "sigmoid": "sigmoid", "tanh": "tanh"}
BASE_NAMES = {
    "conv2d": "convolution", "dense": "fully connected", "max_pool2d": "max pooling",
    "avg_pool2d": "average pooling", "global_avg_pool2d": "global average pooling",
    "global_max_pool2d": "global max pooling", "adaptive_avg_pool2d": "adaptive average pooling",
    "lrn": "local response normalisation", "batch_norm": "batch normalisation", "softmax": "softmax",
    "add": "add", "concat": "concatenate",
}
KERNEL_SIZE = 9  # font size of the kernel printed on a convolution's box
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

    @property
    def flat(self) -> bool:
        """Vectors and 1x1 maps are drawn as thin bars, as in the classic figure."""
        return len(self.shape) != 3 or (self.shape[1] == 1 and self.shape[2] == 1)


@dataclass(frozen=True)
class Figure:
    """The boxes to draw and the note that explains a fallback (None when every layer is drawn)."""

    boxes: tuple[Box, ...]
    note: str | None
    per_stage: bool = False


def render_blocks(
    analysis: Analysis,
    network: Network | None = None,
    fmt: str = "svg",
    theme: str | Theme = "light",
    title: bool = True,
    max_boxes: int = MAX_BOXES,
    warn: Callable[[str], None] | None = None,
) -> bytes:
    """The blocks figure as a file's bytes: svg (pure Python), png or pdf (through cairosvg).

    ``network`` adds activations fused into a layer (Keras' ``activation=``) to the legend.
    ``warn`` receives the message when the figure falls back to one box per stage because the
    network has more than ``max_boxes`` boxes (default: ``warnings.warn``).
    """
    if fmt not in FORMATS:
        raise ArchvizError(f"the blocks style writes {', '.join(FORMATS)}. Received: format={fmt!r}",
                           hint="name the output file .svg, .png or .pdf")
    figure = figure_boxes(analysis, network, max_boxes)
    if figure.note is not None and figure.note.startswith("More than"):
        (warn or _default_warn)(figure.note)
    svg = figure_svg(analysis, figure, get_theme(theme), title).encode("utf-8")
    if fmt == "svg":
        return svg
    return convert_svg(svg, fmt, scale=PNG_SCALE)


def _default_warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


# -- which boxes --------------------------------------------------------------------------------

def figure_boxes(analysis: Analysis, network: Network | None = None, max_boxes: int = MAX_BOXES) -> Figure:
    """One box per weight layer and pooling step for a chain of layers; one per stage otherwise."""
    if _is_chain(analysis):
        boxes = _layer_boxes(analysis, _fused_activations(network))
        if len(boxes) <= max_boxes:
            return Figure(tuple(boxes), None)
        note = (f"More than {max_boxes:,} boxes ({len(boxes):,}): the figure shows one box per stage, "
                "each stage's output tensor.")
        return Figure(tuple(_stage_boxes(analysis)), note, per_stage=True)
    return Figure(tuple(_stage_boxes(analysis)),
                  "Branching network: one box per stage, showing each stage's output tensor.", per_stage=True)


def _is_chain(analysis: Analysis) -> bool:
    previous = "input"
    for record in analysis.layers:
        if record.inputs != (previous,):
            return False
        previous = record.name
    return True


def _fused_activations(network: Network | None) -> dict[str, str]:
    if network is None:
        return {}
    fused = {}
    for layer in network.layers:
        activation = layer.op.values.get("activation")
        if isinstance(activation, str) and activation != "linear":
            fused[layer.name] = activation
    return fused


def _layer_boxes(analysis: Analysis, fused: dict[str, str]) -> list[Box]:
    boxes = [_input_box(analysis)]
    # merged[i]: display names of the layers drawn inside boxes[i]
    merged: list[list[str]] = [[]]
    names: list[list[str]] = [[]]
    for record in analysis.layers:
        into_previous = len(boxes) > 1 and (
            record.op in MERGED_ACTIVATIONS or record.op == "softmax"
            or record.family == "regularization" or record.op == "batch_norm"
        )
        if into_previous:
            merged[-1].append(_merged_name(record))
            names[-1].append(record.name)
            continue
        if record.family == "shape":  # flatten and identity change nothing a reader needs to see
            continue
        boxes.append(_layer_box(record))
        activation = fused.get(record.name)
        merged.append([MERGED_ACTIVATIONS.get(activation, activation)] if activation else [])
        names.append([record.name])
    result = []
    for box, inside, drawn in zip(boxes, merged, names, strict=True):
        ends_in_softmax = bool(inside) and inside[-1] == "softmax"
        legend = " + ".join([box.legend, *dict.fromkeys(inside)])
        result.append(Box(color="output" if ends_in_softmax else box.color, shape=box.shape,
                          names=(*box.names, *drawn[1:]) if drawn else box.names,
                          legend=legend, caption=box.caption, stage=box.stage, pool=box.pool,
                          kernel=box.kernel))
    return result


def _input_box(analysis: Analysis) -> Box:
    return Box("input", analysis.input_shape, ("input",), "input", _caption(analysis.input_shape, False), None)


def _layer_box(record: LayerRecord) -> Box:
    color = {"conv": "conv", "pool": "pool", "dense": "dense", "norm": "norm", "merge": "merge"}.get(
        record.family, "output" if record.op == "softmax" else "shape")
    return Box(color=color, shape=record.output_shape, names=(record.name,),
               legend=BASE_NAMES.get(record.op, record.op), caption=_caption(record.output_shape, record.op == "dense"),
               stage=record.stage, pool=record.family == "pool", kernel=_kernel(record))


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
    return record.op


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
        boxes.append(Box(color=family, shape=record.output_shape,
                         names=(stage if stage is not None else record.name,),
                         legend=STAGE_NAMES.get(family, "stage"),
                         caption=_caption(record.output_shape, record.op == "dense"), stage=stage))
    return boxes


def _caption(shape: Sequence[int], dense: bool) -> str:
    """'64x224x224' (channels x height x width, the one axis order of every archviz text, the
    subtitle's input included) or 'FC 4096'."""
    if dense and len(shape) == 1:
        return f"FC {shape[0]}"
    return units.shape(shape)


# -- layout ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Placed:
    box: Box
    x: float       # left of the front face
    top: float     # top of the front face
    width: float   # front face: thickness along the flow (channels)
    height: float  # front face: spatial height
    depth: float   # receding offset, up and to the right (spatial width)


def _scales(boxes: Sequence[Box]) -> tuple[float, float]:
    spatial = max((max(b.shape[1], b.shape[2]) for b in boxes if not b.flat), default=1)
    vector = max((b.shape[0] for b in boxes if b.flat), default=1)
    return TALLEST / math.sqrt(spatial), float(vector)


def _size(box: Box, spatial_scale: float) -> tuple[float, float, float]:
    """(thickness, height, depth) of a box, before placement."""
    if box.flat:
        length = box.shape[0]
        height = min(max(12.0 * math.log2(max(length, 2)), 28.0), TALLEST)
        return BAR_WIDTH, height, BAR_DEPTH
    channels, height, width = box.shape
    thickness = min(max(3.0 * channels ** 0.4, 3.0), 64.0)
    if box.pool:
        thickness = max(thickness * 0.45, 3.0)
    return thickness, max(spatial_scale * math.sqrt(height), 6.0), max(spatial_scale * math.sqrt(width) * OBLIQUE, 3.0)


def _groups(boxes: Sequence[Box], per_stage: bool) -> list[list[int]]:
    """Runs of boxes that share one caption. A pooling step whose output the next box keeps
    spatially adds nothing to say and joins the run before it (as in the classic figure).
    Stage boxes each keep their own caption."""
    if per_stage:
        return [[index] for index in range(len(boxes))]
    groups: list[list[int]] = []
    captions: list[str] = []
    for index, box in enumerate(boxes):
        following = boxes[index + 1] if index + 1 < len(boxes) else None
        silent = (box.pool and following is not None and not following.flat and not box.flat
                  and following.shape[1:] == box.shape[1:])
        if groups and (silent or captions[-1] == box.caption):
            groups[-1].append(index)
            continue
        groups.append([index])
        captions.append(box.caption)
    return groups


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


def _layout(boxes: Sequence[Box], per_stage: bool) -> tuple[list[_Placed], list[tuple[float, float, str]], float, float]:
    """Place every box; return them, the captions (centre x, -, text), the width used and the
    tallest box's extent (height + depth)."""
    spatial_scale, _ = _scales(boxes)
    sizes = [_size(box, spatial_scale) for box in boxes]
    extent = max(height + depth for _, height, depth in sizes)
    placed: list[_Placed] = []
    captions: list[tuple[float, float, str]] = []
    cursor = float(MARGIN)
    for group in _groups(boxes, per_stage):
        offsets = []
        position = 0.0
        for order, index in enumerate(group):
            if order:
                both_bars = boxes[index].flat and boxes[group[order - 1]].flat
                position += BAR_GAP if both_bars else GAP
            offsets.append(position)
            position += sizes[index][0]
        drawn = position + sizes[group[-1]][2]
        caption = boxes[group[0]].caption
        # the caption sits under the boxes that share it, not under a silent pooling step
        shared = [i for i in group if boxes[i].caption == caption]
        caption_left = offsets[0]
        last_shared = shared[-1]
        caption_right = offsets[group.index(last_shared)] + sizes[last_shared][0] + sizes[last_shared][2]
        needed = _text_width(caption, CAPTION_SIZE) + 10
        slot = max(drawn, needed)
        start = cursor + (slot - drawn) / 2
        centre = start + (caption_left + caption_right) / 2
        # keep a wide caption inside its slot even when its boxes sit at one side
        half = needed / 2
        centre = min(max(centre, cursor + half - 5), cursor + slot - half + 5)
        captions.append((centre, 0.0, caption))
        for offset, index in zip(offsets, group, strict=True):
            thickness, height, depth = sizes[index]
            total = height + depth
            top = -total / 2 + depth
            placed.append(_Placed(boxes[index], start + offset, top, thickness, height, depth))
        cursor += slot + GROUP_GAP
    return placed, captions, cursor - GROUP_GAP + MARGIN, extent


# -- drawing ----------------------------------------------------------------------------------

def figure_svg(analysis: Analysis, figure: Figure, theme: Theme, title: bool = True) -> str:
    """The figure as SVG text (no external tools)."""
    placed, captions, width, extent = _layout(figure.boxes, figure.per_stage)
    top = MARGIN + (TITLE_SIZE + SUBTITLE_SIZE + 30 if title else 0)
    stage_row = top + STAGE_SIZE
    axis = stage_row + 16 + extent / 2
    caption_row = axis + extent / 2 + 14 + CAPTION_SIZE
    legend_entries = list(dict.fromkeys((box.color, box.legend) for box in figure.boxes))
    if title:
        width = max(width, _text_width(_title_line(analysis), SUBTITLE_SIZE) + 2 * MARGIN)
    if figure.note:  # a network of few stages (ViT: three) is narrower than its note
        width = max(width, _text_width(figure.note, LEGEND_SIZE) + 2 * MARGIN)
    legend_rows = _legend_rows(legend_entries, max(width - 2 * MARGIN, 360.0))
    width = max(width, max((row[-1][2] + row[-1][3] for row in legend_rows), default=0.0) + 2 * MARGIN)
    legend_top = caption_row + CAPTION_SIZE + 16
    height = legend_top + len(legend_rows) * LEGEND_ROW + (LEGEND_ROW if figure.note else 0) + MARGIN - 10

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
    out.extend(_stage_labels(placed, stage_row, theme))
    out.append('<g stroke-linejoin="round" stroke-width="0.8">')
    for item in placed:
        out.append(_box_svg(item, axis, theme))
    out.append("</g>")
    for centre, _, text in captions:
        out.append(f'<text x="{_n(centre)}" y="{_n(caption_row)}" font-size="{CAPTION_SIZE}" text-anchor="middle" '
                   f'fill="{theme.text}">{_esc(text)}</text>')
    out.extend(_legend_svg(legend_rows, legend_top, theme))
    if figure.note:
        out.append(f'<text x="{MARGIN}" y="{_n(legend_top + len(legend_rows) * LEGEND_ROW + 10)}" font-size="{LEGEND_SIZE}" '
                   f'fill="{theme.muted}">{_esc(figure.note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _title_line(analysis: Analysis) -> str:
    totals = analysis.totals
    return (f"input {units.shape(analysis.input_shape)} · {units.human(totals.params)} params · "
            f"{units.human(totals.macs)} MACs")


def _box_svg(item: _Placed, axis: float, theme: Theme, tooltip: bool = True) -> str:
    solid = theme.family(item.box.color).solid
    stroke = shade(solid, -0.45)
    x, y, w, h, d = item.x, axis + item.top, item.width, item.height, item.depth
    front = f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="{solid}"/>'
    top = _polygon([(x, y), (x + d, y - d), (x + w + d, y - d), (x + w, y)], shade(solid, 0.35))
    side = _polygon([(x + w, y), (x + w + d, y - d), (x + w + d, y + h - d), (x + w, y + h)], shade(solid, -0.16))
    kernel = f", kernel {item.box.kernel}" if item.box.kernel else ""
    described = f"{', '.join(item.box.names)}: {item.box.legend}, {item.box.caption}{kernel}"
    title = f"<title>{_esc(described)}</title>" if tooltip else ""
    label = ""
    if item.box.kernel and w >= KERNEL_SIZE + 2 and h >= 4 * KERNEL_SIZE:
        # along the front face, read bottom to top, in the page's background colour
        cx, cy = x + w / 2 + KERNEL_SIZE * 0.35, y + h / 2
        label = (f'<text x="{_n(cx)}" y="{_n(cy)}" transform="rotate(-90 {_n(cx)} {_n(cy)})" '
                 f'text-anchor="middle" font-size="{KERNEL_SIZE}" fill="{theme.background}" stroke="none">'
                 f"{_esc(item.box.kernel)}</text>")
    return f'<g stroke="{stroke}">{title}{front}{top}{side}{label}</g>'


def _polygon(points: Sequence[tuple[float, float]], fill: str) -> str:
    return f'<polygon points="{" ".join(f"{_n(px)},{_n(py)}" for px, py in points)}" fill="{fill}"/>'


def _stage_labels(placed: Sequence[_Placed], row: float, theme: Theme) -> list[str]:
    spans: list[tuple[str, float, float]] = []  # (stage, left, right)
    for item in placed:
        if item.box.stage is None:
            continue
        right = item.x + item.width + item.depth
        if spans and spans[-1][0] == item.box.stage:
            spans[-1] = (spans[-1][0], spans[-1][1], right)
        else:
            spans.append((item.box.stage, item.x, right))
    out = []
    last_right = -math.inf
    for stage, left, right in spans:
        text = printable(stage, 28)
        centre = (left + right) / 2
        half = _text_width(text, STAGE_SIZE) / 2
        if centre - half < last_right + 6:
            continue  # a crowded stage name is dropped rather than drawn over its neighbour
        last_right = centre + half
        out.append(f'<text x="{_n(centre)}" y="{_n(row)}" font-size="{STAGE_SIZE}" text-anchor="middle" '
                   f'fill="{theme.muted}">{_esc(text)}</text>')
    return out


def _legend_rows(entries: Sequence[tuple[str, str]], width: float) -> list[list[tuple[str, str, float, float]]]:
    """Entries wrapped into rows: (colour, text, x, entry width)."""
    rows: list[list[tuple[str, str, float, float]]] = []
    x = float(MARGIN)
    for color, text in entries:
        entry = 26 + _text_width(printable(text, 60), LEGEND_SIZE)
        if rows and x + entry > MARGIN + width:
            x = float(MARGIN)
            rows.append([])
        if not rows:
            rows.append([])
        rows[-1].append((color, text, x, entry))
        x += entry + 22
    return rows


def _legend_svg(rows: Sequence[Sequence[tuple[str, str, float, float]]], top: float, theme: Theme) -> list[str]:
    out = []
    for number, row in enumerate(rows):
        y = top + number * LEGEND_ROW
        for color, text, x, _ in row:
            swatch = _Placed(Box(color, (1,), (), "", "", None), x, -7, 14, 14, 5)
            out.append(_box_svg(swatch, y + 2, theme, tooltip=False))
            out.append(f'<text x="{_n(x + 26)}" y="{_n(y + 7)}" font-size="{LEGEND_SIZE}" fill="{theme.text}">'
                       f"{_esc(printable(text, 60))}</text>")
    return out


def _n(value: float) -> str:
    """Coordinates with one decimal and no '-0.0': stable text for byte-identical reruns."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _esc(value: str) -> str:
    return html.escape(printable(value), quote=True)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)
