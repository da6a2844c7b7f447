"""The analysis: the only place where numbers are computed.

``analyze(spec_layers, input_shape, batch)`` walks the layers in graph order, asks each op for
its output shape and costs, composes receptive fields, and returns frozen records and totals.
Renderers and exporters only read these.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from archviz.errors import ArchvizError, ShapeError
from archviz.ops import GLOBAL, NOT_APPLICABLE, POINTWISE, Op, Window
from archviz.ops.base import FieldRule, numel
from archviz.shapes import IDENTITY_FIELD, Field, Shape
from archviz.spec.expand import NETWORK_INPUT, LayerDef

if TYPE_CHECKING:
    import pandas as pd

    from archviz.render.notebook import Picture

RECORDS_LIMIT = 20_000  # records a plan remembers for later analyses (a few MB)
BYTES_PER_VALUE = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1}
DTYPES = tuple(BYTES_PER_VALUE)
# What the training estimate assumes in each dtype (docs/conventions.md, "Memory"); the JSON,
# the summary's footer, compare and sweep all quote these.
TRAINING_ASSUMPTIONS = {
    "float32": "float32 weights + gradients + one SGD-momentum buffer, every layer output kept for backward, "
               "no activation checkpointing, framework overhead not included",
    "bfloat16": "mixed precision: float32 master weights + gradients + one SGD-momentum buffer, a bfloat16 copy "
                "of the weights, every layer output kept for backward in bfloat16, no activation checkpointing, "
                "framework overhead not included",
    "float16": "mixed precision: float32 master weights + gradients + one SGD-momentum buffer, a float16 copy "
               "of the weights, every layer output kept for backward in float16, no activation checkpointing, "
               "loss scaling and framework overhead not included",
    "int8": "not estimated: int8 is an inference format (train in float32 or mixed precision, then quantise)",
}
MAX_ELEMENTS = 2**80  # beyond this a network is a typo, not a model


class LayerRecord(NamedTuple):
    """Everything archviz knows about one layer, as exact integers (counts at the analysed batch).

    A NamedTuple rather than a frozen dataclass: an analysis builds one per layer, and building
    a 22-field tuple costs a tenth of filling a 22-key instance dict (the difference was half of
    a VGG16 re-analysis). Read-only like the dataclass was; ``as_dict`` gives the fields by name.
    """

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
    # why there is no receptive field where it is None: "global" (every output sees the whole
    # input: flatten, dense, global pooling) or "n/a" (not applicable: the output positions are no
    # longer pixels on the input's grid, e.g. tokens after attention, upsampled maps); "" where defined
    field_note: str

    def as_dict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self))


class Totals(NamedTuple):
    """Sums over all layers plus memory figures (bytes at the analysed batch, in ``dtype`` unless named).

    A NamedTuple for the same reason as LayerRecord: a sweep builds one per variant.
    """

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
    training_bytes_estimate: int | None  # None where the dtype is not trained in (int8)
    output_shape: Shape
    layers: int
    dtype: str  # the dtype of activation_bytes, param_bytes, buffer_bytes and the training estimate

    def as_dict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self))


class MemoryStep(NamedTuple):
    """One layer's output in a PyTorch eval forward pass (``Analysis.memory_profile``), bytes in the dtype."""

    name: str
    storage: str  # "new", "view" (shares its input's storage) or "in place" (overwrote its input)
    output_bytes: int  # the record's activation_bytes: the tensor's size, whatever holds it
    allocated_bytes: int  # what the layer allocates: output_bytes where "new", else 0
    live_bytes: int  # layer outputs alive while the layer runs: its inputs, its output, and all still to be read


