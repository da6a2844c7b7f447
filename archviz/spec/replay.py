"""Expanding a document again for other variable values by repeating only what they change.

A sweep expands one document for thousands of variable values, and in a VGG almost nothing
of an expansion depends on them: the blocks, repeats and names stay, and only a few
attributes (``filters: 64 * width``, ``units: num_classes``) change. A :class:`Trace` is
recorded during one full expansion (``expand(..., trace=...)``): scopes bind every variable
to a :class:`VariableRef`, so each evaluation reports the variables it read (block arguments
computed from variables stay :class:`Derived` references). The trace keeps

- a *guard* for every evaluation that shapes the network (``if``, ``repeat``, stage and layer
  names, ``inputs``, the input shape) and read a variable, with its value, and
- for every layer with an attribute that read a variable, how to compute those attributes.

:meth:`Replay.expand` re-evaluates the guards with the new values; when every one gives the
same value, the network has the same layers, names and wiring, and only the recorded
attributes are computed again (ops with equal attributes are shared). When a guard differs,
or anything raises, it answers None and the caller expands in full, which also words any error
exactly as ever. tests/test_replay.py checks replays against full expansions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archviz.errors import ArchvizError
from archviz.graph import topological_layers
from archviz.ops import Op
from archviz.ops.base import Attribute
from archviz.spec.expand import LayerDef, Spec, expand, resolve_variables
from archviz.spec.expr import Lazy, evaluate_tracked
from archviz.spec.values import coerce

OP_CACHE_LIMIT = 4096  # distinct ops kept per replay (an op is a few hundred bytes)
RECALL_LIMIT = 1024  # remembered results per evaluation site
_MISSING = object()


class Binding:
    """The variable values a trace's references read; a replay sets new ones."""

    __slots__ = ("generation", "values")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.generation = 0

    def set(self, values: dict[str, Any]) -> None:
        self.values = values
        self.generation += 1


class VariableRef(Lazy):
    """A spec variable as scopes bind it while tracing."""

    __slots__ = ("binding", "name", "read")

    def __init__(self, binding: Binding, name: str) -> None:
        self.binding = binding
        self.name = name
        self.read = frozenset((name,))

    def resolve(self) -> tuple[Any, frozenset[str]]:
        return self.binding.values[self.name], self.read


class Derived(Lazy):
    """A block argument computed from variables (``filters: 64 * width``), recomputed when they change."""

    __slots__ = ("binding", "generation", "read", "scope", "text", "value")

    def __init__(self, binding: Binding, text: str, scope: Mapping[str, Any], value: Any,
                 read: frozenset[str]) -> None:
        self.binding = binding
        self.text = text
        self.scope = scope
        self.value = value
        self.read = read
        self.generation = binding.generation

    def resolve(self) -> tuple[Any, frozenset[str]]:
        if self.generation != self.binding.generation:
            self.value, self.read = evaluate_tracked(self.text, self.scope)
            self.generation = self.binding.generation
        return self.value, self.read


class Recall:
    """The results one evaluation site gave, by the values of the variables it read.

    Sound because an evaluation is a pure function of what it reads: where those variables
    have the values they had, it reads the same ones again and gives the same result. (Which
    variables it reads can change with their values, 'a if flag else b', so each result is
    kept with its own set of names.) Values are keyed with their types: 1, 1.0 and True are
    equal in Python but do not always evaluate alike.
    """

    __slots__ = ("last", "last_read", "tables")

    def __init__(self, result: Any, read: frozenset[str], variables: Mapping[str, Any]) -> None:
        self.tables: dict[tuple[str, ...], tuple[frozenset[str], dict[tuple[Any, ...], Any]]] = {}
        self.last: Any = _MISSING
        self.last_read = read
        self.put(result, read, variables)

    def get(self, variables: Mapping[str, Any], changed: frozenset[str]) -> Any:
        """The result for these values, or _MISSING. ``changed`` names the variables whose values
        differ from the previous call's: a last result that read none of them still holds."""
        if self.last_read.isdisjoint(changed):
            return self.last
        for names, (read, table) in self.tables.items():
            result = table.get(_key(names, variables), _MISSING)
            if result is not _MISSING:
                self.last, self.last_read = result, read
                return result
        return _MISSING

    def put(self, result: Any, read: frozenset[str], variables: Mapping[str, Any]) -> None:
        self.last, self.last_read = result, read
        names = tuple(sorted(read))
        _read, table = self.tables.setdefault(names, (read, {}))
        if len(table) >= RECALL_LIMIT:
            table.clear()
        table[_key(names, variables)] = result


