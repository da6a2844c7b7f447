"""The ops of issue 14 against PyTorch modules built here, independently of archviz's backend.

For random attributes and inputs (hypothesis), each property writes a one-op spec, analyses it and
compares with what ``torch.nn`` / ``torch`` itself gives for the same configuration: the output
shape, the parameter count and the FLOPs that ``torch.utils.flop_counter.FlopCounterMode``
counts (archviz's flops = 2 x MACs). Where it says so, the built module's outputs are also
compared with the independent module's, with the same weights. Every example is then verified
with ``archviz.torch.verify`` on the meta device. Budgets follow the hypothesis profile
(tests/archviz_strategies.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from archviz_strategies import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import archviz
from archviz.errors import ShapeError

torch = pytest.importorskip("torch")
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

import archviz.torch as backend

pytestmark = pytest.mark.no_cover  # line coverage comes from test_ops.py and test_error_table.py


def spec(input_shape: tuple[int, ...], layers: list[Any]) -> archviz.Network:
    return archviz.loads(json.dumps({"name": "t", "input": list(input_shape), "layers": layers}))


def counted_flops(function: Any, *tensors: Any) -> tuple[int, Any]:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        result = function(*tensors)
    return counter.get_total_flops(), result


def agree_on_meta(network: archviz.Network, batch: int = 1) -> archviz.Analysis:
    verification = backend.verify(network, batch=batch, device="meta")
    assert verification.ok, verification.mismatches()
    return network.analyze(batch=batch)


def params_of(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def copy_weights(source: Any, target: Any) -> None:
    with torch.no_grad():
        for a, b in zip(source.parameters(), target.parameters(), strict=True):
            b.copy_(a.reshape(b.shape))


# -- broadcasting merges ---------------------------------------------------------------------

@st.composite
def broadcastable(draw: st.DrawFn) -> list[tuple[int, ...]]:
    rank = draw(st.integers(1, 3))
    full = [draw(st.integers(2, 5)) for _ in range(rank)]
    count = draw(st.integers(2, 3))
    return [tuple(size if draw(st.booleans()) else 1 for size in full) for _ in range(count)]


@settings(max_examples=examples(60))
@given(broadcastable(), st.sampled_from(["add", "multiply"]), st.integers(1, 3))
def test_broadcasting_merges_match_torch(shapes: list[tuple[int, ...]], op: str, batch: int) -> None:
    """Learnable tensors of the drawn shapes, merged: the shape is torch.broadcast_shapes', every
    element of the output costs (inputs - 1) elementwise ops, each tensor's elements are params."""
    layers: list[Any] = [{"parameter": {"name": f"p{i}", "shape": list(s), "inputs": "input"}}
                         for i, s in enumerate(shapes)]
    layers.append({op: {"name": "merged", "inputs": [f"p{i}" for i in range(len(shapes))]}})
    network = spec((1,), layers)
    analysis = agree_on_meta(network, batch)
    expected = torch.broadcast_shapes(*((batch, *s) for s in shapes))
    record = analysis.layer("merged")
    assert (batch, *record.output_shape) == tuple(expected)
    assert record.elementwise_ops == (len(shapes) - 1) * torch.Size(expected).numel()
    assert analysis.totals.params == sum(int(torch.Size(s).numel()) for s in shapes)
    # numerically: the built module multiplies exactly as torch does
    model = backend.build(network, device="cpu")
    tensors = [getattr(model, f"p{i}").weight for i in range(len(shapes))]
    with torch.no_grad():
        result = model(torch.zeros(batch, 1))
        expected_value = tensors[0]
        for other in tensors[1:]:
            expected_value = expected_value + other if op == "add" else expected_value * other
    torch.testing.assert_close(result, expected_value.expand(batch, *expected_value.shape))


@settings(max_examples=examples(30))
@given(st.integers(2, 4), st.integers(2, 4))
def test_shapes_that_do_not_broadcast_are_refused_as_torch_refuses_them(a: int, b: int) -> None:
    network = spec((1,), [{"parameter": {"name": "p", "shape": [a, 3], "inputs": "input"}},
                          {"parameter": {"name": "q", "shape": [b + a, 3], "inputs": "input"}},
                          {"multiply": {"inputs": ["p", "q"]}}])
    with pytest.raises(ShapeError):
        network.analyze()
    with pytest.raises(RuntimeError):
        torch.ones(1, a, 3) * torch.ones(1, a + b, 3)


# -- normalisation ---------------------------------------------------------------------------

