"""One contract table for every registered op: shape, params, buffers, MACs, elementwise work."""

from __future__ import annotations

from typing import Any

import pytest

from archviz.ops import OP_REGISTRY
from archviz.ops.base import Cost
from archviz.shapes import Field, same_padding, window_output_length
from archviz.spec.values import coerce

# op, attributes, input shapes, output shape, params, buffers, macs, bias_adds, elementwise (batch 1)
CASES: list[tuple[str, dict[str, Any], list[tuple[int, ...]], tuple[int, ...], int, int, int, int, int]] = [
    ("conv2d", {"filters": 64, "kernel": 3, "padding": 1}, [(3, 224, 224)], (64, 224, 224),
     1_792, 0, 86_704_128, 64 * 224 * 224, 0),
    ("conv2d", {"filters": 8, "kernel": 3, "stride": 2, "padding": "same", "bias": False}, [(4, 7, 7)], (8, 4, 4),
     288, 0, 16 * 36 * 8, 0, 0),
    ("conv2d", {"filters": 32, "kernel": 3, "groups": 32, "padding": 1}, [(32, 10, 10)], (32, 10, 10),
     32 * 9 + 32, 0, 3200 * 9, 3200, 0),
    ("conv2d", {"filters": 4, "kernel": 3, "dilation": 2}, [(2, 9, 9)], (4, 5, 5), 4 * 2 * 9 + 4, 0, 100 * 18, 100, 0),
    ("conv2d", {"filters": 4, "kernel": [1, 3], "padding": [[0, 0], [1, 2]], "activation": "relu"}, [(2, 5, 5)],
     (4, 5, 6), 4 * 2 * 3 + 4, 0, 120 * 6, 120, 120),
    ("max_pool2d", {"kernel": 2, "stride": 2}, [(64, 227, 227)], (64, 113, 113), 0, 0, 0, 0, 64 * 113 * 113 * 4),
    ("max_pool2d", {"kernel": 3, "stride": 2, "ceil_mode": True}, [(8, 6, 6)], (8, 3, 3), 0, 0, 0, 0, 8 * 9 * 9),
    ("max_pool2d", {"kernel": 3, "stride": 2, "padding": 1}, [(1, 112, 112)], (1, 56, 56), 0, 0, 0, 0, 56 * 56 * 9),
    ("avg_pool2d", {"kernel": 2, "padding": "same"}, [(3, 5, 5)], (3, 3, 3), 0, 0, 0, 0, 27 * 4),
    ("global_avg_pool2d", {}, [(512, 7, 7)], (512,), 0, 0, 0, 0, 512 * 49),
    ("global_max_pool2d", {}, [(512, 7, 7)], (512,), 0, 0, 0, 0, 512 * 49),
    ("adaptive_avg_pool2d", {"output_size": 7}, [(512, 14, 14)], (512, 7, 7), 0, 0, 0, 0, 512 * 196),
    ("flatten", {}, [(512, 7, 7)], (25_088,), 0, 0, 0, 0, 0),
    ("dense", {"units": 4096}, [(25_088,)], (4096,), 102_764_544, 0, 102_760_448, 4096, 0),
    ("dense", {"units": 10, "bias": False, "activation": "softmax"}, [(20,)], (10,), 200, 0, 200, 0, 10),
    ("relu", {}, [(64, 2, 2)], (64, 2, 2), 0, 0, 0, 0, 256),
    ("relu6", {}, [(4,)], (4,), 0, 0, 0, 0, 4),
    ("leaky_relu", {"slope": 0.2}, [(4,)], (4,), 0, 0, 0, 0, 4),
    ("elu", {}, [(4,)], (4,), 0, 0, 0, 0, 4),
    ("gelu", {}, [(4,)], (4,), 0, 0, 0, 0, 4),
    ("silu", {}, [(4,)], (4,), 0, 0, 0, 0, 4),
    ("sigmoid", {}, [(4,)], (4,), 0, 0, 0, 0, 4),
    ("tanh", {}, [(4,)], (4,), 0, 0, 0, 0, 4),
    ("softmax", {}, [(1000,)], (1000,), 0, 0, 0, 0, 1000),
    ("dropout", {"rate": 0.5}, [(4096,)], (4096,), 0, 0, 0, 0, 0),
    ("identity", {}, [(3, 4, 4)], (3, 4, 4), 0, 0, 0, 0, 0),
    ("batch_norm", {}, [(64, 10, 10)], (64, 10, 10), 128, 129, 0, 0, 6400),
    ("batch_norm", {"affine": False}, [(16,)], (16,), 0, 33, 0, 0, 16),
    ("lrn", {}, [(64, 224, 224)], (64, 224, 224), 0, 0, 0, 0, 64 * 224 * 224 * 12),
    ("add", {}, [(8, 4, 4), (8, 4, 4), (8, 4, 4)], (8, 4, 4), 0, 0, 0, 0, 2 * 128),
    ("concat", {}, [(64, 28, 28), (128, 28, 28), (32, 28, 28)], (224, 28, 28), 0, 0, 0, 0, 0),
    # -- broadcasting merges, learnable tensors, new activations ------------------------------
    ("add", {}, [(8, 1, 1), (8, 4, 4)], (8, 4, 4), 0, 0, 0, 0, 128),
    ("multiply", {}, [(8, 4, 4), (8, 1, 1)], (8, 4, 4), 0, 0, 0, 0, 128),
    ("multiply", {}, [(1, 5), (3, 1), (3, 5)], (3, 5), 0, 0, 0, 0, 30),
    ("concat", {"axis": -2}, [(1, 768), (196, 768)], (197, 768), 0, 0, 0, 0, 0),
    ("concat", {"axis": 2}, [(4, 3, 2), (4, 3, 5)], (4, 3, 7), 0, 0, 0, 0, 0),
    ("parameter", {"shape": [197, 768], "init": "normal"}, [(3, 224, 224)], (197, 768), 151_296, 0, 0, 0, 0),
    ("hardswish", {}, [(4,)], (4,), 0, 0, 0, 0, 4),
    ("softmax", {"axis": -1}, [(5, 10)], (5, 10), 0, 0, 0, 0, 50),
    ("hardsigmoid", {}, [(2, 3)], (2, 3), 0, 0, 0, 0, 6),
    ("gelu", {"approximate": "tanh"}, [(4,)], (4,), 0, 0, 0, 0, 4),
    ("stochastic_depth", {"rate": 0.2}, [(8, 4, 4)], (8, 4, 4), 0, 0, 0, 0, 0),
    # -- normalisation: 5 ops per element for the statistics, 2 more for the affine transform -
    ("layer_norm", {}, [(197, 768)], (197, 768), 1536, 0, 0, 0, 197 * 768 * 7),
    ("layer_norm", {"axis": 0, "bias": False, "eps": 1e-6}, [(96, 56, 56)], (96, 56, 56), 96, 0, 0, 0,
     96 * 56 * 56 * 7),
    ("layer_norm", {"affine": False}, [(10,)], (10,), 0, 0, 0, 0, 50),
    ("group_norm", {"groups": 32}, [(64, 8, 8)], (64, 8, 8), 128, 0, 0, 0, 64 * 64 * 7),
    ("instance_norm", {}, [(3, 8, 8)], (3, 8, 8), 0, 0, 0, 0, 192 * 5),
    ("instance_norm", {"affine": True, "track_running_stats": True}, [(3, 8, 8)], (3, 8, 8), 6, 7, 0, 0, 192 * 3),
    ("l2_norm", {}, [(512, 38, 38)], (512, 38, 38), 512, 0, 0, 0, 4 * 512 * 38 * 38 + 38 * 38),
    # -- moving values: no arithmetic -----------------------------------------------------------
    ("reshape", {"shape": [-1, 1, 1]}, [(64,)], (64, 1, 1), 0, 0, 0, 0, 0),
    ("permute", {"dims": [1, 0]}, [(768, 196)], (196, 768), 0, 0, 0, 0, 0),
    ("flatten", {"start": 1}, [(768, 14, 14)], (768, 196), 0, 0, 0, 0, 0),
    ("flatten", {"start": 0, "end": 1}, [(2, 3, 4)], (6, 4), 0, 0, 0, 0, 0),
    ("channel_shuffle", {"groups": 2}, [(116, 28, 28)], (116, 28, 28), 0, 0, 0, 0, 0),
    ("split", {"parts": 2}, [(116, 28, 28)], (58, 28, 28), 0, 0, 0, 0, 0),
    ("split", {"sections": [24, 40], "axis": -1, "output": 1}, [(3, 64)], (3, 40), 0, 0, 0, 0, 0),
    ("slice", {"axis": 1, "start": 1, "end": -1, "step": 2}, [(4, 9, 9)], (4, 4, 9), 0, 0, 0, 0, 0),
    ("select", {"axis": 0, "index": 0}, [(197, 768)], (768,), 0, 0, 0, 0, 0),
    ("pad", {"padding": [[1, 0], [0, 1]]}, [(3, 4, 4)], (3, 5, 5), 0, 0, 0, 0, 0),
    # -- matrix products: MACs = n*k*m per matrix; attention: 4*L*D^2 + 2*L^2*D ---------------
    ("matmul", {}, [(12, 197, 64), (12, 64, 197)], (12, 197, 197), 0, 0, 12 * 197 * 197 * 64, 0, 0),
    ("matmul", {"transpose_b": True}, [(1, 5, 4), (3, 6, 4)], (3, 5, 6), 0, 0, 3 * 5 * 6 * 4, 0, 0),
    # ViT-B/16's attention: torchvision's encoder layer holds 2,362,368 attention params
    ("multi_head_attention", {"heads": 12}, [(197, 768)], (197, 768), 2_362_368, 0,
     4 * 197 * 768 * 768 + 2 * 197 * 197 * 768, 4 * 197 * 768, 197 * 768 + 12 * 197 * 197),
    ("multi_head_attention", {"heads": 2, "bias": False}, [(5, 8)], (5, 8), 256, 0, 4 * 5 * 64 + 2 * 25 * 8, 0,
     40 + 50),
    # -- upsampling -----------------------------------------------------------------------------
    # FCN-style x2 learned upsampling: MACs per input position, FlopCounterMode's rule
    ("conv_transpose2d", {"filters": 256, "kernel": 2, "stride": 2}, [(512, 14, 14)], (256, 28, 28),
     512 * 256 * 4 + 256, 0, 512 * 196 * 256 * 4, 256 * 784, 0),
    ("conv_transpose2d", {"filters": 6, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2,
                          "bias": False}, [(4, 5, 5)], (6, 10, 10), 4 * 3 * 9, 0, 100 * 27, 0, 0),
    ("upsample", {"scale": 2}, [(3, 5, 7)], (3, 10, 14), 0, 0, 0, 0, 0),
    ("upsample", {"scale": 1.5}, [(3, 5, 7)], (3, 7, 10), 0, 0, 0, 0, 0),
    ("upsample", {"size": [4, 6], "mode": "bilinear"}, [(2, 2, 3)], (2, 4, 6), 0, 0, 0, 0, 48 * 4),
    ("max_unpool2d", {"kernel": 2}, [(64, 7, 7), (64, 15, 15)], (64, 15, 15), 0, 0, 0, 0, 0),
]


