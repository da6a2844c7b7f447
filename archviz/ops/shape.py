"""Ops that move values without arithmetic: flatten, reshape, permute, channel shuffle, split,
slice, select and pad; and ``parameter``, a learnable tensor.

Axes count over the shape without the batch axis: 0 is the channels of a (C, H, W) map and the
tokens of a (tokens, features) input; a negative axis counts from the end. The receptive field
stays defined where each output position still is one input position (channel shuffle, a split
or slice of channels, padding, a spatial slice, which moves the field); it is not applicable
(None) once an op mixes spatial axes into others (flatten, reshape, permute).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.errors import ShapeError, SpecError
from archviz.ops.base import (
    NOT_APPLICABLE,
    POINTWISE,
    VIEW,
    Attribute,
    Cost,
    FieldRule,
    MultiOutput,
    Op,
    PaddingSpec,
    Window,
    axis_index,
    numel,
    register,
)
from archviz.shapes import Shape

NO_ARITHMETIC = Cost()


@register
class Reshape(Op):
    """The same elements in another shape (one size may be -1: inferred). No arithmetic."""

    name = "reshape"
    family = "shape"
    summary = "Reshape to another shape with the same number of elements (batch axis kept; one size may be -1)."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "shape": Attribute("ints", "The new shape without the batch axis, e.g. [C, 1, 1] or [-1, 768].", minimum=-1),
    }
    input_rank = None
    static_field_rule = None  # kept only when nothing changes
    torch_notes = "x.reshape(N, *shape) (torch.reshape, as a view where it can be)."
    output_storage = VIEW

    shape: tuple[int, ...]

    def validate(self) -> None:
        if 0 in self.shape or self.shape.count(-1) > 1:
            raise SpecError(f"reshape's shape takes sizes >= 1 and at most one -1. Received: shape={list(self.shape)}",
                            hint="write -1 for the one size to infer")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        elements = numel(inputs[0])
        known = numel(tuple(size for size in self.shape if size != -1))
        if -1 in self.shape:
            if elements % known:
                raise ShapeError(f"reshape cannot fit {elements} elements of shape {list(inputs[0])} into "
                                 f"{list(self.shape)}. Received: shape={list(self.shape)}",
                                 hint=f"the known sizes must divide {elements}")
            return tuple(elements // known if size == -1 else size for size in self.shape)
        if known != elements:
            raise ShapeError(f"reshape needs as many elements as its input: {list(inputs[0])} has {elements}, "
                             f"{list(self.shape)} has {known}. Received: shape={list(self.shape)}",
                             hint="write -1 for one size to infer it")
        return self.shape

    def field_rule(self, inputs: Sequence[Shape]) -> FieldRule:
        return POINTWISE if self.output_shape(inputs) == inputs[0] else NOT_APPLICABLE

    def label(self) -> str:
        return "reshape " + "x".join(str(size) for size in self.shape)


@register
class Permute(Op):
    """Reorder the axes (batch axis kept first). No arithmetic."""

    name = "permute"
    family = "shape"
    summary = "Reorder the axes: permute {dims: [1, 0]} turns C x L into L x C (patches into tokens)."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "dims": Attribute("ints", "The input axis for each output axis (a permutation of 0..rank-1; the batch axis "
                          "is not counted)."),
    }
    input_rank = None
    static_field_rule = None
    torch_notes = "x.permute(0, *(d + 1 for d in dims))."

    dims: tuple[int, ...]

    def order(self, shape: Shape) -> tuple[int, ...]:
        if len(self.dims) != len(shape):
            raise ShapeError(f"permute needs one entry in dims per axis of its input {list(shape)}. "
                             f"Received: dims={list(self.dims)}", hint=f"list each of 0..{len(shape) - 1} once")
        order = tuple(axis_index(self, d, shape, "dims entry") for d in self.dims)
        if sorted(order) != list(range(len(shape))):
            raise ShapeError(f"permute's dims must name each axis once. Received: dims={list(self.dims)}",
                             hint=f"list each of 0..{len(shape) - 1} once")
        return order

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return tuple(inputs[0][d] for d in self.order(inputs[0]))

    def field_rule(self, inputs: Sequence[Shape]) -> FieldRule:
        order = self.order(inputs[0])
        return POINTWISE if order == tuple(range(len(order))) else NOT_APPLICABLE

    def label(self) -> str:
        return "permute " + ",".join(str(d) for d in self.dims)


@register
class ChannelShuffle(Op):
    """(g*c, ...) -> channels interleaved across the g groups (ShuffleNet). No arithmetic."""

    name = "channel_shuffle"
    family = "shape"
    summary = "Channel shuffle (ShuffleNet): channels split into groups and interleaved, so groups mix."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "groups": Attribute("int", "Number of groups; divides the channels.", minimum=1),
    }
    input_rank = None
    torch_notes = "x.view(N, g, C // g, *rest).transpose(1, 2).reshape(N, C, *rest) (nn.ChannelShuffle's order)."

    groups: int

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        channels = inputs[0][0]
        if channels % self.groups:
            raise ShapeError(f"channel_shuffle needs channels divisible by groups. "
                             f"Received: channels={channels}, groups={self.groups}",
                             hint="set groups to a divisor of the channels")
        return inputs[0]

    def label(self) -> str:
        return f"shuffle g{self.groups}"


def _slice_rule(op: Op, shape: Shape, axis: int, start: int, step: int) -> FieldRule:
    """A slice of a C x H x W map: channels keep the field; a spatial slice moves it (the first
    output row is input row ``start``, a padding of -start) and a step strides it."""
    if len(shape) != 3 or axis == 0:
        return POINTWISE
    if axis == 1:
        return Window((1, 1), (step, 1), (-start, 0))
    return Window((1, 1), (1, step), (0, -start))


@register
class Split(MultiOutput):
    """Output i: the i-th section of the input along the axis. No arithmetic."""

    name = "split"
    family = "shape"
    summary = ("Split along an axis into several outputs, each its own layer '<name>.0', '<name>.1'... that later "
               "layers name in 'inputs' (a layer after the split without 'inputs' takes the last output). "
               "Give 'sections' (sizes) or 'parts' (equal sizes).")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "axis": Attribute("axis", "Axis to split (0: channels or tokens).", default=0),
        "sections": Attribute("ints", "Sizes of the outputs along the axis (they sum to its size).", default=None,
                              minimum=1),
        "parts": Attribute("int", "Number of equal outputs (divides the axis' size).", default=None, minimum=1),
    }
    input_rank = None
    static_field_rule = None
    torch_notes = "torch.split(x, sections, dim=axis + 1)[i] (torch.chunk(x, parts, dim) for equal parts), as x.narrow."

    axis: int
    sections: tuple[int, ...] | None
    parts: int | None

    def validate(self) -> None:
        if (self.sections is None) == (self.parts is None):
            raise SpecError("split takes either 'sections' (sizes) or 'parts' (a count). "
                            f"Received: sections={self.sections}, parts={self.parts}",
                            hint="e.g. split: {parts: 2} for two halves")

    def output_count(self) -> int:
        return len(self.sections) if self.sections is not None else int(self.parts or 1)

    def section(self, shape: Shape) -> tuple[int, int, int]:
        """(axis index, start, length) of this output."""
        axis = axis_index(self, self.axis, shape)
        size = shape[axis]
        if self.sections is not None:
            if sum(self.sections) != size:
                raise ShapeError(f"split's sections {list(self.sections)} sum to {sum(self.sections)}, not the "
                                 f"size {size} of axis {self.axis} of {list(shape)}. "
                                 f"Received: sections={list(self.sections)}",
                                 hint=f"give sizes that sum to {size}")
            return axis, sum(self.sections[:self.output]), self.sections[self.output]
        parts = self.output_count()
        if size % parts:
            raise ShapeError(f"split cannot cut axis {self.axis} of size {size} into {parts} equal parts. "
                             f"Received: parts={parts}", hint="give 'sections' for unequal sizes")
        length = size // parts
        return axis, self.output * length, length

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        shape = inputs[0]
        axis, _start, length = self.section(shape)
        return (*shape[:axis], length, *shape[axis + 1:])

    def field_rule(self, inputs: Sequence[Shape]) -> FieldRule:
        axis, start, _length = self.section(inputs[0])
        return _slice_rule(self, inputs[0], axis, start, 1)


@register
class Slice(Op):
    """Elements start:end:step along one axis, as Python slicing. No arithmetic."""

    name = "slice"
    family = "shape"
    summary = "A slice start:end:step along one axis, as Python's x[start:end:step] (negative counts from the end)."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "axis": Attribute("axis", "Axis to slice.", default=0),
        "start": Attribute("index", "First index (negative: from the end).", default=0),
        "end": Attribute("index", "Index after the last; none: to the end.", default=None),
        "step": Attribute("int", "Step.", default=1, minimum=1),
    }
    input_rank = None
    static_field_rule = None
    torch_notes = "x[:, ..., start:end:step] on dim axis + 1."

    axis: int
    start: int
    end: int | None
    step: int

    def bounds(self, shape: Shape) -> tuple[int, range]:
        axis = axis_index(self, self.axis, shape)
        kept = range(shape[axis])[self.start:self.end:self.step]
        if not kept:
            raise ShapeError(f"slice {self.start}:{'' if self.end is None else self.end}:{self.step} of axis "
                             f"{self.axis} (size {shape[axis]}) is empty. Received: input shape={list(shape)}",
                             hint="check start and end against the axis' size")
        return axis, kept

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        shape = inputs[0]
        axis, kept = self.bounds(shape)
        return (*shape[:axis], len(kept), *shape[axis + 1:])

    def field_rule(self, inputs: Sequence[Shape]) -> FieldRule:
        axis, kept = self.bounds(inputs[0])
        return _slice_rule(self, inputs[0], axis, kept.start, kept.step)

    def label(self) -> str:
        return f"slice {self.start}:{'' if self.end is None else self.end}"


@register
class Select(Op):
    """One index along an axis, the axis removed (ViT's class token: tokens x D -> D). No arithmetic."""

    name = "select"
    family = "shape"
    summary = "One index along an axis, which disappears: select {axis: 0, index: 0} takes ViT's class token."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "axis": Attribute("axis", "Axis to index.", default=0),
        "index": Attribute("index", "The index (negative: from the end).", default=0),
    }
    input_rank = None
    # the output has lost an axis of the (C, H, W) layout: no (height, width) field applies
    static_field_rule = NOT_APPLICABLE
    torch_notes = "x.select(axis + 1, index), as x[:, index] for axis 0."

    axis: int
    index: int

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        shape = inputs[0]
        if len(shape) < 2:
            raise ShapeError(f"select needs an input of at least 2 axes (it removes one). Received: shape={list(shape)}",
                             hint="slice {start: i, end: i + 1} keeps the axis")
        axis = axis_index(self, self.axis, shape)
        if not -shape[axis] <= self.index < shape[axis]:
            raise ShapeError(f"select's index {self.index} is outside axis {self.axis} of size {shape[axis]}. "
                             f"Received: index={self.index}", hint=f"use 0..{shape[axis] - 1}, or -1 for the last")
        return (*shape[:axis], *shape[axis + 1:])

    def label(self) -> str:
        return f"select {self.index}"


