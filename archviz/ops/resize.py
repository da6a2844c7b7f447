"""Upsampling: transposed convolution, interpolation and max unpooling (decoders of segmentation networks).

After upsampling, an output position no longer lies on a whole-pixel grid of the input: the
receptive field is not applicable (None) from there on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import floor
from typing import ClassVar

from archviz.errors import ShapeError, SpecError
from archviz.ops.base import NOT_APPLICABLE, Attribute, Cost, Op, as_pair, new_cost, numel, register
from archviz.shapes import Shape, effective_kernel, window_output_length

BILINEAR_OPS = 4  # per output element: one weighted term per neighbour


@register
class ConvTranspose2d(Op):
    """params = in*(filters/groups)*kh*kw (+ filters); MACs = input elements * (filters/groups)*kh*kw.

    Each input pixel scatters a kh x kw window into every output channel of its group, so the MACs
    are counted per input position (FlopCounterMode's rule for a transposed convolution).
    """

    name = "conv_transpose2d"
    family = "conv"
    summary = ("2-D transposed convolution (learned upsampling, FCN/U-Net decoders): output = (input - 1) * "
               "stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1. Upsampling: the receptive "
               "field is not applicable after it.")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "filters": Attribute("int", "Number of output channels.", minimum=1),
        "kernel": Attribute("pair", "Kernel size: k or [kh, kw].", minimum=1),
        "stride": Attribute("pair", "Stride (the upsampling factor): s or [sh, sw].", default=1, minimum=1),
        "padding": Attribute("pair", "PyTorch's padding: p or [ph, pw], removed from both sides of the output.",
                             default=0, minimum=0),
        "output_padding": Attribute("pair", "Extra rows/columns on one side (smaller than stride or dilation).",
                                    default=0, minimum=0),
        "dilation": Attribute("pair", "Dilation: d or [dh, dw].", default=1, minimum=1),
        "groups": Attribute("int", "Groups.", default=1, minimum=1),
        "bias": Attribute("bool", "Whether the layer has a learnable bias.", default=True),
    }
    static_field_rule = NOT_APPLICABLE
    torch_notes = "nn.ConvTranspose2d(in, filters, kernel, stride, padding, output_padding, groups, bias, dilation)."
    keras_notes = "Conv2DTranspose; Keras' padding='same' gives output = input * stride."

    filters: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    output_padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    bias: bool

    def validate(self) -> None:
        if self.filters % self.groups:
            raise SpecError(
                f"filters must be divisible by groups. Received: filters={self.filters}, groups={self.groups}"
            )
        for axis in range(2):
            if self.output_padding[axis] >= max(self.stride[axis], self.dilation[axis]):
                raise SpecError(
                    f"output_padding must be smaller than stride or dilation (PyTorch's rule). Received: "
                    f"output_padding={list(self.output_padding)}, stride={list(self.stride)}, "
                    f"dilation={list(self.dilation)}", hint="use output_padding < stride")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        self.check_input_rank(inputs)
        channels, height, width = inputs[0]
        if channels % self.groups:
            raise ShapeError(
                f"input channels must be divisible by groups. Received: channels={channels}, groups={self.groups}",
                hint="set groups to a divisor of the input channels",
            )
        sizes = []
        for axis, length in enumerate((height, width)):
            size = ((length - 1) * self.stride[axis] - 2 * self.padding[axis]
                    + effective_kernel(self.kernel[axis], self.dilation[axis]) + self.output_padding[axis])
            if size < 1:
                raise ShapeError(
                    f"conv_transpose2d's padding {self.padding[axis]} leaves no output along "
                    f"{('height', 'width')[axis]}. Received: input shape={list(inputs[0])}",
                    hint="use less padding or a larger input")
            sizes.append(size)
        return (self.filters, sizes[0], sizes[1])

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        channels = inputs[0][0]
        per_input = (self.filters // self.groups) * self.kernel[0] * self.kernel[1]
        outputs = numel(output) * batch
        return new_cost(Cost, (
            channels * per_input + (self.filters if self.bias else 0),  # params
            0,  # buffers
            numel(inputs[0]) * batch * per_input,  # macs
            outputs if self.bias else 0,  # bias_adds
            0,  # elementwise_ops
        ))

    def label(self) -> str:
        kernel = self.kernel
        size = str(kernel[0]) if kernel[0] == kernel[1] else f"{kernel[0]}x{kernel[1]}"
        return f"convT{size}-{self.filters}"


@register
class Upsample(Op):
    """elementwise_ops = 0 for nearest (a copy), 4 per output element for bilinear."""

    name = "upsample"
    family = "resize"
    summary = ("Resize the height and width by interpolation, to a 'size' or by a 'scale' (output = "
               "floor(input * scale), PyTorch's rule); nearest or bilinear.")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "scale": Attribute("float", "Scale factor of both axes (e.g. 2).", default=None, above=0),
        "size": Attribute("pair", "Output size: s or [h, w].", default=None, minimum=1),
        "mode": Attribute("choice", "Interpolation.", default="nearest", choices=("nearest", "bilinear")),
        "align_corners": Attribute("bool", "Bilinear only: PyTorch's align_corners.", default=False),
    }
    static_field_rule = NOT_APPLICABLE
    torch_notes = "nn.Upsample(size or scale_factor, mode, align_corners for bilinear)."
    keras_notes = "UpSampling2D(size=scale, interpolation) for whole scales; Resizing for a size."

    scale: float | None
    size: tuple[int, int] | None
    mode: str
    align_corners: bool

    def validate(self) -> None:
        if (self.scale is None) == (self.size is None):
            raise SpecError(f"upsample takes either 'scale' or 'size'. Received: scale={self.scale}, size={self.size}",
                            hint="e.g. upsample: {scale: 2}")
        if self.align_corners and self.mode != "bilinear":
            raise SpecError("align_corners applies to mode bilinear only. Received: mode=nearest",
                            hint="drop align_corners or use mode: bilinear")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        self.check_input_rank(inputs)
        channels, height, width = inputs[0]
        if self.size is not None:
            return (channels, *as_pair(self.size))
        assert self.scale is not None
        out = (floor(height * self.scale), floor(width * self.scale))
        if min(out) < 1:
            raise ShapeError(f"upsample's scale {self.scale} leaves no output of an input of shape {list(inputs[0])}",
                             hint="use a scale >= 1 or a size")
        return (channels, *out)

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        per_element = BILINEAR_OPS if self.mode == "bilinear" else 0
        return Cost(elementwise_ops=numel(output) * batch * per_element)

    def label(self) -> str:
        how = f"x{self.scale:g}" if self.scale is not None else "to " + "x".join(map(str, as_pair(self.size or 1)))
        return f"upsample {how}"


@register
class MaxUnpool2d(Op):
    """The partial inverse of max pooling: each value back where its window's maximum was, zeros elsewhere. No arithmetic."""

    name = "max_unpool2d"
    family = "resize"
    summary = ("Max unpooling (SegNet's decoder): inputs [x, pooled], where 'pooled' is the map that was max-pooled "
               "(the pool's input); each value of x goes to where the maximum of its window in 'pooled' was, with "
               "the same kernel, stride and padding, and the output has pooled's size (odd sizes too).")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "kernel": Attribute("pair", "Window size of the pooling undone: k or [kh, kw].", minimum=1),
        "stride": Attribute("pair", "Its stride; defaults to the kernel size.", default=None, minimum=1),
        "padding": Attribute("pair", "Its padding: p or [ph, pw].", default=0, minimum=0),
    }
    min_inputs = 2
    max_inputs = 2
    static_field_rule = NOT_APPLICABLE
    torch_notes = ("F.max_unpool2d(x, indices, kernel, stride, padding, output_size=pooled's size), the indices "
                   "those of F.max_pool2d(pooled, ..., return_indices=True): what nn.MaxPool2d(return_indices=True) "
                   "handed SegNet's decoder.")

    kernel: tuple[int, int]
    stride: tuple[int, int] | None
    padding: tuple[int, int]

    def strides(self) -> tuple[int, int]:
        return as_pair(self.stride if self.stride is not None else self.kernel)

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        self.check_input_rank(inputs)
        values, pooled = inputs
        kernel, stride = as_pair(self.kernel), self.strides()
        expected = tuple(window_output_length(pooled[1 + axis], kernel[axis], stride[axis],
                                              (self.padding[axis], self.padding[axis])) for axis in range(2))
        if values[0] != pooled[0] or values[1:] != expected:
            raise ShapeError(
                f"max_unpool2d's first input must be the size that max pooling makes of the second (channels "
                f"{pooled[0]}, size {list(expected)}). Received: shapes={[list(values), list(pooled)]}",
                hint="name the map that was pooled as the second input, e.g. inputs: [x, conv5_3]")
        return pooled

    def label(self) -> str:
        return "maxunpool"
