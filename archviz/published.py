"""Published accuracies of the built-in networks, as their authors published them, each cited.

Two sources, kept apart because they measure different things:

- **torchvision 0.29.1**: the ``meta`` of each model's ``IMAGENET1K_V1`` weights
  (``torchvision.models.get_model_weights(name).IMAGENET1K_V1.meta``): ImageNet-1K validation
  ``acc@1`` / ``acc@5`` (%), single 224 crop, with ``num_params`` and ``GFLOPS`` (torchvision's
  ``_ops``, which are multiply-accumulates). SSD300's weights (``COCO_V1``) give a COCO box mAP,
  which is not an ImageNet accuracy: it is kept here, out of every ImageNet chart.
- **the VGG paper** (Simonyan & Zisserman, ICLR 2015, arXiv:1409.1556, v6): Table 3 (a single
  test scale) and Table 4 (several test scales) give top-1 / top-5 validation *errors* (%) per
  configuration A-E and per training scale S and test scale Q.

Nothing here is computed, and errors are never turned into accuracies (100 - error is not what
either source published): a chart shows each number as its source printed it. A published
number belongs to one built-in spec at its default variables and input; :func:`accuracy_chart`
refuses it for a network that differs (``--set num_classes=10``, another input size).

>>> [row.acc1 for row in TORCHVISION if row.spec == "vgg16"]
[71.592]
>>> [(row.train_text, row.test_text, row.top1_error) for row in PAPER_TABLES if row.spec == "vgg16" and row.table == 3]
[('256', '256', 27.0), ('384', '384', 26.8), ('[256;512]', '384', 25.6)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from archviz.errors import ArchvizError

if TYPE_CHECKING:
    from archviz.analysis import Analysis

PAPER_CITATION = ('K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image '
                  'Recognition", ICLR 2015, arXiv:1409.1556')
TORCHVISION_CITATION = "torchvision 0.29.1, weights meta of IMAGENET1K_V1 (ImageNet-1K val, single 224 crop)"

# The paper's configurations (its Table 1) and the built-in specs that describe them.
CONFIG_LETTER = {"vgg11": "A", "vgg11-lrn": "A-LRN", "vgg13": "B", "vgg16-c": "C", "vgg16": "D", "vgg19": "E"}


@dataclass(frozen=True)
class TorchvisionResult:
    """One torchvision model's published meta; ``spec`` is the built-in it matches."""

    model: str
    spec: str
    weights: str
    num_params: int
    gflops: float  # torchvision's "GFLOPS": billions of multiply-accumulates, 3 decimals
    acc1: float | None = None  # ImageNet-1K top-1 accuracy (%)
    acc5: float | None = None
    box_map: float | None = None  # COCO box mAP (%), for detection weights


TORCHVISION: tuple[TorchvisionResult, ...] = (
    TorchvisionResult("vgg11", "vgg11", "IMAGENET1K_V1", 132_863_336, 7.609, 69.020, 88.628),
    TorchvisionResult("vgg11_bn", "vgg11-bn", "IMAGENET1K_V1", 132_868_840, 7.609, 70.370, 89.810),
    TorchvisionResult("vgg13", "vgg13", "IMAGENET1K_V1", 133_047_848, 11.308, 69.928, 89.246),
    TorchvisionResult("vgg13_bn", "vgg13-bn", "IMAGENET1K_V1", 133_053_736, 11.308, 71.586, 90.374),
    TorchvisionResult("vgg16", "vgg16", "IMAGENET1K_V1", 138_357_544, 15.470, 71.592, 90.382),
    TorchvisionResult("vgg16_bn", "vgg16-bn", "IMAGENET1K_V1", 138_365_992, 15.470, 73.360, 91.516),
    TorchvisionResult("vgg19", "vgg19", "IMAGENET1K_V1", 143_667_240, 19.632, 72.376, 90.876),
    TorchvisionResult("vgg19_bn", "vgg19-bn", "IMAGENET1K_V1", 143_678_248, 19.632, 74.218, 91.842),
    TorchvisionResult("resnet18", "resnet18", "IMAGENET1K_V1", 11_689_512, 1.814, 69.758, 89.078),
    TorchvisionResult("resnet50", "resnet50", "IMAGENET1K_V1", 25_557_032, 4.089, 76.130, 92.862),
    TorchvisionResult("mobilenet_v2", "mobilenet-v2", "IMAGENET1K_V1", 3_504_872, 0.301, 71.878, 90.286),
    TorchvisionResult("efficientnet_b0", "efficientnet-b0", "IMAGENET1K_V1", 5_288_548, 0.386, 77.692, 93.532),
    TorchvisionResult("convnext_tiny", "convnext-tiny", "IMAGENET1K_V1", 28_589_128, 4.456, 82.520, 96.146),
    TorchvisionResult("vit_b_16", "vit-b16", "IMAGENET1K_V1", 86_567_656, 17.564, 81.072, 95.318),
    TorchvisionResult("shufflenet_v2_x1_0", "shufflenet-v2", "IMAGENET1K_V1", 2_278_604, 0.145, 69.362, 88.316),
    TorchvisionResult("ssd300_vgg16", "ssd300-vgg16", "COCO_V1", 35_641_826, 34.858, box_map=25.1),
)


