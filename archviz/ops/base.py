"""The op contract and registry.

Each op is a small class registered by name. Its ``attributes`` declare what a spec may
write (this table is also the JSON Schema, the docs and the validation); its pure methods
give output shape, costs and receptive-field window for given input shapes.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field
from importlib import import_module
from math import prod
from typing import Any, ClassVar, NamedTuple, TypeVar

from archviz.errors import ShapeError, SpecError
from archviz.shapes import Pad, Shape, same_padding

REQUIRED: Any = object()


@dataclass(frozen=True)
class Attribute:
    """One attribute an op accepts.

    ``kind`` is one of: int, float, bool, str, choice, padding, pair, ints (a list of integers,
    kept as a tuple; ``minimum`` applies to each), axis (an integer axis of the shape without
    the batch axis: 0 is the first, -1 the last), index (an integer position, negative from the end).
    ``minimum`` applies to int/float and to each element of a pair or ints.
    A float is always finite (NaN and infinity are refused); ``above`` and ``below`` are
    exclusive bounds for floats (``eps`` above 0, a drop rate below 1). The bounds are the
    validation, the JSON Schema and the docs' "kind" column alike.
    """

    kind: str
    doc: str
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    below: float | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def range_text(self) -> str:
        """The values a float accepts, as the docs and messages write them: "in [0, 1)", "> 0", ""."""
        low = (f"[{_number_text(self.minimum)}" if self.minimum is not None
               else f"({_number_text(self.above)}" if self.above is not None else None)
        high = (f"{_number_text(self.maximum)}]" if self.maximum is not None
                else f"{_number_text(self.below)})" if self.below is not None else None)
        if low is not None and high is not None:
            return f"in {low}, {high}"
        if low is not None:
            return f"{'>=' if low[0] == '[' else '>'} {low[1:]}"
        if high is not None:
            return f"{'<=' if high[-1] == ']' else '<'} {high[:-1]}"
        return ""


def _number_text(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class Cost(NamedTuple):
    """What one layer costs, as exact integer counts for the analysed batch.

    ``elementwise_ops`` is the op's own non-MAC work (activation, pooling window,
    normalisation, merge); its meaning per op is documented in docs/conventions.md.
    Every layer of every analysis builds one, so ops build it with ``new_cost`` from the five
    values in this order: a third of the NamedTuple's keyword constructor's price.
    """

    params: int = 0
    buffers: int = 0
    macs: int = 0
    bias_adds: int = 0
    elementwise_ops: int = 0


# new_cost(Cost, (params, buffers, macs, bias_adds, elementwise_ops)): tuple.__new__ itself
new_cost = tuple.__new__
NO_COST = Cost()


class Window(NamedTuple):
    """A sliding window along both spatial axes, for receptive-field composition."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad_before: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)


# A layer's receptive-field behaviour: a Window, POINTWISE (keeps the field), GLOBAL (each
# output sees the whole input, e.g. flatten, dense, global pooling) or NOT_APPLICABLE (the
# outputs are no longer positions on the input's pixel grid: tokens mixed by attention, maps
# upsampled or reshaped across spatial axes), reported as "n/a", never as a wrong field.
POINTWISE = "pointwise"
GLOBAL = "global"
NOT_APPLICABLE = "n/a"
FieldRule = Window | str

# Op.output_storage's values
NEW_STORAGE = "new"
VIEW = "view"
IN_PLACE = "in place"


