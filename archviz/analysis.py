"""The analysis: the only place where numbers are computed.

``analyze(spec_layers, input_shape, batch)`` walks the layers in graph order, asks each op for
its output shape and costs, composes receptive fields, and returns frozen records and totals.
Renderers and exporters only read these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from archviz.errors import ArchvizError, ShapeError
from archviz.ops import GLOBAL, POINTWISE, Window
from archviz.ops.base import numel
from archviz.shapes import IDENTITY_FIELD, Field, Shape
from archviz.spec.expand import NETWORK_INPUT, LayerDef

if TYPE_CHECKING:
    import pandas as pd

BYTES_PER_VALUE = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1}
MAX_ELEMENTS = 2**80  # beyond this a network is a typo, not a model


@dataclass(frozen=True)
class LayerRecord:
    """Everything archviz knows about one layer, as exact integers (counts at the analysed batch)."""

    name: str
    op: str
    family: str
    label: str
    attributes: dict[str, Any]
    stage: str | None
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    buffers: int
    macs: int
    flops: int
    bias_adds: int
    elementwise_ops: int
    input_elements: int
    output_elements: int
    activation_bytes: int
    receptive_field: tuple[int, int] | None
    effective_stride: tuple[int, int] | None
    effective_padding: tuple[int, int] | None
    line: int | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Totals:
    """Sums over all layers plus memory figures (bytes at the analysed batch, float32 unless named)."""

    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    bias_adds: int
    elementwise_ops: int
    input_elements: int
    activation_elements: int
    activation_bytes: int
    param_bytes: int
    param_bytes_bf16: int
    buffer_bytes: int
    training_bytes_estimate: int
    output_shape: Shape
    layers: int

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Analysis:
    """The result of analysing a network at one input shape and batch size."""

    name: str
    spec: str
    input_shape: Shape
    batch: int
    layers: tuple[LayerRecord, ...]
    totals: Totals
    variables: dict[str, Any]

    def layer(self, name: str) -> LayerRecord:
        for record in self.layers:
            if record.name == name:
                return record
        raise KeyError(name)

    def stage_totals(self) -> list[tuple[str | None, dict[str, int]]]:
        """Subtotals of params, buffers, MACs and FLOPs per stage, in order of appearance."""
        order: list[str | None] = []
        sums: dict[str | None, dict[str, int]] = {}
        for record in self.layers:
            if record.stage not in sums:
                order.append(record.stage)
                sums[record.stage] = {"params": 0, "buffers": 0, "macs": 0, "flops": 0, "layers": 0}
            entry = sums[record.stage]
            entry["params"] += record.params
            entry["buffers"] += record.buffers
            entry["macs"] += record.macs
            entry["flops"] += record.flops
            entry["layers"] += 1
        return [(stage, sums[stage]) for stage in order]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per layer (pandas is imported only here)."""
        import pandas as pd

        return pd.DataFrame([record.as_dict() for record in self.layers])