@settings(max_examples=examples(40))
@given(st.sampled_from([(6, 4), (5, 3, 4), (8, 2, 3)]), st.booleans(), st.booleans(), st.booleans())
def test_layer_norm_matches_nn_layernorm(shape: tuple[int, ...], channels: bool, affine: bool, bias: bool) -> None:
    """Over the last axis it is nn.LayerNorm; over axis 0 of a map it is LayerNorm2d (ConvNeXt):
    nn.LayerNorm applied with the channels moved last."""
    axis = 0 if channels else -1
    network = spec(shape, [{"layer_norm": {"axis": axis, "affine": affine, "bias": bias, "eps": 1e-6}}])
    analysis = agree_on_meta(network)
    size = shape[axis]
    reference = nn.LayerNorm(size, eps=1e-6, elementwise_affine=affine, bias=bias)
    assert analysis.totals.params == params_of(reference)
    model = backend.build(network, device="cpu")
    with torch.no_grad():
        for p in reference.parameters():
            p.normal_()
    copy_weights(reference, model)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        expected = reference(x.movedim(1, -1)).movedim(-1, 1) if channels else reference(x)
        torch.testing.assert_close(model(x), expected)
    assert analysis.totals.flops == 0 == counted_flops(reference, x.movedim(1, -1) if channels else x)[0]


@settings(max_examples=examples(30))
@given(st.sampled_from([1, 2, 4]), st.integers(1, 3), st.booleans())
def test_group_norm_matches_nn_groupnorm(groups: int, per_group: int, affine: bool) -> None:
    shape = (groups * per_group, 3, 5)
    network = spec(shape, [{"group_norm": {"groups": groups, "affine": affine}}])
    analysis = agree_on_meta(network)
    reference = nn.GroupNorm(groups, shape[0], affine=affine)
    assert analysis.totals.params == params_of(reference)
    model = backend.build(network, device="cpu")
    x = torch.randn(2, *shape)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))


@settings(max_examples=examples(20))
@given(st.integers(1, 4), st.booleans(), st.booleans(), st.sampled_from([(5, 6), (5,)]))
def test_instance_norm_matches_nn_instancenorm(channels: int, affine: bool, running: bool,
                                              spatial: tuple[int, ...]) -> None:
    shape = (channels, *spatial)
    network = spec(shape, [{"instance_norm": {"affine": affine, "track_running_stats": running}}])
    analysis = agree_on_meta(network)
    kind = nn.InstanceNorm2d if len(shape) == 3 else nn.InstanceNorm1d
    reference = kind(channels, affine=affine, track_running_stats=running)
    assert analysis.totals.params == params_of(reference)
    assert analysis.totals.buffers == sum(b.numel() for b in reference.buffers())


def test_l2_norm_is_ssds() -> None:
    """torchvision's SSD: scale_weight = ones(512) * 20; out = scale_weight.view(1, -1, 1, 1) * F.normalize(x)."""
    network = spec((512, 4, 5), ["l2_norm"])
    analysis = agree_on_meta(network)
    assert analysis.totals.params == 512
    model = backend.build(network, device="cpu")
    x = torch.randn(2, 512, 4, 5)
    with torch.no_grad():
        torch.testing.assert_close(model(x), (torch.ones(512) * 20).view(1, -1, 1, 1) * F.normalize(x))


# -- moving values ---------------------------------------------------------------------------

@st.composite
def tensor_shapes(draw: st.DrawFn, low: int = 1, high: int = 3) -> tuple[int, ...]:
    return tuple(draw(st.integers(1, 5)) for _ in range(draw(st.integers(low, high))))


