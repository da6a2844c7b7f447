"""Named counting conventions: what each tool of the field calls "FLOPs" or "MACs".

Each convention is one documented combination of the primitive counts in a LayerRecord
(MACs, bias additions, input and output elements, params). Nothing else in archviz decides
what a FLOP is. The rules were measured op by op with each tool (docs/conventions.md gives
the versions, sources and per-op table); ops a tool ignores count 0 under its convention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from archviz.analysis import Analysis, LayerRecord
from archviz.errors import SpecError
from archviz.ops.base import numel
from archviz.suggest import did_you_mean


@dataclass(frozen=True)
class Convention:
    name: str
    tool: str
    unit: str
    counts: str
    leaves_out: str
    per_layer: Callable[[LayerRecord], int]

    def total(self, analysis: Analysis) -> int:
        return sum(self.per_layer(record) for record in analysis.layers)


def _batch(r: LayerRecord) -> int:
    return r.output_elements // numel(r.output_shape)


def _affine(r: LayerRecord) -> bool:
    return bool(r.attributes.get("affine", True))


def _macs(r: LayerRecord) -> int:
    return r.macs


def _fvcore(r: LayerRecord) -> int:
    """fvcore FlopCountAnalysis: MACs, no bias; BN (eval) 2/element (1 without affine); adaptive pooling 1/input."""
    if r.op == "batch_norm":
        return r.input_elements * (2 if _affine(r) else 1)
    if r.op in ("adaptive_avg_pool2d", "global_avg_pool2d"):
        return r.input_elements
    return r.macs


def _torchinfo(r: LayerRecord) -> int:
    """torchinfo total mult-adds: conv (weights + bias) per output position; other layers batch x params
    named weight or bias (attention: only its out_proj's)."""
    if r.op == "conv_transpose2d":
        _channels, height, width = r.output_shape
        return _batch(r) * r.params * height * width
    if r.op == "multi_head_attention":
        features = r.input_shapes[0][-1]
        return _batch(r) * (features * features + (features if r.bias_adds else 0))
    if r.family == "conv" or (r.family == "dense" and len(r.input_shapes[0]) == 1):
        return r.macs + r.bias_adds
    return _batch(r) * r.params


def _ptflops_aten(r: LayerRecord) -> int:
    """ptflops, aten backend: convolution and matrix products only, bias included."""
    return r.macs + r.bias_adds if r.family in ("conv", "dense", "matmul", "attention") else 0


def _ptflops_pytorch(r: LayerRecord) -> int:
    """ptflops, pytorch backend (0.7.5 default): module hooks plus patched functionals, so most
    elementwise modules are counted twice (hook and F.* call)."""
    base = r.macs + r.bias_adds
    if r.op == "multi_head_attention":
        # its hook: query scaling and softmax (archviz's elementwise ops), biases; the output
        # projection's bias always, even without one
        tokens, features = r.input_shapes[0]
        return r.macs + r.elementwise_ops + (r.bias_adds or _batch(r) * tokens * features)
    if r.op == "matmul":
        return r.macs
    fused = r.attributes.get("activation", "linear")
    if r.family in ("conv", "dense"):
        if fused in ("relu", "gelu", "elu"):
            base += 2 * r.output_elements
        elif fused in ("relu6", "leaky_relu", "silu", "softmax"):
            base += r.output_elements
        return base
    if r.op in ("relu", "gelu", "elu"):
        return 2 * r.input_elements
    if r.op in ("relu6", "leaky_relu", "silu", "softmax"):
        return r.input_elements
    if r.op in ("max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d", "global_max_pool2d"):
        return 2 * r.input_elements
    if r.op == "batch_norm":
        return r.input_elements * (2 if _affine(r) else 1)
    if r.op == "lrn":
        channels, height, width = r.input_shapes[0]
        size = int(r.attributes.get("size", 5))
        return 3 * r.input_elements + _batch(r) * (channels + size - 1) * height * width
    return 0


def _thop(r: LayerRecord) -> int:
    """thop profile: MACs without bias; BN 4/element (2 without affine); average pooling per output;
    adaptive pooling (window + 1) per output; softmax 3n-1 per row of n."""
    if r.family in ("conv", "dense"):
        return r.macs
    if r.op == "batch_norm":
        return r.input_elements * (4 if _affine(r) else 2)
    if r.op == "avg_pool2d":
        return r.output_elements
    if r.op in ("adaptive_avg_pool2d", "global_avg_pool2d"):
        _channels, height, width = r.input_shapes[0]
        out_h, out_w = (r.output_shape[1], r.output_shape[2]) if len(r.output_shape) == 3 else (1, 1)
        window = (height / out_h) * (width / out_w)
        return int((window + 1) * r.output_elements)
    if r.op == "softmax":
        features = r.input_shapes[0][int(r.attributes.get("axis", 0))]
        return (r.input_elements // features) * (3 * features - 1)
    return 0


def _flop_counter(r: LayerRecord) -> int:
    return r.flops


def _tf_receptive_field(r: LayerRecord) -> int:
    """TensorFlow receptive_field table: 2 per conv MAC + conv bias + one op per pooling window element,
    for the layers that still have a spatial receptive field (up to pool5 in VGG)."""
    if r.receptive_field is None:
        return 0
    if r.family == "conv":
        return r.flops + r.bias_adds
    if r.op in ("max_pool2d", "avg_pool2d"):
        return r.elementwise_ops
    return 0


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("macs", "archviz / torchvision docs", "MACs",
                   "multiply-accumulates of conv and dense layers", "bias, activations, pooling, normalisation", _macs),
        Convention("fvcore", "fvcore FlopCountAnalysis", "MACs",
                   "conv and dense MACs; batch norm 2 per element; adaptive average pooling 1 per input",
                   "bias, ReLU, max/avg pooling, add, softmax, LRN", _fvcore),
        Convention("torchinfo", "torchinfo total mult-adds", "MACs",
                   "conv and dense MACs plus bias adds; batch norm batch x params",
                   "activations, pooling, add", _torchinfo),
        Convention("ptflops-aten", "ptflops (aten backend)", "MACs",
                   "conv and dense MACs plus bias adds", "everything else", _ptflops_aten),
        Convention("ptflops", "ptflops (pytorch backend)", "MACs",
                   "MACs + bias; ReLU, GELU, pooling twice per element (hook + patched F.*); BN, LRN, softmax",
                   "sigmoid, tanh, add written as '+'", _ptflops_pytorch),
        Convention("thop", "thop profile", "MACs",
                   "conv and dense MACs; BN 4 per element; avg pooling; softmax",
                   "bias, ReLU, max pooling, LRN, add", _thop),
        Convention("flopcounter", "torch FlopCounterMode", "FLOPs",
                   "2 per MAC of conv and dense layers (archviz's flops column)", "bias, all elementwise work",
                   _flop_counter),
        Convention("tf-receptive-field", "TensorFlow receptive_field", "FLOPs",
                   "2 per conv MAC, conv bias, pooling windows, up to the last spatial layer",
                   "dense layers and anything after flatten", _tf_receptive_field),
    )
}


def get_convention(name: str) -> Convention:
    if name not in CONVENTIONS:
        raise SpecError(f"unknown convention {name!r}", hint=did_you_mean(name, CONVENTIONS)
                        or f"choose one of: {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]
