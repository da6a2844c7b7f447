"""The spec language: variables, arithmetic, blocks, repetition, stages, branches, inheritance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import archviz
from archviz.errors import ExpressionError, GraphError, ShapeError, SpecError
from archviz.spec.expr import evaluate

HEAD = "archviz: 1\nname: t\ninput: [3, 32, 32]\n"


def test_arithmetic_and_variables(write_spec) -> None:
    path = write_spec(HEAD + """
variables: {width: 2, base: 8, wide: base * width}
layers:
  - conv2d: {name: c, filters: wide * 2, kernel: 3, padding: "(3 - 1) // 2"}
""")
    a = archviz.load(path).analyze()
    assert a.layer("c").output_shape == (32, 32, 32)
    assert archviz.load(path, width=4).analyze().layer("c").output_shape == (64, 32, 32)


def test_evaluator_is_safe() -> None:
    assert evaluate("min(64 * w, 100) + 2 ** 3", {"w": 2}) == 108
    assert evaluate("a if flag else b", {"flag": False, "a": 1, "b": 2}) == 2
    for attack in ("__import__('os').system('true')", "().__class__", "w.real", "[1][0]", "open('x')",
                   "lambda: 1", "9 ** 9 ** 9", "'a' * 10**9"):
        with pytest.raises(ExpressionError):
            evaluate(attack, {"w": 2})
    with pytest.raises(ExpressionError, match="did you mean 'width'"):
        evaluate("64 * widht", {"width": 1})
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate("1 / 0", {})


def test_blocks_repeat_if_and_name_templates(write_spec) -> None:
    path = write_spec(HEAD + """
variables: {bn: false}
blocks:
  unit:
    args: {filters: null, k: 3}
    layers:
      - conv2d: {name: "conv{stage_index}_{n}", filters: filters, kernel: k, padding: same}
      - batch_norm: {name: "bn{stage_index}_{n}", if: bn}
      - relu: {name: "relu{stage_index}_{n}"}
layers:
  - {stage: s1, layers: [unit: {filters: 4, repeat: 2}, max_pool2d: {name: "pool{stage_index}", kernel: 2}]}
  - {stage: s2, layers: [unit: {filters: 8, k: 1}]}
""")
    a = archviz.load(path).analyze()
    assert [r.name for r in a.layers] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1", "relu2_1"]
    assert a.layer("conv2_1").params == 4 * 8 + 8
    assert [s for s, _ in a.stage_totals()] == ["s1", "s2"]
    with_bn = archviz.load(path, bn=True).analyze()
    assert with_bn.layer("bn1_2").buffers == 9


def test_branches_with_named_inputs_and_block_scopes(write_spec) -> None:
    path = write_spec(HEAD + """
blocks:
  residual:
    layers:
      - conv2d: {name: a, filters: 3, kernel: 3, padding: 1}
      - conv2d: {name: b, filters: 3, kernel: 3, padding: 1}
      - add: {name: sum, inputs: [b, in]}
layers:
  - residual: {name: "r{i}", repeat: 2}
  - concat: {name: cat, inputs: [r1.sum, r2.sum, input]}
""")
    network = archviz.load(path)
    a = network.analyze()
    assert a.layer("r1.sum").inputs == ("r1.b", "input")
    assert a.layer("r2.a").inputs == ("r1.sum",)
    assert a.layer("r2.sum").inputs == ("r2.b", "r1.sum")
    assert a.layer("cat").output_shape == (9, 32, 32)
    assert a.layer("r2.sum").receptive_field == (9, 9)
    assert network.graph.has_edge("r1.sum", "r2.a")


def test_forward_references_are_ordered_and_cycles_rejected(write_spec) -> None:
    ok = write_spec(HEAD + """
layers:
  - relu: {name: late, inputs: early}
  - conv2d: {name: early, filters: 2, kernel: 1, inputs: input}
""", "fwd.yaml")
    assert [r.name for r in archviz.load(ok).analyze().layers] == ["early", "late"]
    cyc = write_spec(HEAD + """
layers:
  - relu: {name: a, inputs: b}
  - relu: {name: b, inputs: a}
""", "cyc.yaml")
    with pytest.raises(GraphError, match="cycle"):
        archviz.load(cyc)


def test_reference_errors_name_the_line(write_spec) -> None:
    path = write_spec(HEAD + """
layers:
  - conv2d: {name: c1, filters: 3, kernel: 1}
  - add: {name: s, inputs: [c1, c2]}
