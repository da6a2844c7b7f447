"""Pure shape arithmetic shared by the ops: output lengths, padding rules, receptive fields.

Conventions (see docs/conventions.md): shapes are channels first without the batch axis;
padding is a (before, after) pair per spatial axis.
"""

from __future__ import annotations

from functools import lru_cache
from math import ceil
from typing import NamedTuple

Shape = tuple[int, ...]
Pad = tuple[int, int]


def input_from_sizes(sizes: tuple[int, ...], default: Shape, received: str) -> Shape:
    """The input shape that one, two or three sizes mean for a network whose own input is ``default``.

    Three sizes are CxHxW; two are HxW with the spec's channels; one is a square SxS with the
    spec's channels. Two sizes whose first equals the spec's channels and differs from the
    second (``3x224`` for an RGB network) are refused: they would make a 3-pixel-high input,
    which is almost never what was meant. ``received`` is how the user wrote it, for the message.
    """
    from archviz.errors import SpecError  # only on this path: shapes.py is imported by every op

    if len(default) == 1:
        if len(sizes) != 1:
            raise SpecError(f"this network takes a flat input of {default[0]} features. Received: {received}")
        return sizes
    if len(sizes) == 1:
        return (default[0], sizes[0], sizes[0])
    if len(sizes) == 2:
        height, width = sizes
        if height == default[0] and height != width:
            raise SpecError(
                f"two sizes are read as HxW with the spec's {default[0]} channels, so {height}x{width} would be "
                f"{height} pixels high; ambiguous with CxHxW. Received: {received}",
                hint=f"write {height}x{width}x{width} for {height} channels of {width}x{width}, {width} for a "
                f"square input, or all three sizes ({default[0]}x{height}x{width}) if {height} pixels high is meant")
        return (default[0], height, width)
    if len(sizes) == 3 and len(default) == 3:
        return sizes
    raise SpecError(f"the input must look like CxHxW, HxW or S. Received: {received}", hint="e.g. 3x224x224")


def effective_kernel(kernel: int, dilation: int) -> int:
    """Span of a dilated kernel: d*(k-1)+1."""
    return dilation * (kernel - 1) + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> Pad:
    """TensorFlow/Keras ``same``: output = ceil(size/stride); the odd pixel goes after.

    For stride 1 this equals PyTorch's ``padding='same'``.
    """
    out = ceil(size / stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return (total // 2, total - total // 2)


def window_output_length(
    size: int, kernel: int, stride: int, pad: Pad, dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Number of window positions along one axis, as PyTorch computes it.

    floor((size + pad - d*(k-1) - 1) / stride) + 1; with ``ceil_mode`` the division rounds up,
    but a last window that would start inside the right padding is dropped (PyTorch's rule).
    With ``ceil_mode`` a window may hang over the end even when it is longer than the padded
    input: PyTorch pools 2 pixels with kernel 3, stride 2 into 1 output, as Caffe does.
    """
    span = size + pad[0] + pad[1] - effective_kernel(kernel, dilation)
    if not ceil_mode:
        return span // stride + 1 if span >= 0 else 0
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad[0]:
        out -= 1
    return max(out, 0)


class Field(NamedTuple):
    """Receptive field of one output position along one axis, in input pixels.

    ``size`` is the field's extent, ``stride`` the distance between neighbouring outputs'
    fields, ``padding`` how far the first output's field reaches before pixel 0 (the
    TensorFlow receptive_field library's effective padding). Immutable; a NamedTuple because
    the analysis builds two per windowed layer.
    """

    size: int
    stride: int
    padding: int

    # Remembered: an analysis composes two fields per windowed layer, and the same few
    # compositions come back at every input shape (fields do not depend on the input size).
    @lru_cache(maxsize=4096)  # noqa: B019  (a NamedTuple holds no state the cache could keep alive)
    def through(self, kernel: int, stride: int, pad_before: int, dilation: int = 1) -> Field:
        """Compose with one more windowed layer (kernel/stride/padding along this axis)."""
        return Field(
            size=self.size + (effective_kernel(kernel, dilation) - 1) * self.stride,
            stride=self.stride * stride,
            padding=self.padding + pad_before * self.stride,
        )


IDENTITY_FIELD = Field(1, 1, 0)
