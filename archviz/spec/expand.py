"""Expanding a document into a flat list of layers for given variable values.

Blocks are instantiated, repetitions unrolled, conditions applied, names interpolated and
attribute values (including arithmetic) checked against each op's declaration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from archviz.errors import ArchvizError, GraphError, Location, SpecError
from archviz.ops import ALIASES, OP_REGISTRY, Op
from archviz.spec.document import REQUIRED_ARG, Block, Document
from archviz.spec.expr import evaluate, evaluate_tracked
from archviz.spec.values import coerce, to_bool, to_int
from archviz.spec.yamlio import key_location, location_of
from archviz.suggest import did_you_mean

if TYPE_CHECKING:
    from archviz.ops.base import Attribute
    from archviz.spec.replay import Trace

NETWORK_INPUT = "input"
BLOCK_INPUT = "in"
ENTRY_KEYS = ("name", "inputs", "if", "repeat")
GROUP_KEYS = ("stage", "layers", "if", "repeat")
MAX_LAYERS = 200_000
MAX_BLOCK_DEPTH = 32
MAX_EXPANSION_STEPS = 1_000_000  # entries visited, also those that make no layer
MAX_NAME_LENGTH = 200
_TEMPLATE = re.compile(r"\{([^{}]*)\}")


@lru_cache(maxsize=4096)
def _template(text: str) -> tuple[str, ...]:
    """'conv{stage_index}_{n}' -> ('conv', 'stage_index', '_', 'n', ''): expressions at odd positions."""
    return tuple(_TEMPLATE.split(text))


@cache
def _literal_defaults(cls: type[Op]) -> dict[str, Any]:
    """Each optional attribute's default, checked and converted once per op class.

    Only literal defaults (every default today) are kept; one written as an expression would
    depend on the scope, so it is converted at each use.
    """
    def no_expressions(text: str) -> Any:
        raise AssertionError("a literal default needs no evaluation")

    return {key: coerce(key, attribute, attribute.default, no_expressions)
            for key, attribute in cls.attributes.items()
            if not attribute.required and (not isinstance(attribute.default, str) or attribute.kind in ("choice", "str"))}


@dataclass(frozen=True)
class LayerDef:
    """One layer after expansion: a unique name, its op, its inputs and where it was written."""

    name: str
    op: Op
    inputs: tuple[str, ...]
    stage: str | None
    location: Location


@dataclass(frozen=True)
class Spec:
    """A document expanded with concrete variable values."""

    document: Document
    variables: dict[str, Any]
    input_shape: tuple[int, ...]
    layers: tuple[LayerDef, ...]
    outputs: tuple[str, ...] = ()  # as declared in 'outputs:'; empty: the last layer in graph order


def parse_override(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` from the command line; VALUE is read as a YAML scalar (2, 0.5, true)."""
    import yaml

    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise SpecError(f"--set expects NAME=VALUE. Received: {text!r}", hint="e.g. --set num_classes=10")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    if not isinstance(parsed, (int, float, bool, str)):
        parsed = value
    return name.strip(), parsed


def resolve_variables(document: Document, overrides: Mapping[str, Any]) -> dict[str, Any]:
    for name in overrides:
        if name not in document.variables:
            known = ", ".join(document.variables) or "none"
            raise SpecError(f"unknown variable {name!r} (this spec's variables: {known})",
                            location=Location(document.file),
                            hint=did_you_mean(name, document.variables))
    values: dict[str, Any] = {}
    for name, default in document.variables.items():
        value = overrides.get(name, default)
        if isinstance(value, str) and name not in overrides:
            try:
                value = evaluate(value, values) if _looks_like_expression(value, values) else value
            except ArchvizError as exc:
                raise exc.with_context(document.variable_locations.get(name))
        values[name] = value
    return values


def _looks_like_expression(text: str, names: Mapping[str, Any]) -> bool:
    return any(ch in text for ch in "+-*/()%<>=") or text in names