def build(op: str, attrs: dict[str, Any]):  # type: ignore[no-untyped-def]
    cls = OP_REGISTRY[op]
    values = {}
    for key, attribute in cls.attributes.items():
        raw = attrs.get(key, attribute.default)
        values[key] = coerce(key, attribute, raw, lambda text: text)
    # what the expander adds to each output of a multi-output op (split): its index
    values.update({key: value for key, value in attrs.items() if key not in cls.attributes})
    return cls(values)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_op_contract(case: tuple) -> None:  # type: ignore[type-arg]
    op_name, attrs, inputs, shape, params, buffers, macs, bias_adds, elementwise = case
    op = build(op_name, attrs)
    output = op.output_shape(inputs)
    assert output == shape
    cost = op.cost(inputs, output, 1)
    assert (cost.params, cost.buffers, cost.macs, cost.bias_adds, cost.elementwise_ops) == (
        params, buffers, macs, bias_adds, elementwise)
    doubled = op.cost(inputs, output, 2)
    assert (doubled.params, doubled.macs, doubled.elementwise_ops) == (params, 2 * macs, 2 * elementwise)
    assert type(cost) is Cost
    # An analysis composes a static rule once per network: it must be what field_rule answers.
    if op.static_field_rule is not None:
        assert op.field_rule(inputs) == op.static_field_rule


