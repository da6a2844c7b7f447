"""Fully connected layers and flattening."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.errors import ShapeError
from archviz.ops.base import (
    GLOBAL,
    NOT_APPLICABLE,
    POINTWISE,
    VIEW,
    Attribute,
    Cost,
    FieldRule,
    Op,
    axis_index,
    new_cost,
    numel,
    register,
)
from archviz.ops.conv import ACTIVATIONS
from archviz.shapes import Shape


@register
class Dense(Op):
    """params = in*units (+ units); MACs = in*units per sample, times the tokens for (tokens, features)."""

    name = "dense"
    family = "dense"
    summary = ("Fully connected layer on a flat input, or on the last axis of (tokens, features) as nn.Linear "
               "applies it (alias: linear).")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "units": Attribute("int", "Number of output features.", minimum=1),
        "bias": Attribute("bool", "Whether the layer has a learnable bias.", default=True),
        "activation": Attribute(
            "choice", "Activation fused into the layer, as Keras' activation= argument.",
            default="linear", choices=ACTIVATIONS,
        ),
    }
    # (C, H, W) is refused rather than read as nn.Linear would (on the width axis): it is almost
    # always a missing flatten
    input_rank = (1, 2)
    static_field_rule = GLOBAL
    torch_notes = "nn.Linear(in_features, units, bias)."
    keras_notes = "Dense(units, activation, use_bias); Keras applies Dense to the last axis of any input, archviz of (features,) and (tokens, features)."

    units: int
    bias: bool
    activation: str

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        shape = inputs[0]
        if len(shape) == 1:
            return (self.units,)
        self.check_input_rank(inputs)
        return (*shape[:-1], self.units)

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        shape = inputs[0]
        features = shape[-1]
        rows = batch if len(shape) == 1 else batch * numel(shape[:-1])
        return new_cost(Cost, (
            features * self.units + (self.units if self.bias else 0),  # params
            0,  # buffers
            features * self.units * rows,  # macs
            self.units * rows if self.bias else 0,  # bias_adds
            self.units * rows if self.activation != "linear" else 0,  # elementwise_ops
        ))

    def label(self) -> str:
        return f"FC-{self.units}"


@register
class Flatten(Op):
    """(C, H, W) -> (C*H*W,), in PyTorch's channels-first order; start/end merge only those axes."""

    name = "flatten"
    family = "shape"
    summary = ("Flatten to a vector (channels first, as PyTorch; Keras flattens channels last), or merge the "
               "axes start..end only: flatten {start: 1} turns a C x H x W map into C x (H*W).")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "start": Attribute("axis", "First axis merged (0: the first axis after the batch).", default=0),
        "end": Attribute("axis", "Last axis merged (-1: the last).", default=-1),
    }
    input_rank = None
    torch_notes = "nn.Flatten(start_dim=start + 1, end_dim=end + 1) (PyTorch counts the batch axis)."
    keras_notes = "Keras' Flatten on channels-last tensors orders the features differently; the count is the same."

    start: int
    end: int
    static_field_rule: FieldRule | None = GLOBAL
    output_storage = VIEW  # torch.flatten of a contiguous tensor is a view

    def prepare(self) -> None:
        self.everything = self.start == 0 and self.end == -1
        self.static_field_rule = GLOBAL if self.everything else None

    def axes(self, shape: Shape) -> tuple[int, int]:
        start, end = axis_index(self, self.start, shape, "start"), axis_index(self, self.end, shape, "end")
        if start > end:
            raise ShapeError(f"flatten's start axis {self.start} comes after its end axis {self.end} for an input "
                             f"of shape {list(shape)}. Received: start={self.start}, end={self.end}",
                             hint="give start <= end (both count from 0 after the batch axis)")
        return start, end

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        shape = inputs[0]
        if self.everything:
            return (numel(shape),)
        start, end = self.axes(shape)
        return (*shape[:start], numel(shape[start:end + 1]), *shape[end + 1:])

    def field_rule(self, inputs: Sequence[Shape]) -> FieldRule:
        if self.everything:
            return GLOBAL
        start, end = self.axes(inputs[0])
        return POINTWISE if start == end else NOT_APPLICABLE

    def label(self) -> str:
        return "flatten" if self.everything else f"flatten {self.start}..{self.end}"