class Op:
    """Base of all ops. Subclasses set the class variables and override the pure methods."""

    name: ClassVar[str]
    family: ClassVar[str]  # conv, pool, dense, norm, activation, merge, shape, regularization
    summary: ClassVar[str]
    attributes: ClassVar[Mapping[str, Attribute]] = {}
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    # rank of the inputs an op accepts (shapes without the batch axis): 3 = (C, H, W),
    # 2 = (tokens, features), 1 = (features,), a tuple = any of those ranks, None = any rank
    input_rank: ClassVar[int | tuple[int, ...] | None] = 3
    torch_notes: ClassVar[str] = ""
    keras_notes: ClassVar[str] = ""
    # ``field_rule``'s answer where it does not depend on the input shape, else None (set by
    # ``prepare`` where it depends on attributes): an analysis then composes receptive fields
    # once per network instead of once per input shape. Must agree with field_rule (tested).
    static_field_rule: FieldRule | None = POINTWISE
    # Where the output lives in a PyTorch eval forward (Analysis.memory_profile): "new" (its own
    # tensor), "view" (shares its input's storage: flatten, reshape, identity, dropout in eval)
    # or "in place" (may overwrite its input, as torchvision's ReLU(inplace=True) does, where
    # nothing reads that input afterwards).
    output_storage: ClassVar[str] = NEW_STORAGE

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values: dict[str, Any] = dict(values)
        for key, value in self.values.items():
            setattr(self, key, value)
        self.validate()
        self.prepare()

    def validate(self) -> None:
        """Checks between attributes (raise SpecError); single values are checked by kind."""

    def prepare(self) -> None:
        """Precompute what the pure methods need from the attributes alone (they run for every
        input shape an analysis or sweep tries); attributes themselves stay as written."""

    # -- the contract -------------------------------------------------------------------
    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        raise NotImplementedError

    def cost(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Cost:
        return NO_COST

    def field_rule(self, inputs: Sequence[Shape]) -> FieldRule:
        """How the layer changes the receptive field; ops whose rule depends on the input override it."""
        assert self.static_field_rule is not None
        return self.static_field_rule

    def label(self) -> str:
        """Short paper-style label, e.g. conv3-64."""
        return self.name

    def output_count(self) -> int:
        """How many outputs the op has. An op with several (``split``) becomes one layer per output,
        named ``<layer>.0``, ``<layer>.1``...; each layer's op is the op with ``output`` (its index)
        and ``outputs`` (the count) added to its values (see ``MultiOutput``)."""
        return 1

    # -- helpers for subclasses ---------------------------------------------------------
    def check_input_rank(self, inputs: Sequence[Shape]) -> None:
        accepted = self.input_rank
        if accepted is None:
            return
        ranks = (accepted,) if isinstance(accepted, int) else accepted
        for shape in inputs:
            if len(shape) not in ranks:
                expected = " or ".join(RANK_NAMES[rank] for rank in ranks)
                if 1 in ranks and len(shape) == 3:
                    hint = "add a 'flatten' (or global pooling) layer before it"
                elif ranks == (3,):
                    hint = "image ops need a (channels, height, width) input; do not flatten before them"
                else:
                    hint = "reshape, flatten or permute the input to one of these ranks first"
                raise ShapeError(
                    f"{self.name} expects an input of shape {expected}. Received: shape={list(shape)}",
                    hint=hint,
                )

    def __repr__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{type(self).__name__}({attrs})"


RANK_NAMES = {1: "(features,)", 2: "(tokens, features)", 3: "(channels, height, width)",
              4: "(d1, d2, d3, d4)"}


class MultiOutput(Op):
    """An op with several outputs: the expander makes one layer per output (``<layer>.<i>``), each
    with this op plus ``output`` (its index) and ``outputs`` (how many there are) in its values.

    ``output_shape`` and ``cost`` are then those of that one output. An op built without
    ``output`` (the expander's first look, and the contract tests) answers for output 0.
    """

    output: int
    outputs: int

    def __init__(self, values: Mapping[str, Any]) -> None:
        values = dict(values)
        values.setdefault("output", 0)
        self_count = values.pop("outputs", None)
        super().__init__(values)
        if self_count is not None and self_count != self.output_count():
            # a replay with other variable values changed the number of outputs: a new structure
            raise SpecError(f"{self.name} has {self.output_count()} outputs here, {self_count} before")
        self.outputs = self.output_count()
        self.values["outputs"] = self.outputs
        if not 0 <= self.output < self.outputs:
            raise SpecError(f"{self.name} has no output {self.output}")

    def label(self) -> str:
        return f"{self.name} {self.output + 1}/{self.output_count()}"


class Registry(dict[str, type[Op]]):
    """The op classes by name; the families named in ``lazy`` are imported on first use.

    A VGG's summary reads the registry on every start, and most of the ops (attention,
    upsampling, tensor reshaping, the per-sample norms) are never used there: their modules are
    imported when a spec names one of their ops, or when anything lists all ops (the schema, the
    docs, suggestions for a misspelt op).
    """

    def __init__(self) -> None:
        super().__init__()
        self.lazy: dict[str, str] = {}  # op name -> the module that registers it

    def defer(self, module: str, names: Sequence[str]) -> None:
        for name in names:
            self.lazy[name] = module

    def load(self, name: str) -> None:
        module = self.lazy.get(name)
        if module is not None and not dict.__contains__(self, name):
            import_module(module)

    def load_all(self) -> None:
        for module in dict.fromkeys(self.lazy.values()):
            import_module(module)

    def __missing__(self, name: str) -> type[Op]:
        if name not in self.lazy:
            raise KeyError(name)
        self.load(name)
        return dict.__getitem__(self, name)

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or name in self.lazy

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self.load(name)
        return dict.get(self, name, default)

    def __iter__(self) -> Iterator[str]:
        self.load_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self.load_all()
        return dict.__len__(self)

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        self.load_all()
        return dict.keys(self)

    def values(self) -> ValuesView[type[Op]]:  # type: ignore[override]
        self.load_all()
        return dict.values(self)

    def items(self) -> ItemsView[str, type[Op]]:  # type: ignore[override]
        self.load_all()
        return dict.items(self)


OP_REGISTRY = Registry()
ALIASES: dict[str, str] = {"linear": "dense", "fc": "dense", "maxpool2d": "max_pool2d", "avgpool2d": "avg_pool2d"}

OpT = TypeVar("OpT", bound=type[Op])


def register(cls: OpT) -> OpT:
    if dict.__contains__(OP_REGISTRY, cls.name):
        raise RuntimeError(f"op {cls.name!r} registered twice")
    OP_REGISTRY[cls.name] = cls
    return cls


# Number of elements of a shape (1 for the empty shape): math.prod itself, a C function, since
# every op calls it for every input shape an analysis or a sweep tries.
numel: Callable[[Shape], int] = prod


# -- attribute values -------------------------------------------------------------------
PaddingSpec = tuple[tuple[int, int], tuple[int, int]] | str


def as_pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return value if isinstance(value, tuple) else (value, value)


def resolve_padding(
    padding: PaddingSpec, size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> tuple[Pad, Pad]:
    """Turn a padding attribute into explicit (before, after) pairs for (height, width)."""
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        return (
            same_padding(size[0], kernel[0], stride[0], dilation[0]),
            same_padding(size[1], kernel[1], stride[1], dilation[1]),
        )
    assert isinstance(padding, tuple)
    return padding


def axis_index(op: Op, axis: int, shape: Shape, what: str = "axis") -> int:
    """``axis`` (negative: from the end) as an index into ``shape``; a ShapeError where there is none."""
    rank = len(shape)
    index = axis + rank if axis < 0 else axis
    if not 0 <= index < rank:
        raise ShapeError(
            f"{op.name}'s {what} {axis} is not an axis of an input of shape {list(shape)} "
            f"(axes 0..{rank - 1}, or -1..-{rank} from the end; the batch axis is not counted). "
            f"Received: {what}={axis}",
            hint="axis 0 is the channels of a (C, H, W) map and the tokens of a (tokens, features) input",
        )
    return index


def broadcast_shapes(op: Op, inputs: Sequence[Shape], hint: str) -> Shape:
    """PyTorch's broadcasting for inputs of one rank: each axis equal or 1 in every input.

    Inputs of different ranks are refused: with the batch axis in front, PyTorch would align a
    shorter shape's axes with the longer one's last axes and the batch axis with a data axis.
    """
    first = inputs[0]
    if any(len(shape) != len(first) for shape in inputs[1:]):
        raise ShapeError(
            f"{op.name} needs inputs of one rank (each axis equal, or 1 to broadcast). "
            f"Received: shapes={[list(s) for s in inputs]}",
            hint="give the smaller input size-1 axes, e.g. a [C, 1, 1] parameter for a C x H x W map",
        )
    result = []
    for sizes in zip(*inputs, strict=True):
        larger = {size for size in sizes if size != 1}
        if len(larger) > 1:
            raise ShapeError(
                f"{op.name} needs inputs of one shape, or shapes that broadcast (each axis equal or 1). "
                f"Received: shapes={[list(s) for s in inputs]}",
                hint=hint,
            )
        result.append(larger.pop() if larger else 1)
    return tuple(result)


def pair_rule(name: str, low: int) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if any(v < low for v in as_pair(value)):
            raise SpecError(f"{name} must be >= {low}. Received: {name}={value}")

    return check


@dataclass
class OpDoc:
    """Plain description of an op for docs and the schema."""

    name: str
    family: str
    summary: str
    attributes: dict[str, Attribute] = field(default_factory=dict)