@pytest.mark.parametrize(("op_name", "attrs", "static"), [
    ("conv2d", {"filters": 4, "kernel": 3, "stride": 2, "padding": "same"}, False),
    ("conv2d", {"filters": 4, "kernel": 3, "padding": 1}, True),
    ("max_pool2d", {"kernel": 3, "stride": 2, "padding": "same"}, False),
    ("avg_pool2d", {"kernel": 2}, True),
    ("adaptive_avg_pool2d", {"output_size": 7}, False),
    ("dense", {"units": 3}, True),
    ("relu", {}, True),
    ("concat", {"axis": 0}, True),
    ("pad", {"padding": 1}, True),
    ("layer_norm", {"axis": 0}, True),
    ("multi_head_attention", {"heads": 2}, True),
    ("flatten", {}, True),
])
def test_static_field_rule_only_where_the_input_cannot_change_it(op_name: str, attrs: dict[str, object],
                                                                 static: bool) -> None:
    op = build(op_name, attrs)
    assert (op.static_field_rule is not None) is static
    if not static:  # the rule really differs between two inputs, so it could not be static
        rules = {op.field_rule([(4, size, size)]) for size in (14, 15, 28)}
        assert len(rules) > 1


def test_every_registered_op_has_a_contract_case() -> None:
    assert {c[0] for c in CASES} == set(OP_REGISTRY)


