"""Agreement properties: for random valid networks, archviz's numbers equal what PyTorch measures.

Every example is a spec written as YAML text (tests/archviz_strategies.py), loaded with
``archviz.loads`` and verified with ``archviz.torch.verify`` on the meta device: per layer the
output shape, parameters, buffers and FLOPs (FlopCounterMode) must agree, and so must the totals.
The budgets (``examples(n)``) and seeds are set by the hypothesis profile; see docs/robustness.md.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from archviz_strategies import GeneratedSpec, conv_length, examples, graph_specs, pool_length, sequential_specs
from hypothesis import example, given, settings
from hypothesis import strategies as st

import archviz
from archviz.errors import ShapeError
from archviz.render.formats import analysis_dict

torch = pytest.importorskip("torch")
import archviz.torch
from archviz.backends.pytorch.records import Status

# Line coverage comes from the directed tests (test_error_table.py and the rest); tracing makes
# these generated examples three to five times slower, so they run untraced (pytest-cov).
pytestmark = pytest.mark.no_cover


def assert_agrees(spec: GeneratedSpec, device: str = "meta") -> archviz.Analysis:
    network = archviz.loads(spec.text)
    analysis = network.analyze(batch=spec.batch)
    assert analysis.totals.layers == spec.layers
    assert analysis.totals.output_shape == spec.output_shape
    verification = archviz.torch.verify(network, batch=spec.batch, device=device)
    assert verification.ok, verification.mismatches()
    for layer, record in zip(verification.layers, analysis.layers):
        flops = layer.check("flops")
        if flops.status is Status.not_checked:  # PyTorch counted nothing there: neither may archviz
            assert record.flops == 0, (layer.name, record.flops)
    return analysis


def assert_invariants(analysis: archviz.Analysis, network: archviz.Network) -> None:
    """Rows sum to totals, shapes chain along edges, the sweep path agrees, JSON is exact."""
    t = analysis.totals
    rows = analysis.layers
    assert t.params == sum(r.params for r in rows) == t.trainable_params
    assert t.buffers == sum(r.buffers for r in rows)
    assert t.macs == sum(r.macs for r in rows) and t.flops == 2 * t.macs
    assert t.elementwise_ops == sum(r.elementwise_ops for r in rows)
    assert t.activation_elements == sum(r.output_elements for r in rows)
    produced = {"input": analysis.input_shape, **{r.name: r.output_shape for r in rows}}
    for r in rows:
        assert r.input_shapes == tuple(produced[name] for name in r.inputs)
        assert r.output_elements == analysis.batch * _numel(r.output_shape)
    assert network.totals_at(analysis.input_shape, analysis.batch) == t
    assert json.loads(json.dumps(analysis_dict(analysis)))["totals"]["macs"] == t.macs


def _numel(shape: tuple[int, ...]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


# Examples hypothesis found that disagreed with PyTorch, kept so they run first every time
# (docs/robustness.md, "Bugs found"). Each is also a plain test in test_property_regressions.py.
CEIL_MODE_OVERHANG = GeneratedSpec(
    "name: t\ninput: [1, 2, 2]\nlayers:\n  - max_pool2d: {kernel: 3, stride: 2, ceil_mode: true}\n",
    (1, 2, 2), 1, 1, (1, 1, 1))


@settings(max_examples=examples(1000))
@given(sequential_specs())
@example(CEIL_MODE_OVERHANG)
def test_sequential_networks_agree_with_torch(spec: GeneratedSpec) -> None:
    network = archviz.loads(spec.text)
    assert_invariants(assert_agrees(spec), network)


@settings(max_examples=examples(600))
@given(graph_specs())
def test_branching_networks_agree_with_torch(spec: GeneratedSpec) -> None:
    network = archviz.loads(spec.text)
    assert_invariants(assert_agrees(spec), network)


@settings(max_examples=examples(150))
@given(sequential_specs(max_layers=5))
def test_networks_agree_with_torch_on_cpu(spec: GeneratedSpec) -> None:
    """The same on real (tiny) tensors: the CPU kernels accept what the meta kernels do."""
    assert_agrees(spec, device="cpu")


# -- the smallest input: archviz accepts exactly the sizes PyTorch accepts -----------------

@st.composite
def windowed_stacks(draw: st.DrawFn) -> tuple[str, int]:
    """Conv and pool layers with symmetric explicit padding (their torch modules do not depend
    on the input size), as YAML text with a placeholder for the input size."""
    lines = []
    channels = draw(st.integers(1, 3))
    for _ in range(draw(st.integers(1, 4))):
        k = draw(st.integers(1, 5))
        s = draw(st.integers(1, 3))
        if draw(st.booleans()):
            d = draw(st.integers(1, 2))
            p = draw(st.integers(0, 2))
            lines.append(f"  - conv2d: {{filters: {channels}, kernel: {k}, stride: {s}, padding: {p}, dilation: {d}}}")
        else:
            op = draw(st.sampled_from(("max_pool2d", "avg_pool2d")))
            p = draw(st.integers(0, k // 2))
            ceil = draw(st.booleans())
            lines.append(f"  - {op}: {{kernel: {k}, stride: {s}, padding: {p}, ceil_mode: {str(ceil).lower()}}}")
    return f"name: t\ninput: [{channels}, SIZE, SIZE]\nlayers:\n" + "\n".join(lines) + "\n", channels


def torch_accepts(model: Any, channels: int, size: int) -> tuple[int, ...] | None:
    try:
        return tuple(model(torch.empty(1, channels, size, size, device="meta")).shape[1:])
    except RuntimeError:
        return None


@settings(max_examples=examples(300))
@given(windowed_stacks())
def test_smallest_accepted_input_is_torchs(case: tuple[str, int]) -> None:
    """For every input size up to 24, archviz rejects a size (ShapeError) exactly when PyTorch does,
    and where both accept, the output shapes agree."""
    text, channels = case
    sizes = range(1, 25)
    accepted: dict[int, tuple[int, ...] | None] = {}
    for size in sizes:
        try:
            accepted[size] = archviz.loads(text.replace("SIZE", str(size))).analyze().totals.output_shape
        except ShapeError:
            accepted[size] = None
    if not any(accepted.values()):
        return  # no size up to 24 is valid: nothing to build a module from
    largest = max(s for s in sizes if accepted[s])
    model = archviz.torch.build(archviz.loads(text.replace("SIZE", str(largest))), device="meta")
    for size in sizes:
        assert accepted[size] == torch_accepts(model, channels, size), (size, text)


def test_oracle_formulas_match_pytorch_docs() -> None:
    """The generator's own size rules against a few values from PyTorch's documentation."""
    assert conv_length(224, 3, 1, (1, 1), 1) == 224
    assert conv_length(7, 3, 2, (0, 0), 2) == 2
    assert pool_length(227, 2, 2, (0, 0), False) == 113
    assert pool_length(6, 3, 2, (0, 0), True) == 3
    assert pool_length(2, 3, 2, (0, 0), True) == 1  # the last window may hang over the edge
