"""Turning spec values (numbers, lists, expression strings) into typed attribute values."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from archviz.errors import ExpressionError, Location, SpecError
from archviz.ops.base import Attribute
from archviz.spec.yamlio import key_location
from archviz.suggest import did_you_mean

MAX_SIZE = 2**31 - 1
Evaluate = Callable[[str], Any]


class NotWholeError(SpecError):
    """An integer attribute came out fractional: the expander words a hint that fits where the
    fraction came from (a block argument, a variable, the expression itself)."""


EXPECTED_INT = "an integer (e.g. 3) or arithmetic such as '64 * width'"
EXPECTED_PAIR = "one integer or a pair [height, width] (e.g. 3 or [3, 3]), or arithmetic such as '2 * k'"
_TIMES = re.compile(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*")  # '3x3'; 3*3 is arithmetic


def _number(name: str, value: Any, evaluate: Evaluate, expected: str = EXPECTED_INT) -> Any:
    if isinstance(value, str):
        try:
            return evaluate(value)
        except ExpressionError:
            if _readable(value):
                raise
            raise _unreadable(name, value, expected) from None
    return value


def _readable(text: str) -> bool:
    """Whether an expression parses at all (the evaluator's other refusals are its own to word)."""
    try:
        ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return False
    return True


def _unreadable(name: str, text: str, expected: str) -> ExpressionError:
    """A value that is no expression at all: what was expected, and the likely fix."""
    times = _TIMES.fullmatch(text)
    if times:
        hint = f"write [{times.group(1)}, {times.group(2)}] for {times.group(1)} by {times.group(2)}"
    elif text.count("(") > text.count(")") or text.count("[") > text.count("]"):
        hint = ("the brackets do not close: if the value had a comma inside {...}, YAML cut it there; quote the "
                f"whole value: {name}: \"...\"")
    else:
        hint = "write a number, or arithmetic on variables and block arguments (docs/spec.md)"
    return ExpressionError(f"{name} must be {expected}. Received: {name}={text!r}, which is not an expression",
                           hint=hint)


def _balance(text: str) -> int:
    """Opening minus closing brackets: > 0 where a piece of text leaves one open."""
    return text.count("(") + text.count("[") - text.count(")") - text.count("]")


def flow_split(pieces: list[Any]) -> tuple[int, int] | None:
    """Where YAML cut one value at its commas: inside ``{...}`` or ``[...]`` a comma ends a value,
    so ``max(1, c // 4)`` arrives as the pieces ``'max(1'`` and ``'c // 4)'``. Returns the first
    and last index of the pieces that close each other's brackets, or None."""
    for start, piece in enumerate(pieces):
        if not isinstance(piece, str) or _balance(piece) <= 0:
            continue
        balance = _balance(piece)
        for end in range(start + 1, len(pieces)):
            if not isinstance(pieces[end], str):
                break
            balance += _balance(pieces[end])
            if balance <= 0:
                return (start, end) if balance == 0 else None
    return None


def split_value_error(name: str, pieces: list[str], in_list: bool = False) -> SpecError:
    """The error for a value YAML cut at its commas (see flow_split); ``in_list``: an item of a list."""
    whole = ", ".join(pieces)
    what = f"an item of {name}" if in_list else f"the value of {name}"
    return SpecError(f"{what} was cut at a comma: inside {{...}} and [...] YAML ends a value at each comma, so "
                     f"{whole!r} arrived as {len(pieces)} pieces ({', '.join(map(repr, pieces))})",
                     hint=f"quote it inside the list: [\"{whole}\", ...]" if in_list else
                     f"quote the value: {name}: \"{whole}\"")


def check_flow_split(body: Mapping[str, Any], where: Location, layer: str | None = None) -> None:
    """Refuse a value YAML cut at a comma inside ``{...}``: ``{filters: max(1, c // 4), kernel: 1}``
    reads as ``filters: 'max(1'`` and a key ``'c // 4)'`` without a value. Called where such a
    mapping was refused (an unknown key or name, a value that is no expression), to say why."""
    keys = list(body)
    for index, key in enumerate(keys):
        value = body[key]
        if not isinstance(value, str):
            continue
        rest = []
        for later in keys[index + 1:]:
            if body[later] is not None:
                break
            rest.append(later)
        cut = flow_split([value, *rest])
        if cut is not None and cut[0] == 0:
            raise split_value_error(key, [value, *rest][: cut[1] + 1]).with_context(
                key_location(body, key, where), layer)


def to_int(name: str, value: Any, evaluate: Evaluate, minimum: float | None = None,
           maximum: float | None = MAX_SIZE, expected: str = EXPECTED_INT) -> int:
    raw = value
    value = _number(name, value, evaluate, expected)
    source = f" (from {raw!r})" if isinstance(raw, str) else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str) and not _readable(value):  # text passed on: a block argument '3x3'
            raise _unreadable(name, value, expected)
        raise SpecError(f"{name} must be an integer. Received: {name}={value!r}{source}")
    if isinstance(value, float):
        if not value.is_integer():
            rounding = f"round it in the expression: 'round({raw.strip()})'" if isinstance(raw, str) else \
                f"write a whole number for {name}"
            raise NotWholeError(f"{name} must be a whole number. Received: {name}={value}{source}", hint=rounding)
        value = int(value)
    if minimum is not None and value < minimum:
        raise SpecError(f"{name} must be >= {int(minimum)}. Received: {name}={value}{source}")
    if maximum is not None and value > maximum:
        hint = "archviz limits sizes to 2**31-1 to keep every count exact and fast" if maximum == MAX_SIZE else None
        raise SpecError(f"{name} must be <= {int(maximum):,}. Received: {name}={value}{source}", hint=hint)
    return value