def expand(document: Document, overrides: Mapping[str, Any] | None = None, trace: Trace | None = None) -> Spec:
    """The layers of ``document`` for these variable values.

    With a ``trace`` (archviz/spec/replay.py), the expansion also records every evaluation that
    read a variable, so that other values can be tried by repeating only those.
    """
    if document.abstract:
        raise SpecError("is an abstract base (abstract: true), not a network",
                        location=document.location, hint="analyse a spec that extends it")
    variables = resolve_variables(document, overrides or {})
    expander = _Expander(document, variables, trace)
    input_shape = expander.input_shape()
    expander.entries(document.layers, _Context(scope=dict(expander.scope_variables), location=document.location))
    if not expander.layers:
        raise SpecError("the spec has no layers (every entry is switched off by 'if'?)", location=document.location)
    layers = expander.resolve_inputs()
    return Spec(document=document, variables=variables, input_shape=input_shape,
                layers=layers, outputs=declared_outputs(document, expander.names))


def declared_outputs(document: Document, names: Mapping[str, Any]) -> tuple[str, ...]:
    """The layers named in 'outputs:', each checked to be a layer of the expanded network."""
    if document.outputs is None:
        return ()
    written = document.outputs
    here = document.key_locations.get("outputs", document.location)
    locations = getattr(written, "item_locations", None)
    for index, name in enumerate(written):
        if name not in names:
            raise SpecError(f"output {name!r} is not a layer of this network",
                            location=locations[index] if locations else here,
                            hint=did_you_mean(name, names) or "list layer names as the table shows them")
    return tuple(written)


# The three private helpers below are plain classes with __slots__ rather than dataclasses:
# building a dataclass costs about a millisecond at import, and `archviz summary` starts often.
class _Context:
    __slots__ = ("block_depth", "block_input", "location", "prefix", "scope", "stage")

    def __init__(self, scope: dict[str, Any], location: Location, stage: str | None = None, prefix: str = "",
                 block_input: str = NETWORK_INPUT, block_depth: int = 0) -> None:
        self.scope = scope
        self.location = location
        self.stage = stage
        self.prefix = prefix
        self.block_input = block_input
        self.block_depth = block_depth


class _Pending:
    __slots__ = ("location", "name", "op", "previous", "references", "stage")

    def __init__(self, name: str, op: Op, references: tuple[tuple[str, ...], ...] | None, previous: str,
                 stage: str | None, location: Location) -> None:
        self.name = name
        self.op = op
        self.references = references  # candidate names per input; None = previous layer
        self.previous = previous
        self.stage = stage
        self.location = location


