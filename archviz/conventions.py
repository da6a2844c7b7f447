"""Named counting conventions: what each tool of the field calls "FLOPs" or "MACs".

Each convention is one documented combination of the primitive counts in a LayerRecord
(MACs, bias additions, the op's own elementwise work, input elements). Nothing else in
archviz decides what a FLOP is. See docs/conventions.md for the sources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from archviz.analysis import Analysis, LayerRecord
from archviz.suggest import did_you_mean
from archviz.errors import SpecError


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


def _macs(r: LayerRecord) -> int:
    return r.macs


def _fvcore(r: LayerRecord) -> int:
    if r.op == "adaptive_avg_pool2d":
        return r.input_elements
    if r.op == "batch_norm":
        return r.output_elements * 2  # eval mode, affine: scale and shift
    return r.macs


def _torchinfo(r: LayerRecord) -> int:
    return r.macs + r.bias_adds


def _ptflops_aten(r: LayerRecord) -> int:
    return r.macs + r.bias_adds


def _ptflops_pytorch(r: LayerRecord) -> int:
    base = r.macs + r.bias_adds
    if r.family == "activation" and r.op not in ("softmax",):
        return base + 2 * r.output_elements
    if r.op in ("max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d", "global_max_pool2d"):
        return base + 2 * r.input_elements
    if r.op == "batch_norm":
        return base + 2 * 2 * r.output_elements
    return base


def _flop_counter(r: LayerRecord) -> int:
    return r.flops


def _tf_receptive_field(r: LayerRecord) -> int:
    if r.family == "dense" or (r.receptive_field is None):
        return 0
    if r.family == "conv":
        return r.flops + r.bias_adds
    if r.family == "pool":
        return r.elementwise_ops
    return 0


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("macs", "archviz / torchvision docs", "MACs",
                   "multiply-accumulates of conv and dense layers", "bias, activations, pooling, normalisation", _macs),
        Convention("fvcore", "fvcore FlopCountAnalysis", "MACs",
                   "conv and dense MACs, adaptive average pooling (input elements), batch norm (2 per element)",
                   "bias, ReLU, max pooling, add, softmax (ignored on purpose by fvcore)", _fvcore),
        Convention("torchinfo", "torchinfo total mult-adds", "MACs",
                   "conv and dense MACs plus one add per bias", "activations, pooling", _torchinfo),
        Convention("ptflops-aten", "ptflops (aten backend)", "MACs",
                   "conv and dense MACs plus bias", "activations, pooling", _ptflops_aten),
        Convention("ptflops", "ptflops (pytorch backend)", "MACs",
                   "conv and dense MACs, bias, activations and pooling", "nothing of the above", _ptflops_pytorch),
        Convention("flopcounter", "torch.utils.flop_counter.FlopCounterMode", "FLOPs",
                   "2 per MAC of conv and dense layers (archviz's flops column)", "bias, elementwise work", _flop_counter),
        Convention("tf-receptive-field", "TensorFlow receptive_field table", "FLOPs",
                   "2 per conv MAC, conv bias, pooling windows, up to the last spatial layer",
                   "dense layers and anything after flatten", _tf_receptive_field),
    )
}


def get_convention(name: str) -> Convention:
    if name not in CONVENTIONS:
        raise SpecError(f"unknown convention {name!r}", hint=did_you_mean(name, CONVENTIONS)
                        or f"choose one of: {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]
