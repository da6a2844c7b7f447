"""The public Network object: a loaded spec, its graph, and analysis at any input shape."""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archviz.analysis import Analysis, Plan, Totals, analyze_layers, gc_paused, totals_only
from archviz.errors import ArchvizError, ArgumentError, ShapeError, SpecError
from archviz.graph import build_graph, topological_layers
from archviz.shapes import Shape
from archviz.spec.document import Document, read_document, read_document_text
from archviz.spec.expand import LayerDef, Spec, expand, through_extends
from archviz.spec.values import MAX_SIZE

if TYPE_CHECKING:
    import networkx as nx

    from archviz.render.notebook import Picture
    from archviz.spec.replay import Replay


MAX_STRUCTURES = 8  # other structures a network keeps for with_variables
SUFFIXES_LIMIT = 20_000  # totals_at's remembered suffixes per batch


@dataclass(frozen=True)
class Network:
    """A validated network. Analysing it again never re-reads or re-parses its YAML."""

    spec: Spec
    ordered: tuple[LayerDef, ...]
    overrides: dict[str, Any] = field(default_factory=dict)  # the values given, not derived ones
    until: tuple[str, ...] = ()  # the layers a truncated network ends at (see truncate)

    @cached_property
    def graph(self) -> nx.DiGraph:
        """The layer graph (networkx DiGraph; node ``input`` plus one node per layer)."""
        return build_graph(self.spec.layers)

    @property
    def name(self) -> str:
        if self.until:
            return f"{self.spec.document.name} up to {', '.join(self.until)}"
        return self.spec.document.name

    @property
    def description(self) -> str:
        return self.spec.document.description

    @property
    def reference(self) -> str:
        return self.spec.document.reference

    @property
    def document(self) -> Document:
        return self.spec.document

    @property
    def input_shape(self) -> Shape:
        """The spec's default input, ``()`` where it has no ``input:`` (then analyses need one given)."""
        return self.spec.input_shape

    @property
    def variables(self) -> dict[str, Any]:
        return self.spec.variables

    @property
    def variable_descriptions(self) -> dict[str, str]:
        """Each variable's one-line description, where the spec gives one (docs/spec.md)."""
        return self.spec.document.variable_descriptions

    @property
    def layers(self) -> tuple[LayerDef, ...]:
        return self.ordered

    def _repr_html_(self) -> str:
        """Jupyter's display: the description and the analysis at the spec's input."""
        from archviz.render.notebook import network_html

        return network_html(self)

    def diagram(self, style: str = "graph", **options: Any) -> Picture:
        """The graph (``style="graph"``, needs Graphviz's dot) or the blocks figure as an SVG
        picture a notebook draws inline; ``options`` go to render_graph or render_blocks."""
        from archviz.render.notebook import Picture

        analysis = self.analyze()
        if style == "blocks":
            from archviz.render.figure import render_blocks

            return Picture(render_blocks(analysis, self, "svg", **options))
        from archviz.render.diagram import render_graph

        return Picture(render_graph(analysis, self, "svg", **options))

    @property
    def outputs(self) -> tuple[str, ...]:
        """The layers whose results the network returns: ``outputs:`` in the spec, else the last layer.

        >>> import archviz
        >>> archviz.load("vgg16").outputs
        ('prob',)
        """
        return self.spec.outputs or (self.ordered[-1].name,)

    @cached_property
    def warnings(self) -> tuple[str, ...]:
        """What is worth knowing but stops nothing: each layer whose result no layer reads and
        that is not an output (a typo in ``inputs:`` orphans a branch; it is still counted)."""
        read = {source for layer in self.ordered for source in layer.inputs}
        outputs = self.outputs
        orphans = [layer for layer in self.ordered if layer.name not in read and layer.name not in outputs]
        if not orphans:
            return ()
        shown = ", ".join(repr(name) for name in outputs)
        if self.spec.outputs:
            hint = f"check the 'inputs' that should read it, or add it to 'outputs:' (now {shown})"
        else:
            hint = (f"check the 'inputs' that should read it; a network with several outputs lists them in "
                    f"'outputs: [...]' (the output now is the last layer, {shown})")
        return tuple(f"{layer.location}: layer {layer.name!r}: no layer reads its output and it is not an output "
                     f"of the network; it is counted in the totals\n  hint: {hint}"
                     for layer in orphans)

    @cached_property
    def plan(self) -> Plan:
        """The layers prepared for analysis (input positions resolved once)."""
        return Plan(self.ordered)

    def analyze(self, input_shape: Sequence[int] | None = None, batch: int = 1, dtype: str = "float32") -> Analysis:
        """Shapes, params, MACs, FLOPs, memory and receptive fields of every layer.

        ``dtype`` (float32, bfloat16, float16, int8) is the one the memory figures are in; the
        training estimate's assumptions for it are ``archviz.analysis.TRAINING_ASSUMPTIONS[dtype]``.

        >>> import archviz
        >>> archviz.load("vgg16").analyze().totals.params
        138357544
        >>> archviz.load("vgg16").analyze(dtype="bfloat16").totals.param_bytes
        276715088
        """
        shape = self._shape(input_shape)
        if type(batch) is not int or batch > MAX_SIZE:
            batch = _checked_batch(batch)
        if self.spec.reads_shapes and shape != self.spec.input_shape:
            return self.for_input(shape).analyze(shape, batch, dtype)
        with gc_paused():
            try:
                return analyze_layers(self.name, self.document.file, self.ordered, shape, batch,
                                      self.spec.variables, self.plan, self.outputs, self.warnings, dtype)
            except ArchvizError as exc:
                raise through_extends(exc, self.document)  # a layer in a file the spec extends

    def sized_by_input(self, analysis: Analysis) -> tuple[str, ...]:
        """The dense layers of ``analysis`` whose parameter count follows its input size.

        A dense layer after a flatten of a feature map (the VGG paper's classifier) has as many
        inputs as the map has values, so its size changes with the input; after global or
        adaptive pooling it does not. Found by asking the totals 32 pixels larger (no per-layer
        records unless they differ), so the answer is the network's own arithmetic.

        >>> import archviz
        >>> vgg16 = archviz.load("vgg16")
        >>> vgg16.sized_by_input(vgg16.analyze((3, 512, 512)))
        ('fc6',)
        >>> vgg16 = archviz.load("vgg16", torchvision_layout=True)
        >>> vgg16.sized_by_input(vgg16.analyze((3, 512, 512)))
        ()
        """
        shape = analysis.input_shape
        if len(shape) != 3 or not any(record.family == "dense" for record in analysis.layers):
            return ()
        larger = (shape[0], shape[1] + 32, shape[2] + 32)
        try:
            if self.totals_at(larger).params == analysis.totals.params:
                return ()
            other = self.analyze(larger)
        except ArchvizError:
            return ()  # the network takes no larger input: nothing to compare with
        params = {record.name: record.params for record in analysis.layers}
        return tuple(record.name for record in other.layers
                     if record.family == "dense" and params.get(record.name, record.params) != record.params)

    def input_size_note(self, analysis: Analysis) -> str | None:
        """A note for the summary where a dense layer's size depends on the input (sized_by_input)
        and the input is not the spec's own (at its own input the head is the one it describes)."""
        if tuple(analysis.input_shape) == tuple(self.input_shape):
            return None
        layers = self.sized_by_input(analysis)
        if not layers:
            return None
        first = analysis.layer(layers[0])
        features = first.input_shapes[0][-1]
        fix = ("--set torchvision_layout=true gives torchvision's fixed-size head (adaptive average pooling to "
               "7x7 before the classifier; docs/conventions.md)" if "torchvision_layout" in self.variables
               else "a global or adaptive average pooling before the flatten fixes the head's size")
        return (f"{', '.join(layers)}: size depends on the input: at {shape_text(analysis.input_shape)} "
                f"{layers[0]} reads {features:,} features ({first.params:,} params); {fix}")

    def totals_at(self, input_shape: Sequence[int] | None = None, batch: int = 1, dtype: str = "float32") -> Totals:
        """``analyze(input_shape, batch).totals`` without the per-layer records: for sweeps.

        >>> import archviz
        >>> archviz.load("vgg16").totals_at((3, 32, 32)).macs
        336166912
        """
        shape = self._shape(input_shape)
        if type(batch) is not int or batch > MAX_SIZE:
            batch = _checked_batch(batch)
        if self.spec.reads_shapes and shape != self.spec.input_shape:
            return self.for_input(shape).totals_at(shape, batch, dtype)
        with gc_paused():
            if self.spec.outputs and self.spec.outputs[0] != self.ordered[-1].name:  # the walk ends at the last layer
                return self.analyze(input_shape, batch, dtype).totals
            suffixes = self.plan.suffixes.setdefault(batch, {})  # see totals_only's memo
            if len(suffixes) > SUFFIXES_LIMIT:
                suffixes.clear()
            try:
                return totals_only(self.plan, shape, batch, suffixes, dtype=dtype)
            except ArchvizError as exc:
                raise through_extends(exc, self.document)

    def for_input(self, input_shape: Sequence[int]) -> Network:
        """This network for another input, where its expressions read shapes (``filters:
        in_channels * 6``; a position embedding as long as the tokens): the document expanded
        again for that input."""
        shape = self._shape(input_shape)
        if not self.spec.reads_shapes or shape == self.spec.input_shape:
            return self
        known = self.inputs.get(shape)
        if known is None:
            with gc_paused():
                spec = expand(self.document, self.overrides, input_shape=shape)
                known = Network(spec=spec, ordered=topological_layers(spec.layers), overrides=self.overrides)
                if self.until:
                    known = known.truncate(*self.until)
            if len(self.inputs) >= MAX_STRUCTURES:
                self.inputs.clear()
            self.inputs[shape] = known
        return known

    @cached_property
    def inputs(self) -> dict[tuple[int, ...], Network]:
        """Networks for other inputs made by for_input."""
        return {}

    def truncate(self, *names: str) -> Network:
        """The network up to ``names`` (layers that none of them depends on are left out), as
        torchvision's feature extraction by return nodes: VGG16 to ``pool5`` as a backbone.

        >>> import archviz
        >>> backbone = archviz.load("vgg16").truncate("pool5")
        >>> backbone.analyze().totals.output_shape, backbone.analyze().totals.params
        ((512, 7, 7), 14714688)
        """
        from archviz.errors import SpecError
        from archviz.suggest import did_you_mean

        if not names:
            raise SpecError("truncate needs the name of a layer to end at", hint="e.g. truncate('pool5')")
        position = {layer.name: index for index, layer in enumerate(self.ordered)}
        for name in names:
            if not isinstance(name, str):
                raise ArgumentError(f"truncate takes layer names (str). Received: {_shown(name)}",
                                    hint="e.g. truncate('pool5')")
            if name not in position:
                raise SpecError(f"truncate expects the name of a layer of {self.name}. Received: {name!r}",
                                location=self.document.location,
                                hint=did_you_mean(name, position) or "see 'archviz summary' for the layer names")
        keep = set(names)
        for layer in reversed(self.ordered):  # graph order: each layer's inputs come before it
            if layer.name in keep:
                keep.update(layer.inputs)
        # the layers named last, so that the analysis' output is the (last) layer asked for
        last = max(names, key=position.__getitem__)
        ordered = tuple(layer for layer in self.ordered if layer.name in keep and layer.name != last)
        ordered += (self.ordered[position[last]],)
        # several layers asked for are the outputs, as torchvision's return nodes; one is the last layer
        outputs = tuple(dict.fromkeys(names)) if len(set(names)) > 1 else ()
        spec = Spec(document=self.document, variables=self.spec.variables, input_shape=self.spec.input_shape,
                    layers=ordered, outputs=outputs, reads_shapes=self.spec.reads_shapes)
        return Network(spec=spec, ordered=ordered, overrides=self.overrides, until=tuple(dict.fromkeys(names)))

    def _shape(self, input_shape: Sequence[int] | None) -> tuple[int, ...]:
        if input_shape is None:
            shape = self.spec.input_shape
        else:
            shape = input_shape if type(input_shape) is tuple else _as_tuple(input_shape)
            for size in shape:  # exact ints only: a float leaked into the memo and every count after it
                if type(size) is not int or size > MAX_SIZE:
                    shape = _checked_shape(shape)
                    break
        if not self.spec.input_shape:
            if not shape:
                raise SpecError("the spec has no default 'input' shape, and none was given",
                                location=self.document.location,
                                hint="add 'input: [3, 224, 224]' (channels, height, width) to the spec, or give "
                                     "one: --input 3x224x224 (input_shape=(3, 224, 224) in Python)")
            return shape
        if len(shape) != len(self.spec.input_shape):
            raise ShapeError(
                f"input must have {len(self.spec.input_shape)} dimensions like the spec's "
                f"{list(self.spec.input_shape)}. Received: {list(shape)}",
                hint="give channels x height x width, e.g. --input 3x224x224",
            )
        return shape

    def with_variables(self, **variables: Any) -> Network:
        """The same document expanded with other variable values (no file is read).

        Variables derived from others (``filters: "16 * width"``) follow the new values. Where
        the values change only attributes (widths, class counts), the network is derived from
        this one's without expanding the document again (archviz/spec/replay.py).
        """
        overrides = {**self.overrides, **variables}
        if self.until or self.spec.reads_shapes:
            # a truncated network is its whole network's, truncated again; where expressions read
            # shapes, the channels follow the values and a replay could not tell: expand in full
            whole = network_from_document(self.document, overrides)
            return whole.truncate(*self.until) if self.until else whole
        with gc_paused():
            # This network's replay first, then those of networks with other structures met
            # before (batch_norm=true beside false): a sweep returns to each of them often.
            for base in (self, *reversed(self.structures)):
                spec = base.replay.expand(overrides)
                if spec is not None:
                    return base.derived(spec, overrides)
            network = network_from_document(self.document, overrides)
            if len(self.structures) >= MAX_STRUCTURES:
                del self.structures[0]
            self.structures.append(network)
            return network

    def derived(self, spec: Spec, overrides: dict[str, Any]) -> Network:
        """A network for ``spec``, replayed from this one's: same layers, in the same order."""
        if not self.replay.in_order:
            return Network(spec=spec, ordered=topological_layers(spec.layers), overrides=overrides)
        network = Network(spec=spec, ordered=spec.layers, overrides=overrides)
        network.__dict__["warnings"] = self.warnings  # same layers, same wiring
        # most of its LayerDefs are this network's own: its plan is this one's with the changed
        # steps redone (set in cached_property's own slot)
        network.__dict__["plan"] = self.plan.rebind(spec.layers, self.replay.indices)
        return network

    @cached_property
    def structures(self) -> list[Network]:
        """Networks made by with_variables that a replay of this one could not derive."""
        return []

    @cached_property
    def replay(self) -> Replay:
        """This network's document expanded once more, recording what its variables decide."""
        from archviz.spec.replay import Replay  # only sweeps and with_variables need it

        with gc_paused():
            return Replay(self.spec, self.overrides)


def shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


def network_from_document(document: Document, variables: dict[str, Any] | None = None) -> Network:
    with gc_paused():
        spec = expand(document, variables or {})
        return Network(spec=spec, ordered=topological_layers(spec.layers), overrides=dict(variables or {}))


def load(spec: str | Path, **variables: Any) -> Network:
    """Load a spec file or a built-in (``"vgg16"``) with optional variable overrides.

    >>> load("vgg16", num_classes=10).analyze().totals.output_shape
    (10,)
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise ArgumentError(f"load() takes a spec file's path or a built-in name (str or Path). "
                            f"Received: {_shown(spec)}", hint="archviz.load('vgg16') or archviz.load(Path('net.yaml'))")
    with gc_paused():  # reading allocates a node per YAML value, and no cycles
        return network_from_document(read_document(spec), variables)


def loads(text: str, **variables: Any) -> Network:
    r"""Load a spec from YAML text (``extends`` resolves in the working folder).

    >>> loads("name: tiny\ninput: [3, 8, 8]\nlayers: [{conv2d: {filters: 4, kernel: 3}}]").analyze().totals.params
    112
    """
    if not isinstance(text, str):
        hint = "decode it first: loads(data.decode('utf-8'))" if isinstance(text, (bytes, bytearray)) else \
            "pass the YAML text; archviz.load() reads a file"
        raise ArgumentError(f"loads() takes the spec's YAML text as a str. Received: {_shown(text)}", hint=hint)
    with gc_paused():
        return network_from_document(read_document_text(text), variables)


def _shown(value: Any) -> str:
    """A value of any type as a message shows it: its type, and a short repr."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001  (a repr that fails, or an int of more than 4,300 digits)
        text = "..."
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, Iterable):
        raise ArgumentError(f"input_shape must be a sequence of integers such as (3, 224, 224). "
                            f"Received: {_shown(value)}")
    return tuple(value)