@dataclass(frozen=True)
class PaperResult:
    """One row of the VGG paper's Table 3 or 4: a configuration trained at S, tested at Q.

    ``train_scale`` is one S, or two for scale jittering (S drawn from [256;512]); ``test_scales``
    is one Q (Table 3) or the several whose predictions Table 4 averages.
    """

    configuration: str
    spec: str
    table: int
    train_scale: tuple[int, ...]
    test_scales: tuple[int, ...]
    top1_error: float  # top-1 validation error (%), ILSVRC-2012
    top5_error: float

    @property
    def train_text(self) -> str:
        """S as the paper prints it: '256', or '[256;512]' for a jittered scale."""
        return f"[{self.train_scale[0]};{self.train_scale[1]}]" if len(self.train_scale) == 2 else str(self.train_scale[0])

    @property
    def test_text(self) -> str:
        """Q as the paper prints it: '384', or '{224,256,288}' for several."""
        scales = ",".join(map(str, self.test_scales))
        return f"{{{scales}}}" if len(self.test_scales) > 1 else scales


def _rows(table: int, letter: str, *rows: tuple[tuple[int, ...], tuple[int, ...], float, float]) -> list[PaperResult]:
    spec = {value: key for key, value in CONFIG_LETTER.items()}[letter]
    return [PaperResult(letter, spec, table, s, q, top1, top5) for s, q, top1, top5 in rows]


_S256, _S384, _JITTER = (256,), (384,), (256, 512)
PAPER_TABLES: tuple[PaperResult, ...] = (
    # Table 3, "ConvNet performance at a single test scale"
    *_rows(3, "A", (_S256, (256,), 29.6, 10.4)),
    *_rows(3, "A-LRN", (_S256, (256,), 29.7, 10.5)),
    *_rows(3, "B", (_S256, (256,), 28.7, 9.9)),
    *_rows(3, "C", (_S256, (256,), 28.1, 9.4), (_S384, (384,), 28.1, 9.3), (_JITTER, (384,), 27.3, 8.8)),
    *_rows(3, "D", (_S256, (256,), 27.0, 8.8), (_S384, (384,), 26.8, 8.7), (_JITTER, (384,), 25.6, 8.1)),
    *_rows(3, "E", (_S256, (256,), 27.3, 9.0), (_S384, (384,), 26.9, 8.7), (_JITTER, (384,), 25.5, 8.0)),
    # Table 4, "ConvNet performance at multiple test scales"
    *_rows(4, "B", (_S256, (224, 256, 288), 28.2, 9.6)),
    *_rows(4, "C", (_S256, (224, 256, 288), 27.7, 9.2), (_S384, (352, 384, 416), 27.8, 9.2),
           (_JITTER, (256, 384, 512), 26.3, 8.2)),
    *_rows(4, "D", (_S256, (224, 256, 288), 26.6, 8.6), (_S384, (352, 384, 416), 26.5, 8.6),
           (_JITTER, (256, 384, 512), 24.8, 7.5)),
    *_rows(4, "E", (_S256, (224, 256, 288), 26.9, 8.7), (_S384, (352, 384, 416), 26.7, 8.6),
           (_JITTER, (256, 384, 512), 24.8, 7.5)),
)


# -- what the accuracy chart plots ------------------------------------------------------------

class Source(str, Enum):
    torchvision = "torchvision"
    paper = "paper"


class Metric(str, Enum):
    top1 = "top1"
    top5 = "top5"


class TrainScale(str, Enum):
    """The paper's training scale S: fixed 256 or 384, or jittered in [256;512]."""

    s256 = "256"
    s384 = "384"
    jittered = "256-512"

    @property
    def sizes(self) -> tuple[int, ...]:
        return {"256": _S256, "384": _S384, "256-512": _JITTER}[self.value]


@dataclass(frozen=True)
class AccuracyPoint:
    name: str
    label: str  # the name, with the paper's letter for its configurations: 'D (vgg16)'
    macs: int
    params: int
    value: float
    own: bool  # a number the user gave (--accuracy), not a published one
    row: str  # where the number comes from, for the caption: 'acc@1', 'Table 3, S=256, Q=256'


