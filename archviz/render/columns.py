"""The columns a layer table can show; table, markdown, csv and html share this list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archviz.analysis import Analysis, LayerRecord
from archviz.errors import SpecError
from archviz.render import units
from archviz.suggest import did_you_mean


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str  # text, count, shape, percent, field
    value: Callable[[LayerRecord, Analysis], Any]
    help: str


def _pair(value: tuple[int, int] | None) -> Any:
    return None if value is None else value


COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("name", "Layer", "text", lambda r, a: r.name, "layer name"),
        Column("op", "Op", "text", lambda r, a: r.label, "op with key attributes (paper notation, e.g. conv3-64)"),
        Column("type", "Type", "text", lambda r, a: r.op, "op name in the spec language"),
        Column("stage", "Stage", "text", lambda r, a: r.stage or "", "stage the layer belongs to"),
        Column("inputs", "Inputs", "text", lambda r, a: ", ".join(r.inputs), "names of the input layers"),
        Column("output_shape", "Output shape", "shape", lambda r, a: r.output_shape, "channels first, no batch"),
        Column("params", "Params", "count", lambda r, a: r.params, "learnable parameters"),
        Column("params_pct", "% params", "percent", lambda r, a: (r.params, a.totals.params), "share of all params"),
        Column("buffers", "Buffers", "count", lambda r, a: r.buffers, "non-learnable state (BN running stats)"),
        Column("macs", "MACs", "count", lambda r, a: r.macs, "multiply-accumulates of conv/dense"),
        Column("macs_pct", "% MACs", "percent", lambda r, a: (r.macs, a.totals.macs), "share of all MACs"),
        Column("flops", "FLOPs", "count", lambda r, a: r.flops, "2 x MACs (FlopCounterMode's convention)"),
        Column("elementwise", "Elementwise", "count", lambda r, a: r.elementwise_ops,
               "the op's own elementwise work (activation, pooling, normalisation, add)"),
        Column("bias_adds", "Bias adds", "count", lambda r, a: r.bias_adds, "bias additions"),
        Column("activations", "Activations", "count", lambda r, a: r.output_elements, "output elements x batch"),
        Column("activation_bytes", "Act. memory", "bytes", lambda r, a: r.activation_bytes, "output bytes in the analysed dtype (--dtype; float32 by default)"),
        Column("receptive_field", "RF", "field", lambda r, a: _pair(r.receptive_field), "receptive field (h, w)"),
        Column("stride", "Eff. stride", "field", lambda r, a: _pair(r.effective_stride), "effective stride (h, w)"),
        Column("padding", "Eff. pad", "field", lambda r, a: _pair(r.effective_padding), "effective padding (h, w)"),
    )
}
# every output sees the whole input (after flatten, dense, global pooling); JSON's null
GLOBAL_FIELD = "global"
DEFAULT_COLUMNS = ("name", "op", "output_shape", "params", "params_pct", "macs", "macs_pct", "receptive_field")


def select(keys: str | None, flops: bool = False) -> list[Column]:
    chosen = list(DEFAULT_COLUMNS) if not keys else [k.strip() for k in keys.split(",") if k.strip()]
    if flops and "flops" not in chosen:
        chosen.insert(chosen.index("macs_pct") + 1 if "macs_pct" in chosen else len(chosen), "flops")
    for key in chosen:
        if key not in COLUMNS:
            raise SpecError(f"unknown column {key!r}", hint=did_you_mean(key, COLUMNS)
                            or f"columns: {', '.join(COLUMNS)}")
    return [COLUMNS[key] for key in chosen]


def cell_text(column: Column, record: LayerRecord, analysis: Analysis, human_units: bool) -> str:
    """The text of one cell for people (table, markdown, html)."""
    value = column.value(record, analysis)
    if column.kind == "text":
        return str(value)
    if column.kind == "shape":
        return units.shape(value)
    if column.kind == "count":
        return units.human(value) if human_units else units.exact(value)
    if column.kind == "bytes":
        return units.human_bytes(value) if human_units else units.exact(value)
    if column.kind == "percent":
        return units.percent(*value)
    if column.kind == "field":
        if value is None:
            return record.field_note or GLOBAL_FIELD
        return str(value[0]) if value[0] == value[1] else f"{value[0]}x{value[1]}"
    raise AssertionError(column.kind)


def raw_value(column: Column, record: LayerRecord, analysis: Analysis) -> Any:
    """The exact value of one cell for machines (csv): integers stay integers."""
    value = column.value(record, analysis)
    if column.kind == "shape":
        return units.shape(value)
    if column.kind == "percent":
        part, whole = value
        return f"{100 * part / whole:.4f}" if whole else ""
    if column.kind == "field":
        # spelled as in the table (cell_text): JSON has its null, text and CSV say "global"
        return (record.field_note or GLOBAL_FIELD) if value is None else f"{value[0]}x{value[1]}"
    return value
