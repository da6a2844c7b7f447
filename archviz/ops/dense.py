"""Fully connected layers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.ops.base import GLOBAL, Attribute, Cost, Op, new_cost, numel, register
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
