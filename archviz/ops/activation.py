"""Elementwise layers: activations, softmax, dropout, identity (one op per element, or none)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.ops.base import IN_PLACE, VIEW, Attribute, Cost, Op, axis_index, new_cost, numel, register
from archviz.shapes import Shape


class Elementwise(Op):
    """Shape-preserving; elementwise_ops = output elements * ops_per_element."""

    family = "activation"
    input_rank = None
    ops_per_element = 1

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return inputs[0]

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        return new_cost(Cost, (0, 0, 0, 0, numel(output) * batch * self.ops_per_element))


def activation(op_name: str, text: str, attributes: dict[str, Attribute] | None = None,
               in_place: bool = False) -> type[Elementwise]:
    """Make and register one activation op; each differs only in name, docs, attributes and
    whether it runs in place (``inplace=True``) as torchvision runs it: ReLU in VGG and ResNet,
    ReLU6 in MobileNetV2, SiLU in EfficientNet, Hardswish in MobileNetV3; LeakyReLU and ELU take
    ``inplace`` too. GELU, sigmoid, tanh and MobileNetV3's Hardsigmoid gate allocate."""
    namespace: dict[str, object] = {"name": op_name, "summary": text, "attributes": attributes or {}, "__doc__": text}
    if in_place:
        namespace["output_storage"] = IN_PLACE
    cls = type(op_name.title().replace("_", ""), (Elementwise,), namespace)
    return register(cls)


activation("relu", "max(x, 0).", in_place=True)
activation("relu6", "min(max(x, 0), 6).", in_place=True)
activation("leaky_relu", "x if x > 0 else slope * x.", {"slope": Attribute("float", "Negative slope.", default=0.01)},
           in_place=True)
activation("elu", "x if x > 0 else alpha * (exp(x) - 1).", {"alpha": Attribute("float", "Scale.", default=1.0)},
           in_place=True)
activation("gelu", "x * Phi(x); approximate: tanh uses PyTorch's tanh approximation.", {
    "approximate": Attribute("choice", "PyTorch's approximate= argument.", default="none", choices=("none", "tanh")),
})
activation("silu", "x * sigmoid(x) (swish).", in_place=True)
activation("sigmoid", "1 / (1 + exp(-x)).")
activation("tanh", "Hyperbolic tangent.")
activation("hardswish", "x * relu6(x + 3) / 6 (MobileNetV3).", in_place=True)
activation("hardsigmoid", "relu6(x + 3) / 6 (MobileNetV3's squeeze-excitation gate).")


@register
class Softmax(Elementwise):
    """One op per element, by convention."""

    name = "softmax"
    summary = ("Softmax over one axis: axis 0 by default, the channels of a map or the features of a vector; "
               "axis -1 for the features of (tokens, features).")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "axis": Attribute("axis", "The axis normalised (0: channels or features; -1: the last).", default=0),
    }
    torch_notes = "nn.Softmax(dim=axis + 1) (dim=axis for a negative axis: PyTorch counts the batch axis)."

    axis: int

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        axis_index(self, self.axis, inputs[0])
        return inputs[0]


@register
class Dropout(Elementwise):
    """No cost at inference, which is what archviz counts."""

    name = "dropout"
    family = "regularization"
    summary = "Dropout; the identity at inference."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "rate": Attribute("float", "Drop probability.", default=0.5, minimum=0, below=1),
    }
    ops_per_element = 0
    output_storage = VIEW  # F.dropout in eval returns its input

    def label(self) -> str:
        return "dropout"


@register
class StochasticDepth(Elementwise):
    """No cost at inference: torchvision's StochasticDepth is the identity in eval mode."""

    name = "stochastic_depth"
    family = "regularization"
    summary = ("Stochastic depth (drop path) on a residual branch: drops whole samples ('row') or the whole "
               "batch ('batch') while training; the identity at inference, which is what archviz counts.")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "rate": Attribute("float", "Drop probability.", default=0.0, minimum=0, below=1),
        "mode": Attribute("choice", "torchvision's mode: 'row' drops single samples, 'batch' the whole batch.",
                          default="row", choices=("row", "batch")),
    }
    torch_notes = "torchvision.ops.StochasticDepth(p=rate, mode); built as nn.Identity (its eval-mode behaviour)."
    ops_per_element = 0
    output_storage = VIEW

    def label(self) -> str:
        return "drop path"


@register
class Identity(Elementwise):
    name = "identity"
    family = "shape"
    summary = "Passes its input through; useful as a named shortcut in residual blocks."
    ops_per_element = 0
    output_storage = VIEW
