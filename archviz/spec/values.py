"""Turning spec values (numbers, lists, expression strings) into typed attribute values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archviz.errors import ExpressionError, SpecError
from archviz.ops.base import Attribute
from archviz.suggest import did_you_mean

MAX_SIZE = 2**31 - 1
Evaluate = Callable[[str], Any]


class NotWholeError(SpecError):
    """An integer attribute came out fractional: the expander words a hint that fits where the
    fraction came from (a block argument, a variable, the expression itself)."""


def _number(name: str, value: Any, evaluate: Evaluate) -> Any:
    if isinstance(value, str):
        return evaluate(value)
    return value


def to_int(name: str, value: Any, evaluate: Evaluate, minimum: float | None = None,
           maximum: float | None = MAX_SIZE) -> int:
    raw = value
    value = _number(name, value, evaluate)
    source = f" (from {raw!r})" if isinstance(raw, str) else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
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
             maximum: float | None = None) -> float:
    raw = value
    value = _number(name, value, evaluate)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{name} must be a number. Received: {name}={raw!r}")
    if minimum is not None and value < minimum:
        raise SpecError(f"{name} must be >= {minimum}. Received: {name}={value}")
    if maximum is not None and value > maximum:
        raise SpecError(f"{name} must be <= {maximum}. Received: {name}={value}")
    return float(value)


def to_bool(name: str, value: Any, evaluate: Evaluate) -> bool:
    raw = value
    if isinstance(value, str):
        value = evaluate(value)
    if not isinstance(value, bool):
        raise SpecError(f"{name} must be true or false. Received: {name}={raw!r}")
    return value


def to_pair(name: str, value: Any, evaluate: Evaluate, minimum: float | None = None) -> tuple[int, int]:
    if isinstance(value, list):
        if len(value) != 2:
            raise SpecError(f"{name} must be one integer or a pair [height, width]. Received: {name}={value!r}")
        return (to_int(name, value[0], evaluate, minimum), to_int(name, value[1], evaluate, minimum))
    single = to_int(name, value, evaluate, minimum)
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
        return to_float(name, value, evaluate, attribute.minimum, attribute.maximum)
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