@dataclass(frozen=True)
class AccuracyChart:
    """Everything the accuracy chart draws; the fronts are indices into ``points``."""

    points: tuple[AccuracyPoint, ...]
    quantity: str  # the y axis: 'ImageNet-1K top-1 accuracy (%)'
    higher_is_better: bool
    front_macs: tuple[int, ...]
    front_params: tuple[int, ...]
    title: str
    footnote: str
    input_shape: str


def _letter_label(name: str) -> str:
    letter = CONFIG_LETTER.get(name)
    return f"{letter} ({name})" if letter else name


def default_specs(source: Source | str = Source.torchvision, metric: Metric | str = Metric.top1, table: int = 3,
                  train_scale: TrainScale | str = TrainScale.s256) -> list[str]:
    """The built-ins with a published ImageNet number for these choices, in the order above."""
    return list(_numbers(Source(source), Metric(metric), table, TrainScale(train_scale)))


def _numbers(source: Source, metric: Metric, table: int, scale: TrainScale) -> dict[str, tuple[float, str]]:
    """spec -> (value, where it comes from) for one source and row choice."""
    if source is Source.torchvision:
        numbers: dict[str, tuple[float, str]] = {}
        for tv in TORCHVISION:
            value = tv.acc1 if metric is Metric.top1 else tv.acc5
            if value is not None:
                numbers[tv.spec] = (value, f"torchvision {tv.model} {tv.weights} acc@{1 if metric is Metric.top1 else 5}")
        return numbers
    if table not in (3, 4):
        raise ArchvizError(f"the VGG paper's errors are in Tables 3 and 4. Received: --table {table}",
                           hint="--table 3 (single test scale) or --table 4 (multiple test scales)")
    return {row.spec: (row.top1_error if metric is Metric.top1 else row.top5_error,
                       f"Table {row.table}, S={row.train_text}, Q={row.test_text}")
            for row in PAPER_TABLES if row.table == table and row.train_scale == scale.sizes}


def accuracy_chart(analyses: Sequence[Analysis], source: Source | str = Source.torchvision,
                   metric: Metric | str = Metric.top1, table: int = 3,
                   train_scale: TrainScale | str = TrainScale.s256,
                   own: Mapping[str, float] | None = None) -> AccuracyChart:
    """The points of an accuracy-against-cost chart and the Pareto fronts against MACs and params.

    ``own`` gives numbers for networks without a published one, by the network's name, in the
    chart's quantity (an accuracy for torchvision, an error for the paper). A network with neither
    is an ArchvizError naming it and the built-ins that have numbers.
    """
    from archviz.network import load
    from archviz.sweep import pareto_front

    chosen, kind, scale = Source(source), Metric(metric), TrainScale(train_scale)
    numbers = _numbers(chosen, kind, table, scale)
    own = dict(own or {})
    unknown = sorted(set(own) - {a.name for a in analyses})
    if unknown:
        raise ArchvizError(f"--accuracy names {', '.join(map(repr, unknown))}, which is not among the charted "
                           f"networks ({', '.join(a.name for a in analyses)})",
                           hint="write --accuracy NAME=VALUE with the network's name as the chart labels it")
    batched = sorted({a.batch for a in analyses} - {1})
    if batched:
        raise ArchvizError(f"the accuracy chart compares networks per image, at batch 1. Received: batch {batched[0]}",
                           hint="drop --batch")
    what = _describe(chosen, kind)
    points: list[AccuracyPoint] = []
    for analysis in analyses:
        name = analysis.name
        if name in own:
            points.append(AccuracyPoint(name, _letter_label(name), analysis.totals.macs, analysis.totals.params,
                                        float(own[name]), True, "--accuracy"))
            continue
        if name not in numbers:
            others = ", ".join(numbers) or "none"
            where = "" if chosen is Source.torchvision else f" in the VGG paper's Table {table} at S={_scale_text(scale)}"
            raise ArchvizError(f"{name!r} has no published {what}{where}. Networks with one: {others}",
                               hint=f"chart those, or give your own number: --accuracy {name}=VALUE")
        builtin = load(name).analyze()
        if (analysis.totals.params, analysis.input_shape) != (builtin.totals.params, builtin.input_shape):
            raise ArchvizError(
                f"the published {what} of {name} is for the built-in network ({builtin.totals.params:,} "
                f"params, input {_shape(builtin.input_shape)}); this one differs "
                f"(Received: {analysis.totals.params:,} params, input {_shape(analysis.input_shape)})",
                hint=f"drop --set/--input, or give its own number: --accuracy {name}=VALUE")
        value, row = numbers[name]
        points.append(AccuracyPoint(name, _letter_label(name), analysis.totals.macs, analysis.totals.params,
                                    value, False, row))
    higher = chosen is Source.torchvision
    front_macs = pareto_front([(p.macs, p.value) for p in points], maximise=(False, higher))
    front_params = pareto_front([(p.params, p.value) for p in points], maximise=(False, higher))
    inputs = sorted({_shape(a.input_shape) for a in analyses})
    return AccuracyChart(tuple(points), what[0].upper() + what[1:], higher, tuple(front_macs), tuple(front_params),
                         _title(chosen, kind, table, scale),
                         _footnote(chosen, kind, table, scale, any(p.own for p in points), ", ".join(inputs)),
                         ", ".join(inputs))


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _describe(source: Source, metric: Metric) -> str:
    k = "top-1" if metric is Metric.top1 else "top-5"
    if source is Source.torchvision:
        return f"ImageNet-1K {k} accuracy (%)"
    return f"{k} validation error (%)"