class MemoryProfile(NamedTuple):
    steps: tuple[MemoryStep, ...]
    allocated_bytes: int  # the sum of the steps' allocated_bytes
    peak_bytes: int  # the largest live_bytes
    peak_layer: str  # the first layer where live_bytes is the peak


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
    # the layers whose results the network returns ('outputs:' in the spec; else the last layer)
    outputs: tuple[str, ...] = ()  # empty only in an Analysis built by hand
    # what the user should know but that does not stop the analysis (a layer nothing reads)
    warnings: tuple[str, ...] = ()
    # what a reader of the numbers should know about them (a dense layer sized by the input)
    notes: tuple[str, ...] = ()

    @property
    def dtype(self) -> str:
        """The dtype the memory figures are in (``analyze(..., dtype=...)``; float32 by default)."""
        return self.totals.dtype

    @property
    def output_shapes(self) -> tuple[tuple[str, Shape], ...]:
        """(name, shape) of each output; ``totals.output_shape`` is the first one's."""
        return tuple((name, self.layer(name).output_shape) for name in self.outputs)

    def _repr_html_(self) -> str:
        """Jupyter's display: the layer table with stage subtotals and totals."""
        from archviz.render.notebook import analysis_html

        return analysis_html(self)

    def chart(self, kind: str = "cost", theme: str = "light") -> Picture:
        """A chart of this analysis (``archviz chart --kind``: cost, params, macs, memory,
        accuracy) as an SVG picture a notebook draws inline; ``.save(path)`` writes it."""
        from archviz.render.charts import render_chart
        from archviz.render.notebook import Picture

        return Picture(render_chart([self], kind, "svg", theme))

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

    def memory_profile(self) -> MemoryProfile:
        """Where the layer outputs live in a PyTorch forward pass without gradients (docs/conventions.md, "Memory").

        A layer whose op is a view (flatten, reshape, identity, dropout) shares its input's
        storage; an op torchvision runs in place (ReLU) overwrites its input where nothing reads
        that input afterwards (not the network's input or output, no other reader later). Both
        allocate nothing. A storage is freed after the last layer that reads any tensor on it;
        the network's outputs (and outputs nothing reads) stay alive to the end. The network's
        input is the caller's and not counted.
        """
        from archviz.ops import OP_REGISTRY
        from archviz.ops.base import IN_PLACE, NEW_STORAGE, VIEW

        end = len(self.layers)
        last_reader: dict[str, int] = {}
        for index, record in enumerate(self.layers):
            for source in record.inputs:
                last_reader[source] = index
        for name in self.outputs:
            last_reader[name] = end
        # tensor -> the layer that allocated its storage (-1: the network's input, never overwritten)
        storage_of: dict[str, int] = {NETWORK_INPUT: -1}
        on_storage: dict[int, list[str]] = {-1: [NETWORK_INPUT]}
        kinds: list[str] = []
        for index, record in enumerate(self.layers):
            op = OP_REGISTRY.get(record.op)
            wanted = op.output_storage if op is not None else NEW_STORAGE
            owner = storage_of.get(record.inputs[0]) if len(record.inputs) == 1 else None
            kind = NEW_STORAGE
            if wanted == VIEW and owner is not None:
                kind = VIEW
            elif wanted == IN_PLACE and owner is not None and owner >= 0 and all(
                    last_reader.get(tensor, end) <= index for tensor in on_storage[owner]):
                kind = IN_PLACE
            if kind == NEW_STORAGE or owner is None:
                owner = index
            kinds.append(kind)
            storage_of[record.name] = owner
            on_storage.setdefault(owner, []).append(record.name)
        freed_after = {owner: max(last_reader.get(tensor, end) for tensor in tensors)
                       for owner, tensors in on_storage.items()}
        freeing: dict[int, int] = {}
        steps: list[MemoryStep] = []
        live = allocated = peak = 0
        peak_layer = ""
        for index, (record, kind) in enumerate(zip(self.layers, kinds, strict=True)):
            size = record.activation_bytes if kind == NEW_STORAGE else 0
            live += size
            allocated += size
            steps.append(MemoryStep(record.name, kind, record.activation_bytes, size, live))
            if live > peak or not peak_layer:
                peak, peak_layer = live, record.name
            if size:
                freeing[freed_after[index]] = freeing.get(freed_after[index], 0) + size
            live -= freeing.pop(index, 0)
        return MemoryProfile(tuple(steps), allocated, peak, peak_layer)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per layer (pandas is imported only here)."""
        import pandas as pd

        return pd.DataFrame([record.as_dict() for record in self.layers])


class Plan:
    """What analysing a layer list needs that does not depend on the input: built once per network.

    Each step is (layer, op, positions of its inputs in the shape list, label), where position
    0 is the network input and position i the i-th layer, so the walk does no name lookups.
    ``constants[k]`` holds the fields of step k's record that no input shape changes.
    ``cuts[k]`` is the one position whose shape is still needed by steps k and later, or -1
    where several are (inside a branching block): at a cut, everything after it depends only
    on that one shape (see ``totals_only``'s memo).
    ``tokens[k]`` names the ops of steps 0..k (same token: same ops, same wiring) among plans
    made from one another by ``rebind``: a sweep resumes a walk where another variant's ended.
    """

    __slots__ = ("_fields", "_tokens", "constants", "cuts", "layers", "remembered", "resumable", "steps", "suffixes",
                 "tails", "walk")

    def __init__(self, layers: Sequence[LayerDef]) -> None:
        position = {NETWORK_INPUT: 0}
        steps = []
        constants = []
        walk = []
        last_use = [-1] * (len(layers) + 1)
        for index, layer in enumerate(layers, 1):
            op = layer.op
            positions = tuple(position[source] for source in layer.inputs)
            label = op.label()
            steps.append((layer, op, positions, label))
            constants.append(_record_constants(layer, label))
            walk.append((index, layer, op, positions, positions[0] if len(positions) == 1 else -1,
                         constants[-1]))
            position[layer.name] = index
            for used in positions:
                last_use[used] = index - 1
        self.layers = tuple(layers)
        self.steps: tuple[tuple[LayerDef, Op, tuple[int, ...], str], ...] = tuple(steps)
        self.constants: tuple[RecordConstants, ...] = tuple(constants)
        cuts = []
        live: set[int] = set()
        for step in range(len(steps)):
            if last_use[step] >= step:
                live.add(step)
            cuts.append(next(iter(live)) if len(live) == 1 else -1)
            live.difference_update([p for p in steps[step][2] if last_use[p] == step])
        self.cuts = tuple(cuts)
        # the steps after which a walk can stop and resume: one shape is all the rest needs
        self.resumable = tuple(step for step in range(len(steps) - 1) if cuts[step + 1] >= 0)
        # what analyze_layers reads per step, in one tuple: (position, layer, op, input
        # positions, the single input's position or -1, the record's constant fields)
        self.walk = tuple(walk)
        self._fields: dict[bool, tuple[list[FieldPair | None], list[FieldColumns | None], int]] = {}
        self._tokens = _PrefixTokens()
        # analyze_layers' records by (step, input shapes, batch, spatial input), where the field
        # is the plan's (which depends on nothing else)
        self.remembered: dict[tuple[int, tuple[Shape, ...], int, bool], tuple[LayerRecord, int]] = {}
        # totals_only's memo for Network.totals_at, per batch
        self.suffixes: dict[int, dict[tuple[int, Shape], Suffix]] = {}
        # analyze_layers' records after a cut, by (step, shape at the cut, batch, spatial input)
        self.tails: dict[tuple[int, Shape, int, bool], Tail] = {}

    def rebind(self, layers: Sequence[LayerDef], candidates: Iterable[int] | None = None) -> Plan:
        """The plan of ``layers``: this plan's layers with some replaced by layers of the same name
        and inputs (another op), as a replay makes them. Unchanged steps are shared.

        ``candidates``: the only indices where ``layers`` may differ from this plan's (a replay
        knows them); None: look at every layer.
        """
        if len(layers) != len(self.layers):
            raise ValueError("rebind needs as many layers as the plan has")
        plan = object.__new__(Plan)
        steps, constants, walk = list(self.steps), list(self.constants), list(self.walk)
        rebound = self._tokens.rebound  # a sweep meets the same replaced layers again and again
        first_changed = len(layers)
        for index in range(len(layers)) if candidates is None else candidates:
            layer, before = layers[index], self.layers[index]
            if layer is before:
                continue
            first_changed = min(first_changed, index)
            entry = rebound.get(id(layer))
            if entry is None or entry[0] is not layer:
                if layer.name != before.name or layer.inputs != before.inputs:
                    raise ValueError(f"rebind cannot rewire layer {before.name!r}")
                op = layer.op
                label = op.label()
                record = _record_constants(layer, label)
                position, _, _, positions, single, _ = walk[index]
                entry = (layer, (layer, op, steps[index][2], label), record,
                         (position, layer, op, positions, single, record))
                if len(rebound) >= _PrefixTokens.REBOUND_LIMIT:
                    rebound.clear()
                rebound[id(layer)] = entry  # the entry holds the layer: its id is not reused meanwhile
            _, steps[index], constants[index], walk[index] = entry
        plan.layers = tuple(layers)
        plan.steps, plan.constants, plan.walk = tuple(steps), tuple(constants), tuple(walk)
        plan.cuts, plan.resumable = self.cuts, self.resumable
        plan._fields = {}
        plan.remembered, plan.suffixes, plan.tails = {}, {}, {}
        plan._tokens = self._tokens.shared(self, first_changed)
        return plan

    @property
    def tokens(self) -> tuple[int, ...]:
        return self._tokens.of(self.steps)

    def fields(self, spatial: bool) -> tuple[list[FieldPair | None], list[FieldColumns | None], int]:
        """Receptive fields that no input shape changes, per position, composed once per network.

        Returns the field pairs (None: no field, e.g. after flatten) and the same as record
        columns (size, stride, padding pairs), where the columns are None for a position whose
        field depends on the input shape ('same' padding, adaptive pooling, or after one): the
        analysis composes those itself. In a VGG every field is known here. Third: the first
        step from which every field is known.
        """
        known = self._fields.get(spatial)
        if known is None:
            pairs: list[FieldPair | None] = [(IDENTITY_FIELD, IDENTITY_FIELD) if spatial else NOT_APPLICABLE_PAIR]
            columns: list[FieldColumns | None] = [_columns(pairs[0])]
            for _layer, op, positions, _label in self.steps:
                rule = op.static_field_rule
                if rule is None or any(columns[i] is None for i in positions):
                    pairs.append(None)
                    columns.append(None)
                else:
                    pair = _compose_field(rule, [pairs[i] for i in positions])
                    pairs.append(pair)
                    columns.append(_columns(pair))
            first = len(columns) - 1
            while first > 0 and columns[first] is not None:
                first -= 1  # columns are by position: position first + 1 is step first
            known = self._fields[spatial] = (pairs, columns, first)
        return known


class _PrefixTokens:
    """Numbers for prefixes of ops, shared by a plan and the plans rebound from it.

    The token of steps 0..k is the number given to (the token of steps 0..k-1, the op of step
    k); ops are compared by identity (a replay shares equal ops), the wiring is the family's.
    Numbers come from one process-wide counter, so tokens of unrelated plans never meet.
    """

    __slots__ = ("base", "first_changed", "rebound", "table", "tokens")
    # remembered prefixes and rebound steps per family (each keeps its op alive); past these,
    # they start afresh: a sweep of 100,000 class counts must not keep 100,000 ops
    LIMIT = 20_000
    REBOUND_LIMIT = 4096

    def __init__(self, table: dict[tuple[int, Op], int] | None = None,
                 rebound: dict[int, tuple[Any, ...]] | None = None) -> None:
        self.table = {} if table is None else table
        # Plan.rebind's steps for a replaced layer, by the layer's id, for the whole family
        self.rebound: dict[int, tuple[Any, ...]] = {} if rebound is None else rebound
        self.tokens: tuple[int, ...] | None = None
        # a rebound plan's steps before first_changed are its base plan's: so are their tokens
        self.base: Plan | None = None
        self.first_changed = 0

    def shared(self, base: Plan, first_changed: int) -> _PrefixTokens:
        tokens = _PrefixTokens(self.table, self.rebound)
        tokens.base, tokens.first_changed = base, first_changed
        return tokens

    def of(self, steps: Sequence[tuple[LayerDef, Op, tuple[int, ...], str]]) -> tuple[int, ...]:
        if self.tokens is None:
            table = self.table
            if len(table) > self.LIMIT:
                table.clear()
            start = 0
            tokens: list[int] = []
            token = -1
            if self.base is not None and self.first_changed > 0:
                start = self.first_changed
                tokens = list(self.base.tokens[:start])
                token = tokens[-1]
            self.base = None  # not needed any more: let it go
            for step in steps[start:]:
                key = (token, step[1])
                token = table.get(key, -1)
                if token < 0:
                    token = table[key] = next(_TOKEN_NUMBERS)
                tokens.append(token)
            self.tokens = tuple(tokens)
        return self.tokens


_TOKEN_NUMBERS = itertools.count()


RecordConstants = tuple[str, str, str, str, dict[str, Any], str | None, tuple[str, ...], int | None]


def _record_constants(layer: LayerDef, label: str) -> RecordConstants:
    """The fields of a layer's record that no input shape changes, in the walk's order."""
    op = layer.op
    return (layer.name, op.name, op.family, label, op.values, layer.stage, layer.inputs, layer.location.line)


FieldPair = tuple[Field, Field]
FieldColumns = tuple[tuple[int, int] | None, tuple[int, int] | None, tuple[int, int] | None, str]
_GLOBAL_FIELD: FieldColumns = (None, None, None, "global")
_NO_FIELD: FieldColumns = (None, None, None, "n/a")
# The field of a position where no receptive field applies (compared by identity); None is the
# global field.
NOT_APPLICABLE_PAIR: FieldPair = (Field(0, 0, 0), Field(0, 0, 0))


def _columns(pair: FieldPair | None) -> FieldColumns:
    if pair is None:
        return _GLOBAL_FIELD
    if pair is NOT_APPLICABLE_PAIR:
        return _NO_FIELD
    return (pair[0].size, pair[1].size), (pair[0].stride, pair[1].stride), (pair[0].padding, pair[1].padding), ""


class gc_paused:  # a lower-case name: used like a function, `with gc_paused():`
    """Pause the cyclic garbage collector while a network is read, expanded or analysed.

    All three only allocate (YAML values, records, layers, ops, costs; no reference cycles),
    and each full collection scans every object alive: with the collector on, a 100,000-layer
    network took twice as long per layer as a 10,000-layer one (benchmarks/run.py, scaling),
    and reading a 20,000-layer block-style spec three times as long. Reference counting still
    frees everything as usual; the collector resumes afterwards, as it was. Nesting is fine.
    """

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()


_new_tuple = tuple.__new__  # builds a NamedTuple from positional values without its __new__'s call


def _check_input(input_shape: Shape, batch: int) -> None:
    if batch < 1:
        raise ShapeError(f"batch must be >= 1. Received: batch={batch}")
    if any(dim < 1 for dim in input_shape):
        raise ShapeError(f"input dimensions must be >= 1. Received: input={list(input_shape)}")


def _check_output(output: Shape, batch: int) -> int:
    out_elements = numel(output)
    if out_elements < 1 or out_elements * batch > MAX_ELEMENTS:
        _refuse_output(output, out_elements, batch)
    return out_elements


def _refuse_output(output: Shape, out_elements: int, batch: int) -> None:
    if out_elements < 1:
        raise ShapeError(f"output shape {list(output)} has no elements",
                         hint="use a larger input or fewer pooling/strided layers")
    raise ShapeError(f"output has {out_elements * batch:,} elements, beyond archviz's limit of 2**80",
                     hint="check the input size and filter counts")


def analyze_layers(
    name: str,
    spec: str,
    layers: Sequence[LayerDef],
    input_shape: Shape,
    batch: int = 1,
    variables: dict[str, Any] | None = None,
    plan: Plan | None = None,
    outputs: tuple[str, ...] = (),
    warnings: tuple[str, ...] = (),
    dtype: str = "float32",
) -> Analysis:
    """Compute every record; ``layers`` must be in graph order (inputs first).

    ``dtype`` (float32, bfloat16, float16, int8) sets the bytes per value of the memory figures
    (check_dtype). Records are built and remembered in float32 and scaled afterwards, so the
    float32 walk pays nothing for it.

    ``plan`` is ``Plan(layers)``, passed in by callers that analyse the same layers often.
    ``outputs`` names the network's outputs (default: the last layer); ``totals.output_shape``
    is the first one's. ``warnings`` are passed through to the Analysis.
    """
    _check_input(input_shape, batch)
    check_dtype(dtype)
    plan = plan or Plan(layers)
    spatial = len(input_shape) == 3
    known_pairs, known_columns, static_from = plan.fields(spatial)
    known_columns = known_columns[1:]  # by step
    pairs = list(known_pairs)  # filled in where a field depends on the input shape
    shapes: list[Shape] = [input_shape]
    elements = [numel(input_shape)]
    value_bytes = BYTES_PER_VALUE["float32"]
    records: list[LayerRecord] = []
    append = records.append
    total_params = total_buffers = total_macs = total_bias_adds = total_elementwise = total_activations = 0
    remembered, tails = plan.remembered, plan.tails
    if len(remembered) > RECORDS_LIMIT:
        remembered.clear()
    if len(tails) > RECORDS_LIMIT:
        tails.clear()
    cuts = plan.cuts
    passed: list[tuple[tuple[int, Shape, int, bool], int, int, int, int, int, int, int]] = []
    output_shape: Shape | None = None
    for (index, layer, op, positions, single, constants), columns in zip(plan.walk, known_columns, strict=True):
        step = index - 1
        cut = cuts[step]
        if cut >= 0 and step >= static_from and len(passed) < RECORDS_LIMIT:
            # Everything from here on depends on one shape, and no field on the input: where an
            # earlier analysis reached this cut with this shape, its records are this one's.
            tail_key = (step, shapes[cut], batch, spatial)
            tail = tails.get(tail_key)
            if tail is not None:
                earlier, start, sums, output_shape = tail
                records.extend(earlier[start:])
                total_params += sums[0]
                total_buffers += sums[1]
                total_macs += sums[2]
                total_bias_adds += sums[3]
                total_elementwise += sums[4]
                total_activations += sums[5]
                break
            passed.append((tail_key, len(records), total_params, total_buffers, total_macs, total_bias_adds,
                           total_elementwise, total_activations))
        if single >= 0:
            in_shapes: tuple[Shape, ...] = (shapes[single],)
            in_elements = elements[single]
        else:
            in_shapes = tuple(shapes[i] for i in positions)
            in_elements = sum(elements[i] for i in positions)
        if columns is not None:
            # A record depends on nothing but its step, input shapes and batch where the field is
            # the plan's: analyses at nearby input sizes meet the same deep-layer shapes again.
            key = (index, in_shapes, batch, spatial)
            known = remembered.get(key)
            if known is not None:
                record, out_elements = known
                shapes.append(record[8])
                elements.append(out_elements)
                total_params += record[9]
                total_buffers += record[10]
                total_macs += record[11]
                total_bias_adds += record[13]
                total_elementwise += record[14]
                total_activations += record[16]
                append(record)
                continue
        try:
            output = op.output_shape(in_shapes)
            out_elements = numel(output)
            if out_elements < 1 or out_elements * batch > MAX_ELEMENTS:
                _refuse_output(output, out_elements, batch)
            params, buffers, macs, bias_adds, elementwise_ops = op.cost(in_shapes, output, batch)
            if columns is None:
                pair = _field_at(op, in_shapes, [pairs[i] for i in positions])
                pairs[index] = pair
                columns = _columns(pair)
        except ArchvizError as exc:
            raise exc.with_context(layer.location, layer.name, layer.calls)
        shapes.append(output)
        elements.append(out_elements)
        produced = out_elements * batch
        total_params += params
        total_buffers += buffers
        total_macs += macs
        total_bias_adds += bias_adds
        total_elementwise += elementwise_ops
        total_activations += produced
        name_, op_name, family, label, attributes, stage, inputs, line = constants
        field, stride, padding, note = columns
        record = _new_tuple(LayerRecord, (
            name_, op_name, family, label, attributes, stage, inputs, in_shapes, output,
            params, buffers, macs, 2 * macs, bias_adds, elementwise_ops,
            in_elements * batch, produced, produced * value_bytes, field, stride, padding, line, note,
        ))
        append(record)
        if known_columns[index - 1] is not None:
            remembered[index, in_shapes, batch, spatial] = (record, out_elements)
    if output_shape is None:
        output_shape = shapes[-1]
    every = tuple(records)
    for tail_key, start, params, buffers, macs, bias_adds, elementwise_ops, activations in passed:
        tails[tail_key] = (every, start, (total_params - params, total_buffers - buffers, total_macs - macs,
                                          total_bias_adds - bias_adds, total_elementwise - elementwise_ops,
                                          total_activations - activations), output_shape)
    outputs = outputs or (every[-1].name,)
    if outputs[0] != every[-1].name:
        output_shape = next(record.output_shape for record in every if record.name == outputs[0])
    totals = _totals(input_shape, batch, output_shape, len(records), params=total_params, buffers=total_buffers,
                     macs=total_macs, bias_adds=total_bias_adds, elementwise_ops=total_elementwise,
                     activation_elements=total_activations, dtype=dtype)
    if dtype != "float32":
        width = BYTES_PER_VALUE[dtype]
        every = tuple(record._replace(activation_bytes=record.output_elements * width) for record in every)
    return Analysis(name, spec, input_shape, batch, every, totals, dict(variables or {}), outputs, warnings)


Suffix = tuple[int, int, int, int, int, int, Shape]  # the sums of totals_only after a cut, and the output
# an analysis' records, where the tail starts, the tail's sums, the output shape
Tail = tuple[tuple[LayerRecord, ...], int, tuple[int, int, int, int, int, int], Shape]


Prefix = tuple[int, int, int, int, int, int, Shape]  # the sums of totals_only up to a cut, and the live shape


def totals_only(plan: Plan, input_shape: Shape, batch: int = 1,
                memo: dict[tuple[int, Shape], Suffix] | None = None,
                prefixes: dict[tuple[int, Shape], Prefix] | None = None, dtype: str = "float32") -> Totals:
    """The totals of ``analyze_layers`` without building per-layer records or receptive fields.

    Same op methods, same checks and errors, same sums: a sweep's inner loop.

    ``memo`` (a dict, reused only with the same plan and batch) keeps, for each cut the walk
    passes (a point where one shape is all the rest of the network depends on), the sums of
    every layer after it. Across input sizes most cuts see shapes they have seen before (every
    input from 224 to 255 reaches VGG's pool5 as 512x14x14), so a sweep over inputs adds a
    remembered suffix instead of calling the ops again. Errors are never remembered.

    ``prefixes`` (a dict, reused only at the same batch, with plans rebound from one another)
    keeps the other half: the sums up to each cut, by the prefix's token and the input. A
    variant that differs from an earlier one only in later layers (another number of classes)
    resumes at the last cut before them instead of walking from the input.
    """
    _check_input(input_shape, batch)
    check_dtype(dtype)
    steps = plan.steps
    cuts = plan.cuts
    last = len(steps) - 1
    params = buffers = macs = bias_adds = elementwise_ops = activation_elements = 0
    shapes: list[Shape] = [input_shape]
    start = 0
    tokens: tuple[int, ...] = ()
    if prefixes is not None:
        tokens = plan.tokens
        # The resumable steps whose prefix is known form a leading run (every walk stores each
        # one it passes, from where it began): find the last one by bisection.
        resumable = plan.resumable
        low, high, found = 0, len(resumable) - 1, -1
        while low <= high:
            middle = (low + high) // 2
            if (tokens[resumable[middle]], input_shape) in prefixes:
                found, low = resumable[middle], middle + 1
            else:
                high = middle - 1
        if found >= 0:
            params, buffers, macs, bias_adds, elementwise_ops, activation_elements, live = \
                prefixes[tokens[found], input_shape]
            start = found + 1
            shapes = [input_shape] * (start + 1)  # only the live position is read from here on
            shapes[cuts[start]] = live
    append = shapes.append
    passed: list[tuple[tuple[int, Shape], int, int, int, int, int, int]] = []
    output_shape = None
    for index in range(start, last + 1):
        layer, op, positions, _label = steps[index]
        cut = cuts[index]
        if memo is not None and cut >= 0:
            key = (index, shapes[cut])
            rest = memo.get(key)
            if rest is not None:
                params += rest[0]
                buffers += rest[1]
                macs += rest[2]
                bias_adds += rest[3]
                elementwise_ops += rest[4]
                activation_elements += rest[5]
                output_shape = rest[6]
                break
            passed.append((key, params, buffers, macs, bias_adds, elementwise_ops, activation_elements))
        in_shapes = (shapes[positions[0]],) if len(positions) == 1 else tuple(shapes[i] for i in positions)
        try:
            output = op.output_shape(in_shapes)
            out_elements = _check_output(output, batch)
            cost = op.cost(in_shapes, output, batch)
        except ArchvizError as exc:
            raise exc.with_context(layer.location, layer.name, layer.calls)
        append(output)
        params += cost.params
        buffers += cost.buffers
        macs += cost.macs
        bias_adds += cost.bias_adds
        elementwise_ops += cost.elementwise_ops
        activation_elements += out_elements
        if prefixes is not None and index < last and cuts[index + 1] >= 0:
            prefixes[tokens[index], input_shape] = (params, buffers, macs, bias_adds, elementwise_ops,
                                                     activation_elements, shapes[cuts[index + 1]])
    if output_shape is None:
        output_shape = shapes[-1]
    if memo is not None:
        for key, p, b, m, a, e, o in passed:
            memo[key] = (params - p, buffers - b, macs - m, bias_adds - a, elementwise_ops - e,
                         activation_elements - o, output_shape)
    return _totals(input_shape, batch, output_shape, len(plan.steps), params=params, buffers=buffers, macs=macs,
                   bias_adds=bias_adds, elementwise_ops=elementwise_ops,
                   activation_elements=activation_elements * batch, dtype=dtype)


def _field_at(op: Op, in_shapes: tuple[Shape, ...], incoming: list[FieldPair | None]) -> FieldPair | None:
    """The field after ``op`` where its rule depends on the input shape."""
    rule = op.static_field_rule
    if rule is None:
        rule = op.field_rule(in_shapes)
    return _compose_field(rule, incoming)


def _compose_field(rule: FieldRule, incoming: list[FieldPair | None]) -> FieldPair | None:
    """The field after a layer with this rule; None: global; NOT_APPLICABLE_PAIR: none applies.

    Once no field applies (tokens, upsampled maps, a flat network input), none applies after:
    not even a global one, since a dense layer on tokens sees all of them but no pixel grid.
    """
    if rule == NOT_APPLICABLE or any(pair is NOT_APPLICABLE_PAIR for pair in incoming):
        return NOT_APPLICABLE_PAIR
    if rule == GLOBAL or any(pair is None for pair in incoming):
        return None
    if len(incoming) == 1:
        base = incoming[0]
    else:
        # Merging branches: the field is the widest branch's, as long as they step alike.
        fields_in = [pair for pair in incoming if pair is not None]
        if len({(f[0].stride, f[1].stride) for f in fields_in}) > 1:
            return None
        base = max(fields_in, key=lambda f: (f[0].size * f[1].size, f[0].padding + f[1].padding))
    assert base is not None
    if rule == POINTWISE:
        return base
    assert isinstance(rule, Window)
    return (
        base[0].through(rule.kernel[0], rule.stride[0], rule.pad_before[0], rule.dilation[0]),
        base[1].through(rule.kernel[1], rule.stride[1], rule.pad_before[1], rule.dilation[1]),
    )


def check_dtype(dtype: str) -> None:
    """Refuse a dtype archviz has no byte width for (SpecError, with the nearest name)."""
    if dtype not in BYTES_PER_VALUE:
        from archviz.errors import SpecError
        from archviz.suggest import did_you_mean

        raise SpecError(f"unknown dtype. Expected one of {', '.join(DTYPES)}. Received: dtype={dtype!r}",
                        hint=did_you_mean(str(dtype), DTYPES) or "e.g. --dtype bfloat16")


def _totals(
    input_shape: Shape, batch: int, output_shape: Shape, layers: int, *, params: int, buffers: int, macs: int,
    bias_adds: int, elementwise_ops: int, activation_elements: int, dtype: str = "float32",
) -> Totals:
    """Totals from the per-layer sums (activation_elements: all layer outputs at the batch).

    Memory is in ``dtype`` (docs/conventions.md, "Memory"): the model stored in it (buffers stay
    float32 under int8, where batch norm's statistics are not quantised), activations in it, and
    the training estimate under TRAINING_ASSUMPTIONS[dtype].
    """
    fp32 = BYTES_PER_VALUE["float32"]
    value = BYTES_PER_VALUE[dtype]
    input_elements = numel(input_shape) * batch
    kept = (activation_elements + input_elements) * value  # every output and the input, for backward
    training: int | None
    if dtype == "float32":
        # weights + gradients + one momentum buffer (SGD with momentum), all float32
        training = 3 * params * fp32 + kept
    elif dtype == "int8":
        training = None
    else:
        # mixed precision: float32 master weights, gradients and momentum, plus the low-precision
        # copy of the weights the forward pass reads
        training = 3 * params * fp32 + params * value + kept
    return _new_tuple(Totals, (
        params,  # params
        params,  # trainable_params
        buffers,
        macs,
        2 * macs,  # flops
        bias_adds,
        elementwise_ops,
        input_elements,
        activation_elements,
        activation_elements * value,  # activation_bytes
        params * value,  # param_bytes
        params * BYTES_PER_VALUE["bfloat16"],  # param_bytes_bf16
        buffers * (fp32 if dtype == "int8" else value),  # buffer_bytes
        training,  # training_bytes_estimate
        output_shape,
        layers,
        dtype,
    ))
