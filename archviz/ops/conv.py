"""2-D convolution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.errors import ShapeError, SpecError
from archviz.ops.base import (
    Attribute,
    Cost,
    Op,
    PaddingSpec,
    Window,
    as_pair,
    new_cost,
    numel,
    register,
    resolve_padding,
)
from archviz.shapes import Shape, effective_kernel, window_output_length

ACTIVATIONS = ("linear", "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "softmax",
               "hardswish", "hardsigmoid")


@register
class Conv2d(Op):
    """params = filters*(in/groups)*kh*kw (+ filters); MACs = out elements * (in/groups)*kh*kw."""

    name = "conv2d"
    family = "conv"
    summary = "2-D convolution (cross-correlation), optionally grouped, dilated or depthwise."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "filters": Attribute("int", "Number of output channels.", minimum=1),
        "kernel": Attribute("pair", "Kernel size: k or [kh, kw].", minimum=1),
        "stride": Attribute("pair", "Stride: s or [sh, sw].", default=1, minimum=1),
        "padding": Attribute(
            "padding",
            "p, [ph, pw], [[top, bottom], [left, right]], 'valid' or 'same' (TF/Keras rule: "
            "output = ceil(input/stride), the odd pixel after).",
            default=0,
        ),
        "dilation": Attribute("pair", "Dilation: d or [dh, dw].", default=1, minimum=1),
        "groups": Attribute("int", "Groups; equal to the input channels for depthwise.", default=1, minimum=1),
        "bias": Attribute("bool", "Whether the layer has a learnable bias.", default=True),
        "activation": Attribute(
            "choice", "Activation fused into the layer, as Keras' activation= argument.",
            default="linear", choices=ACTIVATIONS,
        ),
    }
    torch_notes = (
        "nn.Conv2d. PyTorch's padding='same' only exists for stride 1; with stride > 1 archviz "
        "pads explicitly (asymmetric, like TensorFlow)."
    )
    keras_notes = "Conv2D(filters, kernel_size, strides, padding, dilation_rate, groups, use_bias, activation)."

    filters: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: PaddingSpec  # as values.to_padding leaves it
    dilation: tuple[int, int]
    groups: int
    bias: bool
    activation: str

    def validate(self) -> None:
        if self.filters % self.groups:
            raise SpecError(
                f"filters must be divisible by groups. Received: filters={self.filters}, groups={self.groups}"
            )

    def prepare(self) -> None:
        self._kernel, self._stride, self._dilation = as_pair(self.kernel), as_pair(self.stride), as_pair(self.dilation)
        # explicit padding does not depend on the input; 'same' does
        self._pads = None if self.padding == "same" else self.pads((0, 0, 0))
        self._window = None if self._pads is None else self._window_for(self._pads)
        self.static_field_rule = self._window
        # With explicit padding an output length is (length + span) // stride + 1 where the span
        # (window_output_length's padded length less the dilated kernel) is >= 0: folded here.
        self._spans = None if self._pads is None else tuple(
            sum(self._pads[axis]) - effective_kernel(self._kernel[axis], self._dilation[axis]) for axis in range(2))

    def pads(self, shape: Shape) -> tuple[tuple[int, int], tuple[int, int]]:
        return resolve_padding(
            self.padding, (shape[1], shape[2]), as_pair(self.kernel), as_pair(self.stride), as_pair(self.dilation)
        )

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        shape = inputs[0]
        if len(shape) != 3:
            self.check_input_rank(inputs)
        channels, height, width = shape
        if channels % self.groups:
            raise ShapeError(
                f"input channels must be divisible by groups. Received: channels={channels}, groups={self.groups}",
                hint="set groups to a divisor of the input channels (depthwise: groups = input channels)",
            )
        spans = self._spans
        if spans is not None and height + spans[0] >= 0 and width + spans[1] >= 0:
            return (self.filters, (height + spans[0]) // self._stride[0] + 1, (width + spans[1]) // self._stride[1] + 1)
        kernel, stride, dilation = self._kernel, self._stride, self._dilation
        pads = self._pads or self.pads(inputs[0])
        out_height = window_output_length(height, kernel[0], stride[0], pads[0], dilation[0])
        out_width = window_output_length(width, kernel[1], stride[1], pads[1], dilation[1])
        if out_height < 1 or out_width < 1:
            axis = 0 if out_height < 1 else 1
            raise ShapeError(
                f"kernel {effective_kernel(kernel[axis], dilation[axis])} (dilated) is larger than the "
                f"padded input ({(height, width)[axis]} + padding {sum(pads[axis])}) along "
                f"{('height', 'width')[axis]}. Received: input shape={list(inputs[0])}",
                hint="use a larger input (--input CxHxW), more padding or a smaller kernel",
            )
        return (self.filters, out_height, out_width)

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        kernel = self._kernel
        per_output = (inputs[0][0] // self.groups) * kernel[0] * kernel[1]
        outputs = numel(output) * batch
        return new_cost(Cost, (
            self.filters * per_output + (self.filters if self.bias else 0),  # params
            0,  # buffers
            outputs * per_output,  # macs
            outputs if self.bias else 0,  # bias_adds
            outputs if self.activation != "linear" else 0,  # elementwise_ops
        ))

    def field_rule(self, inputs: Sequence[Shape]) -> Window:
        return self._window or self._window_for(self.pads(inputs[0]))

    def _window_for(self, pads: tuple[tuple[int, int], tuple[int, int]]) -> Window:
        return Window(self._kernel, self._stride, (pads[0][0], pads[1][0]), self._dilation)

    def label(self) -> str:
        kernel = as_pair(self.kernel)
        size = str(kernel[0]) if kernel[0] == kernel[1] else f"{kernel[0]}x{kernel[1]}"
        return f"conv{size}-{self.filters}"
