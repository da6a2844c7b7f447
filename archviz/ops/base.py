"""The op contract and registry.

Each op is a small class registered by name. Its ``attributes`` declare what a spec may
write (this table is also the JSON Schema, the docs and the validation); its pure methods
give output shape, costs and receptive-field window for given input shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any, ClassVar, NamedTuple, TypeVar

from archviz.errors import ShapeError, SpecError
from archviz.shapes import Pad, Shape, same_padding

REQUIRED: Any = object()


@dataclass(frozen=True)
class Attribute:
    """One attribute an op accepts.

    ``kind`` is one of: int, float, bool, str, choice, padding, pair.
    ``minimum`` applies to int/float and to each element of a pair.
    """

    kind: str
    doc: str
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


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


# A layer's receptive-field behaviour: a Window, POINTWISE (keeps the field), or GLOBAL
# (each output sees the whole input, e.g. flatten, dense, global pooling).
POINTWISE = "pointwise"
GLOBAL = "global"
FieldRule = Window | str


class Op:
    """Base of all ops. Subclasses set the class variables and override the pure methods."""

    name: ClassVar[str]
    family: ClassVar[str]  # conv, pool, dense, norm, activation, merge, shape, regularization
    summary: ClassVar[str]
    attributes: ClassVar[Mapping[str, Attribute]] = {}
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    # rank of the input each op accepts: 3 = (C, H, W), 1 = (features,), None = any
    input_rank: ClassVar[int | None] = 3
    torch_notes: ClassVar[str] = ""
    keras_notes: ClassVar[str] = ""
    # ``field_rule``'s answer where it does not depend on the input shape, else None (set by
    # ``prepare`` where it depends on attributes): an analysis then composes receptive fields
    # once per network instead of once per input shape. Must agree with field_rule (tested).
    static_field_rule: FieldRule | None = POINTWISE

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

    # -- helpers for subclasses ---------------------------------------------------------
    def check_input_rank(self, inputs: Sequence[Shape]) -> None:
        if self.input_rank is None:
            return
        for shape in inputs:
            if len(shape) != self.input_rank:
                expected = "(channels, height, width)" if self.input_rank == 3 else "(features,)"
                hint = (
                    "add a 'flatten' (or global pooling) layer before it"
                    if self.input_rank == 1
                    else "image ops need a (channels, height, width) input; do not flatten before them"
                )
                raise ShapeError(
                    f"{self.name} expects an input of shape {expected}. Received: shape={list(shape)}",
                    hint=hint,
                )

    def __repr__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{type(self).__name__}({attrs})"


OP_REGISTRY: dict[str, type[Op]] = {}
ALIASES: dict[str, str] = {"linear": "dense", "fc": "dense", "maxpool2d": "max_pool2d", "avgpool2d": "avg_pool2d"}

OpT = TypeVar("OpT", bound=type[Op])


def register(cls: OpT) -> OpT:
    if cls.name in OP_REGISTRY:
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
