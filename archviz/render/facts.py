"""The totals footer shared by every human-readable format."""

from __future__ import annotations

from archviz.analysis import TRAINING_ASSUMPTIONS, Analysis
from archviz.render import units

# the short names the footer has always printed; the analysis names the dtype
SHORT_DTYPE = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "int8": "int8"}


def training_memory(analysis: Analysis) -> str:
    """The training estimate with its assumptions (analysis.TRAINING_ASSUMPTIONS), or why there is none."""
    estimate = analysis.totals.training_bytes_estimate
    assumptions = TRAINING_ASSUMPTIONS[analysis.dtype]
    return assumptions if estimate is None else f"{units.human_bytes(estimate)} ({assumptions})"


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
    dtype = SHORT_DTYPE[t.dtype]
    params_in = f"{units.human_bytes(t.param_bytes)} {dtype}"
    if t.dtype == "float32":  # the footer has always offered the bf16 figure beside the default
        params_in += f", {units.human_bytes(t.param_bytes_bf16)} bf16"
    rows += [
        ("Param memory", params_in),
        ("Activation memory", f"{units.human_bytes(t.activation_bytes)} {dtype} (all layer outputs, batch {analysis.batch})"),
        ("Training memory (estimate)", training_memory(analysis)),
    ]
    rows += [("Note", note) for note in analysis.notes]
    return rows


def _outputs(analysis: Analysis) -> str:
    """The output's shape; with several outputs (``outputs:``), each one's name and shape."""
    if len(analysis.outputs) < 2:
        return units.shape(analysis.totals.output_shape)
    return ", ".join(f"{name} {units.shape(shape)}" for name, shape in analysis.output_shapes)
