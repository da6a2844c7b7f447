"""Upsampling: interpolation and max unpooling (decoders of segmentation networks).

After upsampling, an output position no longer lies on a whole-pixel grid of the input: the
receptive field is not applicable (None) from there on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import floor
from typing import ClassVar

from archviz.errors import ShapeError, SpecError
from archviz.ops.base import NOT_APPLICABLE, Attribute, Cost, Op, as_pair, numel, register
from archviz.shapes import Shape, window_output_length

BILINEAR_OPS = 4  # per output element: one weighted term per neighbour


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