@settings(max_examples=examples(80))
@given(st.data())
def test_shape_ops_match_torch(data: st.DataObject) -> None:
    """reshape, permute, flatten, slice, select, split and concat give the shapes torch's own
    tensor methods give on a meta tensor, and count nothing."""
    shape = data.draw(tensor_shapes())
    x = torch.empty(2, *shape, device="meta")
    rank = len(shape)
    op = data.draw(st.sampled_from(["reshape", "permute", "flatten", "slice", "select", "split", "concat"]))
    axis = data.draw(st.integers(-rank, rank - 1))
    dim = axis % rank + 1
    if op == "reshape":
        target = [int(torch.Size(shape).numel())]
        if data.draw(st.booleans()):
            target = [-1, 1]
        layer: dict[str, Any] = {"reshape": {"shape": target}}
        expected = x.reshape(2, *target)
    elif op == "permute":
        dims = data.draw(st.permutations(list(range(rank))))
        layer = {"permute": {"dims": dims}}
        expected = x.permute(0, *(d + 1 for d in dims))
    elif op == "flatten":
        start = data.draw(st.integers(0, rank - 1))
        end = data.draw(st.integers(start, rank - 1))
        layer = {"flatten": {"start": start, "end": end}}
        expected = torch.flatten(x, start + 1, end + 1)
    elif op == "slice":
        size = shape[dim - 1]
        start, end = data.draw(st.integers(-size, size - 1)), data.draw(st.integers(-size, size))
        step = data.draw(st.integers(1, 3))
        index: list[Any] = [slice(None)] * (rank + 1)
        index[dim] = slice(start, end, step)
        expected = x[tuple(index)]
        layer = {"slice": {"axis": axis, "start": start, "end": end, "step": step}}
        if expected.shape[dim] == 0:
            with pytest.raises(ShapeError):
                spec(shape, [layer]).analyze()
            return
    elif op == "select":
        if rank < 2:
            return
        where = data.draw(st.integers(-shape[dim - 1], shape[dim - 1] - 1))
        layer = {"select": {"axis": axis, "index": where}}
        expected = x.select(dim, where)
    elif op == "split":
        size = shape[dim - 1]
        cuts = sorted(data.draw(st.sets(st.integers(1, size - 1), max_size=3))) if size > 1 else []
        sections = [b - a for a, b in zip([0, *cuts], [*cuts, size], strict=True)]
        layer = {"split": {"name": "s", "axis": axis, "sections": sections}}
        pieces = torch.split(x, sections, dim)
        network = spec(shape, [layer])
        analysis = agree_on_meta(network)
        assert [r.name for r in analysis.layers] == [f"s.{i}" for i in range(len(sections))]
        assert [(2, *r.output_shape) for r in analysis.layers] == [tuple(p.shape) for p in pieces]
        return
    else:
        other = list(shape)
        other[dim - 1] = data.draw(st.integers(1, 4))
        layer = {"concat": {"axis": axis, "inputs": ["input", "p"]}}
        network = spec(shape, [{"parameter": {"name": "p", "shape": other, "inputs": "input"}}, layer])
        analysis = agree_on_meta(network)
        expected = torch.cat([x, torch.empty(2, *other, device="meta")], dim)
        assert (2, *analysis.totals.output_shape) == tuple(expected.shape)
        return
    network = spec(shape, [layer])
    analysis = agree_on_meta(network, batch=2)
    assert (2, *analysis.totals.output_shape) == tuple(expected.shape)
    assert analysis.totals.macs == analysis.totals.elementwise_ops == analysis.totals.params == 0


@settings(max_examples=examples(30))
@given(st.sampled_from([1, 2, 3, 4]), st.integers(1, 3), st.integers(1, 4))
def test_channel_shuffle_matches_nn_channelshuffle(groups: int, per_group: int, size: int) -> None:
    shape = (groups * per_group, size, size)
    network = spec(shape, [{"channel_shuffle": {"groups": groups}}])
    agree_on_meta(network)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        torch.testing.assert_close(backend.build(network, device="cpu")(x), nn.ChannelShuffle(groups)(x))


@settings(max_examples=examples(40))
@given(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3),
       st.sampled_from(["constant", "reflect", "replicate", "circular"]))
def test_pad_matches_f_pad(top: int, bottom: int, left: int, right: int, mode: str) -> None:
    shape = (2, 4, 5)
    network = spec(shape, [{"pad": {"padding": [[top, bottom], [left, right]], "mode": mode}}])
    analysis = agree_on_meta(network)
    x = torch.randn(1, *shape)
    expected = F.pad(x, (left, right, top, bottom), mode=mode)
    assert (1, *analysis.totals.output_shape) == tuple(expected.shape)
    with torch.no_grad():
        torch.testing.assert_close(backend.build(network, device="cpu")(x), expected)


# -- matrix products and attention ------------------------------------------------------------

@settings(max_examples=examples(60))
@given(st.integers(0, 2), st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.booleans(), st.data())
def test_matmul_matches_torch_matmul_and_flop_counter(leading: int, n: int, k: int, m: int, transpose: bool,
                                                      data: st.DataObject) -> None:
    batch_axes = [data.draw(st.integers(1, 3)) for _ in range(leading)]
    a_axes = [size if data.draw(st.booleans()) else 1 for size in batch_axes]
    b_axes = [size if data.draw(st.booleans()) else 1 for size in batch_axes]
    a_shape, b_shape = (*a_axes, n, k), (*b_axes, m, k) if transpose else (*b_axes, k, m)
    network = spec((1,), [{"parameter": {"name": "a", "shape": list(a_shape), "inputs": "input"}},
                          {"parameter": {"name": "b", "shape": list(b_shape), "inputs": "input"}},
                          {"matmul": {"name": "ab", "inputs": ["a", "b"], "transpose_b": transpose}}])
    analysis = agree_on_meta(network, batch=2)
    a, b = torch.empty(2, *a_shape, device="meta"), torch.empty(2, *b_shape, device="meta")
    flops, product = counted_flops(lambda p, q: torch.matmul(p, q.transpose(-2, -1) if transpose else q), a, b)
    record = analysis.layer("ab")
    assert (2, *record.output_shape) == tuple(product.shape)
    assert record.flops == flops


