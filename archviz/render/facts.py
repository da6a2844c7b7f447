"""The totals footer shared by every human-readable format."""

from __future__ import annotations

from archviz.analysis import Analysis
from archviz.render import units

TRAINING_ASSUMPTIONS = (
    "float32 weights + gradients + one SGD-momentum buffer, every layer output kept for backward, "
    "no activation checkpointing, framework overhead not included"
)


def summary_facts(analysis: Analysis, convention_line: tuple[str, int] | None = None) -> list[tuple[str, str]]:
    """(label, value) rows: exact integers, with short units in brackets."""
    t = analysis.totals
    rows = [
        ("Input", f"{units.shape(analysis.input_shape)} (batch {analysis.batch})"),
        ("Output", _outputs(analysis)),
        ("Params (learnable)", f"{units.exact(t.params)} ({units.human(t.params)})"),
        ("Buffers (non-learnable)", f"{units.exact(t.buffers)}"),
        ("MACs", f"{units.exact(t.macs)} ({units.human(t.macs)})"),
        ("FLOPs (2 x MACs)", f"{units.exact(t.flops)} ({units.human(t.flops)})"),
        ("Elementwise ops", f"{units.exact(t.elementwise_ops)} ({units.human(t.elementwise_ops)})"),
    ]
    if convention_line is not None:
        label, value = convention_line
        rows.append((label, f"{units.exact(value)} ({units.human(value)})"))
    rows += [
        ("Param memory", f"{units.human_bytes(t.param_bytes)} fp32, {units.human_bytes(t.param_bytes_bf16)} bf16"),
        ("Activation memory", f"{units.human_bytes(t.activation_bytes)} fp32 (all layer outputs, batch {analysis.batch})"),
        ("Training memory (estimate)", f"{units.human_bytes(t.training_bytes_estimate)} ({TRAINING_ASSUMPTIONS})"),
    ]
    return rows


def _outputs(analysis: Analysis) -> str:
    """The output's shape; with several outputs (``outputs:``), each one's name and shape."""
    if len(analysis.outputs) < 2:
        return units.shape(analysis.totals.output_shape)
    return ", ".join(f"{name} {units.shape(shape)}" for name, shape in analysis.output_shapes)
