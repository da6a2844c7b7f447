"""The torch modules that close the gaps between the spec language and ``torch.nn``.

``build`` uses plain ``torch.nn`` modules wherever they mean exactly what the spec says and these
small subclasses where they do not:

- explicit padding that PyTorch's own arguments cannot express (asymmetric, as TensorFlow's
  ``same`` with stride > 1 gives), applied with ``F.pad`` before the window;
- Keras-style fused activations on convolution and dense layers;
- max pooling padded with -inf and average pooling that leaves padding out of the divisor
  (``count_include_pad=False``, TensorFlow's rule), also when the padding is asymmetric;
- global pooling with a flat ``(N, C)`` output, and the merges (add, multiply, concat on an axis);
- the ops torch writes as tensor methods (reshape, permute, narrow, select, matmul), a learnable
  tensor expanded over the batch, layer norm over a non-last axis, SSD's L2Norm, channel shuffle,
  max unpooling from the pooled map, and self-attention run through the matrix products that
  FlopCounterMode counts.

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


class Multiply(nn.Module):
    """Elementwise product of two or more tensors (PyTorch broadcasting)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        total = inputs[0]
        for other in inputs[1:]:
            total = total * other
        return total


class Concat(nn.Module):
    """Concatenation along one axis (``dim=1``, the channels, by default)."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Reshape(nn.Module):
    """``x.reshape(N, *shape)``: the batch axis kept."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Permute(nn.Module):
    """``x.permute(0, *dims)`` with ``dims`` counted after the batch axis (the batch stays first)."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *(d + 1 for d in self.dims))

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Narrow(nn.Module):
    """One output of a split, or a slice: ``x.narrow(dim, start, length)`` (every ``step``-th element)."""

    def __init__(self, dim: int, start: int, length: int, step: int = 1) -> None:
        super().__init__()
        self.dim, self.start, self.length, self.step = dim, start, length, step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step == 1:
            return x.narrow(self.dim, self.start, self.length)
        index = [slice(None)] * x.dim()
        index[self.dim] = slice(self.start, self.start + (self.length - 1) * self.step + 1, self.step)
        return x[tuple(index)]

    def extra_repr(self) -> str:
        step = f", step={self.step}" if self.step != 1 else ""
        return f"dim={self.dim}, start={self.start}, length={self.length}{step}"


class Select(nn.Module):
    """``x.select(dim, index)``: the axis disappears (ViT's class token)."""

    def __init__(self, dim: int, index: int) -> None:
        super().__init__()
        self.dim, self.index = dim, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.dim, self.index)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, index={self.index}"


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: (N, g*c, ...) viewed as (N, g, c, ...), the two axes swapped."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, *rest = x.shape
        x = x.reshape(batch, self.groups, channels // self.groups, *rest).transpose(1, 2)
        return x.reshape(batch, channels, *rest)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class LearnableTensor(nn.Module):
    """A learnable tensor (layer scale, class token, position embedding), expanded over the batch
    of its input: a view, no copy. Only the input's batch size is read."""

    def __init__(self, shape: tuple[int, ...], value: float = 0.0, std: float | None = None) -> None:
        super().__init__()
        self.value, self.std = value, std
        self.weight = nn.Parameter(torch.empty(shape))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.std is None:
                self.weight.fill_(self.value)
            else:
                self.weight.normal_(0.0, self.std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Under no_grad a view of a parameter still says requires_grad but has no grad_fn, which
        # FlopCounterMode's module tracker cannot hook; the detached view has the same values.
        weight = self.weight if torch.is_grad_enabled() else self.weight.detach()
        return weight.expand(x.shape[0], *weight.shape)

    def extra_repr(self) -> str:
        return f"shape={tuple(self.weight.shape)}"


class LayerNormAxis(nn.LayerNorm):
    """``nn.LayerNorm`` over one axis that is not the last (``dim``): moved last and back, as
    torchvision's LayerNorm2d does for the channels of a C x H x W map."""

    def __init__(self, size: int, dim: int, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True) -> None:
        super().__init__(size, eps=eps, elementwise_affine=elementwise_affine, bias=bias)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(self.dim, -1)).movedim(-1, self.dim)


class L2Norm(nn.Module):
    """SSD's L2Norm: each position's channel vector scaled to unit length, times a learnable scale per channel."""

    def __init__(self, channels: int, scale: float = 20.0, eps: float = 1e-12) -> None:
        super().__init__()
        self.scale, self.eps = scale, eps
        self.weight = nn.Parameter(torch.empty(channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.fill_(self.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return self.weight.view(shape) * F.normalize(x, dim=1, eps=self.eps)


class Matmul(nn.Module):
    """``torch.matmul(a, b)``, with ``b`` transposed over its last two axes where asked."""

    def __init__(self, transpose_b: bool = False) -> None:
        super().__init__()
        self.transpose_b = transpose_b

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b.transpose(-2, -1) if self.transpose_b else b)


class MaxUnpool2d(nn.Module):
    """Max unpooling of ``x`` into the positions of the maxima of ``pooled``'s windows (SegNet):
    the indices are those of max pooling ``pooled``, the output has its size."""

    def __init__(self, kernel_size: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        _, indices = F.max_pool2d(pooled, self.kernel_size, self.stride, self.padding, return_indices=True)
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding,
                              output_size=pooled.shape[-2:])

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class SelfAttention(nn.MultiheadAttention):
    """``nn.MultiheadAttention`` as self-attention on batch-first tokens, with its parameter layout.

    It runs ``F.multi_head_attention_forward``'s matrix products (``need_weights=True``): the fused
    fast path that ``nn.MultiheadAttention`` takes at inference on CPU computes the same output,
    but FlopCounterMode counts no FLOPs in it.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__(embed_dim, num_heads, dropout=dropout, bias=bias, batch_first=True)

    def reset_parameters(self) -> None:
        self._reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        tokens = x.transpose(0, 1)
        out, _ = F.multi_head_attention_forward(
            tokens, tokens, tokens, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, need_weights=True)
        return out.transpose(0, 1)


class LayerGroup(nn.Module):
    """Holds the layers of one block instance (``layer1_1.conv1`` lives at ``layer1_1`` -> ``conv1``).

    It has no forward of its own: the enclosing ``SpecModule`` runs every layer in graph order.
    """