@settings(max_examples=examples(40))
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 9), st.booleans(), st.integers(1, 2))
def test_attention_matches_nn_multiheadattention(heads: int, head_width: int, tokens: int, bias: bool,
                                                 batch: int) -> None:
    """nn.MultiheadAttention's parameter count; FlopCounterMode's count of its forward (projections,
    Q K^T, softmax x V, output projection), which is 2 x archviz's MACs; the same output."""
    width = heads * head_width
    network = spec((tokens, width), [{"multi_head_attention": {"heads": heads, "bias": bias}}])
    analysis = agree_on_meta(network, batch=batch)
    reference = nn.MultiheadAttention(width, heads, bias=bias, batch_first=True, device="meta").eval()
    assert analysis.totals.params == params_of(reference)
    x = torch.empty(batch, tokens, width, device="meta")
    flops, _ = counted_flops(lambda t: reference(t, t, t, need_weights=True)[0], x)  # the meta device: no fast path
    assert analysis.totals.flops == flops == 2 * batch * (4 * tokens * width**2 + 2 * tokens**2 * width)
    cpu_reference = nn.MultiheadAttention(width, heads, bias=bias, batch_first=True).eval()
    model = backend.build(network, device="cpu")
    copy_weights(cpu_reference, model)
    x = torch.randn(batch, tokens, width)
    with torch.no_grad():
        torch.testing.assert_close(model(x), cpu_reference(x, x, x, need_weights=False)[0], rtol=1e-4, atol=1e-5)


# -- upsampling --------------------------------------------------------------------------------

@settings(max_examples=examples(60))
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2),
       st.integers(1, 2), st.booleans(), st.integers(1, 6))
def test_conv_transpose2d_matches_nn_convtranspose2d(in_per_group: int, out_per_group: int, kernel: int,
                                                     padding: int, stride: int, groups: int, bias: bool,
                                                     size: int) -> None:
    output_padding = stride - 1
    shape = (in_per_group * groups, size, size)
    layer = {"conv_transpose2d": {"filters": out_per_group * groups, "kernel": kernel, "stride": stride,
                                  "padding": padding, "output_padding": output_padding, "groups": groups,
                                  "bias": bias}}
    reference = nn.ConvTranspose2d(shape[0], out_per_group * groups, kernel, stride, padding, output_padding,
                                   groups, bias, device="meta")
    x = torch.empty(2, *shape, device="meta")
    try:
        flops, y = counted_flops(reference, x)
    except RuntimeError:  # torch refuses the size: so must archviz
        with pytest.raises(ShapeError):
            spec(shape, [layer]).analyze()
        return
    network = spec(shape, [layer])
    analysis = agree_on_meta(network, batch=2)
    assert (2, *analysis.totals.output_shape) == tuple(y.shape)
    assert analysis.totals.params == params_of(reference)
    assert analysis.totals.flops == flops


@settings(max_examples=examples(60))
@given(st.integers(1, 9), st.integers(1, 9), st.sampled_from(["nearest", "bilinear"]),
       st.one_of(st.sampled_from([0.5, 1.5, 2.0, 2.5, 3.0, 1 / 3]), st.tuples(st.integers(1, 9), st.integers(1, 9))))
def test_upsample_matches_f_interpolate(height: int, width: int, mode: str, how: Any) -> None:
    size = how if isinstance(how, tuple) else None
    scale = None if size is not None else how
    x = torch.empty(1, 2, height, width, device="meta")
    layer = {"upsample": {"mode": mode, **({"size": list(size)} if size else {"scale": scale})}}
    try:
        expected = F.interpolate(x, size=size, scale_factor=scale, mode=mode)
    except RuntimeError:  # no output left: torch refuses, so must archviz
        with pytest.raises(ShapeError):
            spec((2, height, width), [layer]).analyze()
        return
    network = spec((2, height, width), [layer])
    analysis = agree_on_meta(network)
    assert (1, *analysis.totals.output_shape) == tuple(expected.shape)