""")
    with pytest.raises(GraphError) as info:
        archviz.load(path)
    message = str(info.value)
    assert "net.yaml:7:5" in message and "layer 's'" in message and "'c2'" in message


def test_unknown_op_and_attribute_suggest(write_spec) -> None:
    with pytest.raises(SpecError, match="did you mean 'conv2d'"):
        archviz.load(write_spec(HEAD + "layers:\n  - conv2: {filters: 3, kernel: 1}\n"))
    with pytest.raises(SpecError, match="did you mean 'filters'"):
        archviz.load(write_spec(HEAD + "layers:\n  - conv2d: {filtres: 3, kernel: 1}\n"))


def test_shape_errors_name_the_layer(write_spec) -> None:
    path = write_spec(HEAD + "layers:\n  - conv2d: {name: big, filters: 3, kernel: 40}\n")
    with pytest.raises(ShapeError) as info:
        archviz.load(path).analyze()
    assert "layer 'big'" in str(info.value) and "larger than" in str(info.value)
    net = archviz.load(write_spec(HEAD + "layers:\n  - add: {name: s, inputs: [input, input]}\n  - dense: {units: 2}\n",
                                  "d.yaml"))
    with pytest.raises(ShapeError, match="flatten"):
        net.analyze()


def test_extends_merges_and_stays_in_its_folder(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(HEAD + "variables: {n: 4}\nlayers:\n  - conv2d: {name: c, filters: n, kernel: 1}\n")
    (tmp_path / "child.yaml").write_text("name: child\nextends: base.yaml\nvariables: {n: 6}\n")
    a = archviz.load(tmp_path / "child.yaml").analyze()
    assert a.name == "child" and a.layer("c").output_shape == (6, 32, 32)
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "escape.yaml").write_text("name: e\nextends: ../base.yaml\n")
    with pytest.raises(SpecError, match="own folder"):
        archviz.load(inner / "escape.yaml")
    (tmp_path / "loop.yaml").write_text("name: l\nextends: loop.yaml\n")
    with pytest.raises(SpecError, match="cycle"):
        archviz.load(tmp_path / "loop.yaml")


def test_reanalysis_does_not_read_yaml_again(monkeypatch: pytest.MonkeyPatch) -> None:
    network = archviz.load("vgg16")

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("YAML read again")

    monkeypatch.setattr("archviz.spec.yamlio.read_text", forbidden)
    monkeypatch.setattr("archviz.spec.document.read_text", forbidden)
    monkeypatch.setattr(yaml, "compose", forbidden)
    assert network.analyze((3, 256, 256)).layer("pool5").output_shape == (512, 8, 8)
    assert network.with_variables(num_classes=5).analyze().totals.output_shape == (5,)


def test_to_dataframe() -> None:
    frame = archviz.load("vgg16").analyze().to_dataframe()
    assert len(frame) == 40
    assert int(frame["params"].sum()) == 138_357_544


def test_shipped_schema_is_current_and_validates_specs() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from archviz.schema_gen import SCHEMA_PATH, build_schema

    shipped = json.loads(SCHEMA_PATH.read_text())
    assert shipped == build_schema(), "run: python -m archviz.schema_gen"
    for path in (Path("specs/vgg16.yaml"), Path("specs/resnet18.yaml"), Path("specs/base/vgg.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), shipped)
    bad = {"name": "x", "input": [3, 8, 8], "layers": [{"conv2d": {"filtres": 3, "kernel": 1}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, shipped)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "layer": []}, shipped)


def test_three_3x3_versus_one_7x7(write_spec) -> None:
    """Paper section 2.3: three stacked 3x3 convs see 7x7, with 27C^2 instead of 49C^2 weights."""
    stacked = archviz.load(write_spec("name: s\ninput: [64, 56, 56]\nlayers:\n"
                                      "  - conv2d: {filters: 64, kernel: 3, padding: 1, bias: false, repeat: 3}\n",
                                      "s.yaml")).analyze()
    single = archviz.load(write_spec("name: o\ninput: [64, 56, 56]\nlayers:\n"
                                     "  - conv2d: {filters: 64, kernel: 7, padding: 3, bias: false}\n",
                                     "o.yaml")).analyze()
    assert stacked.layers[-1].receptive_field == single.layers[-1].receptive_field == (7, 7)
    assert stacked.totals.params == 27 * 64 * 64 and single.totals.params == 49 * 64 * 64


def test_op_reference_in_docs_is_current() -> None:
    from archviz.reference import DOC, render_doc

    text = DOC.read_text(encoding="utf-8")
    assert render_doc(text) == text, "run: python -m archviz.reference"
    for name in __import__("archviz.ops", fromlist=["OP_REGISTRY"]).OP_REGISTRY:
        assert f"### `{name}`" in text


def test_names_must_be_printable(write_spec) -> None:
    with pytest.raises(SpecError, match="printable"):
        archviz.load(write_spec(HEAD + 'layers:\n  - relu: {name: "bad\\u0000name"}\n'))
    with pytest.raises(SpecError, match="printable"):
        archviz.load(write_spec(HEAD + 'layers:\n  - {stage: "a\\nb", layers: [relu]}\n', "s.yaml"))


def test_block_call_takes_inputs(write_spec) -> None:
    """A block called with ``inputs`` reads them as 'in', 'in.0', 'in.1'; its first layer takes 'in'."""
    path = write_spec(HEAD + """
