"""Merging branches: elementwise add and multiply (with broadcasting) and concatenation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.errors import ShapeError
from archviz.ops.base import (
    NOT_APPLICABLE,
    POINTWISE,
    Attribute,
    Cost,
    FieldRule,
    Op,
    axis_index,
    broadcast_shapes,
    numel,
    register,
)
from archviz.shapes import Shape


class Elementwise2(Op):
    """Elementwise merge of inputs of one shape or shapes that broadcast (PyTorch's rule).

    elementwise_ops = (inputs - 1) * output elements.
    """

    family = "merge"
    min_inputs = 2
    max_inputs = None
    input_rank = None
    hint: ClassVar[str] = ""

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        first = inputs[0]
        for shape in inputs[1:]:
            if shape != first:
                return broadcast_shapes(self, inputs, self.hint)
        return first

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        return Cost(elementwise_ops=(len(inputs) - 1) * numel(output) * batch)


@register
class Add(Elementwise2):
    """Sum of the inputs; elementwise_ops = (inputs - 1) * output elements."""

    name = "add"
    summary = ("Elementwise sum of two or more inputs of one shape (residual connections), or of shapes that "
               "broadcast as in PyTorch (each axis equal or 1; inputs of one rank).")
    hint = "make the shortcut match (e.g. a 1x1 conv with the same stride and filters)"
    torch_notes = "x + y (PyTorch broadcasting)."


@register
class Multiply(Elementwise2):
    """Product of the inputs; elementwise_ops = (inputs - 1) * output elements."""

    name = "multiply"
    summary = ("Elementwise product of two or more inputs with PyTorch broadcasting (each axis equal or 1; "
               "inputs of one rank): squeeze-excitation's C x 1 x 1 gate times a C x H x W map, layer scale.")
    hint = "a gate for a C x H x W map has shape [C, 1, 1] (global pooling to [C], then reshape: {shape: [C, 1, 1]})"
    torch_notes = "x * y (PyTorch broadcasting)."


@register
class Concat(Op):
    """Concatenate along one axis; inputs must agree on every other axis. No arithmetic."""

    name = "concat"
    family = "merge"
    summary = ("Concatenation along an axis: channels by default (inception-style blocks); any other axis, "
               "e.g. the token axis of (tokens, features) inputs for ViT's class token.")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "axis": Attribute("axis", "Axis to join along (0: channels or tokens; negative counts from the end).",
                          default=0),
    }
    min_inputs = 2
    max_inputs = None
    input_rank = None
    static_field_rule = None  # the axis decides: channels keep the field, a spatial axis does not

    axis: int

    def prepare(self) -> None:
        self.static_field_rule = POINTWISE if self.axis == 0 else None

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        first = inputs[0]
        if self.axis == 0:
            for shape in inputs[1:]:
                if len(shape) != len(first) or shape[1:] != first[1:]:
                    raise ShapeError(
                        "concat needs inputs that agree on every axis but channels. "
                        f"Received: shapes={[list(s) for s in inputs]}",
                        hint="give every branch the same spatial size (stride and padding)",
                    )
            return (sum(shape[0] for shape in inputs), *first[1:])
        axis = axis_index(self, self.axis, first)
        for shape in inputs[1:]:
            if len(shape) != len(first) or shape[:axis] != first[:axis] or shape[axis + 1:] != first[axis + 1:]:
                raise ShapeError(
                    f"concat needs inputs that agree on every axis but axis {self.axis}. "
                    f"Received: shapes={[list(s) for s in inputs]}",
                    hint="reshape the inputs so that only the joined axis differs",
                )
        return (*first[:axis], sum(shape[axis] for shape in inputs), *first[axis + 1:])

    def field_rule(self, inputs: Sequence[Shape]) -> FieldRule:
        axis = axis_index(self, self.axis, inputs[0])
        # joining maps side by side along a spatial axis: an output position has no single field
        return POINTWISE if axis == 0 or len(inputs[0]) != 3 else NOT_APPLICABLE
