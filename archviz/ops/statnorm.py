"""Normalisation by each sample's own statistics (layer, group and instance norm) and SSD's L2 norm.

Normalising with statistics of the sample itself costs, per element: one add for the mean, a
subtract, a square and an add for the variance, and one normalising multiply (5), plus a scale
and a shift where there is an affine transform (7): docs/conventions.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.errors import ShapeError
from archviz.ops.base import (
    GLOBAL,
    NOT_APPLICABLE,
    POINTWISE,
    Attribute,
    Cost,
    FieldRule,
    Op,
    axis_index,
    numel,
    register,
)
from archviz.shapes import Shape

STATISTICS_OPS = 5  # per element: mean, centre, square, sum of squares, normalise
AFFINE_OPS = 2  # per element: scale and shift


@register
class LayerNorm(Op):
    """params = 2*size (weight, bias; size = the normalised axis); elementwise_ops = 7 per element (5 without affine)."""

    name = "layer_norm"
    family = "norm"
    summary = ("Layer normalisation over one axis: the last by default (features of (tokens, features), as "
               "nn.LayerNorm in ViT), or axis 0, the channels of each position of a C x H x W map (ConvNeXt's "
               "LayerNorm2d).")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "axis": Attribute("axis", "The axis normalised (-1: the last; 0: channels of a C x H x W map).", default=-1),
        "eps": Attribute("float", "Added to the variance (ViT and ConvNeXt use 1e-6).", default=1e-5, above=0),
        "affine": Attribute("bool", "Learnable per-element weight (nn.LayerNorm's elementwise_affine).", default=True),
        "bias": Attribute("bool", "Learnable shift with the weight.", default=True),
    }
    input_rank = None
    static_field_rule = None  # normalising over a spatial axis mixes positions; over channels it does not
    torch_notes = ("nn.LayerNorm(size, eps, elementwise_affine, bias) on the last axis; on another axis the "
                   "same module with that axis moved last and back (torchvision's LayerNorm2d).")

    axis: int
    eps: float
    affine: bool
    bias: bool

    def prepare(self) -> None:
        self.static_field_rule = POINTWISE if self.axis == 0 else None

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        axis_index(self, self.axis, inputs[0])
        return inputs[0]

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        size = inputs[0][axis_index(self, self.axis, inputs[0])]
        params = size * (1 + self.bias) if self.affine else 0
        per_element = STATISTICS_OPS + (AFFINE_OPS if self.affine else 0)
        return Cost(params=params, elementwise_ops=numel(output) * batch * per_element)

    def field_rule(self, inputs: Sequence[Shape]) -> FieldRule:
        axis = axis_index(self, self.axis, inputs[0])
        return POINTWISE if axis == 0 or len(inputs[0]) != 3 else NOT_APPLICABLE

    def label(self) -> str:
        return "LN"


@register
class GroupNorm(Op):
    """params = 2*C; elementwise_ops = 7 per element (5 without affine)."""

    name = "group_norm"
    family = "norm"
    summary = ("Group normalisation: channels in groups, each normalised over its channels and all positions. "
               "Its statistics read every position, so the receptive field is not applicable after it.")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "groups": Attribute("int", "Number of groups; divides the channels.", minimum=1),
        "eps": Attribute("float", "Added to the variance.", default=1e-5, above=0),
        "affine": Attribute("bool", "Learnable per-channel scale and shift.", default=True),
    }
    input_rank = None
    static_field_rule = GLOBAL
    torch_notes = "nn.GroupNorm(groups, C, eps, affine)."

    groups: int
    eps: float
    affine: bool

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        channels = inputs[0][0]
        if channels % self.groups:
            raise ShapeError(f"group_norm needs channels divisible by groups. "
                             f"Received: channels={channels}, groups={self.groups}",
                             hint="set groups to a divisor of the channels")
        return inputs[0]

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        per_element = STATISTICS_OPS + (AFFINE_OPS if self.affine else 0)
        return Cost(params=2 * inputs[0][0] if self.affine else 0, elementwise_ops=numel(output) * batch * per_element)

    def label(self) -> str:
        return f"GN{self.groups}"


@register
class InstanceNorm(Op):
    """params = 2*C with affine; buffers = 2*C + 1 with running statistics; elementwise_ops = 5 (7) per element."""

    name = "instance_norm"
    family = "norm"
    summary = ("Instance normalisation: each channel of each sample over its positions (style transfer). Without "
               "running statistics it reads every position: the receptive field is not applicable after it.")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "eps": Attribute("float", "Added to the variance.", default=1e-5, above=0),
        "affine": Attribute("bool", "Learnable per-channel scale and shift (PyTorch's default: false).", default=False),
        "track_running_stats": Attribute("bool", "Keep running statistics and use them at inference "
                                         "(PyTorch's default: false).", default=False),
    }
    input_rank = (2, 3)
    static_field_rule = None
    torch_notes = "nn.InstanceNorm2d (nn.InstanceNorm1d for a (C, L) input)(C, eps, affine, track_running_stats)."

    eps: float
    affine: bool
    track_running_stats: bool

    def prepare(self) -> None:
        # with running statistics, inference normalises each element on its own, as batch norm does
        self.static_field_rule = POINTWISE if self.track_running_stats else GLOBAL

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        self.check_input_rank(inputs)
        return inputs[0]

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        channels = inputs[0][0]
        if self.track_running_stats:
            per_element = 1 + (AFFINE_OPS if self.affine else 0)  # (x - mean) * inv_std, as batch norm's
        else:
            per_element = STATISTICS_OPS + (AFFINE_OPS if self.affine else 0)
        return Cost(params=2 * channels if self.affine else 0,
                    buffers=2 * channels + 1 if self.track_running_stats else 0,
                    elementwise_ops=numel(output) * batch * per_element)

    def label(self) -> str:
        return "IN"


@register
class L2Norm(Op):
    """params = C (the learnable scale); elementwise_ops = 4 per element + 1 per position."""

    name = "l2_norm"
    family = "norm"
    summary = ("L2 normalisation over channels at each position, times a learnable per-channel scale (SSD's "
               "L2Norm on conv4_3, scale initialised to 20).")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "scale": Attribute("float", "Initial value of every channel's scale.", default=20.0),
        "eps": Attribute("float", "Lower bound of the norm (F.normalize's eps).", default=1e-12, above=0),
    }
    input_rank = None
    torch_notes = "weight.view(1, C, 1, 1) * F.normalize(x, dim=1, eps): torchvision SSD's scale_weight."

    scale: float
    eps: float

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return inputs[0]

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        elements = numel(output) * batch
        # square, sum, divide by the norm, scale: 4 per element; one square root per position
        return Cost(params=inputs[0][0], elementwise_ops=4 * elements + elements // inputs[0][0])

    def label(self) -> str:
        return "L2Norm"
