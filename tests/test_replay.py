"""Replays (archviz/spec/replay.py) against full expansions: same layers, same numbers, same errors."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import archviz
from archviz.errors import ArchvizError
from archviz.spec.expand import Spec, expand
from archviz.spec.replay import Replay


def _layers(spec: Spec) -> list[tuple[Any, ...]]:
    return [(layer.name, type(layer.op), layer.op.values, layer.inputs, layer.stage, layer.location)
            for layer in spec.layers]


def _assert_same(replayed: Spec, full: Spec) -> None:
    assert _layers(replayed) == _layers(full)
    assert replayed.variables == full.variables
    assert replayed.input_shape == full.input_shape


# values per variable that change attributes, change the structure, or make the spec invalid
VALUES: dict[str, list[Any]] = {
    "num_classes": [10, 1000, 7, 0],
    "width": [1, 0.5, 2, 1.0, 0.3, True],
    "batch_norm": [False, True],
    "use_lrn": [False, True],
    "dropout": [0.5, 0.0, 0.9, 2],
    "torchvision_layout": [False, True],
}


@pytest.mark.parametrize("name", archviz.builtin_names())
def test_replays_equal_full_expansions(name: str) -> None:
    network = archviz.load(name)
    replay = Replay(network.spec, network.overrides)
    names = [variable for variable in network.variables if variable in VALUES]
    replayed = fell_back = 0
    for variable_a, variable_b in itertools.combinations_with_replacement(names, 2):
        for value_a, value_b in itertools.product(VALUES[variable_a], VALUES[variable_b]):
            overrides = {variable_a: value_a, variable_b: value_b}
            try:
                full = expand(network.document, overrides)
            except ArchvizError:
                assert replay.expand(overrides) is None  # a failure is left to the full expansion
                continue
            spec = replay.expand(overrides)
            if spec is None:
                fell_back += 1
                continue
            replayed += 1
            _assert_same(spec, full)
    if names:
        assert replayed > fell_back  # most variants are attribute changes


def test_with_variables_analyses_equal_fresh_loads() -> None:
    network = archviz.load("vgg16")
    for width, classes, batch_norm in itertools.product([1, 0.5, 2], [1000, 10], [False, True]):
        variant = network.with_variables(width=width, num_classes=classes, batch_norm=batch_norm)
        fresh = archviz.load("vgg16", width=width, num_classes=classes, batch_norm=batch_norm)
        assert variant.analyze((3, 200, 232), 2) == fresh.analyze((3, 200, 232), 2)
        assert variant.overrides == fresh.overrides
        assert variant.plan.steps == fresh.plan.steps or all(
            (a[0].name, a[1].values, a[2]) == (b[0].name, b[1].values, b[2])
            for a, b in zip(variant.plan.steps, fresh.plan.steps, strict=True))


def test_with_variables_raises_what_load_raises() -> None:
    network = archviz.load("vgg16")
    with pytest.raises(ArchvizError) as replayed:
        network.with_variables(width=0.3)  # 64 * 0.3 filters
    with pytest.raises(ArchvizError) as loaded:
        archviz.load("vgg16", width=0.3)
    assert str(replayed.value) == str(loaded.value)
    assert "whole number" in str(replayed.value)
    with pytest.raises(ArchvizError, match="unknown variable 'widht'"):
        network.with_variables(widht=2)


SPEC = """
name: branches
input: [3, 32, 32]
variables: {flag: true, a: 8, b: 16, depth: 2, scale: 1, label: x}
blocks:
  unit:
    args: {filters: null, extra: 0}
    layers:
      - conv2d: {name: "c{i}", filters: filters + extra, kernel: 3, padding: 1}
layers:
  - conv2d: {name: first, filters: "a if flag else b", kernel: 3, padding: 1}
  - unit: {filters: 4 * scale, extra: a, name: "u"}
  - relu: {repeat: depth}
  - conv2d: {name: "last_{label}", filters: "max(a, b) * scale", kernel: 1}