def test_every_op_documents_itself() -> None:
    for name, cls in OP_REGISTRY.items():
        assert cls.summary, name
        for attribute in cls.attributes.values():
            assert attribute.doc, name


def test_window_output_length_matches_pytorch_rules() -> None:
    assert window_output_length(227, 2, 2, (0, 0)) == 113  # floor, Keras and PyTorch default
    assert window_output_length(227, 2, 2, (0, 0), ceil_mode=True) == 114  # Caffe / ceil_mode
    # PyTorch drops a last window that would start in the right padding
    assert window_output_length(5, 2, 2, (1, 1), ceil_mode=True) == 3
    assert window_output_length(3, 5, 1, (0, 0)) == 0


def test_same_padding_is_tensorflows() -> None:
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(8, 3, 2) == (0, 1)  # the odd pixel goes after, as in TensorFlow
    assert same_padding(224, 3, 1) == (1, 1)
    assert same_padding(5, 4, 1) == (1, 2)


def test_field_composition() -> None:
    field = Field(1, 1, 0).through(3, 1, 1).through(3, 1, 1).through(2, 2, 0)
    assert field == Field(6, 2, 2)
    assert Field(1, 1, 0).through(3, 1, 1, dilation=2) == Field(5, 1, 1)


def _fields(text: str) -> dict[str, tuple[object, object, object, str]]:
    import archviz

    analysis = archviz.loads(text).analyze()
    return {r.name: (r.receptive_field, r.effective_stride, r.effective_padding, r.field_note) for r in analysis.layers}


