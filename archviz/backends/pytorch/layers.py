"""The torch modules that close the gaps between the spec language and ``torch.nn``.

``build`` uses plain ``torch.nn`` modules wherever they mean exactly what the spec says and these
small subclasses where they do not:

- explicit padding that PyTorch's own arguments cannot express (asymmetric, as TensorFlow's
  ``same`` with stride > 1 gives), applied with ``F.pad`` before the window;
- Keras-style fused activations on convolution and dense layers;
- max pooling padded with -inf and average pooling that leaves padding out of the divisor
  (``count_include_pad=False``, TensorFlow's rule), also when the padding is asymmetric;
- global pooling with a flat ``(N, C)`` output, and the two merges (add, concat).

Each layer subclass keeps its weights under PyTorch's usual names (``weight``, ``bias``), so a
built model's ``state_dict`` reads like a hand-written one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# F.pad's order for the last two axes: (left, right, top, bottom).
Pad4 = tuple[int, int, int, int]


def _crop(x: torch.Tensor, size: tuple[int, int] | None) -> torch.Tensor:
    # PyTorch's ceil_mode keeps a last window that starts in padding it was given explicitly;
    # archviz (and PyTorch with symmetric padding) drop it, so the extra row/column is cut off.
    if size is None or tuple(x.shape[-2:]) == size:
        return x
    return x[..., : size[0], : size[1]]


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` with optional explicit (asymmetric) padding and a fused activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int],
        *,
        stride: tuple[int, int] = (1, 1),
        padding: tuple[int, int] = (0, 0),
        dilation: tuple[int, int] = (1, 1),
        groups: int = 1,
        bias: bool = True,
        pad: Pad4 | None = None,
        activation: nn.Module | None = None,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias)
        self.pad = pad
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is not None:
            x = F.pad(x, self.pad)
        x = super().forward(x)
        return x if self.activation is None else self.activation(x)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.pad is None else f"{text}, pad={self.pad}"


class Linear(nn.Linear):
    """``nn.Linear`` with a fused activation (Keras' ``Dense(activation=...)``)."""

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 activation: nn.Module | None = None) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = super().forward(x)
        return x if self.activation is None else self.activation(x)


class PaddedMaxPool2d(nn.Module):
    """Max pooling after explicit padding with -inf (padding never wins the maximum)."""

    def __init__(self, kernel_size: tuple[int, int], stride: tuple[int, int], pad: Pad4, ceil_mode: bool,
                 output_size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.pad, self.ceil_mode = kernel_size, stride, pad, ceil_mode
        self.output_size = output_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, self.pad, value=float("-inf"))
        return _crop(F.max_pool2d(x, self.kernel_size, self.stride, 0, 1, self.ceil_mode), self.output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, pad={self.pad}, ceil_mode={self.ceil_mode}"


class PaddedAvgPool2d(nn.Module):
    """Average pooling over explicit (possibly asymmetric) padding, padding left out of the divisor.

    The window sums are divided by the number of real input pixels under each window, as
    TensorFlow's ``same`` pooling and PyTorch's ``count_include_pad=False`` do.
    """

    def __init__(self, kernel_size: tuple[int, int], stride: tuple[int, int], pad: Pad4, ceil_mode: bool,
                 output_size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.pad, self.ceil_mode = kernel_size, stride, pad, ceil_mode
        self.output_size = output_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ones = torch.ones((1, 1, *x.shape[-2:]), dtype=x.dtype, device=x.device)
        sums = F.avg_pool2d(F.pad(x, self.pad), self.kernel_size, self.stride, 0, self.ceil_mode,
                            divisor_override=1)
        counts = F.avg_pool2d(F.pad(ones, self.pad), self.kernel_size, self.stride, 0, self.ceil_mode,
                              divisor_override=1)
        return _crop(sums / counts, self.output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, pad={self.pad}, ceil_mode={self.ceil_mode}"


class GlobalAvgPool2d(nn.Module):
    """Mean over all spatial positions: ``(N, C, H, W) -> (N, C)`` (Keras' GlobalAveragePooling2D)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


class GlobalMaxPool2d(nn.Module):
    """Maximum over all spatial positions: ``(N, C, H, W) -> (N, C)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(F.adaptive_max_pool2d(x, 1), 1)


class Add(nn.Module):
    """Elementwise sum of two or more tensors of one shape."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        total = inputs[0]
        for other in inputs[1:]:
            total = total + other
        return total


class Concat(nn.Module):
    """Concatenation along the channel axis (``dim=1``)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=1)


class LayerGroup(nn.Module):
    """Holds the layers of one block instance (``layer1_1.conv1`` lives at ``layer1_1`` -> ``conv1``).

    It has no forward of its own: the enclosing ``SpecModule`` runs every layer in graph order.
    """