@register
class Pad(Op):
    """Padding of the spatial axes of a C x H x W map (constant, reflect, replicate or circular). No arithmetic."""

    name = "pad"
    family = "shape"
    summary = "Pad the height and width of a C x H x W map with a constant, or by reflecting, replicating or wrapping."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "padding": Attribute("padding", "p, [ph, pw] or [[top, bottom], [left, right]].", minimum=0),
        "mode": Attribute("choice", "What fills the padding.", default="constant",
                          choices=("constant", "reflect", "replicate", "circular")),
        "value": Attribute("float", "The constant, for mode constant.", default=0.0),
    }
    torch_notes = "nn.ConstantPad2d / nn.ReflectionPad2d / nn.ReplicationPad2d / nn.CircularPad2d((left, right, top, bottom))."

    padding: PaddingSpec
    mode: str
    value: float

    def validate(self) -> None:
        if isinstance(self.padding, str):
            raise SpecError(f"pad needs explicit padding. Received: padding={self.padding!r}",
                            hint="write p, [ph, pw] or [[top, bottom], [left, right]]")

    def prepare(self) -> None:
        assert isinstance(self.padding, tuple)
        self.pads = self.padding
        (top, _bottom), (left, _right) = self.pads
        self.static_field_rule = Window((1, 1), (1, 1), (top, left))

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        shape = inputs[0]
        if len(shape) != 3:
            self.check_input_rank(inputs)
        channels, height, width = shape
        if self.mode != "constant":
            # reflect and circular need padding smaller than the axis (replicate any); torch's rule
            limit_h, limit_w = (height, width) if self.mode == "circular" else (height - 1, width - 1)
            if self.mode != "replicate" and (max(self.pads[0]) > limit_h or max(self.pads[1]) > limit_w):
                raise ShapeError(f"{self.mode} padding must be smaller than the input along each axis. "
                                 f"Received: padding={[list(p) for p in self.pads]}, input shape={list(shape)}",
                                 hint="use mode constant or replicate, or less padding")
        return (channels, height + sum(self.pads[0]), width + sum(self.pads[1]))

    def label(self) -> str:
        return "pad"


