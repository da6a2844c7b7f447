"""Matrix products and multi-head self-attention.

Tokens mix here: every output position depends on every input position, so the receptive
field is not applicable (None) after these ops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from archviz.errors import ShapeError
from archviz.ops.base import NOT_APPLICABLE, Attribute, Cost, Op, new_cost, numel, register
from archviz.shapes import Shape


@register
class Matmul(Op):
    """(..., n, k) @ (..., k, m) -> (..., n, m); MACs = n*k*m per matrix pair (leading axes broadcast)."""

    name = "matmul"
    family = "matmul"
    summary = ("Matrix product of two inputs per sample, as torch.matmul: (..., n, k) @ (..., k, m); leading axes "
               "broadcast (equal or 1; inputs of one rank, at least 2). transpose_b multiplies by the second "
               "input's transpose (queries times keys).")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "transpose_b": Attribute("bool", "Use the second input transposed over its last two axes.", default=False),
    }
    min_inputs = 2
    max_inputs = 2
    input_rank = None
    static_field_rule = NOT_APPLICABLE
    torch_notes = "torch.matmul(a, b) (b.transpose(-2, -1) with transpose_b); FlopCounterMode counts 2 per MAC."

    transpose_b: bool

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        a, b = inputs
        if len(a) < 2 or len(b) != len(a):
            raise ShapeError(f"matmul needs two inputs of one rank, at least 2 (matrices per sample). "
                             f"Received: shapes={[list(a), list(b)]}",
                             hint="reshape a vector to [1, n] or [n, 1] first")
        if self.transpose_b:
            b = (*b[:-2], b[-1], b[-2])
        if a[-1] != b[-2]:
            raise ShapeError(f"matmul needs the first input's last axis ({a[-1]}) to equal the second's "
                             f"{'last' if self.transpose_b else 'second-to-last'} axis ({b[-2]}). "
                             f"Received: shapes={[list(inputs[0]), list(inputs[1])]}",
                             hint="permute one input, or set transpose_b" if not self.transpose_b else None)
        leading = []
        for x, y in zip(a[:-2], b[:-2], strict=True):
            if x != y and 1 not in (x, y):
                raise ShapeError(f"matmul's leading axes must be equal or 1. Received: shapes="
                                 f"{[list(inputs[0]), list(inputs[1])]}", hint="make the batch-like axes agree")
            leading.append(max(x, y))
        return (*leading, a[-2], b[-1])

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        return Cost(macs=numel(output) * inputs[0][-1] * batch)

    def label(self) -> str:
        return "matmul"


@register
class MultiHeadAttention(Op):
    """params = 4*D*D + 4*D (in_proj 3*D*D + 3*D, out_proj D*D + D); MACs = 4*L*D*D + 2*L*L*D per sample.

    MACs, per sample of L tokens of width D: the query, key and value projections 3*L*D*D, the
    scores Q K^T L*L*D (over all heads: L*L*(D/h) each), softmax(scores) V another L*L*D, the
    output projection L*D*D. elementwise_ops: the query scaling L*D and the softmax h*L*L.
    """

    name = "multi_head_attention"
    family = "attention"
    summary = ("Multi-head self-attention over (tokens, features) as one op, with nn.MultiheadAttention's "
               "parameter layout: in_proj (3*D x D weight, 3*D bias) and out_proj (D x D, D). MACs: projections "
               "3*L*D^2, Q K^T L^2*D, softmax x V L^2*D, output projection L*D^2.")
    attributes: ClassVar[Mapping[str, Attribute]] = {
        "heads": Attribute("int", "Number of heads; divides the features D.", minimum=1),
        "bias": Attribute("bool", "Biases on the projections.", default=True),
        "dropout": Attribute("float", "Attention dropout (none at inference).", default=0.0, minimum=0,
                             below=1),
    }
    input_rank = 2
    static_field_rule = NOT_APPLICABLE
    torch_notes = ("nn.MultiheadAttention(D, heads, dropout, bias, batch_first=True) called as self-attention "
                   "(query = key = value); the build runs F.multi_head_attention_forward's matrix products, which "
                   "FlopCounterMode counts, instead of the fused fast path it does not.")

    heads: int
    bias: bool
    dropout: float

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        self.check_input_rank(inputs)
        features = inputs[0][1]
        if features % self.heads:
            raise ShapeError(f"multi_head_attention needs features divisible by heads. "
                             f"Received: features={features}, heads={self.heads}",
                             hint="choose heads that divide the token width")
        return inputs[0]

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        tokens, features = inputs[0]
        params = 4 * features * features + (4 * features if self.bias else 0)
        macs = (4 * tokens * features * features + 2 * tokens * tokens * features) * batch
        bias_adds = 4 * tokens * features * batch if self.bias else 0
        elementwise = (tokens * features + self.heads * tokens * tokens) * batch
        return new_cost(Cost, (params, 0, macs, bias_adds, elementwise))

    def label(self) -> str:
        return f"MHA h{self.heads}"
