"""A small, safe evaluator for the arithmetic written in specs (``64 * width``).

It parses with :mod:`ast` and walks a whitelist of node types; there is no ``eval``, no
attribute access, no subscripts and no calls but a few pure functions.

Work is bounded so that no expression can exhaust time or memory (docs/robustness.md): a text
of at most MAX_LENGTH characters, a tree of at most MAX_NODES nodes (each evaluated at most
once: the language has no loops, so that is the step budget) nested at most MAX_DEPTH deep;
every number an expression reads (a literal, a variable, a block argument) or makes is at most
MAX_MAGNITUDE in size and finite, so every operation works on small operands; the operations
whose cost grows with an operand's *value* rather than its size are bounded too: ``**``
(exponent up to 64) and ``round`` (ndigits between -64 and 64).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from archviz.errors import ExpressionError, SpecError
from archviz.spec.yamlio import has_surrogate, join_surrogate_pairs
from archviz.suggest import did_you_mean

MAX_LENGTH = 500
MAX_MAGNITUDE = 10**30
MAGNITUDE_TEXT = "10**30"
MAX_NODES = 1_000
MAX_DEPTH = 100
MAX_EXPONENT = 64
MAX_ROUND_DIGITS = 64

Scalar = int | float | bool | str

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "floor": math.floor,
    "ceil": math.ceil,
}


class Lazy:
    """A bound name whose value is looked up when an expression reads it.

    The expander's replay (archviz/spec/replay.py) binds spec variables this way, so that it
    learns which evaluations read which variables and can repeat just those for new values.
    """

    __slots__ = ()

    def resolve(self) -> tuple[Any, frozenset[str]]:
        """The value now, and the names of the variables it came from."""
        raise NotImplementedError


def check_value(name: str, value: Any) -> None:
    """Refuse a variable's value given from outside the spec (--set, --vary, load(), with_variables)
    that no expression could read: only finite numbers up to MAX_MAGNITUDE, true/false and text.

    >>> check_value("width", 10**40)
    Traceback (most recent call last):
    archviz.errors.SpecError: variable 'width' must be at most 10**30 in magnitude. Received: an integer of 41 digits
    """
    kind = type(value)
    if kind is bool:
        return
    if kind is str:
        if has_surrogate(value) and join_surrogate_pairs(value) is None:
            raise SpecError(f"variable {name!r} must be Unicode text; it holds a lone surrogate, which no output "
                            f"can encode. Received: {value!r}", hint="write the character itself")
        return
    if kind is int or kind is float:
        if kind is float and not math.isfinite(value):
            raise SpecError(f"variable {name!r} must be a finite number. Received: {name}={value}")
        if abs(value) > MAX_MAGNITUDE:
            size = f"an integer of {_digits(value):,} digits" if kind is int else f"{value:.3g}"
            raise SpecError(f"variable {name!r} must be at most {MAGNITUDE_TEXT} in magnitude. Received: {size}")
        return
    raise SpecError(f"variable {name!r} must be a number, true/false or text. "
                    f"Received: a value of type {kind.__name__}",
                    hint="give an int, a float, a bool or a str")


def _digits(value: int) -> int:
    """The number of decimal digits of ``value`` without str(), which refuses more than 4,300."""
    digits = max(1, int(abs(value).bit_length() * 0.30102999566398120))
    return digits + (abs(value) >= 10**digits)


def evaluate(text: str, names: Mapping[str, Any]) -> Scalar:
    """Evaluate ``text`` with ``names`` bound; raise ExpressionError on anything else.

    >>> evaluate("64 * width", {"width": 2})
    128
    """
    return _Evaluator(text, names).run()


def evaluate_tracked(text: str, names: Mapping[str, Any]) -> tuple[Scalar, frozenset[str]]:
    """``evaluate``, and the variables it read through :class:`Lazy` values (empty if none).

    >>> evaluate_tracked("2 * k", {"k": 3})
    (6, frozenset())
    """
    evaluator = _Evaluator(text, names)
    value = evaluator.run()
    return value, frozenset(evaluator.read)


@lru_cache(maxsize=4096)
def _parse(text: str) -> ast.expr:
    """Parsing dominated expansion; a spec repeats the same few expressions for every layer and
    every variant of a sweep. The tree is only read, never changed.

    The tree's size and depth are checked here, once per text, so evaluating stays as cheap as
    it was: ExpressionError where one is too large (lru_cache keeps no exceptions).
    """
    tree = ast.parse(text, mode="eval").body
    nodes = 0
    pending: list[tuple[ast.AST, int]] = [(tree, 1)]
    while pending:  # iterative: the evaluator's own recursion is what the depth bound protects
        node, depth = pending.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression is nested more than {MAX_DEPTH} levels deep in {text!r}",
                                  hint="write it in simpler steps (a variable for each part)")
        if nodes > MAX_NODES:
            raise ExpressionError(f"expression has more than {MAX_NODES} parts in {text!r}")
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree


class _Evaluator:
    def __init__(self, text: str, names: Mapping[str, Any]) -> None:
        self.text = text
        self.names = names
        self.read: set[str] = set()

    def run(self) -> Any:
        text = self.text
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters")
        try:
            tree = _parse(text.strip())
        except SyntaxError:
            raise ExpressionError(f"cannot read the expression {text!r}",
                                  hint="write arithmetic such as '64 * width' or 'num_classes'") from None
        return self.visit(tree)

    def fail(self, what: str, hint: str | None = None) -> ExpressionError:
        return ExpressionError(f"{what} in expression {self.text!r}", hint=hint)

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
            return self.check(node.value)
        if isinstance(node, ast.Name):
            if node.id in ("true", "True"):
                return True
            if node.id in ("false", "False"):
                return False
            if node.id not in self.names:
                raise self.fail(f"unknown name {node.id!r}", did_you_mean(node.id, self.names))
            value = self.names[node.id]
            if isinstance(value, Lazy):
                value, read = value.resolve()
                self.read.update(read)
            if type(value) is int and -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
                return value  # nearly every name: checked at the cost of one comparison
            return self.check_name(node.id, value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.number(node.left), self.number(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
                raise self.fail(f"power too large (the exponent may be at most {MAX_EXPONENT})")
            try:
                return self.check(_BINARY[type(node.op)](left, right))
            except ZeroDivisionError:
                raise self.fail("division by zero") from None
            except OverflowError:  # a float power: 1e19 ** 64
                raise self.fail(f"number too large (at most {MAGNITUDE_TEXT} in magnitude)") from None
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not self.visit(node.operand)
            if isinstance(node.op, ast.USub):
                return -self.number(node.operand)
            if isinstance(node.op, ast.UAdd):
                return +self.number(node.operand)
        if isinstance(node, ast.BoolOp):
            values = [self.visit(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return all(values)
            return any(values)
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            left = self.visit(node.left)
            for op, comparator in zip(node.ops, node.comparators):
                right = self.visit(comparator)
                try:
                    if not _COMPARE[type(op)](left, right):
                        return False
                except TypeError:
                    raise self.fail(f"cannot compare {left!r} with {right!r}") from None
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            function = FUNCTIONS.get(node.func.id)
            if function is None:
                raise self.fail(f"unknown function {node.func.id!r}",
                                f"available: {', '.join(sorted(FUNCTIONS))}")
            args = [self.number(a) for a in node.args]
            if function is round and len(args) == 2 and not -MAX_ROUND_DIGITS <= args[1] <= MAX_ROUND_DIGITS:
                # round(5, -10**7) computes 10**(10**7): seconds; 10**30 digits would never end
                raise self.fail(f"round()'s digits must be between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}. "
                                f"Received: ndigits={args[1]}")
            try:
                return self.check(function(*args))
            except (TypeError, ValueError, OverflowError) as exc:
                raise self.fail(f"{node.func.id}() failed: {exc}") from None
        raise self.fail(f"{type(node).__name__} is not allowed",
                        "only numbers, variable names, + - * / // % **, comparisons, 'and/or/not', "
                        "'x if c else y' and min/max/abs/round/int/floor/ceil")

    def number(self, node: ast.AST) -> int | float:
        value = self.visit(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"expected a number, got {value!r}")
        return value

    def check_name(self, name: str, value: Any) -> Any:
        """A name's value, checked like a literal: --set, the API and block arguments can bind anything."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise self.fail(f"{name!r} is not a finite number")
            if abs(value) > MAX_MAGNITUDE:
                raise self.fail(f"{name!r} is too large (at most {MAGNITUDE_TEXT} in magnitude)")
        return value

    def check(self, value: Any) -> Any:
        if isinstance(value, complex):  # a fractional power of a negative number: (-8) ** 0.5
            raise self.fail("result is not a real number")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise self.fail("result is not a finite number")
            if abs(value) > MAX_MAGNITUDE:
                raise self.fail(f"number too large (at most {MAGNITUDE_TEXT} in magnitude)")
        if isinstance(value, str) and len(value) > MAX_LENGTH:
            raise self.fail("string too long")
        return value