@register
class Parameter(Op):
    """A learnable tensor of the given shape: params = its elements; no arithmetic."""

    name = "parameter"
    family = "parameter"
    summary = ("A learnable tensor of a given shape, counted as params: layer scale ([C, 1, 1], multiplied in), "
               "ViT's class token ([1, D], concatenated) and position embedding ([L, D], added). Its input (by "
               "default the previous layer) gives only the batch size and, for receptive fields, its field; no "
               "value of it is read.")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "shape": Attribute("ints", "Shape without the batch axis (the tensor is shared by every sample).", minimum=1),
        "init": Attribute("choice", "Initial values in the PyTorch build.", default="constant",
                          choices=("constant", "normal")),
        "value": Attribute("float", "The constant for init constant (layer scale: 1e-6).", default=0.0),
        "std": Attribute("float", "Standard deviation for init normal (ViT's position embedding: 0.02).",
                         default=0.02, minimum=0),
    }
    input_rank = None
    torch_notes = ("nn.Parameter(torch.full(shape, value)) or normal(0, std), expanded over the batch "
                   "(weight.expand(N, *shape)): a view, no copy.")

    shape: tuple[int, ...]
    init: str
    value: float
    std: float

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return self.shape

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        return Cost(params=numel(self.shape))

    def label(self) -> str:
        return "param " + "x".join(str(size) for size in self.shape)
