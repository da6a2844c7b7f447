"""Normalisation: batch norm and local response normalisation (the others: archviz/ops/statnorm.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.ops.base import Attribute, Cost, Op, numel, register
from archviz.shapes import Shape


@register
class BatchNorm(Op):
    """params = 2*C (gamma, beta); buffers = 2*C + 1 (running mean and variance, batch counter)."""

    name = "batch_norm"
    family = "norm"
    summary = "Batch normalisation over channels (inference: one scale-and-shift per element)."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "eps": Attribute("float", "Added to the variance.", default=1e-5, above=0),
        "momentum": Attribute("float", "Running-statistics momentum (PyTorch's convention).", default=0.1, minimum=0,
                              maximum=1),
        "affine": Attribute("bool", "Learnable scale and shift.", default=True),
    }
    input_rank = None
    torch_notes = "nn.BatchNorm2d (nn.BatchNorm1d on flat input); buffers include num_batches_tracked (1 element)."
    keras_notes = (
        "BatchNormalization; Keras lists the running mean and variance as 2*C non-trainable params "
        "and has no batch counter."
    )

    eps: float
    momentum: float
    affine: bool

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return inputs[0]

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        channels = inputs[0][0]
        return Cost(
            params=2 * channels if self.affine else 0,
            buffers=2 * channels + 1,
            elementwise_ops=numel(output) * batch,
        )

    def label(self) -> str:
        return "BN"


@register
class LocalResponseNorm(Op):
    """b = a / (k + alpha * sum of a^2 over `size` neighbouring channels)^beta.

    elementwise_ops = output elements * (2*size + 2): size squares, size-1 additions,
    one scale, one add of k, one power, one division.
    """

    name = "lrn"
    family = "norm"
    summary = "Local response normalisation across channels (AlexNet; VGG configuration A-LRN)."
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "size": Attribute("int", "Number of neighbouring channels summed.", default=5, minimum=1),
        "alpha": Attribute("float", "Scale of the plain sum of squares (paper convention).", default=1e-4, minimum=0),
        "beta": Attribute("float", "Exponent.", default=0.75, minimum=0),
        "k": Attribute("float", "Additive constant.", default=2.0, above=0),
    }
    torch_notes = (
        "nn.LocalResponseNorm divides alpha by size: the paper's alpha=1e-4 is "
        "LocalResponseNorm(size=5, alpha=5e-4, beta=0.75, k=2)."
    )
    keras_notes = "tf.nn.local_response_normalization takes depth_radius=(size-1)/2 and bias=k; its alpha is per element as here."

    size: int
    alpha: float
    beta: float
    k: float

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        self.check_input_rank(inputs)
        return inputs[0]

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        return Cost(elementwise_ops=numel(output) * batch * (2 * self.size + 2))

    def label(self) -> str:
        return "LRN"