def test_fields_through_the_new_ops() -> None:
    """Hand-composed: a 3x3 conv (field 3, padding 1), then a 2x2 stride-2 pool (field 4, stride 2).
    A slice from row 2 starts the field 2 * 2 pixels later: padding 1 - 4 = -3; padding the map
    by 1 before reaches one stride further out: 1 + 1 * 2 = 3. Channels ops keep the field."""
    fields = _fields(
        "name: t\ninput: [4, 16, 16]\nlayers:\n"
        "  - conv2d: {filters: 4, kernel: 3, padding: 1}\n"
        "  - max_pool2d: {kernel: 2, name: pool}\n"
        "  - slice: {name: rows, axis: 1, start: 2}\n"
        "  - pad: {name: padded, inputs: pool, padding: [[1, 0], [0, 0]]}\n"
        "  - split: {name: s, inputs: pool, parts: 2, axis: -1}\n"
        "  - split: {name: c, inputs: pool, parts: 2}\n"
        "  - channel_shuffle: {name: shuffled, inputs: pool, groups: 2}\n"
        "  - layer_norm: {name: ln, inputs: pool, axis: 0}\n"
        "  - slice: {name: every_other, inputs: pool, axis: 2, step: 2}\n"
        "  - upsample: {name: up, inputs: pool, scale: 2}\n"
        "  - conv2d: {name: after_up, filters: 4, kernel: 3}\n"
        "  - group_norm: {name: gn, inputs: pool, groups: 2}\n"
    )
    assert fields["pool"] == ((4, 4), (2, 2), (1, 1), "")
    assert fields["rows"] == ((4, 4), (2, 2), (-3, 1), "")
    assert fields["padded"] == ((4, 4), (2, 2), (3, 1), "")
    assert fields["s.1"] == ((4, 4), (2, 2), (1, 1 - 4 * 2), "")
    assert fields["c.0"] == fields["c.1"] == fields["shuffled"] == fields["ln"] == fields["pool"]
    assert fields["every_other"] == ((4, 4), (2, 4), (1, 1), "")
    assert fields["up"] == fields["after_up"] == (None, None, None, "n/a")  # upsampled: not a field, not global
    assert fields["gn"] == (None, None, None, "global")  # its statistics read every position


def test_tokens_have_no_field_and_say_so() -> None:
    """ViT's stem: the patch embedding has a 16 x 16 field; once patches become tokens no
    (height, width) field applies, also after attention and the dense head (not 'global')."""
    fields = _fields(
        "name: t\ninput: [3, 32, 32]\nlayers:\n"
        "  - conv2d: {name: patches, filters: 8, kernel: 16, stride: 16}\n"
        "  - flatten: {name: grid, start: 1}\n"
        "  - permute: {name: tokens, dims: [1, 0]}\n"
        "  - multi_head_attention: {name: attention, heads: 2}\n"
        "  - select: {name: first, index: 0}\n"
        "  - dense: {name: head, units: 3}\n"
    )
    assert fields["patches"] == ((16, 16), (16, 16), (0, 0), "")
    for name in ("grid", "tokens", "attention", "first", "head"):
        assert fields[name] == (None, None, None, "n/a"), name
    flat = _fields("name: t\ninput: [6]\nlayers: [{dense: {units: 2}}]\n")
    assert flat["dense_1"][3] == "n/a"  # a flat network input never had a pixel grid
    vgg_like = _fields("name: t\ninput: [3, 8, 8]\nlayers: [{conv2d: {filters: 2, kernel: 3}}, flatten]\n")
    assert vgg_like["flatten_1"][3] == "global"  # as before: each feature sees the whole image


def test_split_layers_are_named_after_their_output_and_replay_with_other_counts() -> None:
    import archviz

    text = ("name: t\ninput: [12, 4, 4]\nvariables: {parts: 2}\nlayers:\n"
            "  - split: {name: s, parts: parts}\n  - relu: {inputs: s.0}\n")
    network = archviz.loads(text)
    assert [layer.name for layer in network.layers] == ["s.0", "s.1", "relu_1"]
    wider = network.with_variables(parts=3)
    assert [layer.name for layer in wider.layers] == ["s.0", "s.1", "s.2", "relu_1"]
    assert wider.analyze().layer("s.2").output_shape == (4, 4, 4)
    assert network.with_variables(parts=2).analyze().layer("s.1").label == "split 2/2"
    one = archviz.loads("name: t\ninput: [3, 4, 4]\nlayers: [{split: {name: s, sections: [3]}}]\n")
    assert [layer.name for layer in one.layers] == ["s.0"]  # a split's outputs are always '<name>.i'


