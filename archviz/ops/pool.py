"""Pooling: windowed max/average, global and adaptive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.errors import ShapeError, SpecError
from archviz.ops.base import (
    GLOBAL,
    Attribute,
    Cost,
    FieldRule,
    Op,
    PaddingSpec,
    Window,
    as_pair,
    new_cost,
    numel,
    register,
    resolve_padding,
)
from archviz.shapes import Shape, window_output_length


class WindowPool(Op):
    """elementwise_ops = output elements * window area (one compare or add per window element)."""

    family = "pool"
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "kernel": Attribute("pair", "Window size: k or [kh, kw].", minimum=1),
        "stride": Attribute("pair", "Stride; defaults to the kernel size.", default=None, minimum=1),
        "padding": Attribute(
            "padding", "p, [ph, pw], [[top, bottom], [left, right]], 'valid' or 'same' (TF rule).", default=0
        ),
        "ceil_mode": Attribute("bool", "Round the output length up (PyTorch ceil_mode; Caffe's rule).", default=False),
    }
    torch_notes = (
        "PyTorch requires explicit padding <= kernel/2; 'same' with stride > 1 is padded explicitly "
        "(with -inf for max pooling, excluded from the average for average pooling)."
    )
    keras_notes = "Keras pooling has no ceil_mode and defaults to 'valid' (floor): 227 -> 113."

    kernel: tuple[int, int]
    stride: tuple[int, int] | None
    padding: PaddingSpec  # as values.to_padding leaves it
    ceil_mode: bool

    def validate(self) -> None:
        if isinstance(self.padding, tuple):
            kernel = as_pair(self.kernel)
            for axis in range(2):
                if max(self.padding[axis]) * 2 > kernel[axis]:
                    raise SpecError(
                        f"padding must be at most half the kernel. Received: padding={list(map(list, self.padding))}, "
                        f"kernel={list(kernel)}",
                        hint="PyTorch and Keras reject larger pooling padding; use a larger kernel",
                    )

    def prepare(self) -> None:
        self._kernel, self._stride = as_pair(self.kernel), self.strides()
        # explicit padding does not depend on the input; 'same' does
        self._pads = None if self.padding == "same" else self.pads((0, 0, 0))
        self._window = None if self._pads is None else self._window_for(self._pads)
        self.static_field_rule = self._window
        # As in Conv2d.prepare: with explicit padding and floor rounding, an output length is
        # (length + span) // stride + 1 where the span is >= 0.
        self._spans = None if self._pads is None or self.ceil_mode else tuple(
            sum(self._pads[axis]) - self._kernel[axis] for axis in range(2))

    def strides(self) -> tuple[int, int]:
        return as_pair(self.stride if self.stride is not None else self.kernel)

    def pads(self, shape: Shape) -> tuple[tuple[int, int], tuple[int, int]]:
        return resolve_padding(self.padding, (shape[1], shape[2]), as_pair(self.kernel), self.strides())

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        shape = inputs[0]
        if len(shape) != 3:
            self.check_input_rank(inputs)
        channels, height, width = shape
        spans = self._spans
        if spans is not None and height + spans[0] >= 0 and width + spans[1] >= 0:
            return (channels, (height + spans[0]) // self._stride[0] + 1, (width + spans[1]) // self._stride[1] + 1)
        kernel, stride = self._kernel, self._stride
        pads = self._pads or self.pads(inputs[0])
        out_height = window_output_length(height, kernel[0], stride[0], pads[0], 1, self.ceil_mode)
        out_width = window_output_length(width, kernel[1], stride[1], pads[1], 1, self.ceil_mode)
        if out_height < 1 or out_width < 1:
            axis = 0 if out_height < 1 else 1
            raise ShapeError(
                f"pooling window {kernel[axis]} is larger than the input ({(height, width)[axis]} + padding "
                f"{sum(pads[axis])}) along {('height', 'width')[axis]}. Received: input shape={list(inputs[0])}",
                hint="use a larger input (--input CxHxW) or fewer pooling layers",
            )
        return (channels, out_height, out_width)

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        kernel = self._kernel
        return new_cost(Cost, (0, 0, 0, 0, numel(output) * batch * kernel[0] * kernel[1]))

    def field_rule(self, inputs: Sequence[Shape]) -> Window:
        return self._window or self._window_for(self.pads(inputs[0]))

    def _window_for(self, pads: tuple[tuple[int, int], tuple[int, int]]) -> Window:
        return Window(self._kernel, self._stride, (pads[0][0], pads[1][0]))


@register
class MaxPool2d(WindowPool):
    name = "max_pool2d"
    summary = "2-D max pooling."

    def label(self) -> str:
        return "maxpool"


@register
class AvgPool2d(WindowPool):
    name = "avg_pool2d"
    summary = "2-D average pooling (padding excluded from the divisor only matters numerically)."

    def label(self) -> str:
        return "avgpool"


class GlobalPool(Op):
    """(C, H, W) -> (C,); elementwise_ops = input elements (one compare or add each)."""

    family = "pool"
    attributes: ClassVar[Mapping[str, Attribute]] = {}
    static_field_rule = GLOBAL

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        self.check_input_rank(inputs)
        return (inputs[0][0],)

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        return Cost(elementwise_ops=numel(inputs[0]) * batch)


@register
class GlobalAvgPool2d(GlobalPool):
    name = "global_avg_pool2d"
    summary = "Average over all spatial positions; output is flat (channels,), as Keras GlobalAveragePooling2D."
    torch_notes = "nn.AdaptiveAvgPool2d(1) followed by flatten."

    def label(self) -> str:
        return "global avgpool"


@register
class GlobalMaxPool2d(GlobalPool):
    name = "global_max_pool2d"
    summary = "Maximum over all spatial positions; output is flat (channels,)."
    torch_notes = "nn.AdaptiveMaxPool2d(1) followed by flatten."

    def label(self) -> str:
        return "global maxpool"


@register
class AdaptiveAvgPool2d(Op):
    """PyTorch's adaptive windows; elementwise_ops = input elements (each summed once, when windows tile)."""

    name = "adaptive_avg_pool2d"
    family = "pool"
    summary = "Average pooling to a fixed output size (torchvision's VGG has one, to 7x7, before the classifier)."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "output_size": Attribute("pair", "Output size: s or [sh, sw].", minimum=1),
    }
    keras_notes = "No Keras equivalent; identical to an identity when the input already has the output size."

    output_size: tuple[int, int]
    static_field_rule = None  # the window depends on the input size

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        self.check_input_rank(inputs)
        size = as_pair(self.output_size)
        return (inputs[0][0], size[0], size[1])

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        return Cost(elementwise_ops=numel(inputs[0]) * batch)

    def field_rule(self, inputs: Sequence[Shape]) -> FieldRule:
        size = as_pair(self.output_size)
        spatial = inputs[0][1:]
        if all(spatial[axis] % size[axis] == 0 for axis in range(2)):
            kernel = (spatial[0] // size[0], spatial[1] // size[1])
            return Window(kernel, kernel, (0, 0))
        return GLOBAL

    def label(self) -> str:
        size = as_pair(self.output_size)
        return f"adaptive avgpool {size[0]}x{size[1]}"
