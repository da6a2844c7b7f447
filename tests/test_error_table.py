"""Every way the spec reader, the expansion, the ops and the analysis refuse an input, in-process.

tests/data/bad/ checks the exact wording of one example per kind through a real subprocess; this
table runs each refusal in-process (so line coverage sees it, docs/robustness.md) and checks the
exception's type, its message and that it names where the problem was written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import archviz
from archviz.errors import ArchvizError, ExpressionError, GraphError, ShapeError, SpecError
from archviz.spec.expand import parse_override

NET = "name: t\ninput: [3, 8, 8]\n"

# (id, spec text, exception type, message fragment, line the location must name or None)
CASES: list[tuple[str, str, type[ArchvizError], str, int | None]] = [
    ("extends-not-text", "name: t\nextends: 3\n", SpecError, "extends must be a file name", 2),
    ("extends-empty", "name: t\nextends: ''\n", SpecError, "extends must be a file name", 2),
    ("block-named-like-op", NET + "blocks:\n  relu: {layers: [relu]}\nlayers: [relu]\n", SpecError,
     "has the name of an op", 4),
    ("block-args-not-mapping", NET + "blocks:\n  b: {args: [1], layers: [relu]}\nlayers: [b]\n", SpecError,
     "args of block 'b' must be a mapping", None),
    ("block-without-layers", NET + "blocks:\n  b: {args: {}}\nlayers: [b]\n", SpecError, "must be a mapping with 'layers'",
     4),
    ("block-unknown-key", NET + "blocks:\n  b: {layers: [relu], argz: {}}\nlayers: [b]\n", SpecError,
     "unknown key 'argz' in block 'b'", 4),
    ("block-layers-not-list", NET + "blocks:\n  b: {layers: relu}\nlayers: [b]\n", SpecError, "layers of block 'b' must be a list",
     4),
    ("block-bad-name", NET + "blocks:\n  my-block: {layers: [relu]}\nlayers: [relu]\n", SpecError,
     "is not a valid identifier", 4),
    ("expect-not-mapping", NET + "layers: [relu]\nexpect: [1]\n", SpecError, "'expect' must be a mapping", 4),
    ("expect-unknown", NET + "layers: [relu]\nexpect: {parms: 1}\n", SpecError, "unknown expectation 'parms'", 4),
    ("expect-layers-not-mapping", NET + "layers: [relu]\nexpect: {layers: [1]}\n", SpecError,
     "'expect.layers' must map layer names", 4),
    ("expect-layer-not-mapping", NET + "layers: [relu]\nexpect: {layers: {relu_1: 3}}\n", SpecError,
     "expectations for layer 'relu_1' must be a mapping", 4),
    ("expect-layer-unknown", NET + "layers: [relu]\nexpect: {layers: {relu_1: {parms: 3}}}\n", SpecError,
     "unknown layer expectation 'parms'", 4),
    ("version", "archviz: 2\n" + NET + "layers: [relu]\n", SpecError, "unsupported spec language version", 1),
    ("variables-not-mapping", NET + "variables: [1]\nlayers: [relu]\n", SpecError, "'variables' must be a mapping", 3),
    ("variable-not-scalar", NET + "variables: {w: [1]}\nlayers: [relu]\n", SpecError, "variable 'w' must be a number", 3),
    ("layers-not-list", NET + "layers: relu\n", SpecError, "'layers' must be a list", 3),
    ("no-name", "input: [3, 8, 8]\nlayers: [relu]\n", SpecError, "the spec has no 'name'", 1),
    ("name-not-text", "name: [1, 2]\ninput: [3, 8, 8]\nlayers: [relu]\n", SpecError, "name must be text", 1),
    ("no-input", "name: t\nlayers: [relu]\n", SpecError, "has no default 'input'", 1),
    ("input-rank", "name: t\ninput: [3, 8, 8, 8, 8]\nlayers: [relu]\n", SpecError, "input must be [channels, height, width]", 2),
    ("input-zero", "name: t\ninput: [3, 0, 8]\nlayers: [relu]\n", SpecError, "input must be >= 1", 2),
    ("all-switched-off", NET + "layers: [{relu: {if: false}}, {layers: [relu], if: 1 > 2}]\n", SpecError,
     "the spec has no layers", None),
    ("entry-not-mapping", NET + "layers: [3]\n", SpecError, "a layer entry must be an op name or a mapping", 3),
    ("entry-two-keys", NET + "layers: [{relu: {}, tanh: {}}]\n", SpecError, "exactly one key", 3),
    ("group-unknown-key", NET + "layers: [{layers: [relu], repeats: 2}]\n", SpecError, "unknown key 'repeats'", 3),
    ("stage-without-layers", NET + "layers: [{stage: s}]\n", SpecError, "a stage needs 'layers'", 3),
    ("attributes-not-mapping", NET + "layers: [{relu: 3}]\n", SpecError, "attributes of 'relu' must be a mapping", 3),
    ("unknown-op", NET + "layers: [conv2b]\n", SpecError, "unknown op or block 'conv2b'", 3),
    ("block-unknown-argument", NET + "blocks:\n  b: {args: {f: 1}, layers: [relu]}\nlayers: [{b: {g: 2}}]\n",
     SpecError, "unknown argument 'g' for block 'b'", 5),
    ("block-input-index", NET + "blocks:\n  b: {layers: [{relu: {inputs: in.1}}]}\nlayers: [relu, {b: {inputs: relu_1}}]\n",
     SpecError, "'in.1' names input 1 of a block called with 1 input(s)", 5),  # the call; the block is a frame
    ("shape-read-forward", NET + "layers: [{conv2d: {filters: in_channels, kernel: 1, inputs: later}}, {relu: {name: later}}]\n",
     SpecError, "not a layer written before this one", 3),
    ("block-required-argument", NET + "blocks:\n  b: {args: {f: null}, layers: [relu]}\nlayers: [b]\n", SpecError,
     "block 'b' needs argument 'f'", 5),
    ("block-recursion", NET + "blocks:\n  b: {layers: [b]}\nlayers: [b]\n", SpecError,
     "blocks call each other deeper than 32 levels", None),
    ("missing-attribute", NET + "layers: [{conv2d: {filters: 2}}]\n", SpecError, "needs attribute 'kernel'", 3),
    ("inputs-not-names", NET + "layers: [{relu: {inputs: [1]}}]\n", SpecError, "inputs must be a layer name", 3),
    ("inputs-empty", NET + "layers: [{relu: {inputs: []}}]\n", SpecError, "inputs must be a layer name", 3),
    ("name-not-text", NET + "layers: [{relu: {name: [1]}}]\n", SpecError, "name must be text", None),
    ("unbalanced-braces", NET + "layers: [{relu: {name: 'a{1}}'}}]\n", SpecError, "has unbalanced braces", None),
    ("name-too-long", NET + "layers: [{relu: {name: " + "a" * 201 + "}}]\n", SpecError, "at most 200 characters", 3),
    ("stage-not-printable", NET + "layers: [{stage: \"a\\tb\", layers: [relu]}]\n", SpecError,
     "stage names must be printable", 3),
    ("duplicate-name", NET + "layers: [{relu: {name: a}}, {relu: {name: a}}]\n", SpecError, "duplicate layer name 'a'", 3),
    ("reserved-name", NET + "layers: [{relu: {name: input}}]\n", SpecError, "duplicate layer name 'input'", 3),
    ("dangling-input", NET + "layers: [{relu: {inputs: nowhere}}]\n", GraphError, "input 'nowhere' is not a layer", 3),
    ("merge-one-input", NET + "layers: [relu, {add: {inputs: relu_1}}]\n", SpecError, "add takes at least 2", 3),
    ("cycle", NET + "layers: [{relu: {name: a, inputs: b}}, {relu: {name: b, inputs: a}}]\n", GraphError,
     "the layers form a cycle", 3),
    # values and expressions
    ("float-not-number", NET + "layers: [{batch_norm: {eps: [1]}}]\n", SpecError, "eps must be a number", 3),
    ("float-below", NET + "layers: [{batch_norm: {momentum: -1}}]\n", SpecError, "momentum must be >= 0", 3),
    ("float-above", NET + "layers: [{dropout: {rate: 2}}]\n", SpecError, "rate must be < 1", 3),
    ("int-not-number", NET + "layers: [{conv2d: {filters: true, kernel: 1}}]\n", SpecError, "filters must be an integer",
     3),
    ("int-fraction", NET + "layers: [{conv2d: {filters: 2.5, kernel: 1}}]\n", SpecError, "must be a whole number", 3),
    ("int-too-large", NET + "layers: [{conv2d: {filters: 2147483648, kernel: 1}}]\n", SpecError, "<= 2,147,483,647", 3),
    ("bool-not-bool", NET + "layers: [{conv2d: {filters: 2, kernel: 1, bias: 1}}]\n", SpecError,
     "bias must be true or false", 3),
    ("pair-length", NET + "layers: [{conv2d: {filters: 2, kernel: [1, 2, 3]}}]\n", SpecError,
     "kernel must be one integer or a pair", 3),
    ("padding-word", NET + "layers: [{conv2d: {filters: 2, kernel: 1, padding: sme}}]\n", SpecError,
     "padding must be p, [ph, pw]", 3),
    ("padding-ragged", NET + "layers: [{conv2d: {filters: 2, kernel: 1, padding: [[1, 2, 3], [1, 2]]}}]\n", SpecError,
     "padding must be p, [ph, pw]", 3),
    ("padding-negative", NET + "layers: [{conv2d: {filters: 2, kernel: 1, padding: [[-1, 0], [0, 0]]}}]\n", SpecError,
     "padding must be >= 0", 3),
    ("choice", NET + "layers: [{conv2d: {filters: 2, kernel: 1, activation: relux}}]\n", SpecError,
     "activation must be one of", 3),
    ("choice-not-text", NET + "layers: [{conv2d: {filters: 2, kernel: 1, activation: 3}}]\n", SpecError,
     "activation must be one of", 3),
    ("expression-long", NET + "layers: [{conv2d: {filters: '" + "1+" * 260 + "1', kernel: 1}}]\n", ExpressionError,
     "longer than 500 characters", 3),
    ("expression-syntax", NET + "layers: [{conv2d: {filters: '2 *', kernel: 1}}]\n", ExpressionError,
     "Received: filters='2 *', which is not an expression", 3),
    ("expression-compare", NET + "variables: {s: abc}\nlayers: [{relu: {if: 's < 1'}}]\n", ExpressionError,
     "cannot compare", 4),
    ("expression-not-finite", NET + "variables: {w: .inf}\nlayers: [{conv2d: {filters: 'w * 1', kernel: 1}}]\n",
     ExpressionError, "not a finite number", 4),
    ("expression-float-power", NET + "layers: [{conv2d: {filters: '1e19 ** 64', kernel: 1}}]\n", ExpressionError,
     "number too large", 3),
    ("expression-complex", NET + "layers: [{conv2d: {filters: '(-8) ** 0.5', kernel: 1}}]\n", ExpressionError,
     "not a real number", 3),
    ("expression-too-large", NET + "layers: [{conv2d: {filters: '10**31', kernel: 1}}]\n", ExpressionError,
     "number too large", 3),
    ("expression-division", NET + "layers: [{conv2d: {filters: '1 // 0', kernel: 1}}]\n", ExpressionError,
     "division by zero", 3),
    ("expression-function", NET + "layers: [{conv2d: {filters: 'len(1)', kernel: 1}}]\n", ExpressionError,
     "unknown function 'len'", 3),
    ("expression-call-fails", NET + "layers: [{conv2d: {filters: 'max()', kernel: 1}}]\n", ExpressionError,
     "max() failed", 3),
    ("expression-attribute", NET + "layers: [{conv2d: {filters: '(1).real', kernel: 1}}]\n", ExpressionError,
     "Attribute is not allowed", 3),
    ("expression-not-number", NET + "variables: {s: abc}\nlayers: [{conv2d: {filters: 's * 2', kernel: 1}}]\n",
     ExpressionError, "expected a number", 4),
    ("expression-unknown-name", NET + "layers: [{conv2d: {filters: 'widht * 2', kernel: 1}}]\n", ExpressionError,
     "unknown name 'widht'", 3),
    ("expression-power", NET + "layers: [{conv2d: {filters: '2 ** 65', kernel: 1}}]\n", ExpressionError,
     "power too large", 3),
    # ops
    ("conv-groups-filters", NET + "layers: [{conv2d: {filters: 3, kernel: 1, groups: 2}}]\n", SpecError,
     "filters must be divisible by groups", 3),
    ("conv-groups-channels", NET + "layers: [{conv2d: {filters: 4, kernel: 1, groups: 2}}]\n", ShapeError,
     "input channels must be divisible by groups", 3),
    ("conv-kernel-too-large", NET + "layers: [{conv2d: {filters: 4, kernel: 3, dilation: 4}}]\n", ShapeError,
     "is larger than the padded input", 3),
    ("pool-padding", NET + "layers: [{max_pool2d: {kernel: 2, padding: 2}}]\n", SpecError,
     "padding must be at most half the kernel", 3),
    ("pool-too-large", NET + "layers: [{avg_pool2d: {kernel: 9}}]\n", ShapeError, "pooling window 9 is larger", 3),
    ("dense-on-image", NET + "layers: [{dense: {units: 2}}]\n", ShapeError, "dense expects an input of shape (features,)", 3),
    ("conv-on-vector", NET + "layers: [flatten, {conv2d: {filters: 2, kernel: 1}}]\n", ShapeError,
     "conv2d expects an input of shape (channels, height, width)", 3),
    ("add-shapes", NET + "layers: [{conv2d: {name: a, filters: 2, kernel: 1}}, {add: {inputs: [a, input]}}]\n",
     ShapeError, "add needs inputs of one shape", 3),
    ("concat-shapes", NET + "layers: [{conv2d: {name: a, filters: 2, kernel: 3}}, {concat: {inputs: [a, input]}}]\n",
     ShapeError, "concat needs inputs that agree", 3),
    # the ops of issue 14
    ("multiply-rank", NET + "layers: [{global_avg_pool2d: {name: g}}, {multiply: {inputs: [g, input]}}]\n",
     ShapeError, "multiply needs inputs of one rank", 3),
    ("multiply-broadcast", NET + "layers: [{conv2d: {name: a, filters: 2, kernel: 1}}, "
     "{multiply: {inputs: [a, input]}}]\n", ShapeError, "or shapes that broadcast (each axis equal or 1)", 3),
    ("concat-axis-shapes", NET + "layers: [{conv2d: {name: a, filters: 2, kernel: 1}}, "
     "{concat: {inputs: [a, input], axis: 1}}]\n", ShapeError, "agree on every axis but axis 1", 3),
    ("axis-outside", NET + "layers: [{layer_norm: {axis: 3}}]\n", ShapeError, "axis 3 is not an axis", 3),
    ("flatten-start-after-end", NET + "layers: [{flatten: {start: 2, end: 1}}]\n", ShapeError,
     "start axis 2 comes after its end axis 1", 3),
    ("reshape-two-unknowns", NET + "layers: [{reshape: {shape: [-1, -1]}}]\n", SpecError, "at most one -1", 3),
    ("reshape-size", NET + "layers: [{reshape: {shape: [3, 60]}}]\n", ShapeError, "as many elements as its input", 3),
    ("reshape-not-divisible", NET + "layers: [{reshape: {shape: [-1, 5]}}]\n", ShapeError, "cannot fit 192", 3),
    ("permute-length", NET + "layers: [{permute: {dims: [1, 0]}}]\n", ShapeError, "one entry in dims per axis", 3),
    ("permute-repeat", NET + "layers: [{permute: {dims: [0, 0, 1]}}]\n", ShapeError, "name each axis once", 3),
    ("shuffle-groups", NET + "layers: [{channel_shuffle: {groups: 2}}]\n", ShapeError, "divisible by groups", 3),
    ("split-both", NET + "layers: [{split: {parts: 3, sections: [1, 2]}}]\n", SpecError, "either 'sections'", 3),
    ("split-sum", NET + "layers: [{split: {sections: [1, 1]}}]\n", ShapeError, "sum to 2, not the size 3", 3),
    ("split-parts", NET + "layers: [{split: {parts: 2}}]\n", ShapeError, "cannot cut axis 0 of size 3", 3),
    ("split-name-taken", NET + "layers: [{relu: {name: s.1}}, {split: {name: s, parts: 3}}]\n", SpecError,
     "duplicate layer name 's.1'", 3),
    ("split-bare-name", NET + "layers: [{split: {name: s, parts: 3}}, {relu: {inputs: s}}]\n", GraphError,
     "input 's' is not a layer", 3),
    ("slice-empty", NET + "layers: [{slice: {axis: 1, start: 5, end: 2}}]\n", ShapeError, "is empty", 3),
    ("select-vector", NET + "layers: [flatten, select]\n", ShapeError, "at least 2 axes", 3),
    ("select-index", NET + "layers: [{select: {index: 3}}]\n", ShapeError, "index 3 is outside axis 0", 3),
    ("pad-same", NET + "layers: [{pad: {padding: same}}]\n", SpecError, "pad needs explicit padding", 3),
    ("pad-reflect", NET + "layers: [{pad: {padding: 8, mode: reflect}}]\n", ShapeError,
     "reflect padding must be smaller than the input", 3),
    ("pad-tokens", "name: t\ninput: [4, 8]\nlayers: [{pad: {padding: 1}}]\n", ShapeError,
     "pad expects an input of shape (channels, height, width)", 3),
    ("group-norm-groups", NET + "layers: [{group_norm: {groups: 2}}]\n", ShapeError, "divisible by groups", 3),
    ("instance-norm-vector", NET + "layers: [flatten, instance_norm]\n", ShapeError,
     "instance_norm expects an input of shape (tokens, features) or (channels, height, width)", 3),
    ("matmul-rank", NET + "layers: [{flatten: {name: f}}, {matmul: {inputs: [f, f]}}]\n", ShapeError,
     "two inputs of one rank, at least 2", 3),
    ("matmul-inner", NET + "layers: [{slice: {name: h, axis: 2, end: 4}}, {matmul: {inputs: [h, h]}}]\n", ShapeError,
     "last axis (4) to equal the second's second-to-last axis (8)", 3),
    ("matmul-leading", NET + "layers: [{conv2d: {name: a, filters: 2, kernel: 1}}, "
     "{matmul: {inputs: [a, input], transpose_b: true}}]\n", ShapeError, "leading axes must be equal or 1", 3),
    ("attention-on-map", NET + "layers: [{multi_head_attention: {heads: 1}}]\n", ShapeError,
     "multi_head_attention expects an input of shape (tokens, features)", 3),
    ("attention-heads", "name: t\ninput: [4, 6]\nlayers: [{multi_head_attention: {heads: 4}}]\n", ShapeError,
     "features divisible by heads", 3),
    ("deconv-groups", NET + "layers: [{conv_transpose2d: {filters: 3, kernel: 2, groups: 2}}]\n", SpecError,
     "filters must be divisible by groups", 3),
    ("deconv-output-padding", NET + "layers: [{conv_transpose2d: {filters: 2, kernel: 2, output_padding: 1}}]\n",
     SpecError, "output_padding must be smaller than stride or dilation", 3),
    ("deconv-channels", NET + "layers: [{conv_transpose2d: {filters: 4, kernel: 2, groups: 2}}]\n", ShapeError,
     "input channels must be divisible by groups", 3),
    ("deconv-padding", NET + "layers: [{conv_transpose2d: {filters: 4, kernel: 1, padding: 5}}]\n", ShapeError,
     "leaves no output along height", 3),
    ("upsample-both", NET + "layers: [{upsample: {scale: 2, size: 4}}]\n", SpecError, "either 'scale' or 'size'", 3),
    ("upsample-corners", NET + "layers: [{upsample: {scale: 2, align_corners: true}}]\n", SpecError,
     "align_corners applies to mode bilinear only", 3),
    ("upsample-nothing", NET + "layers: [{upsample: {scale: 0.01}}]\n", ShapeError, "leaves no output", 3),
    ("unpool-shapes", NET + "layers: [{max_unpool2d: {kernel: 2, inputs: [input, input]}}]\n", ShapeError,
     "must be the size that max pooling makes of the second", 3),
    ("softmax-axis", NET + "layers: [{softmax: {axis: 3}}]\n", ShapeError, "softmax's axis 3 is not an axis", 3),
    ("ints-empty", NET + "layers: [{reshape: {shape: []}}]\n", SpecError, "at least one integer", 3),
    ("ints-blank", NET + "layers: [{reshape: {shape: ' '}}]\n", SpecError, "must be a list of integers", 3),
    ("elements-beyond-2**80", "name: t\ninput: [2147483647, 2147483647, 2147483647]\nlayers: [relu]\n", ShapeError,
     "beyond archviz's limit of 2**80", 3),
    # YAML
    ("yaml-syntax", "name: [t\n", SpecError, "invalid YAML", 2),
    ("yaml-only-comments", "# nothing here\n", SpecError, "holds no YAML document", None),
    ("extends-nul", "name: t\nextends: \"a\\0b.yaml\"\n", SpecError, "extends must be a file name", 2),
    ("yaml-tag", "name: !!python/name:os.system t\n", SpecError, "is not allowed; specs hold plain data", 1),
    ("yaml-merge", "a: &a {x: 1}\nb: {<<: *a}\n", SpecError, "merge keys", 2),
    ("yaml-deep", "name: t\nx: " + "[" * 70 + "]" * 70 + "\n", SpecError, "nested deeper than 64 levels", 2),
]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_refusal(case: tuple[str, str, type[ArchvizError], str, int | None]) -> None:
    _, text, kind, message, line = case
    with pytest.raises(kind) as caught:
        archviz.loads(text).analyze()
    assert message in caught.value.message, caught.value.render()
    if line is not None:
        assert caught.value.location is not None and caught.value.location.line == line, caught.value.render()
    assert caught.value.location is None or caught.value.location.file == "<string>"


def test_yaml_scalars_keep_their_text() -> None:
    with pytest.raises(SpecError, match="unknown top-level key '1'"):
        archviz.loads("name: t\n1: x\ninput: [3, 8, 8]\nlayers: [relu]\n")
    with pytest.raises(SpecError, match="unknown top-level key 'true'"):
        archviz.loads("name: t\ntrue: x\ninput: [3, 8, 8]\nlayers: [relu]\n")
    assert archviz.loads("name: 2001-12-14\ninput: [3, 8, 8]\nlayers: [relu]\n").name == "2001-12-14"


def test_expressions_that_work() -> None:
    network = archviz.loads(NET + "variables: {w: 2, flag: true}\nlayers:\n"
                            "  - conv2d: {filters: '+w * 2 if flag and True or False else 1', kernel: 1}\n"
                            "  - relu: {if: 'not False and (w > 1 or w < 0)', name: 'r{w / 2}'}\n")
    analysis = network.analyze()
    assert analysis.layers[0].output_shape == (4, 8, 8)
    assert analysis.layers[1].name == "r1"  # 1.0 in a name template is written 1


def test_extends_deeper_than_eight_files(tmp_path: Path) -> None:
    for index in range(10):
        body = f"extends: s{index + 1}.yaml\n" if index < 9 else NET + "layers: [relu]\n"
        (tmp_path / f"s{index}.yaml").write_text(f"name: s{index}\n" + body)
    with pytest.raises(SpecError, match="nested deeper than 8 files"):
        archviz.load(tmp_path / "s0.yaml")


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        archviz.load(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match="is a folder"):
        archviz.load(tmp_path)
    # names the file system cannot look up: an OSError (a traceback) before the fix
    with pytest.raises(SpecError, match="cannot read the file: File name too long"):
        archviz.load(tmp_path / ("x" * 5000 + ".yaml"))
    with pytest.raises(SpecError, match="no such file or built-in spec"):
        archviz.load("x" * 5000)
    with pytest.raises(SpecError, match="its name holds a NUL character"):
        archviz.load("a\0b.yaml")
    large = tmp_path / "large.yaml"
    large.write_text("name: t\n" + "#" * 1_000_001)
    with pytest.raises(SpecError, match=r"too large for a spec \(1,000,009 bytes"):
        archviz.load(large)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError, match="is not UTF-8 text"):
        archviz.load(latin)


def test_command_line_overrides() -> None:
    assert parse_override("x=[1") == ("x", "[1")  # not YAML: kept as text
    assert parse_override("x=[1, 2]") == ("x", "[1, 2]")  # not a scalar: kept as text
    assert parse_override(" w = 0.5") == ("w", 0.5)
    with pytest.raises(SpecError, match="--set expects NAME=VALUE"):
        parse_override("=3")


def test_expansion_step_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries that make no layer count towards the limit (the full-size case: test_property_regressions)."""
    from archviz.spec import expand

    monkeypatch.setattr(expand, "MAX_EXPANSION_STEPS", 100)
    with pytest.raises(SpecError, match="more than 100 expansion steps") as caught:
        archviz.loads(NET + "layers:\n  - relu\n  - {layers: [{relu: {if: false}}], repeat: 60}\n")
    assert caught.value.location is not None and caught.value.location.line == 5
    assert len(archviz.loads(NET + "layers: [{relu: {repeat: 50}}]\n").layers) == 50  # layers are not steps


