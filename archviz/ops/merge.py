"""Merging branches: elementwise add and channel concatenation."""

from __future__ import annotations

from collections.abc import Sequence

from archviz.errors import ShapeError
from archviz.ops.base import Cost, Op, numel, register
from archviz.shapes import Shape


@register
class Add(Op):
    """Sum of equal-shaped inputs; elementwise_ops = (inputs - 1) * output elements."""

    name = "add"
    family = "merge"
    summary = "Elementwise sum of two or more inputs of the same shape (residual connections)."
    min_inputs = 2
    max_inputs = None
    input_rank = None

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        first = inputs[0]
        for shape in inputs[1:]:
            if shape != first:
                raise ShapeError(
                    f"add needs inputs of one shape. Received: shapes={[list(s) for s in inputs]}",
                    hint="make the shortcut match (e.g. a 1x1 conv with the same stride and filters)",
                )
        return first

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        return Cost(elementwise_ops=(len(inputs) - 1) * numel(output) * batch)


@register
class Concat(Op):
    """Concatenate along channels; inputs must agree on every other axis. No arithmetic."""

    name = "concat"
    family = "merge"
    summary = "Concatenation along the channel (first) axis (inception-style blocks)."
    min_inputs = 2
    max_inputs = None
    input_rank = None

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        first = inputs[0]
        for shape in inputs[1:]:
            if len(shape) != len(first) or shape[1:] != first[1:]:
                raise ShapeError(
                    "concat needs inputs that agree on every axis but channels. "
                    f"Received: shapes={[list(s) for s in inputs]}",
                    hint="give every branch the same spatial size (stride and padding)",
                )
        return (sum(shape[0] for shape in inputs), *first[1:])