def _key(names: tuple[str, ...], variables: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple([(type(variables[name]), variables[name]) for name in names])


Guard = tuple[str, Mapping[str, Any], Any, Recall]  # expression, scope, value in the trace, results
# index in the spec's layers, op class, the op's values, the attributes to recompute, scope, results
TracedLayer = tuple[int, type[Op], dict[str, Any], list[tuple[str, Attribute, Any]], Mapping[str, Any], Recall]


class Trace:
    """What one expansion's variables decided (see the module doc); filled in by the expander."""

    def __init__(self) -> None:
        self.binding = Binding({})
        self.guards: list[Guard] = []
        self.layers: list[TracedLayer] = []

    def bind(self, variables: dict[str, Any]) -> dict[str, Any]:
        self.binding.set(variables)
        return {name: VariableRef(self.binding, name) for name in variables}

    def guard(self, text: str, scope: Mapping[str, Any], value: Any, read: frozenset[str]) -> None:
        self.guards.append((text, scope, value, Recall(value, read, self.binding.values)))

    def derived(self, text: str, scope: Mapping[str, Any], value: Any, read: frozenset[str]) -> Derived:
        return Derived(self.binding, text, scope, value, read)

    def layer(self, index: int, cls: type[Op], values: dict[str, Any], dynamic: list[tuple[str, Attribute, Any]],
              scope: Mapping[str, Any], op: Op, read: frozenset[str]) -> None:
        self.layers.append((index, cls, values, list(dynamic), scope, Recall(op, read, self.binding.values)))


class Replay:
    """A spec's document expanded once more with tracing, ready to be expanded for other values.

    Replays start from ``spec``'s own layers and ops: a layer whose attributes come out equal
    keeps its LayerDef, so what was prepared for ``spec`` (e.g. an analysis Plan) can be reused.
    """

    def __init__(self, spec: Spec, overrides: Mapping[str, Any] | None = None) -> None:
        self.document = spec.document
        self.spec = spec
        self.trace = Trace()
        traced = expand(spec.document, overrides, self.trace)
        if len(traced.layers) != len(spec.layers):
            raise AssertionError("the traced expansion differs from the spec it replays")
        # replays keep the layers' order, so where it is already a graph order it stays one
        self.in_order = topological_layers(spec.layers) is spec.layers
        self.previous: dict[str, Any] = self.trace.binding.values
        self.ops: dict[tuple[Any, ...], Op] = {}
        self.layer_defs: dict[tuple[int, Op], LayerDef] = {}
        self.last_layers = list(spec.layers)  # the last successful replay's
        # the only layers a replay can change: those with an attribute that read a variable
        self.indices = tuple(sorted({index for index, *_ in self.trace.layers}))
        # Which sites ever read a variable (a superset of what they read now): a replay only
        # visits the sites that read a changed one; the others' last results still hold.
        self.guard_reads: set[str] = set()
        self.layer_readers: dict[str, set[int]] = {}
        for _text, _scope, _value, recall in self.trace.guards:
            self.guard_reads.update(recall.last_read)
        for site, (index, cls, values, _dynamic, _scope, recall) in enumerate(self.trace.layers):
            # the recorded results name the traced ops: let them be the spec's own, equal ones
            op = spec.layers[index].op
            self.ops[self.op_key(cls, values)] = op
            recall.put(op, recall.last_read, self.previous)
            self.read_by(site, recall.last_read)

    def read_by(self, site: int, read: frozenset[str]) -> None:
        for name in read:
            self.layer_readers.setdefault(name, set()).add(site)

    def expand(self, overrides: Mapping[str, Any]) -> Spec | None:
        """The spec for these values, or None where they change more than attributes."""
        variables = resolve_variables(self.document, overrides)  # raises as expand() would
        previous, self.previous = self.previous, {}  # until this replay succeeds: every value is new
        changed = frozenset(name for name, value in variables.items()
                            if name not in previous or type(previous[name]) is not type(value)
                            or previous[name] != value)
        self.trace.binding.set(variables)
        try:
            if not changed.isdisjoint(self.guard_reads):
                for text, scope, value, recall in self.trace.guards:
                    again = recall.get(variables, changed)
                    if again is _MISSING:
                        again, read = evaluate_tracked(text, scope)
                        recall.put(again, read, variables)
                        self.guard_reads.update(read)
                    if type(again) is not type(value) or again != value:
                        return None
            layers = list(self.last_layers)
            sites: set[int] = set()
            for name in changed:
                sites.update(self.layer_readers.get(name, ()))
            for site in sites:
                index, cls, recorded, dynamic, scope, recall = self.trace.layers[site]
                op = recall.get(variables, changed)
                if op is _MISSING:
                    op, read = self.layer_op(cls, recorded, dynamic, scope)
                    recall.put(op, read, variables)
                    self.read_by(site, read)
                layers[index] = self.layer_def(index, op)
        except ArchvizError:
            return None  # the full expansion words it
        self.previous = variables
        self.last_layers = layers
        return Spec(document=self.document, variables=variables, input_shape=self.spec.input_shape,
                    layers=tuple(layers), outputs=self.spec.outputs)

    def layer_def(self, index: int, op: Op) -> LayerDef:
        """The spec's layer ``index`` with ``op``: the spec's own where the op is, else one per op."""
        before = self.spec.layers[index]
        if op is before.op:
            return before
        layer = self.layer_defs.get((index, op))
        if layer is None:
            if len(self.layer_defs) >= OP_CACHE_LIMIT:
                self.layer_defs.clear()
            layer = self.layer_defs[index, op] = LayerDef(before.name, op, before.inputs, before.stage,
                                                          before.location, before.calls)
        return layer

    def layer_op(self, cls: type[Op], recorded: dict[str, Any], dynamic: list[tuple[str, Attribute, Any]],
                 scope: Mapping[str, Any]) -> tuple[Op, frozenset[str]]:
        """A traced layer's op for the bound values, and the variables its attributes read."""
        values = dict(recorded)
        read: set[str] = set()

        def ev(text: str) -> Any:
            value, names = evaluate_tracked(text, scope)
            read.update(names)
            return value

        for key, attribute, raw in dynamic:
            values[key] = coerce(key, attribute, raw, ev)
        return self.op(cls, values), frozenset(read)

    def op(self, cls: type[Op], values: dict[str, Any]) -> Op:
        """An op for these values, shared with earlier replays that had equal ones (ops never change)."""
        key = self.op_key(cls, values)
        op = self.ops.get(key)
        if op is None:
            if len(self.ops) >= OP_CACHE_LIMIT:
                self.ops.clear()
            op = self.ops[key] = cls(values)
        return op

    @staticmethod
    def op_key(op_class: type[Op], values: dict[str, Any]) -> tuple[Any, ...]:
        return (op_class, *((name, type(value), value) for name, value in values.items()))
