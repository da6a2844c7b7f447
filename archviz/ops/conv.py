"""2-D convolution."""

from __future__ import annotations

from collections.abc import Sequence

from archviz.errors import ShapeError, SpecError
from archviz.ops.base import Attribute, Cost, Op, Window, as_pair, numel, register, resolve_padding
from archviz.shapes import Shape, effective_kernel, window_output_length

ACTIVATIONS = ("linear", "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "softmax")


@register
class Conv2d(Op):
    """params = filters*(in/groups)*kh*kw (+ filters); MACs = out elements * (in/groups)*kh*kw."""

    name = "conv2d"
    family = "conv"
    summary = "2-D convolution (cross-correlation), optionally grouped, dilated or depthwise."
    attributes = {
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
    padding: object
    dilation: tuple[int, int]
    groups: int
    bias: bool
    activation: str

    def validate(self) -> None:
        if self.filters % self.groups:
            raise SpecError(
                f"filters must be divisible by groups. Received: filters={self.filters}, groups={self.groups}"
            )

    def pads(self, shape: Shape) -> tuple[tuple[int, int], tuple[int, int]]:
        return resolve_padding(
            self.padding, (shape[1], shape[2]), as_pair(self.kernel), as_pair(self.stride), as_pair(self.dilation)
        )  # type: ignore[arg-type]

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        self.check_input_rank(inputs)
        channels, height, width = inputs[0]
        if channels % self.groups:
            raise ShapeError(
                f"input channels must be divisible by groups. Received: channels={channels}, groups={self.groups}",
                hint="set groups to a divisor of the input channels (depthwise: groups = input channels)",
            )
        kernel, stride, dilation = as_pair(self.kernel), as_pair(self.stride), as_pair(self.dilation)
        pads = self.pads(inputs[0])
        out = []
        for axis, size in enumerate((height, width)):
            length = window_output_length(size, kernel[axis], stride[axis], pads[axis], dilation[axis])
            if length < 1:
                raise ShapeError(
                    f"kernel {effective_kernel(kernel[axis], dilation[axis])} (dilated) is larger than the "
                    f"padded input ({size} + padding {sum(pads[axis])}) along {('height', 'width')[axis]}. "
                    f"Received: input shape={list(inputs[0])}",
                    hint="use a larger input (--input CxHxW), more padding or a smaller kernel",
                )
            out.append(length)
        return (self.filters, out[0], out[1])

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        kernel = as_pair(self.kernel)
        per_output = (inputs[0][0] // self.groups) * kernel[0] * kernel[1]
        outputs = numel(output) * batch
        return Cost(
            params=self.filters * per_output + (self.filters if self.bias else 0),
            macs=outputs * per_output,
            bias_adds=outputs if self.bias else 0,
            elementwise_ops=outputs if self.activation != "linear" else 0,
        )

    def field_rule(self, inputs: Sequence[Shape]) -> Window:
        pads = self.pads(inputs[0])
        return Window(as_pair(self.kernel), as_pair(self.stride), (pads[0][0], pads[1][0]), as_pair(self.dilation))

    def label(self) -> str:
        kernel = as_pair(self.kernel)
        size = str(kernel[0]) if kernel[0] == kernel[1] else f"{kernel[0]}x{kernel[1]}"
        return f"conv{size}-{self.filters}"