@pytest.mark.parametrize(("bias", "expected"), [
    # L = 5 tokens, D = 8, 2 heads: MACs 4 L D² + 2 L² D = 1,680; ptflops' hook, term by term:
    # L D + 3 L D² (+ 3 L D) + 2 x (2 L² D/2 + L²) + L D (D + 1) = 40 + 960 (+ 120) + 450 + 360
    (True, {"macs": 1680, "fvcore": 1680, "ptflops": 1930, "ptflops-aten": 1680 + 160, "thop": 0,
            "torchinfo": 64 + 8, "flopcounter": 3360}),
    (False, {"macs": 1680, "fvcore": 1680, "ptflops": 1810, "ptflops-aten": 1680, "thop": 0,
             "torchinfo": 64, "flopcounter": 3360}),
])
def test_attention_under_every_named_convention(bias: bool, expected: dict[str, int]) -> None:
    import archviz
    from archviz.conventions import CONVENTIONS

    flag = "true" if bias else "false"
    analysis = archviz.loads("name: t\ninput: [5, 8]\nlayers: [{multi_head_attention: {heads: 2, bias: " + flag
                             + "}}]\n").analyze()
    assert {name: CONVENTIONS[name].total(analysis) for name in expected} == expected


def test_other_new_ops_under_the_conventions() -> None:
    import archviz
    from archviz.conventions import CONVENTIONS

    analysis = archviz.loads(
        "name: t\ninput: [4, 3, 3]\nlayers:\n"
        "  - conv_transpose2d: {name: up, filters: 2, kernel: 2, stride: 2}\n"  # 4x3x3 -> 2x6x6, 34 params
        "  - flatten: {start: 1}\n"
        "  - dense: {name: tokens, units: 5}\n"  # (2, 36) -> (2, 5): 185 params, MACs 2 x 36 x 5
        "  - matmul: {name: gram, inputs: [tokens, tokens], transpose_b: true}\n").analyze()
    per_layer = {name: [CONVENTIONS[name].per_layer(r) for r in analysis.layers] for name in CONVENTIONS}
    up_macs = 4 * 9 * 2 * 4
    assert per_layer["macs"] == [up_macs, 0, 2 * 36 * 5, 2 * 5 * 2]
    assert per_layer["torchinfo"] == [34 * 36, 0, 185, 0]
    assert per_layer["ptflops-aten"] == [up_macs + 72, 0, 360 + 10, 20]
    assert per_layer["ptflops"] == [up_macs + 72, 0, 360 + 10, 20]
    assert per_layer["thop"] == [up_macs, 0, 360, 0]


def test_deferred_families_register_what_the_registry_says() -> None:
    """A summary of VGG imports none of the deferred modules; asking for one of their ops, or for
    the list of all ops, imports it; each registers exactly the names the table defers to it."""
    import subprocess
    import sys

    from archviz.ops import DEFERRED
    from archviz.ops.base import OP_REGISTRY

    probe = ("import sys, archviz; archviz.load('vgg16').analyze(); "
             "print(sorted(m for m in sys.modules if m.startswith('archviz.ops.')))")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert not any(module in imported for module in DEFERRED)
    for module, names in DEFERRED.items():
        registered = {name for name, cls in OP_REGISTRY.items() if cls.__module__ == module}
        assert registered == set(names), module
    assert OP_REGISTRY.get("split") is OP_REGISTRY["split"] and OP_REGISTRY.get("nothing") is None
    with pytest.raises(KeyError):
        OP_REGISTRY["nothing"]
    assert len(OP_REGISTRY) == len(list(OP_REGISTRY.keys())) == len(list(OP_REGISTRY.values()))
