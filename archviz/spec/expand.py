"""Expanding a document into a flat list of layers for given variable values.

Blocks are instantiated, repetitions unrolled, conditions applied, names interpolated and
attribute values (including arithmetic) checked against each op's declaration.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from archviz.errors import ArchvizError, Call, Frame, GraphError, Location, ShapeError, SpecError
from archviz.ops import ALIASES, OP_REGISTRY, MultiOutput, Op
from archviz.spec.document import ENTRY_WORDS, REQUIRED_ARG, Block, Document
from archviz.spec.expr import Lazy, check_value, evaluate, evaluate_tracked
from archviz.spec.values import NotWholeError, check_flow_split, coerce, to_bool, to_int
from archviz.spec.yamlio import (
    MAX_NUMBER_TEXT,
    NUMBER_TAGS,
    has_surrogate,
    join_surrogate_pairs,
    key_location,
    location_of,
    number_too_long,
    scalar_tag,
)
from archviz.suggest import did_you_mean

if TYPE_CHECKING:
    from archviz.ops.base import Attribute
    from archviz.spec.replay import Trace

NETWORK_INPUT = "input"
BLOCK_INPUT = "in"
# names an expression may read for the shape of its layer's (or block's) first input
INPUT_CHANNELS = "in_channels"  # shape[0]: channels of a (C, H, W) map, tokens of (L, D), features of (F,)
INPUT_FEATURES = "in_features"  # shape[-1]: the last axis (the embedding width of tokens)
ENTRY_KEYS = ENTRY_WORDS  # ("name", "inputs", "if", "repeat")
GROUP_KEYS = ("stage", "layers", "if", "repeat")
# what every command analyses and renders in seconds (reports/benchmarks.md, "At the layer limit");
# at 200,000 a summary took 14-18 s and 1.8 GB and the per-layer commands minutes
MAX_LAYERS = 20_000
MAX_BLOCK_DEPTH = 32
MAX_NESTING = 150  # lists of entries inside one another, across groups and block bodies
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
    calls: tuple[Call, ...] = ()  # the block calls that made it (call site, block), outermost first


@dataclass(frozen=True)
class Spec:
    """A document expanded with concrete variable values."""

    document: Document
    variables: dict[str, Any]
    input_shape: tuple[int, ...]  # the spec's 'input:' (or the one expanded for), () where it has none
    layers: tuple[LayerDef, ...]
    outputs: tuple[str, ...] = ()  # as declared in 'outputs:'; empty: the last layer in graph order
    # whether an expression read an input's shape (in_channels): the layers then hold for this
    # input_shape's channels only, and other values are expanded in full (no replay)
    reads_shapes: bool = False


def parse_override(text: str, option: str = "--set") -> tuple[str, Any]:
    """``NAME=VALUE`` from the command line; VALUE is read as a YAML scalar (2, 0.5, true)."""
    import yaml

    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise SpecError(f"--set expects NAME=VALUE. Received: {text!r}", hint="e.g. --set num_classes=10")
    name = name.strip()
    if len(value.strip()) > MAX_NUMBER_TEXT and scalar_tag(value.strip()) in NUMBER_TAGS:
        raise SpecError(f"{option} {name}: {number_too_long(value.strip())}", hint="give a smaller number")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    if not isinstance(parsed, (int, float, bool, str)):
        parsed = value
    if isinstance(parsed, str) and has_surrogate(parsed):
        parsed = join_surrogate_pairs(parsed)
    if parsed is None:
        raise SpecError(f"{option} {name}: the value must be Unicode text; it holds a lone surrogate "
                        f"(an escape such as \\ud800, or a byte that is not UTF-8). Received: {value.strip()!r}",
                        hint="write the character itself, in UTF-8")
    return name, parsed


def resolve_variables(document: Document, overrides: Mapping[str, Any]) -> dict[str, Any]:
    for name, given in overrides.items():
        check_value(name, given)
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
                origins = variable_origins(document, overrides, values)
                raise explain(exc.with_context(document.variable_locations.get(name)), value, values, origins)
        values[name] = value
    return values


class Origin:
    """Where a name's value in a scope came from, for errors that read it.

    ``kind``: "argument" (given at a block call), "default" (a block argument's default),
    "variable" (set in a spec) or "override" (--set, or a keyword of load()). ``text`` is the
    expression it was computed from, read in ``scope`` whose names came from ``origins``.
    """

    __slots__ = ("block", "kind", "location", "origins", "scope", "written")

    def __init__(self, kind: str, location: Location | None, block: str | None = None, written: Any = None,
                 scope: Mapping[str, Any] | None = None, origins: Mapping[str, Origin] | None = None) -> None:
        self.kind = kind
        self.location = location
        self.block = block
        self.written = written  # as written; an expression or not is decided only when an error asks
        self.scope = scope
        self.origins = origins

    @property
    def text(self) -> str | None:
        """The expression the value was computed from, or None where it was written as it is."""
        written = self.written
        return written if isinstance(written, str) and _looks_like_expression(written, self.scope or {}) else None

    def describe(self, name: str, value: Any) -> str:
        how = {"argument": f"is given to block {self.block!r}", "default": f"is block {self.block!r}'s default",
               "variable": "is set", "override": "is set from outside the spec (--set, --vary or a keyword of load())"}[self.kind]
        text = f"{name}={_shown(value)} {how}"
        if self.text is not None:
            text += f" as {_shown(self.text)}"
        return f"{text} at {self.location}" if self.location is not None else text


def variable_origins(document: Document, overrides: Mapping[str, Any],
                     values: Mapping[str, Any]) -> dict[str, Origin]:
    """Where each variable was set: an override, or the spec line (the child's where it overrides)."""
    origins: dict[str, Origin] = {}
    for name in document.variables:
        if name in overrides:
            origins[name] = Origin("override", None)
        else:
            origins[name] = Origin("variable", document.variable_locations.get(name), written=document.variables[name],
                                   scope=values, origins=origins)
    return origins


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@lru_cache(maxsize=1024)
def _names_in(text: str) -> tuple[str, ...]:
    """The names an expression (or a name template's expressions) reads, in order, once each."""
    pieces = _template(text)[1::2] if "{" in text else (text,)
    names: dict[str, None] = {}
    for piece in pieces:
        try:
            tree = ast.parse(piece.strip(), mode="eval")
        except (SyntaxError, ValueError):
            continue
        names.update((node.id, None) for node in ast.walk(tree) if isinstance(node, ast.Name))
    return tuple(names)


def _sources(value: Any, scope: Mapping[str, Any], origins: Mapping[str, Origin],
             seen: set[int]) -> list[tuple[str, Any, Origin]]:
    """The names ``value`` reads that have an origin, and theirs in turn: (name, value, origin)."""
    if isinstance(value, list):
        return [found for item in value for found in _sources(item, scope, origins, seen)]
    if not isinstance(value, str):
        return []
    found = []
    for name in _names_in(value):
        origin = origins.get(name)
        if origin is None or id(origin) in seen:
            continue
        seen.add(id(origin))
        found.append((name, scope.get(name), origin))
        if origin.text is not None and origin.scope is not None:
            found.extend(_sources(origin.text, origin.scope, origin.origins or {}, seen))
    return found


MAX_NOTES = 8


def explain(exc: ArchvizError, value: Any, scope: Mapping[str, Any], origins: Mapping[str, Origin]) -> ArchvizError:
    """Add to ``exc`` where the values that ``value`` (the text that failed) read were set, and
    a hint that fits them: a fractional block argument is fixed where the block is called."""
    sources = _sources(value, scope, origins, set())
    if not sources:
        return exc
    hint = None
    if isinstance(exc, NotWholeError):
        fractional = [(name, origin) for name, got, origin in sources if _is_fraction(got)]
        literal = [(name, origin) for name, origin in fractional if origin.kind in ("argument", "default")
                   and origin.text is None]
        computed = [(name, origin) for name, origin in fractional if origin.kind in ("argument", "default")
                    and origin.text is not None]
        if literal:
            name, origin = literal[0]
            where = f" ({origin.location})" if origin.location is not None else ""
            hint = (f"give {name} a whole number where block {origin.block!r} is called{where}"
                    if origin.kind == "argument" else f"give {name} a whole number{where}")
        elif computed:
            name, origin = computed[0]
            where = f" ({origin.location})" if origin.location is not None else ""
            hint = f"round {name} where it is computed{where}: 'round({str(origin.text).strip()})'"
        elif fractional and isinstance(value, str):
            # the values set by hand (not those computed from them)
            names = ", ".join(dict.fromkeys(name for name, origin in fractional if origin.kind in
                                            ("variable", "override") and origin.text is None))
            if names:
                at = f" ({exc.location})" if exc.location is not None else ""  # the expression's place
                hint = (f"choose {names} so that {value.strip()!r} comes out whole, or round it where it is "
                        f"written{at}: 'round({value.strip()})'")
    return exc.add_notes([origin.describe(name, got) for name, got, origin in sources[:MAX_NOTES]], hint)


def _is_fraction(value: Any) -> bool:
    return isinstance(value, float) and not value.is_integer()


def _reads_shape(text: Any) -> bool:
    return isinstance(text, str) and (INPUT_CHANNELS in text or INPUT_FEATURES in text)


def _looks_like_expression(text: str, names: Mapping[str, Any]) -> bool:
    return any(ch in text for ch in "+-*/()%<>=") or text in names


def expand(document: Document, overrides: Mapping[str, Any] | None = None, trace: Trace | None = None,
           input_shape: tuple[int, ...] | None = None) -> Spec:
    """The layers of ``document`` for these variable values.

    With a ``trace`` (archviz/spec/replay.py), the expansion also records every evaluation that
    read a variable, so that other values can be tried by repeating only those. ``input_shape``
    replaces the spec's own where expressions read shapes (``in_channels``).
    """
    if document.abstract:
        raise SpecError("is an abstract base (abstract: true), not a network",
                        location=document.location, hint="analyse a spec that extends it")
    variables = resolve_variables(document, overrides or {})
    expander = _Expander(document, variables, trace, overrides or {})
    try:
        default_shape = expander.input_shape()
        expander.network_input = input_shape if input_shape is not None else default_shape
        expander.entries(document.layers, _Context(scope=dict(expander.scope_variables), location=document.location,
                                                   origins=expander.origins))
        if not expander.layers:
            raise SpecError("the spec has no layers (every entry is switched off by 'if'?)",
                            location=document.location)
        layers = expander.resolve_inputs()
    except ArchvizError as exc:
        raise through_extends(exc, document)
    except RecursionError:  # MAX_NESTING keeps it away; should the stack be deeper already, the file is named
        raise SpecError("the spec is nested too deeply to expand", location=document.location,
                        hint="flatten the groups, or call fewer blocks inside one another") from None
    return Spec(document=document, variables=variables, input_shape=expander.network_input,
                layers=layers, outputs=declared_outputs(document, expander.names), reads_shapes=expander.reads_shapes)


def through_extends(exc: ArchvizError, document: Document) -> ArchvizError:
    """Where an error is in a file the spec extends, the ``extends`` lines that lead there."""
    where = exc.location
    if where is None or where.file == document.file:
        return exc
    chain = []
    for parent, asked in document.parents:
        chain.append(Frame(f"{asked.file} extends {parent}", asked))
        if parent == where.file:
            if chain[0] not in exc.frames:  # once, however many callers pass it on
                for frame in reversed(chain):
                    exc.add_frame(frame)
            break
    return exc


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
Candidates = tuple[str, ...]  # the names one written reference may mean, the first that exists wins
_NETWORK_INPUTS: tuple[Candidates, ...] = ((NETWORK_INPUT,),)


class _Context:
    __slots__ = ("block_depth", "block_inputs", "calls", "location", "origins", "prefixes", "scope", "stage")

    def __init__(self, scope: dict[str, Any], location: Location, stage: str | None = None,
                 prefixes: tuple[str, ...] = (), block_inputs: tuple[Candidates, ...] = _NETWORK_INPUTS,
                 block_depth: int = 0, origins: Mapping[str, Origin] | None = None,
                 calls: tuple[Call, ...] = ()) -> None:
        self.scope = scope
        self.location = location
        self.stage = stage
        # the enclosing named block calls' prefixes ('a.b.', 'a.'), innermost first
        self.prefixes = prefixes
        self.block_inputs = block_inputs  # 'in' (the first) and 'in.0', 'in.1', ...
        self.block_depth = block_depth
        self.origins: Mapping[str, Origin] = origins or {}  # where the scope's values were set
        self.calls = calls  # the block calls on the way here, outermost first

    @property
    def prefix(self) -> str:
        return self.prefixes[0] if self.prefixes else ""


class _InputShape(Lazy):
    """``in_channels`` / ``in_features``: one axis of the first input of the entry being expanded,
    computed only when an expression reads it (one per expander: binding one per layer would
    slow down every expansion for the few specs that read shapes)."""

    __slots__ = ("axis", "expander")

    def __init__(self, expander: _Expander, axis: int) -> None:
        self.expander = expander
        self.axis = axis

    def resolve(self) -> tuple[Any, frozenset[str]]:
        source = self.expander.current_source
        shape = self.expander.shape_of(source)
        if not shape and source == (NETWORK_INPUT,) and not self.expander.network_input:
            raise SpecError(f"{INPUT_CHANNELS}/{INPUT_FEATURES} read the network's input, but the spec has no "
                            "'input:'", hint="add 'input: [3, 224, 224]' (channels, height, width) to the spec")
        if not shape:
            raise SpecError(f"{source[-1]!r} has no axes to read")
        return shape[self.axis], frozenset()


class _Pending:
    __slots__ = ("calls", "location", "name", "op", "previous", "references", "stage")

    def __init__(self, name: str, op: Op, references: tuple[Candidates, ...] | None, previous: str,
                 stage: str | None, location: Location, calls: tuple[Call, ...] = ()) -> None:
        self.name = name
        self.op = op
        self.references = references  # candidate names per input; None = previous layer
        self.previous = previous
        self.stage = stage
        self.location = location
        self.calls = calls


class _Expander:
    def __init__(self, document: Document, variables: dict[str, Any], trace: Trace | None = None,
                 overrides: Mapping[str, Any] | None = None) -> None:
        self.document = document
        self.variables = variables
        self.trace = trace
        # what scopes bind the variables to: their values, or while tracing, references to them
        self.scope_variables: dict[str, Any] = variables if trace is None else trace.bind(variables)
        self.origins = variable_origins(document, overrides or {}, variables)
        self.current_source: Candidates = (NETWORK_INPUT,)  # what in_channels reads now
        self.current_location = document.location  # and the entry reading it
        shape_names = {name: _InputShape(self, axis) for name, axis in ((INPUT_CHANNELS, 0), (INPUT_FEATURES, -1))
                       if name not in variables}
        self.scope_variables = {**self.scope_variables, **shape_names}
        self.layers: list[_Pending] = []
        self.names: dict[str, Location] = {}
        self.previous = NETWORK_INPUT
        self.stages: list[str] = []
        self.per_stage_counts: dict[tuple[str | None, str], int] = {}
        self.global_counts: dict[str, int] = {}
        self.steps = 0
        self.nesting = 0  # lists of entries open now: groups within blocks within groups ...
        # a block called with 'inputs': its first layer without 'inputs' takes the block's input
        self.pending_input: Candidates | None = None
        self.network_input: tuple[int, ...] = ()
        # shapes computed during expansion, only where an expression reads one (in_channels)
        self.reads_shapes = False
        self.shapes: list[tuple[int, ...] | ArchvizError | None] = []  # per layer, in order
        self.shape_inputs: dict[int, tuple[str, ...]] = {}  # the inputs those shapes were computed from
        self.shape_reads: list[tuple[Candidates, str, Location]] = []  # what each read took a name to mean
        self.index_of: dict[str, int] = {}

    def input_shape(self) -> tuple[int, ...]:
        raw = self.document.input
        where = self.document.key_locations.get("input", self.document.location)
        if raw is None:
            return ()  # the analysis needs one given (Network.analyze says so)
        if not isinstance(raw, list) or not 1 <= len(raw) <= 4:
            raise SpecError("input must be [channels, height, width] (or [tokens, features], [features]). "
                            f"Received: {raw!r}", location=where)

        ev = self.structural(self.scope_variables)
        try:
            return tuple(to_int("input", v, ev, 1) for v in raw)
        except ArchvizError as exc:
            raise explain(exc.with_context(where), raw, self.variables, self.origins)

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
        if self.nesting >= MAX_NESTING:
            # YAML nests 64 levels and blocks call 32 deep, but a block's body nested in one that
            # calls it multiplies the two: Python's recursion limit, "nested too deeply", no file
            raise SpecError(f"layers are nested more than {MAX_NESTING} levels deep (groups and the bodies of the "
                            "blocks they call, together)", location=location_of(items, ctx.location),
                            hint="flatten the groups, or call fewer blocks inside one another")
        locations = getattr(items, "item_locations", None)
        self.nesting += 1
        try:
            for index, item in enumerate(items):
                where = locations[index] if locations else ctx.location
                try:
                    self.entry(item, ctx, where)
                except ArchvizError as exc:
                    raise exc.with_context(where)
        finally:
            self.nesting -= 1

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
            inner = _Context({**ctx.scope, "i": i}, where, ctx.stage, ctx.prefixes, ctx.block_inputs, ctx.block_depth,
                             ctx.origins, ctx.calls)
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
        if ("if" in body or "repeat" in body) and (_reads_shape(body.get("if")) or _reads_shape(body.get("repeat"))):
            self.current_source = self.first_input(body, ctx)
            self.current_location = where
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
        try:
            return to_bool("if", body["if"], self.structural(ctx.scope))
        except ArchvizError as exc:
            check_flow_split(body, where)
            raise explain(exc.with_context(key_location(body, "if", where)), body["if"], ctx.scope, ctx.origins)

    def repeat(self, body: Mapping[str, Any], ctx: _Context, where: Location) -> int:
        if "repeat" not in body:
            return 1
        try:
            return to_int("repeat", body["repeat"], self.structural(ctx.scope), 0, MAX_LAYERS)
        except ArchvizError as exc:
            check_flow_split(body, where)
            raise explain(exc.with_context(key_location(body, "repeat", where)), body["repeat"], ctx.scope,
                          ctx.origins)

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
                check_flow_split(body, where)
                raise SpecError(f"unknown argument {key!r} for block {block.name!r}",
                                location=key_location(body, key, where),
                                hint=did_you_mean(key, allowed) or f"its arguments: {', '.join(block.args) or 'none'}")
        outer = {**ctx.scope, "i": i}
        block_inputs = self.references(body, ctx, outer, where)
        if block_inputs is None:
            block_inputs = (self.pending_input or (self.previous,),)
        self.current_source = block_inputs[0]
        self.current_location = where
        scope = dict(self.scope_variables)
        origins = dict(self.origins)
        bound: dict[str, Any] = {}
        for arg, default in block.args.items():
            if arg in body:
                value = body[arg]
                written = key_location(body, arg, where)
                seen, seen_origins = outer, ctx.origins
                origins[arg] = Origin("argument", written, block.name, value, seen, seen_origins)
                if isinstance(value, str) and ("{" in value or "}" in value):
                    # a name or an input built from the caller's values: "{p}.conv1"
                    value = self.interpolate(value, _Context(outer, written, origins=ctx.origins), arg)
                    scope[arg] = bound[arg] = value
                    continue
            elif default is REQUIRED_ARG:
                raise SpecError(f"block {block.name!r} needs argument {arg!r}", location=where,
                                hint=f"write '- {block.name}: {{{arg}: ...}}'")
            else:
                # a default reads the caller's names and the arguments before it (and in_channels,
                # the block's input): 'project: "stride != 1 or in_channels != planes * 4"'
                value = default
                written = block.arg_locations.get(arg, block.location)
                seen = {**outer, **bound}
                seen_origins = {**ctx.origins, **{name: origins[name] for name in bound}}
                origins[arg] = Origin("default", written, block.name, value, seen, seen_origins)
            if isinstance(value, str) and _looks_like_expression(value, seen):
                try:
                    value = self.argument(value, seen)
                except ArchvizError as exc:
                    check_flow_split(body, where)
                    raise explain(exc.with_context(written), value, seen, seen_origins)
            scope[arg] = bound[arg] = value
        for inherited in ("stage", "stage_index"):
            if inherited in ctx.scope:
                scope[inherited] = ctx.scope[inherited]
        scope["i"] = i
        prefixes = ctx.prefixes
        if "name" in body:
            named = self.interpolate(body["name"], _Context(outer, where, origins=ctx.origins), "name")
            prefixes = (f"{ctx.prefix}{named}.", *prefixes)
        if "inputs" in body:
            self.pending_input = block_inputs[0]
        inner = _Context(scope, block.location, ctx.stage, prefixes, block_inputs, ctx.block_depth + 1, origins,
                         (*ctx.calls, (where, block.name)))
        try:
            self.entries(block.layers, inner)
        except ArchvizError as exc:
            raise exc.entered(where, block.name)

    def layer(self, op_name: str, body: Mapping[str, Any], ctx: _Context, where: Location, i: int) -> None:
        cls = OP_REGISTRY[op_name]
        scope = {**ctx.scope, "i": i}
        references = self.references(body, ctx, scope, where) if "inputs" in body else None
        if references is None and self.pending_input is not None:
            references = (self.pending_input,)
        self.current_source = references[0] if references else (self.previous,)
        self.current_location = where
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

        # named first, so that every error about its attributes can name the layer
        counter_key = (ctx.stage, op_name)
        self.per_stage_counts[counter_key] = self.per_stage_counts.get(counter_key, 0) + 1
        self.global_counts[op_name] = self.global_counts.get(op_name, 0) + 1
        if "name" in body:
            naming = {**scope, "n": self.per_stage_counts[counter_key]}
            name = ctx.prefix + self.interpolate(body["name"], _Context(naming, where, origins=ctx.origins), "name")
        else:
            name = f"{ctx.prefix}{op_name}_{self.global_counts[op_name]}"
        if not name.isprintable() or len(name) > MAX_NAME_LENGTH:
            raise SpecError(f"layer names must be printable text of at most {MAX_NAME_LENGTH} characters, without "
                            f"line breaks or control characters. Received: name={name!r}", location=where,
                            hint="rename the layer")

        for key, value in body.items():
            if key in ENTRY_KEYS:
                continue
            if key not in cls.attributes:
                check_flow_split(body, where, name)
                allowed = (*cls.attributes, *ENTRY_KEYS)
                raise SpecError(f"unknown attribute {key!r} for op {op_name!r}",
                                location=key_location(body, key, where), layer=name,
                                hint=did_you_mean(key, allowed) or f"{op_name} accepts: {', '.join(allowed)}")
            attribute = cls.attributes[key]
            try:
                values[key] = coerce(key, attribute, value, ev)
            except ArchvizError as exc:
                check_flow_split(body, where, name)
                raise explain(exc.with_context(key_location(body, key, where), name), value, scope, ctx.origins)
            if read:
                dynamic.append((key, attribute, value))
                read_by_all.update(read)
                read.clear()
        for key, attribute in cls.attributes.items():
            if key not in values:
                if attribute.required:
                    raise SpecError(f"op {op_name!r} needs attribute {key!r} ({attribute.doc})", location=where,
                                    layer=name, hint=f"write '- {op_name}: {{{key}: ...}}'")
                defaults = _literal_defaults(cls)  # type: ignore[arg-type]  # classes hash
                if key in defaults:
                    values[key] = defaults[key]
                    continue
                values[key] = coerce(key, attribute, attribute.default, ev)
                if read:
                    dynamic.append((key, attribute, attribute.default))
                    read_by_all.update(read)
                    read.clear()
        try:
            op = cls(values)
        except ArchvizError as exc:
            raise exc.with_context(where, name)
        if name in (NETWORK_INPUT, BLOCK_INPUT) or name in self.names:
            first = self.names.get(name)
            raise SpecError(f"duplicate layer name {name!r}" + (f" (first at line {first.line})" if first else ""),
                            location=where, layer=name,
                            hint="give each layer its own name; in repeated entries use '{i}' or '{n}' in the name")
        if len(self.layers) >= MAX_LAYERS:
            raise SpecError(f"the spec expands to more than {MAX_LAYERS:,} layers, the limit (every command "
                            f"handles that many in seconds)", location=where, hint="lower the repeat counts")
        if not isinstance(op, MultiOutput):
            outputs = [(name, op, values)]
        else:
            # one layer per output, '<name>.0', '<name>.1'... (also where there is one): each
            # its own op, told its index
            count = op.output_count()
            outputs = []
            for index in range(count):
                output_values = {**values, "output": index, "outputs": count}
                outputs.append((f"{name}.{index}", cls(output_values), output_values))
        for output_name, output_op, output_values in outputs:
            if output_name in self.names:
                first = self.names[output_name]
                raise SpecError(f"duplicate layer name {output_name!r} (first at line {first.line})",
                                location=where, layer=output_name, hint="rename one of the layers")
            self.names[output_name] = where
            self.index_of[output_name] = len(self.layers)
            if dynamic and self.trace is not None:
                self.trace.layer(len(self.layers), cls, output_values, dynamic, scope, output_op,
                                 frozenset(read_by_all))
            self.layers.append(_Pending(output_name, output_op, references, self.previous, ctx.stage, where,
                                       ctx.calls))
        self.previous = outputs[-1][0]
        self.pending_input = None

    def references(self, body: Mapping[str, Any], ctx: _Context, scope: dict[str, Any],
                   where: Location) -> tuple[Candidates, ...] | None:
        """The candidates for each name in an entry's ``inputs``; None where it has none."""
        if "inputs" not in body:
            return None
        raw = body["inputs"]
        raw_list = raw if isinstance(raw, list) else [raw]
        at = key_location(body, "inputs", where)
        if not raw_list or not all(isinstance(r, str) for r in raw_list):
            raise SpecError(f"inputs must be a layer name or a list of names. Received: {raw!r}", location=at)
        return tuple(self.candidates(self.interpolate(written, _Context(scope, at, origins=ctx.origins), "inputs"),
                                     ctx, at) for written in raw_list)

    @staticmethod
    def candidates(ref: str, ctx: _Context, where: Location) -> Candidates:
        """What a reference written in ``ctx`` may mean: the scoping rule of docs/spec.md.

        'in' and 'in.K' are the block's inputs; other names are looked up in the innermost named
        block call first, then in each enclosing one, then among the network's top-level names.
        """
        if ref == BLOCK_INPUT:
            return ctx.block_inputs[0]
        if ref.startswith(BLOCK_INPUT + ".") and ref[len(BLOCK_INPUT) + 1:].isdigit():
            index = int(ref[len(BLOCK_INPUT) + 1:])
            if index >= len(ctx.block_inputs):
                raise SpecError(f"{ref!r} names input {index} of a block called with {len(ctx.block_inputs)} "
                                "input(s)", location=where, hint="inputs count from 0: in.0 is 'in'")
            return ctx.block_inputs[index]
        if not ctx.prefixes:
            return (ref,)
        return (*(prefix + ref for prefix in ctx.prefixes), ref)

    def first_input(self, body: Mapping[str, Any], ctx: _Context) -> Candidates:
        references = self.references(body, ctx, ctx.scope, ctx.location)
        if references:
            return references[0]
        return self.pending_input or (self.previous,)

    # -- shapes during expansion (only where an expression reads one) --------------------
    def shape_of(self, candidates: Candidates) -> tuple[int, ...]:
        self.reads_shapes = True
        name = next((c for c in candidates if c in self.index_of or c == NETWORK_INPUT), None)
        if name is None:
            raise SpecError(f"in_channels reads the shape of {candidates[-1]!r}, which is not a layer written "
                            "before this one", hint="an expression can read the shape of earlier layers only")
        self.shape_reads.append((candidates, name, self.current_location))
        if name == NETWORK_INPUT:
            return self.network_input
        index = self.index_of[name]
        while len(self.shapes) <= index:
            pending = self.layers[len(self.shapes)]
            shape: tuple[int, ...] | ArchvizError | None = None
            try:
                if pending.references is None:
                    sources: tuple[str, ...] = (pending.previous,)
                else:
                    sources = tuple(next((c for c in options if c in self.index_of or c == NETWORK_INPUT), "")
                                    for options in pending.references)
                inputs = [self.network_input if source == NETWORK_INPUT
                          else self.shapes[self.index_of[source]] if source and self.index_of[source] < len(self.shapes)
                          else None for source in sources]
                failed = next((item for item in inputs if isinstance(item, ArchvizError)), None)
                if failed is not None:
                    shape = failed  # the first error upstream is the one to report
                elif all(isinstance(item, tuple) for item in inputs):
                    shape = tuple(pending.op.output_shape(inputs))  # type: ignore[arg-type]
                    self.shape_inputs[len(self.shapes)] = sources
            except ShapeError as exc:
                shape = exc.with_context(pending.location, pending.name, pending.calls)
            self.shapes.append(shape)
        found = self.shapes[index]
        if isinstance(found, ArchvizError):
            raise found
        if found is None:
            raise SpecError(f"in_channels reads the shape of {name!r}, which depends on a layer written after it",
                            hint="write the layers an expression reads the shape of before it")
        return found

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
            try:
                result = ev(part)
            except ArchvizError as exc:
                raise explain(exc.with_context(ctx.location), part, ctx.scope, ctx.origins)
            if isinstance(result, float) and result.is_integer():
                result = int(result)
            pieces.append(str(result))
        text = "".join(pieces)
        if any(ch in text for ch in "{}"):
            raise SpecError(f"{what} {value!r} has unbalanced braces", location=ctx.location)
        return text

    # -- references ---------------------------------------------------------------------
    def resolve_inputs(self) -> tuple[LayerDef, ...]:
        resolved: list[LayerDef] = []
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
                        raise GraphError(f"input {wanted!r} is not a layer of this network", layer=pending.name,
                                         hint=did_you_mean(wanted, known) or "inputs name earlier layers, 'in' or 'input'",
                                         ).with_context(pending.location, calls=pending.calls)
                    names.append(match)
                inputs = tuple(names)
                if self.shape_inputs and self.shape_inputs.get(len(resolved), inputs) != inputs:
                    raise GraphError(f"in_channels was read from inputs {list(self.shape_inputs[len(resolved)])}, "
                                     f"but the layer's inputs are {list(inputs)} once every layer is written",
                                     layer=pending.name, hint="give the layers distinct names",
                                     ).with_context(pending.location, calls=pending.calls)
            cls = type(pending.op)
            if len(inputs) < cls.min_inputs or (cls.max_inputs is not None and len(inputs) > cls.max_inputs):
                expected = f"{cls.min_inputs}" if cls.max_inputs == cls.min_inputs else f"at least {cls.min_inputs}"
                raise SpecError(f"{cls.name} takes {expected} input(s). Received: {len(inputs)} ({', '.join(inputs)})",
                                layer=pending.name,
                                hint="list the branches to merge in 'inputs: [a, b]'" if cls.min_inputs > 1 else None,
                                ).with_context(pending.location, calls=pending.calls)
            resolved.append(LayerDef(pending.name, pending.op, inputs, pending.stage, pending.location, pending.calls))
        for candidates, name, where in self.shape_reads:
            meant = next(c for c in candidates if c in known)
            if meant != name:
                raise GraphError(f"in_channels read the shape of {name!r}, but once every layer is written the "
                                 f"name means {meant!r}", location=where,
                                 hint="give the layers distinct names, or write the one meant before the read")
        return tuple(resolved)