def to_float(name: str, value: Any, evaluate: Evaluate, minimum: float | None = None,
             maximum: float | None = None, above: float | None = None, below: float | None = None) -> float:
    """A finite number within the bounds (``above``/``below`` exclusive): NaN passed every
    comparison, and a NaN or infinite rate, eps or slope broke verify and the exported module."""
    raw = value
    value = _number(name, value, evaluate, "a number (e.g. 0.5) or arithmetic such as '1 / 3'")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{name} must be a number. Received: {name}={raw!r}")
    if not math.isfinite(value):
        raise SpecError(f"{name} must be a finite number. Received: {name}={value}",
                        hint="write a number; .nan and .inf are not values of any attribute")
    if minimum is not None and value < minimum:
        raise SpecError(f"{name} must be >= {minimum}. Received: {name}={value}")
    if maximum is not None and value > maximum:
        raise SpecError(f"{name} must be <= {maximum}. Received: {name}={value}")
    if above is not None and value <= above:
        raise SpecError(f"{name} must be > {above}. Received: {name}={value}")
    if below is not None and value >= below:
        raise SpecError(f"{name} must be < {below}. Received: {name}={value}")
    return float(value)


def to_bool(name: str, value: Any, evaluate: Evaluate) -> bool:
    raw = value
    if isinstance(value, str):
        value = _number(name, value, evaluate, "true or false, or a condition such as 'stride != 1'")
    if not isinstance(value, bool):
        raise SpecError(f"{name} must be true or false. Received: {name}={raw!r}")
    return value


def to_pair(name: str, value: Any, evaluate: Evaluate, minimum: float | None = None) -> tuple[int, int]:
    if isinstance(value, list):
        cut = flow_split(value)
        if cut is not None:
            raise split_value_error(name, value[cut[0]:cut[1] + 1], in_list=True)
        if len(value) != 2:
            raise SpecError(f"{name} must be one integer or a pair [height, width]. Received: {name}={value!r}")
        return (to_int(name, value[0], evaluate, minimum, expected=EXPECTED_PAIR),
                to_int(name, value[1], evaluate, minimum, expected=EXPECTED_PAIR))
    single = to_int(name, value, evaluate, minimum, expected=EXPECTED_PAIR)
    return (single, single)


def to_padding(name: str, value: Any, evaluate: Evaluate) -> tuple[tuple[int, int], tuple[int, int]] | str:
    if isinstance(value, str) and value.strip().lower() in ("same", "valid"):
        return value.strip().lower()
    if isinstance(value, str) and value.strip().isidentifier():
        try:
            value = evaluate(value)
        except ExpressionError:
            raise SpecError(f"{name} must be p, [ph, pw], [[top, bottom], [left, right]], 'same' or 'valid'. "
                            f"Received: {name}={value!r}",
                            hint=did_you_mean(value.strip().lower(), ("same", "valid"))) from None
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, list) for v in value):
        pads = []
        for axis in value:
            if len(axis) != 2:
                break
            pads.append((to_int(name, axis[0], evaluate, 0), to_int(name, axis[1], evaluate, 0)))
        else:
            return (pads[0], pads[1])
    if isinstance(value, list) and not all(isinstance(v, list) for v in value):
        height, width = to_pair(name, value, evaluate, 0)
        return ((height, height), (width, width))
    if isinstance(value, list):
        raise SpecError(f"{name} must be p, [ph, pw], [[top, bottom], [left, right]], 'same' or 'valid'. "
                        f"Received: {name}={value!r}")
    single = to_int(name, value, evaluate, 0)
    return ((single, single), (single, single))


def to_ints(name: str, value: Any, evaluate: Evaluate, minimum: float | None = None) -> tuple[int, ...]:
    """A list of integers (each may be an expression), kept as a tuple; one integer is a list of one."""
    if not isinstance(value, list):
        if isinstance(value, str) and not value.strip():
            raise SpecError(f"{name} must be a list of integers. Received: {name}={value!r}")
        value = [value]
    if not value:
        raise SpecError(f"{name} must be a list of at least one integer. Received: {name}=[]")
    return tuple(to_int(name, item, evaluate, minimum, MAX_SIZE) for item in value)


def coerce(name: str, attribute: Attribute, value: Any, evaluate: Evaluate) -> Any:
    """Check and convert one attribute value; ``evaluate`` handles expression strings."""
    if value is None and attribute.default is None:
        return None
    kind = attribute.kind
    if kind == "int":
        return to_int(name, value, evaluate, attribute.minimum, attribute.maximum or MAX_SIZE)
    if kind == "float":
        return to_float(name, value, evaluate, attribute.minimum, attribute.maximum, attribute.above, attribute.below)
    if kind == "bool":
        return to_bool(name, value, evaluate)
    if kind == "pair":
        return to_pair(name, value, evaluate, attribute.minimum)
    if kind == "ints":
        return to_ints(name, value, evaluate, attribute.minimum)
    if kind in ("axis", "index"):
        return to_int(name, value, evaluate, -MAX_SIZE, MAX_SIZE)
    if kind == "padding":
        return to_padding(name, value, evaluate)
    if kind == "choice":
        if not isinstance(value, str) or value not in attribute.choices:
            hint = did_you_mean(str(value), attribute.choices) or f"choose one of: {', '.join(attribute.choices)}"
            raise SpecError(f"{name} must be one of {', '.join(attribute.choices)}. Received: {name}={value!r}",
                            hint=hint)
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise SpecError(f"{name} must be text. Received: {name}={value!r}")
        return value
    raise AssertionError(f"unknown attribute kind {kind}")