@settings(max_examples=examples(40))
@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(2, 9), st.integers(2, 9))
def test_max_unpool2d_is_segnets(kernel: int, stride: int, padding: int, height: int, width: int) -> None:
    """The decoder's unpooling puts each value where nn.MaxPool2d(return_indices=True) found the
    maximum of its window, into a map of the pooled input's size (nn.MaxUnpool2d, output_size)."""
    if padding * 2 > kernel:
        return
    pool = nn.MaxPool2d(kernel, stride, padding, return_indices=True)
    unpool = nn.MaxUnpool2d(kernel, stride, padding)
    x = torch.randn(2, 3, height, width)
    try:
        pooled, indices = pool(x)
    except RuntimeError:
        return
    layers = [{"max_pool2d": {"name": "pool", "kernel": kernel, "stride": stride, "padding": padding}},
              {"relu": {"name": "decoded"}},
              {"max_unpool2d": {"name": "up", "kernel": kernel, "stride": stride, "padding": padding,
                                "inputs": ["decoded", "input"]}}]
    network = spec((3, height, width), layers)
    analysis = agree_on_meta(network)
    expected = unpool(F.relu(pooled), indices, output_size=x.shape[-2:])
    assert (2, *analysis.totals.output_shape) == tuple(expected.shape)
    with torch.no_grad():
        torch.testing.assert_close(backend.build(network, device="cpu")(x), expected)


# -- a multi-output op inside a graph: ShuffleNetV2's unit ---------------------------------------

def shufflenet_unit(channels: int) -> str:
    return f"""
name: unit
input: [{channels * 2}, 6, 6]
layers:
  - split: {{name: halves, parts: 2}}
  - conv2d: {{name: pw1, filters: {channels}, kernel: 1, bias: false}}
  - batch_norm: {{name: bn1}}
  - relu
  - conv2d: {{name: dw, filters: {channels}, kernel: 3, padding: 1, groups: {channels}, bias: false}}
  - batch_norm: {{name: bn2}}
  - conv2d: {{name: pw2, filters: {channels}, kernel: 1, bias: false}}
  - batch_norm: {{name: bn3}}
  - relu: {{name: branch}}
  - concat: {{name: joined, inputs: [halves.0, branch]}}
  - channel_shuffle: {{groups: 2}}
"""


@settings(max_examples=examples(10))
@given(st.integers(1, 6))
def test_split_outputs_feed_a_shufflenet_unit_like_torchvisions(channels: int) -> None:
    """torchvision's InvertedResidual (stride 1): x1, x2 = x.chunk(2, dim=1);
    out = channel_shuffle(cat(x1, branch2(x2)), 2), written out here with the same weights."""
    network = archviz.loads(shufflenet_unit(channels))
    analysis = agree_on_meta(network, batch=2)
    assert analysis.totals.params == 2 * channels * channels + 9 * channels + 6 * channels
    model = backend.build(network, device="cpu")
    branch = nn.Sequential(nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
                           nn.Conv2d(channels, channels, 3, 1, 1, groups=channels, bias=False),
                           nn.BatchNorm2d(channels), nn.Conv2d(channels, channels, 1, bias=False),
                           nn.BatchNorm2d(channels), nn.ReLU()).eval()
    copy_weights(model, branch)
    x = torch.randn(2, 2 * channels, 6, 6)
    x1, x2 = x.chunk(2, dim=1)
    with torch.no_grad():
        out = torch.cat((x1, branch(x2)), dim=1)
        expected = out.view(2, 2, channels, 6, 6).transpose(1, 2).reshape(2, 2 * channels, 6, 6)
        torch.testing.assert_close(model(x), expected)


@settings(max_examples=examples(20))
@given(st.integers(1, 5), st.integers(2, 6), st.integers(-2, 1))
def test_softmax_axes_and_a_dense_softmax_on_tokens_match_torch(tokens: int, width: int, axis: int) -> None:
    """softmax on an axis is nn.Softmax on that axis; a dense layer's fused softmax normalises its
    units (nn.Linear then softmax over the last axis), also on (tokens, features)."""
    network = spec((tokens, width), [{"softmax": {"axis": axis, "name": "p"}},
                                     {"dense": {"units": 3, "activation": "softmax", "name": "head"}}])
    agree_on_meta(network)
    model = backend.build(network, device="cpu")
    linear = nn.Linear(width, 3)
    copy_weights(model, linear)
    x = torch.randn(2, tokens, width)
    with torch.no_grad():
        expected = torch.softmax(linear(torch.softmax(x, dim=axis + 1 if axis >= 0 else axis)), dim=-1)
        torch.testing.assert_close(model(x), expected)