def test_analysis_arguments() -> None:
    network = archviz.loads(NET + "layers: [relu]\n")
    with pytest.raises(ShapeError, match="batch must be >= 1"):
        network.analyze(batch=0)
    with pytest.raises(ShapeError, match="input dimensions must be >= 1"):
        network.analyze((3, 0, 8))
    with pytest.raises(ShapeError, match="input must have 3 dimensions"):
        network.analyze((3, 8))
    with pytest.raises(KeyError):
        network.analyze().layer("nope")
    assert network.analyze().layer("relu_1").output_shape == (3, 8, 8)


def test_merged_branches_that_step_differently_have_no_field() -> None:
    """Receptive fields of a merge are the widest branch's only when the branches step alike."""
    analysis = archviz.loads(NET + "layers:\n"
                             "  - conv2d: {name: a, filters: 2, kernel: 1, stride: 2}\n"
                             "  - conv2d: {name: c, inputs: input, filters: 2, kernel: 5}\n"
                             "  - add: {name: s, inputs: [a, c]}\n"
                             "  - conv2d: {name: d, inputs: input, filters: 2, kernel: 3, stride: 2, padding: 1}\n"
                             "  - add: {name: t, inputs: [a, d]}\n").analyze()
    assert analysis.layer("s").receptive_field is None
    assert analysis.layer("t").receptive_field == (3, 3) and analysis.layer("t").effective_stride == (2, 2)


def test_op_contract_details() -> None:
    from archviz.ops import OP_REGISTRY
    from archviz.ops.base import Op, pair_rule, register

    conv = archviz.loads(NET + "layers: [{conv2d: {filters: 2, kernel: 1}}]\n").layers[0].op
    assert repr(conv).startswith("Conv2d(filters=2, kernel=(1, 1)")
    with pytest.raises(RuntimeError, match="registered twice"):
        register(type("Relu2", (Op,), {"name": "relu"}))
    assert "relu" in OP_REGISTRY
    check = pair_rule("stride", 1)
    check((1, 2))
    with pytest.raises(SpecError, match="stride must be >= 1"):
        check((0, 1))
    with pytest.raises(NotImplementedError):
        Op.output_shape(conv, [(3, 8, 8)])