blocks:
  fuse:
    layers:
      - conv2d: {name: reduce, filters: 4, kernel: 1}
      - add: {name: sum, inputs: [reduce, in.1]}
layers:
  - conv2d: {name: a, filters: 8, kernel: 3, padding: 1}
  - conv2d: {name: b, filters: 4, kernel: 3, padding: 1}
  - fuse: {name: f, inputs: [a, b]}
""")
    network = archviz.load(path)
    inputs = {layer.name: layer.inputs for layer in network.layers}
    assert inputs["f.reduce"] == ("a",)  # not b, the layer written before the call
    assert inputs["f.sum"] == ("f.reduce", "b")
    assert network.analyze().layer("f.reduce").params == 8 * 4 + 4
    bad = write_spec(HEAD + "blocks:\n  b: {layers: [{relu: {inputs: in.2}}]}\nlayers: [relu, {b: {inputs: relu_1}}]\n")
    with pytest.raises(SpecError, match=r"'in.2' names input 2 of a block called with 1 input"):
        archviz.load(bad)


def test_nested_blocks_see_their_callers_names(write_spec) -> None:
    """Innermost named call first, then each enclosing one, then the network's names."""
    path = write_spec(HEAD + """
blocks:
  inner:
    layers:
      - identity: {name: near, inputs: shared}      # the caller's 'shared', not the network's
      - identity: {name: far, inputs: top}          # only the network has 'top'
  outer:
    layers:
      - relu: {name: shared}
      - inner: {name: i}
layers:
  - relu: {name: top}
  - relu: {name: shared}
  - outer: {name: o}
""")
    inputs = {layer.name: layer.inputs for layer in archviz.load(path).layers}
    assert inputs["o.i.near"] == ("o.shared",)
    assert inputs["o.i.far"] == ("top",)


def test_names_and_inputs_built_from_block_arguments(write_spec) -> None:
    """``source: "{p}.x"`` is interpolated where the block is called (it used to fail inside the callee)."""
    path = write_spec(HEAD + """
blocks:
  tap:
    args: {source: null, tag: null}
    layers:
      - conv2d: {name: "{tag}_conv", inputs: "{source}", filters: 2, kernel: 1}
  branch:
    layers:
      - relu: {name: x}
layers:
  - branch: {name: "b{i}", repeat: 2}
  - tap: {source: "b{i}.x", tag: "t{i}", repeat: 2}
""")
    inputs = {layer.name: layer.inputs for layer in archviz.load(path).layers}
    assert inputs["t1_conv"] == ("b1.x",)
    assert inputs["t2_conv"] == ("b2.x",)