def _integer(name: str, value: Any) -> int:
    """``value`` as an exact int: ints and integer types such as numpy's (``__index__``), never a
    bool or a float (a float made every count after it a float)."""
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise ArgumentError(f"{name} must be integers, not {type(value).__name__}. Received: {_shown(value)}",
                            hint="give whole numbers as int, e.g. input_shape=(3, 224, 224), batch=8")
    return operator.index(value)


def _too_large(value: int) -> str:
    return str(value) if abs(value) < 10**40 else f"an integer of {value.bit_length()} bits"


def _checked_shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    sizes = tuple(_integer("input_shape", size) for size in shape)
    if any(size > MAX_SIZE for size in sizes):
        raise ShapeError(f"input dimensions must be <= {MAX_SIZE:,}. "
                         f"Received: input=[{', '.join(_too_large(size) for size in sizes)}]",
                         hint="archviz limits sizes to 2**31-1 to keep every count exact and fast")
    return sizes


def _checked_batch(batch: Any) -> int:
    number = _integer("batch", batch)
    if number > MAX_SIZE:
        raise ShapeError(f"batch must be <= {MAX_SIZE:,}. Received: batch={_too_large(number)}",
                         hint="archviz limits sizes to 2**31-1 to keep every count exact and fast")
    return number