def _title(source: Source, metric: Metric, table: int, scale: TrainScale) -> str:
    k = "top-1" if metric is Metric.top1 else "top-5"
    if source is Source.torchvision:
        return f"ImageNet {k} accuracy against compute and size (torchvision weights)"
    tested = "single test scale" if table == 3 else "multiple test scales"
    return f"VGG paper, Table {table} ({tested}), train S={_scale_text(scale)}: {k} error against compute and size"


def _scale_text(scale: TrainScale) -> str:
    return "[256;512]" if scale is TrainScale.jittered else scale.value


def _footnote(source: Source, metric: Metric, table: int, scale: TrainScale, has_own: bool, inputs: str) -> str:
    if source is Source.torchvision:
        field = "acc@1" if metric is Metric.top1 else "acc@5"
        text = f"Accuracy: {field} of {TORCHVISION_CITATION}."
    else:
        tests = {(3, "256"): "256", (3, "384"): "384", (3, "256-512"): "384", (4, "256"): "{224,256,288}",
                 (4, "384"): "{352,384,416}", (4, "256-512"): "{256,384,512}"}[(table, scale.value)]
        text = (f"Error: {PAPER_CITATION}, Table {table}, train S={_scale_text(scale)}, test Q={tests} "
                "(dense evaluation; errors as published, lower is better).")
    text += f" MACs and params: archviz at input {inputs}."
    if has_own:
        text += " Hollow points: numbers given with --accuracy, not published."
    return text


# -- one network's published numbers, for its report page -----------------------------------

@dataclass(frozen=True)
class PublishedRow:
    source: str  # 'torchvision 0.29.1, vgg16 IMAGENET1K_V1' or 'VGG paper, Table 3'
    setting: str  # how it was measured: 'ImageNet-1K val, single 224 crop', 'S=256, Q=256'
    quantity: str  # 'accuracy (%)', 'error (%)', 'COCO box mAP (%)'
    top1: float
    top5: float | None
    decimals: int  # as the source prints it: torchvision's accuracies 3, the paper and COCO mAP 1


def published_rows(analysis: Analysis) -> list[PublishedRow]:
    """Every published number for this network, when it is the built-in one (same name, params
    and input); an empty list for any other network.

    >>> import archviz
    >>> [(r.source, r.top1) for r in published_rows(archviz.load("vgg13").analyze())]
    [('torchvision 0.29.1, vgg13 IMAGENET1K_V1', 69.928), ('VGG paper, Table 3', 28.7), ('VGG paper, Table 4', 28.2)]
    """
    from archviz.errors import SpecError
    from archviz.network import load

    name = analysis.name
    tv = [row for row in TORCHVISION if row.spec == name]
    paper = [row for row in PAPER_TABLES if row.spec == name]
    if not tv and not paper:
        return []
    try:
        builtin = load(name).analyze()
    except SpecError:  # pragma: no cover  (every name in the tables is a built-in)
        return []
    if (analysis.totals.params, analysis.input_shape) != (builtin.totals.params, builtin.input_shape):
        return []
    rows: list[PublishedRow] = []
    for row in tv:
        source = f"torchvision 0.29.1, {row.model} {row.weights}"
        if row.acc1 is not None:
            rows.append(PublishedRow(source, "ImageNet-1K val, single 224 crop", "accuracy (%)", row.acc1, row.acc5, 3))
        elif row.box_map is not None:
            rows.append(PublishedRow(source, "COCO-val2017", "box mAP (%)", row.box_map, None, 1))
    for result in paper:
        rows.append(PublishedRow(f"VGG paper, Table {result.table}", f"S={result.train_text}, Q={result.test_text}",
                                 "error (%)", result.top1_error, result.top5_error, 1))
    return rows
