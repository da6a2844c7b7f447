"""Fully connected layers and flattening."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.ops.base import GLOBAL, Attribute, Cost, Op, new_cost, numel, register
from archviz.ops.conv import ACTIVATIONS
from archviz.shapes import Shape


@register
class Dense(Op):
    """params = in*units (+ units); MACs = in*units per sample."""

    name = "dense"
    family = "dense"
    summary = "Fully connected layer on a flat input (alias: linear)."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "units": Attribute("int", "Number of output features.", minimum=1),
        "bias": Attribute("bool", "Whether the layer has a learnable bias.", default=True),
        "activation": Attribute(
            "choice", "Activation fused into the layer, as Keras' activation= argument.",
            default="linear", choices=ACTIVATIONS,
        ),
    }
    input_rank = 1
    static_field_rule = GLOBAL
    torch_notes = "nn.Linear(in_features, units, bias)."
    keras_notes = "Dense(units, activation, use_bias); Keras applies Dense to the last axis of any input, archviz requires a flat input."

    units: int
    bias: bool
    activation: str

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        self.check_input_rank(inputs)
        return (self.units,)

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        features = inputs[0][0]
        return new_cost(Cost, (
            features * self.units + (self.units if self.bias else 0),  # params
            0,  # buffers
            features * self.units * batch,  # macs
            self.units * batch if self.bias else 0,  # bias_adds
            self.units * batch if self.activation != "linear" else 0,  # elementwise_ops
        ))

    def label(self) -> str:
        return f"FC-{self.units}"


@register
class Flatten(Op):
    """(C, H, W) -> (C*H*W,), in PyTorch's channels-first order."""

    name = "flatten"
    family = "shape"
    summary = "Flatten to a vector. Order is channels first (PyTorch); Keras flattens channels last."
    input_rank = None
    static_field_rule = GLOBAL
    keras_notes = "Keras' Flatten on channels-last tensors orders the features differently; the count is the same."

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (numel(inputs[0]),)