def test_expressions_read_the_input_shape(write_spec) -> None:
    """``in_channels`` is the first input's channels: an inverted residual written without threading them."""
    path = write_spec(HEAD + """
variables: {width: 1}
blocks:
  inverted:
    args: {out: null, t: 6}
    layers:
      - conv2d: {name: expand, filters: in_channels * t, kernel: 1, bias: false}
      - conv2d: {name: dw, filters: in_channels, groups: in_channels, kernel: 3, padding: 1, bias: false}
      - conv2d: {name: project, filters: out, kernel: 1, bias: false}
      - add: {name: add, inputs: [in, project], if: in_channels == out}
  squeeze:
    args: {ratio: 4}
    layers:
      - dense: {name: fc, units: in_features // ratio}
layers:
  - conv2d: {name: stem, filters: 16 * width, kernel: 3, padding: 1}
  - inverted: {name: b1, out: 16}
  - inverted: {name: b2, out: 24}
  - global_avg_pool2d: {name: gap}
  - squeeze: {name: se, ratio: "in_features // 6"}
""")
    a = archviz.load(path).analyze()
    assert a.layer("b1.expand").output_shape == (96, 32, 32)
    assert a.layer("b1.dw").params == 96 * 9
    assert a.layer("b2.expand").params == 16 * 96
    assert a.layer("b2.dw").output_shape == (96, 32, 32)
    assert "b1.add" in [r.name for r in a.layers] and "b2.add" not in [r.name for r in a.layers]
    assert a.layer("se.fc").output_shape == (24 // 4,)  # ratio = 24 // 6 = 4
    # the channels follow variables: no replay, a full expansion
    wide = archviz.load(path).with_variables(width=2).analyze()
    assert wide.layer("b1.expand").output_shape == (192, 32, 32)
    assert wide.layer("b1.dw").params == 192 * 9
    # and the input: one grey channel instead of three changes nothing here, but the stem's input does
    grey = write_spec(HEAD.replace("[3, 32, 32]", "[1, 8, 8]") + "layers:\n  - conv2d: {filters: in_channels * 2, kernel: 1}\n")
    assert archviz.load(grey).analyze().totals.output_shape == (2, 8, 8)
    assert archviz.load(grey).analyze((5, 8, 8)).totals.output_shape == (10, 8, 8)


def test_reading_a_shape_written_later_is_an_error(write_spec) -> None:
    path = write_spec(HEAD + "layers:\n  - conv2d: {filters: in_channels, kernel: 1, inputs: later}\n"
                      "  - relu: {name: later}\n")
    with pytest.raises(SpecError, match="not a layer written before this one"):
        archviz.load(path)


def test_gmacs_expectation_is_the_published_three_decimals(write_spec) -> None:
    """torchvision publishes "GFLOPS" (MACs) at 3 decimals: 4.089 for ResNet-50's 4,089,184,256."""
    from archviz.expectations import check_expectations

    results = {r.quantity: r for r in check_expectations(archviz.load("resnet50"))}
    assert results["gmacs"].holds and results["gmacs"].got == 4.089
    # a conv of 1,000,000 MACs is 0.001 G; 0.002 does not hold
    path = write_spec("name: t\ninput: [1, 1000, 1]\nlayers: [{conv2d: {filters: 1000, kernel: 1, bias: false}}]\n"
                      "expect: {gmacs: 0.002}\n")
    (result,) = check_expectations(archviz.load(path))
    assert (result.expected, result.got, result.holds) == (0.002, 0.001, False)
    bad = write_spec("name: t\ninput: [1, 4, 4]\nlayers: [relu]\nexpect: {gmacs: '4.1'}\n")
    with pytest.raises(SpecError, match="expect.gmacs must be a number"):
        archviz.load(bad)


def test_a_shape_error_before_an_in_channels_read_is_reported_as_itself(write_spec) -> None:
    """The first error upstream, not 'depends on a layer written after it'."""
    path = write_spec(HEAD + "layers:\n  - conv2d: {name: a, filters: 4, kernel: 3}\n"
                      "  - add: {name: bad, inputs: [input, a]}\n  - conv2d: {filters: in_channels, kernel: 1}\n")
    with pytest.raises(ShapeError, match="layer 'bad': add needs inputs of one shape"):
        archviz.load(path)


def test_in_channels_in_conditions_and_its_refusals(write_spec) -> None:
    # an op's 'if' reads its input's channels (3 here), so only the first conv is written
    path = write_spec(HEAD + "layers:\n  - conv2d: {name: a, filters: 8, kernel: 1, if: in_channels == 3}\n"
                      "  - conv2d: {name: b, filters: 8, kernel: 1, if: in_channels == 3}\n")
    assert [layer.name for layer in archviz.load(path).layers] == ["a"]
    # the first error upstream of the read, through the layers between
    chained = write_spec(HEAD + "layers:\n  - conv2d: {name: a, filters: 4, kernel: 3}\n"
                         "  - add: {name: bad, inputs: [input, a]}\n  - relu: {name: r}\n"
                         "  - conv2d: {filters: in_channels, kernel: 1}\n")
    with pytest.raises(ShapeError, match="layer 'bad'"):
        archviz.load(chained)
    # a layer whose own input is written later has no shape yet
    later = write_spec(HEAD + "layers:\n  - relu: {name: a, inputs: c}\n"
                       "  - conv2d: {name: b, inputs: a, filters: in_channels, kernel: 1}\n  - relu: {name: c, inputs: input}\n")
    with pytest.raises(SpecError, match="'a', which depends on a layer written after it"):
        archviz.load(later)
    # read from the network's 'x', but once the block's own 'x' is written the name means that one
    shadowed = write_spec(HEAD + """
blocks:
  blk:
    layers:
      - conv2d: {name: y, inputs: x, filters: in_channels, kernel: 1}
      - conv2d: {name: x, inputs: input, filters: 5, kernel: 1}
layers:
  - conv2d: {name: x, filters: 7, kernel: 1}
  - blk: {name: b}
""")
    with pytest.raises(GraphError, match=r"in_channels read the shape of 'x', but once every layer is written the name "
                       r"means 'b.x'"):
        archviz.load(shadowed)
    upstream = write_spec(HEAD + """
blocks:
  blk:
    layers:
      - relu: {name: z, inputs: x}
      - conv2d: {name: y, inputs: z, filters: in_channels, kernel: 1}
      - conv2d: {name: x, inputs: input, filters: 5, kernel: 1}
layers:
  - conv2d: {name: x, filters: 7, kernel: 1}
  - blk: {name: b}
""")
    with pytest.raises(GraphError, match=r"in_channels was read from inputs \['x'\], but the layer's inputs are \['b.x'\]"):
        archviz.load(upstream)