"""


def _check(network: archviz.Network, **overrides: Any) -> archviz.Network:
    variant = network.with_variables(**overrides)
    full = expand(network.document, {**network.overrides, **overrides})
    _assert_same(variant.spec, full)
    assert variant.totals_at() == archviz.loads(SPEC, **{**network.overrides, **overrides}).totals_at()
    return variant


def test_an_evaluation_that_reads_other_variables_for_other_values() -> None:
    """'a if flag else b' reads a when flag is true and b when it is false: a remembered result
    must only be reused where the variables it read are unchanged."""
    network = archviz.loads(SPEC)
    assert network.spec.layers[0].op.values["filters"] == 8
    sequence: list[dict[str, Any]] = [{"flag": False}, {"flag": False, "b": 32}, {"flag": True, "b": 32}, {"flag": True, "a": 4},
                {"flag": False, "a": 4}, {"flag": False, "a": 4, "b": 8}, {"flag": True, "a": 4, "b": 8},
                {"flag": 1}, {"flag": False}]
    for overrides in sequence:
        _check(network, **overrides)


def test_block_arguments_and_derived_values_follow_the_variables() -> None:
    network = archviz.loads(SPEC)
    for scale, a in itertools.product([1, 2, 3], [8, 5]):
        variant = _check(network, scale=scale, a=a)
        assert variant.spec.layers[1].op.values["filters"] == 4 * scale + a


def test_structure_changes_fall_back_to_a_full_expansion() -> None:
    network = archviz.loads(SPEC)
    replay = network.replay
    assert replay.expand({"depth": 3}) is None  # one more relu
    assert replay.expand({"label": "y"}) is None  # another layer name
    assert replay.expand({"a": 9}) is not None
    for overrides in ({"depth": 3}, {"label": "y"}, {"depth": 0, "a": 2}, {"depth": 2}):
        _check(network, **overrides)


def test_values_are_told_apart_by_type() -> None:
    """1, 1.0 and True are equal in Python; a name written with them is not the same name."""
    network = archviz.loads(SPEC)
    for label, name in ((1, "last_1"), (True, "last_True"), (1.5, "last_1.5"), (1.0, "last_1"), ("1", "last_1")):
        variant = _check(network, label=label)
        assert variant.spec.layers[-1].name == name


def test_a_sweep_over_variables_resumes_walks_exactly() -> None:
    """Variants share prefixes (totals_only's prefixes): every row must equal a fresh analysis."""
    vary: dict[str, list[Any]] = {"width": [0.5, 1, 2], "num_classes": [10, 1000, 10],
                                  "input": ["3x224x224", "3x97x131", "3x224x224"]}
    rows = list(archviz.iter_sweep("vgg16", vary=vary, batch=[1, 3]))
    assert len(rows) == 3 * 3 * 3 * 2
    for row in rows:
        expected = archviz.load("vgg16", width=row["width"], num_classes=row["num_classes"]).totals_at(
            row["input"], row["batch"])
        assert {name: row[name] for name in expected._fields} == expected.as_dict(), row


def test_other_structures_are_kept_and_replayed() -> None:
    """A sweep that flips batch_norm meets two structures: each is expanded once, then replayed."""
    network = archviz.load("vgg16")
    with_bn = network.with_variables(batch_norm=True, num_classes=10)
    assert network.structures == [with_bn]
    again = network.with_variables(batch_norm=True, num_classes=20)
    assert network.structures == [with_bn]  # replayed from with_bn's trace, not expanded
    assert again.plan.steps[0] is with_bn.plan.steps[0]  # the rebound plan shares the unchanged steps
    assert again.analyze() == archviz.load("vgg16", batch_norm=True, num_classes=20).analyze()
    for classes in range(1, 12):  # 2 more structures (vgg16 has no LRN layer for use_lrn to switch)
        network.with_variables(torchvision_layout=True, use_lrn=classes % 2 == 0, batch_norm=classes > 5,
                               num_classes=classes)
    assert len(network.structures) == 3


def test_a_network_keeps_the_last_eight_other_structures() -> None:
    network = archviz.loads(SPEC)
    variants = [network.with_variables(depth=depth) for depth in range(3, 15)]  # 12 structures
    assert network.structures == variants[-8:]
    assert network.with_variables(depth=14, a=3).plan.steps[0] is not variants[-1].plan.steps[0]
    assert network.structures == variants[-8:]  # depth 14 was replayed from its kept structure


def test_variable_sweeps_run_in_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cache a variable sweep fills is capped (here lowered, so that the caps are reached
    quickly): 3,000 variants cost what 1,000 do, and the rows stay exact."""
    import importlib
    import tracemalloc

    from archviz import analysis
    from archviz.spec import replay

    sweep = importlib.import_module("archviz.sweep")  # archviz.sweep is also the function's name

    for module, name in ((sweep, "PREFIX_LIMIT"), (replay, "OP_CACHE_LIMIT"), (replay, "RECALL_LIMIT")):
        monkeypatch.setattr(module, name, 50)
    monkeypatch.setattr(analysis._PrefixTokens, "LIMIT", 50)
    monkeypatch.setattr(analysis._PrefixTokens, "REBOUND_LIMIT", 50)

    def peak(count: int) -> int:
        tracemalloc.start()
        for row in archviz.iter_sweep("vgg11", vary={"num_classes": range(1, count + 1)}):
            last = row
        result = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert last["params"] == archviz.load("vgg11", num_classes=count).totals_at().params
        return result

    peak(200)  # first use fills the module-level caches (parsed expressions, op defaults)
    assert peak(3000) < 1.2 * peak(1000) + 50_000