def analyze_layers(
    name: str,
    spec: str,
    layers: Sequence[LayerDef],
    input_shape: Shape,
    batch: int = 1,
    variables: dict[str, Any] | None = None,
) -> Analysis:
    """Compute every record; ``layers`` must be in graph order (inputs first)."""
    if batch < 1:
        raise ShapeError(f"batch must be >= 1. Received: batch={batch}")
    if any(dim < 1 for dim in input_shape):
        raise ShapeError(f"input dimensions must be >= 1. Received: input={list(input_shape)}")
    shapes: dict[str, Shape] = {NETWORK_INPUT: input_shape}
    spatial = len(input_shape) == 3
    fields_: dict[str, tuple[Field, Field] | None] = {
        NETWORK_INPUT: (IDENTITY_FIELD, IDENTITY_FIELD) if spatial else None
    }
    records = []
    for layer in layers:
        in_shapes = tuple(shapes[source] for source in layer.inputs)
        try:
            output = layer.op.output_shape(in_shapes)
            out_elements = numel(output)
            if out_elements < 1:
                raise ShapeError(f"output shape {list(output)} has no elements",
                                 hint="use a larger input or fewer pooling/strided layers")
            if out_elements * batch > MAX_ELEMENTS:
                raise ShapeError(f"output has {out_elements * batch:,} elements, beyond archviz's limit of 2**80",
                                 hint="check the input size and filter counts")
            cost = layer.op.cost(in_shapes, output, batch)
            field = _compose_field(layer, in_shapes, fields_)
        except ArchvizError as exc:
            raise exc.with_context(layer.location, layer.name)
        shapes[layer.name] = output
        fields_[layer.name] = field
        records.append(
            LayerRecord(
                name=layer.name,
                op=layer.op.name,
                family=layer.op.family,
                label=layer.op.label(),
                attributes=layer.op.values,
                stage=layer.stage,
                inputs=layer.inputs,
                input_shapes=in_shapes,
                output_shape=output,
                params=cost.params,
                buffers=cost.buffers,
                macs=cost.macs,
                flops=2 * cost.macs,
                bias_adds=cost.bias_adds,
                elementwise_ops=cost.elementwise_ops,
                input_elements=sum(numel(shape) for shape in in_shapes) * batch,
                output_elements=out_elements * batch,
                activation_bytes=out_elements * batch * BYTES_PER_VALUE["float32"],
                receptive_field=(field[0].size, field[1].size) if field else None,
                effective_stride=(field[0].stride, field[1].stride) if field else None,
                effective_padding=(field[0].padding, field[1].padding) if field else None,
                line=layer.location.line,
            )
        )
    return Analysis(name, spec, input_shape, batch, tuple(records), _totals(records, input_shape, batch),
                    dict(variables or {}))


def _compose_field(
    layer: LayerDef, in_shapes: tuple[Shape, ...], known: dict[str, tuple[Field, Field] | None]
) -> tuple[Field, Field] | None:
    incoming = [known[source] for source in layer.inputs]
    if any(f is None for f in incoming):
        return None
    rule = layer.op.field_rule(in_shapes)
    if rule == GLOBAL:
        return None
    # Merging branches: the field is the widest branch's, as long as they step alike.
    fields_in = [f for f in incoming if f is not None]
    if len({(f[0].stride, f[1].stride) for f in fields_in}) > 1:
        return None
    base = max(fields_in, key=lambda f: (f[0].size * f[1].size, f[0].padding + f[1].padding))
    if rule == POINTWISE:
        return base
    assert isinstance(rule, Window)
    return (
        base[0].through(rule.kernel[0], rule.stride[0], rule.pad_before[0], rule.dilation[0]),
        base[1].through(rule.kernel[1], rule.stride[1], rule.pad_before[1], rule.dilation[1]),
    )


def _totals(records: list[LayerRecord], input_shape: Shape, batch: int) -> Totals:
    params = sum(r.params for r in records)
    buffers = sum(r.buffers for r in records)
    activation_elements = sum(r.output_elements for r in records)
    value = BYTES_PER_VALUE["float32"]
    return Totals(
        params=params,
        trainable_params=params,
        buffers=buffers,
        macs=sum(r.macs for r in records),
        flops=sum(r.flops for r in records),
        bias_adds=sum(r.bias_adds for r in records),
        elementwise_ops=sum(r.elementwise_ops for r in records),
        input_elements=numel(input_shape) * batch,
        activation_elements=activation_elements,
        activation_bytes=activation_elements * value,
        param_bytes=params * value,
        param_bytes_bf16=params * BYTES_PER_VALUE["bfloat16"],
        buffer_bytes=buffers * value,
        # weights + gradients + one momentum buffer (SGD with momentum), plus every layer's
        # output kept for the backward pass and the input batch, all float32.
        training_bytes_estimate=3 * params * value + (activation_elements + numel(input_shape) * batch) * value,
        output_shape=records[-1].output_shape if records else input_shape,
        layers=len(records),
    )
