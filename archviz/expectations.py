"""Comparing an analysis with a spec's ``expect`` block: the CI gate's logic.

Each expectation becomes one plain record (expected, got, holds); renderers print them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archviz.analysis import Analysis
from archviz.errors import SpecError
from archviz.network import Network
from archviz.spec.yamlio import key_location

PAIR_FIELDS = ("receptive_field", "effective_stride", "effective_padding")


@dataclass(frozen=True)
class Expectation:
    spec: str
    quantity: str
    expected: Any
    got: Any
    holds: bool
    line: int | None

    @property
    def difference(self) -> int | None:
        if isinstance(self.expected, int) and isinstance(self.got, int) and not isinstance(self.got, bool):
            return self.got - self.expected
        return None


def _as_pair(value: Any) -> list[int] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value, value]
    if isinstance(value, list) and len(value) == 2:
        return list(value)
    return None


def expectation_input(network: Network) -> tuple[int, ...] | None:
    expect = network.document.expect
    if not expect or "input" not in expect:
        return None
    raw = expect["input"]
    if not isinstance(raw, list) or not all(isinstance(v, int) and v > 0 for v in raw):
        raise SpecError(f"expect.input must be a list of positive sizes. Received: {raw!r}",
                        location=key_location(expect, "input", network.document.location))
    return tuple(raw)


def check_expectations(network: Network, analysis: Analysis | None = None) -> list[Expectation]:
    """One record per expectation; an empty list means the spec states none."""
    expect = network.document.expect
    if not expect:
        return []
    if analysis is None:
        analysis = network.analyze(expectation_input(network))
    spec = network.document.file
    here = network.document.location
    totals = analysis.totals
    results: list[Expectation] = []

    def add(quantity: str, expected: Any, got: Any, key_owner: Any, key: str) -> None:
        line = key_location(key_owner, key, here).line
        results.append(Expectation(spec, quantity, expected, got, expected == got, line))

    for key, expected in expect.items():
        if key in ("input", "layers"):
            continue
        if key == "params_millions":
            add(key, expected, round(totals.params / 1e6), expect, key)
        elif key == "gmacs":  # a published "GFLOPS" with 3 decimals: MACs / 1e9, rounded to as many
            add(key, expected, round(totals.macs / 1e9, 3), expect, key)
        elif key == "output_shape":
            add(key, list(expected) if isinstance(expected, list) else expected, list(totals.output_shape), expect, key)
        else:
            add(key, expected, getattr(totals, key), expect, key)
    for layer_name, checks in (expect.get("layers") or {}).items():
        try:
            record = analysis.layer(layer_name)
        except KeyError:
            line = key_location(expect["layers"], layer_name, here).line
            results.append(Expectation(spec, f"layers.{layer_name}", "a layer of this name", "no such layer", False,
                                       line))
            continue
        for field, expected in checks.items():
            got = getattr(record, field)
            quantity = f"layers.{layer_name}.{field}"
            if field in PAIR_FIELDS:
                add(quantity, _as_pair(expected), list(got) if got is not None else None, checks, field)
            elif field == "output_shape":
                add(quantity, expected, list(got), checks, field)
            else:
                add(quantity, expected, got, checks, field)
    return results
