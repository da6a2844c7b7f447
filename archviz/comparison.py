"""Networks side by side: the paper's Table 1 (layout) and Table 2 (size), plus compute and memory.

Produces plain records; archviz/render/compare.py prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

from archviz.analysis import Analysis

# What the paper's Table 1 shows: weight layers, LRN, pooling and the soft-max.
TABLE1_FAMILIES = ("conv", "dense", "pool")
TABLE1_OPS = ("lrn", "softmax")


@dataclass(frozen=True)
class NetworkColumn:
    name: str
    input_shape: tuple[int, ...]
    stages: tuple[tuple[str | None, tuple[str, ...]], ...]  # (stage, Table 1 entries)
    weight_layers: int
    params: int
    params_millions: int
    buffers: int
    macs: int
    flops: int
    activation_bytes: int
    param_bytes: int
    conv_params: int
    dense_params: int
    conv_macs: int
    dense_macs: int
    dtype: str  # of the memory figures
    training_bytes_estimate: int | None  # None: not estimated in this dtype (int8)


def table1_entries(analysis: Analysis) -> tuple[tuple[str | None, tuple[str, ...]], ...]:
    stages: list[tuple[str | None, list[str]]] = []
    for record in analysis.layers:
        if not (record.family in TABLE1_FAMILIES or record.op in TABLE1_OPS):
            if record.op == "batch_norm" and stages and stages[-1][1]:
                stages[-1][1][-1] += " +BN"
            continue
        label = "soft-max" if record.op == "softmax" else record.label
        if not stages or stages[-1][0] != record.stage:
            stages.append((record.stage, []))
        stages[-1][1].append(label)
    return tuple((stage, tuple(entries)) for stage, entries in stages)


def network_column(analysis: Analysis) -> NetworkColumn:
    t = analysis.totals
    conv = [r for r in analysis.layers if r.family == "conv"]
    dense = [r for r in analysis.layers if r.family == "dense"]
    return NetworkColumn(
        name=analysis.name,
        input_shape=analysis.input_shape,
        stages=table1_entries(analysis),
        weight_layers=len(conv) + len(dense),
        params=t.params,
        params_millions=round(t.params / 1e6),
        buffers=t.buffers,
        macs=t.macs,
        flops=t.flops,
        activation_bytes=t.activation_bytes,
        param_bytes=t.param_bytes,
        conv_params=sum(r.params for r in conv),
        dense_params=sum(r.params for r in dense),
        conv_macs=sum(r.macs for r in conv),
        dense_macs=sum(r.macs for r in dense),
        dtype=t.dtype,
        training_bytes_estimate=t.training_bytes_estimate,
    )


def compare(analyses: list[Analysis]) -> list[NetworkColumn]:
    return [network_column(a) for a in analyses]