class _Expander:
    def __init__(self, document: Document, variables: dict[str, Any], trace: Trace | None = None) -> None:
        self.document = document
        self.variables = variables
        self.trace = trace
        # what scopes bind the variables to: their values, or while tracing, references to them
        self.scope_variables: dict[str, Any] = variables if trace is None else trace.bind(variables)
        self.layers: list[_Pending] = []
        self.names: dict[str, Location] = {}
        self.previous = NETWORK_INPUT
        self.stages: list[str] = []
        self.per_stage_counts: dict[tuple[str | None, str], int] = {}
        self.global_counts: dict[str, int] = {}
        self.steps = 0

    def input_shape(self) -> tuple[int, ...]:
        raw = self.document.input
        where = self.document.key_locations.get("input", self.document.location)
        if raw is None:
            raise SpecError("the spec has no default 'input' shape", location=self.document.location,
                            hint="add 'input: [3, 224, 224]' (channels, height, width)")
        if not isinstance(raw, list) or len(raw) not in (1, 3):
            raise SpecError(f"input must be [channels, height, width] (or [features]). Received: {raw!r}",
                            location=where)

        ev = self.structural(self.scope_variables)
        try:
            return tuple(to_int("input", v, ev, 1) for v in raw)
        except ArchvizError as exc:
            raise exc.with_context(where)

    # -- entries ------------------------------------------------------------------------
    def entries(self, items: Any, ctx: _Context) -> None:
        if not isinstance(items, list):
            raise SpecError("'layers' must be a list", location=location_of(items, ctx.location))
        # Entries that make no layer ('if: false', 'repeat: 0', empty groups and blocks) count too:
        # nested repeats over nothing would otherwise run for hours without reaching MAX_LAYERS.
        self.steps += 1 + len(items)
        if self.steps > MAX_EXPANSION_STEPS:
            raise SpecError(f"the spec takes more than {MAX_EXPANSION_STEPS:,} expansion steps (nested repeats "
                            "of entries that make no layers?)", location=ctx.location, hint="lower the repeat counts")
        locations = getattr(items, "item_locations", None)
        for index, item in enumerate(items):
            where = locations[index] if locations else ctx.location
            try:
                self.entry(item, ctx, where)
            except ArchvizError as exc:
                raise exc.with_context(where)

    def entry(self, item: Any, ctx: _Context, where: Location) -> None:
        if isinstance(item, str):
            self.call(item.strip(), None, ctx, where)
            return
        if not isinstance(item, dict) or not item:
            raise SpecError(f"a layer entry must be an op name or a mapping. Received: {item!r}", location=where,
                            hint="write e.g. '- relu' or '- conv2d: {filters: 64, kernel: 3}'")
        if "stage" in item or "layers" in item:
            self.group(item, ctx, where)
            return
        if len(item) != 1:
            keys = ", ".join(item)
            raise SpecError(f"a layer entry has exactly one key, the op or block name. Received keys: {keys}",
                            location=where, hint="put attributes under the op: '- conv2d: {filters: 64, kernel: 3}'")
        (key, body), = item.items()
        self.call(key, body, ctx, key_location(item, key, where))

    def group(self, item: dict[str, Any], ctx: _Context, where: Location) -> None:
        for key in item:
            if key not in GROUP_KEYS:
                raise SpecError(f"unknown key {key!r} in a stage/group entry", location=key_location(item, key, where),
                                hint=did_you_mean(key, GROUP_KEYS) or f"allowed: {', '.join(GROUP_KEYS)}")
        if "layers" not in item:
            raise SpecError("a stage needs 'layers'", location=where)
        if not self.condition(item, ctx, where):
            return
        for i in range(1, self.repeat(item, ctx, where) + 1):
            inner = _Context({**ctx.scope, "i": i}, where, ctx.stage, ctx.prefix, ctx.block_input, ctx.block_depth)
            if "stage" in item:
                stage = self.interpolate(item["stage"], inner, "stage")
                if not stage.isprintable() or len(stage) > MAX_NAME_LENGTH:
                    raise SpecError(f"stage names must be printable text of at most {MAX_NAME_LENGTH} characters. "
                                    f"Received: stage={stage!r}", location=where)
                if stage not in self.stages:
                    self.stages.append(stage)
                inner.stage = stage
                inner.scope["stage"] = stage
                inner.scope["stage_index"] = self.stages.index(stage) + 1
            self.entries(item["layers"], inner)

    def call(self, key: str, body: Any, ctx: _Context, where: Location) -> None:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            block = self.document.blocks.get(key)
            if block is not None and len(block.args) == 1:
                body = {next(iter(block.args)): body}
            else:
                raise SpecError(f"attributes of {key!r} must be a mapping. Received: {body!r}", location=where,
                                hint=f"write '- {key}: {{attribute: value}}'")
        if not self.condition(body, ctx, where):
            return
        count = self.repeat(body, ctx, where)
        if key in self.document.blocks:
            block = self.document.blocks[key]
            for i in range(1, count + 1):
                self.instantiate(block, body, ctx, where, i)
            return
        op_name = ALIASES.get(key, key)
        if op_name not in OP_REGISTRY:
            choices = [*OP_REGISTRY, *self.document.blocks]
            raise SpecError(f"unknown op or block {key!r}", location=where,
                            hint=did_you_mean(key, choices) or "see 'archviz schema' or docs/spec.md for the ops")
        for i in range(1, count + 1):
            self.layer(op_name, body, ctx, where, i)

    def structural(self, scope: Mapping[str, Any]) -> Callable[[str], Any]:
        """Evaluation for what shapes the network: conditions, repeats, names, inputs, input shape.

        While tracing, each such evaluation that read a variable is kept as a guard: a replay
        with other values is only valid where every guard gives the same value again.
        """
        trace = self.trace
        if trace is None:
            return lambda text: evaluate(text, scope)

        def guarded(text: str) -> Any:
            value, read = evaluate_tracked(text, scope)
            if read:
                trace.guard(text, scope, value, read)
            return value

        return guarded

    def condition(self, body: Mapping[str, Any], ctx: _Context, where: Location) -> bool:
        if "if" not in body:
            return True
        return to_bool("if", body["if"], self.structural(ctx.scope))

    def repeat(self, body: Mapping[str, Any], ctx: _Context, where: Location) -> int:
        if "repeat" not in body:
            return 1
        count = to_int("repeat", body["repeat"], self.structural(ctx.scope), 0, MAX_LAYERS)
        return count

    def argument(self, text: str, scope: Mapping[str, Any]) -> Any:
        """A block argument's value; while tracing, one that read a variable stays a reference."""
        if self.trace is None:
            return evaluate(text, scope)
        value, read = evaluate_tracked(text, scope)
        return self.trace.derived(text, scope, value, read) if read else value

    def instantiate(self, block: Block, body: Mapping[str, Any], ctx: _Context, where: Location, i: int) -> None:
        if ctx.block_depth >= MAX_BLOCK_DEPTH:
            raise SpecError(f"blocks call each other deeper than {MAX_BLOCK_DEPTH} levels (a block that uses itself?)",
                            location=where)
        allowed = (*block.args, *ENTRY_KEYS)
        for key in body:
            if key not in allowed:
                raise SpecError(f"unknown argument {key!r} for block {block.name!r}",
                                location=key_location(body, key, where),
                                hint=did_you_mean(key, allowed) or f"its arguments: {', '.join(block.args) or 'none'}")
        if "inputs" in body:
            raise SpecError("'inputs' cannot be given to a block call", location=key_location(body, "inputs", where),
                            hint="inside the block, refer to its input as 'in'")
        outer = {**ctx.scope, "i": i}
        scope = dict(self.scope_variables)
        for arg, default in block.args.items():
            if arg in body:
                value = body[arg]
                if isinstance(value, str):
                    value = self.argument(value, outer) if _looks_like_expression(value, outer) else value
            elif default is REQUIRED_ARG:
                raise SpecError(f"block {block.name!r} needs argument {arg!r}", location=where,
                                hint=f"write '- {block.name}: {{{arg}: ...}}'")
            else:
                value = self.argument(default, outer) if isinstance(default, str) and \
                    _looks_like_expression(default, outer) else default
            scope[arg] = value
        for inherited in ("stage", "stage_index"):
            if inherited in ctx.scope:
                scope[inherited] = ctx.scope[inherited]
        scope["i"] = i
        prefix = ctx.prefix
        if "name" in body:
            prefix = f"{ctx.prefix}{self.interpolate(body['name'], _Context(outer, where), 'name')}."
        inner = _Context(scope, block.location, ctx.stage, prefix, self.previous, ctx.block_depth + 1)
        self.entries(block.layers, inner)

    def layer(self, op_name: str, body: Mapping[str, Any], ctx: _Context, where: Location, i: int) -> None:
        cls = OP_REGISTRY[op_name]
        scope = {**ctx.scope, "i": i}
        values: dict[str, Any] = {}
        read: set[str] = set()  # the variables an attribute read (only while tracing)
        read_by_all: set[str] = set()
        dynamic: list[tuple[str, Attribute, Any]] = []

        def ev(text: str) -> Any:
            if self.trace is None:
                return evaluate(text, scope)
            value, names = evaluate_tracked(text, scope)
            read.update(names)
            return value

        for key, value in body.items():
            if key in ENTRY_KEYS:
                continue
            if key not in cls.attributes:
                allowed = (*cls.attributes, *ENTRY_KEYS)
                raise SpecError(f"unknown attribute {key!r} for op {op_name!r}",
                                location=key_location(body, key, where),
                                hint=did_you_mean(key, allowed) or f"{op_name} accepts: {', '.join(allowed)}")
            attribute = cls.attributes[key]
            try:
                values[key] = coerce(key, attribute, value, ev)
            except ArchvizError as exc:
                raise exc.with_context(key_location(body, key, where))
            if read:
                dynamic.append((key, attribute, value))
                read_by_all.update(read)
                read.clear()
        for key, attribute in cls.attributes.items():
            if key not in values:
                if attribute.required:
                    raise SpecError(f"op {op_name!r} needs attribute {key!r} ({attribute.doc})", location=where,
                                    hint=f"write '- {op_name}: {{{key}: ...}}'")
                defaults = _literal_defaults(cls)  # type: ignore[arg-type]  # classes hash
                if key in defaults:
                    values[key] = defaults[key]
                    continue
                values[key] = coerce(key, attribute, attribute.default, ev)
                if read:
                    dynamic.append((key, attribute, attribute.default))
                    read_by_all.update(read)
                    read.clear()
        op = cls(values)

        counter_key = (ctx.stage, op_name)
        self.per_stage_counts[counter_key] = self.per_stage_counts.get(counter_key, 0) + 1
        self.global_counts[op_name] = self.global_counts.get(op_name, 0) + 1
        if "name" in body:
            naming = {**scope, "n": self.per_stage_counts[counter_key]}
            name = ctx.prefix + self.interpolate(body["name"], _Context(naming, where), "name")
        else:
            name = f"{ctx.prefix}{op_name}_{self.global_counts[op_name]}"
        if not name.isprintable() or len(name) > MAX_NAME_LENGTH:
            raise SpecError(f"layer names must be printable text of at most {MAX_NAME_LENGTH} characters, without "
                            f"line breaks or control characters. Received: name={name!r}", location=where,
                            hint="rename the layer")
        if name in (NETWORK_INPUT, BLOCK_INPUT) or name in self.names:
            first = self.names.get(name)
            raise SpecError(f"duplicate layer name {name!r}" + (f" (first at line {first.line})" if first else ""),
                            location=where, layer=name,
                            hint="give each layer its own name; in repeated entries use '{i}' or '{n}' in the name")
        if len(self.layers) >= MAX_LAYERS:
            raise SpecError(f"the spec expands to more than {MAX_LAYERS:,} layers", location=where,
                            hint="lower the repeat counts")
        references = None
        if "inputs" in body:
            raw = body["inputs"]
            raw_list = raw if isinstance(raw, list) else [raw]
            if not raw_list or not all(isinstance(r, str) for r in raw_list):
                raise SpecError(f"inputs must be a layer name or a list of names. Received: {raw!r}",
                                location=key_location(body, "inputs", where))
            refs: list[tuple[str, ...]] = []  # candidate names for each input, the first that exists wins
            for written in raw_list:
                ref = self.interpolate(written, _Context(scope, where), "inputs")
                if ref == BLOCK_INPUT:
                    refs.append((ctx.block_input,))
                elif ctx.prefix:
                    refs.append((ctx.prefix + ref, ref))
                else:
                    refs.append((ref,))
            references = tuple(refs)
        self.names[name] = where
        if dynamic and self.trace is not None:
            self.trace.layer(len(self.layers), cls, values, dynamic, scope, op, frozenset(read_by_all))
        self.layers.append(_Pending(name, op, references, self.previous, ctx.stage, where))
        self.previous = name

    def interpolate(self, value: Any, ctx: _Context, what: str) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value:
            raise SpecError(f"{what} must be text. Received: {value!r}", location=ctx.location)
        if "{" not in value and "}" not in value:
            return value  # most names are plain text
        pieces = []
        ev = self.structural(ctx.scope)
        for index, part in enumerate(_template(value)):
            if index % 2 == 0:
                pieces.append(part)
                continue
            result = ev(part)
            if isinstance(result, float) and result.is_integer():
                result = int(result)
            pieces.append(str(result))
        text = "".join(pieces)
        if any(ch in text for ch in "{}"):
            raise SpecError(f"{what} {value!r} has unbalanced braces", location=ctx.location)
        return text

    # -- references ---------------------------------------------------------------------
    def resolve_inputs(self) -> tuple[LayerDef, ...]:
        resolved = []
        known = set(self.names) | {NETWORK_INPUT}
        for pending in self.layers:
            if pending.references is None:
                inputs: tuple[str, ...] = (pending.previous,)
            else:
                names = []
                for candidates in pending.references:
                    match = next((c for c in candidates if c in known), None)
                    if match is None:
                        wanted = candidates[-1]
                        raise GraphError(f"input {wanted!r} is not a layer of this network",
                                        location=pending.location, layer=pending.name,
                                        hint=did_you_mean(wanted, known) or "inputs name earlier layers, 'in' or 'input'")
                    names.append(match)
                inputs = tuple(names)
            cls = type(pending.op)
            if len(inputs) < cls.min_inputs or (cls.max_inputs is not None and len(inputs) > cls.max_inputs):
                expected = f"{cls.min_inputs}" if cls.max_inputs == cls.min_inputs else f"at least {cls.min_inputs}"
                raise SpecError(f"{cls.name} takes {expected} input(s). Received: {len(inputs)} ({', '.join(inputs)})",
                                location=pending.location, layer=pending.name,
                                hint="list the branches to merge in 'inputs: [a, b]'" if cls.min_inputs > 1 else None)
            resolved.append(LayerDef(pending.name, pending.op, inputs, pending.stage, pending.location))
        return tuple(resolved)
