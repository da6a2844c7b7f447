"""Errors point at the line the user wrote: block calls, values that travel, ``extends``, ``input``.

An error met inside a block names the call first (file:line:column and the layer it made), then
the definitions it went through, then where the values it read were set; the line and column
numbers below are counted by hand in the texts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import archviz
from archviz.errors import ArchvizError, GraphError, ShapeError, SpecError

ROOT = Path(__file__).resolve().parent.parent


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archviz.cli.main", *args], cwd=folder, capture_output=True,
                          text=True, check=False, timeout=60, env={"PYTHONPATH": str(ROOT), "ARCHVIZ_NO_CACHE": "1",
                                                                   "PATH": "/usr/bin:/bin"})


@pytest.fixture
def vgg_copy(tmp_path: Path) -> Path:
    """A copy of specs/vgg16.yaml with specs/base/ beside it, as the issue's user made."""
    shutil.copytree(ROOT / "specs" / "base", tmp_path / "base")
    shutil.copy(ROOT / "specs" / "vgg16.yaml", tmp_path / "vgg16.yaml")
    return tmp_path


def test_a_wrong_block_argument_is_reported_at_the_call(vgg_copy: Path) -> None:
    spec = vgg_copy / "vgg16.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("conv3: {filters: 128, repeat: 2}", "conv3: {filters: 2.5, repeat: 2}"))
    line = text.splitlines().index("  - {stage: conv2, layers: [conv3: {filters: 128, repeat: 2}, maxpool]}") + 1
    result = _cli(vgg_copy, "summary", "vgg16.yaml")
    assert result.returncode == 2 and result.stdout == ""
    # the call (column 29: 'conv3'), the layer it made, the definition, the value's origin (column 37)
    assert result.stderr == (
        f"error: vgg16.yaml:{line}:29: layer 'conv2_1': filters must be a whole number. "
        "Received: filters=2.5 (from 'filters * width')\n"
        "  in block 'conv3', base/vgg.yaml:21:49\n"
        f"  filters=2.5 is given to block 'conv3' at vgg16.yaml:{line}:37\n"
        "  width=1 is set at base/vgg.yaml:11:3\n"
        f"  hint: give filters a whole number where block 'conv3' is called (vgg16.yaml:{line}:37)\n"
    )


def test_a_variable_set_on_the_command_line_is_named(vgg_copy: Path) -> None:
    result = _cli(vgg_copy, "summary", "vgg16.yaml", "--set", "width=0.3")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: vgg16.yaml:7:29: layer 'conv1_1': filters must be a whole number. "
                               "Received: filters=19.2")
    assert "  width=0.3 is set from outside the spec (--set, --vary or a keyword of load())" in lines
    assert lines[-1] == ("  hint: choose width so that 'filters * width' comes out whole, or round it where it is "
                         "written (base/vgg.yaml:21:49): 'round(filters * width)'")


def test_an_extends_chain_leads_to_the_file(vgg_copy: Path) -> None:
    (vgg_copy / "narrow.yaml").write_text("name: narrow\nextends: vgg16.yaml\nvariables: {width: 0.3}\n")
    (vgg_copy / "mine.yaml").write_text("name: mine\nextends: narrow.yaml\n")
    with pytest.raises(SpecError) as caught:
        archviz.load(vgg_copy / "mine.yaml")
    folder = str(vgg_copy)
    text = caught.value.render().replace(folder + "/", "")
    assert text.splitlines()[1:4] == [
        "  mine.yaml extends narrow.yaml, mine.yaml:2:1",
        "  narrow.yaml extends vgg16.yaml, narrow.yaml:2:1",
        "  in block 'conv3', base/vgg.yaml:21:49",
    ]
    assert "  width=0.3 is set at narrow.yaml:3:13" in text.splitlines()


NESTED = """\
name: nested
input: [3, 8, 8]
blocks:
  inner:
    args: {f: null}
    layers:
      - conv2d: {name: c, filters: f, kernel: 1}
  outer:
    args: {g: null}
    layers:
      - inner: {f: g / 2}
layers:
  - outer: {g: 5}
"""


def test_arguments_passed_on_to_inner_blocks() -> None:
    with pytest.raises(SpecError) as caught:
        archviz.loads(NESTED)
    error = caught.value
    assert error.location is not None and (error.location.line, error.location.column) == (13, 5)
    assert error.layer == "c"
    assert error.render().splitlines() == [
        "<string>:13:5: layer 'c': filters must be a whole number. Received: filters=2.5 (from 'f')",
        "  in block 'outer', <string>:11:9",
        "  in block 'inner', <string>:7:27",
        "  f=2.5 is given to block 'inner' as 'g / 2' at <string>:11:17",
        "  g=5 is given to block 'outer' at <string>:13:13",
        "  hint: round f where it is computed (<string>:11:17): 'round(g / 2)'",
    ]
    # the replay of variants words it the same as a fresh load
    variant = NESTED.replace("name: nested", "name: nested\nvariables: {k: 4}").replace("{g: 5}", "{g: k}")
    network = archviz.loads(variant)
    with pytest.raises(SpecError) as replayed:
        network.with_variables(k=5)
    assert replayed.value.render().splitlines()[:3] == [
        "<string>:14:5: layer 'c': filters must be a whole number. Received: filters=2.5 (from 'f')",
        "  in block 'outer', <string>:12:9",
        "  in block 'inner', <string>:8:27",
    ]
    assert "  k=5 is set from outside the spec (--set, --vary or a keyword of load())" in replayed.value.render().splitlines()
    with pytest.raises(SpecError) as fresh:
        archviz.loads(variant, k=5)
    assert fresh.value.render() == replayed.value.render()


def test_shape_and_graph_errors_in_blocks_name_the_call() -> None:
    with pytest.raises(ShapeError) as caught:
        archviz.load("vgg16").analyze((3, 16, 16))
    assert caught.value.render().splitlines()[:2] == [
        ("vgg16:11:63: layer 'pool5': pooling window 2 is larger than the input (1 + padding 0) along height. "
         "Received: input shape=[512, 1, 1]"),
        "  in block 'maxpool', base/vgg.yaml:32:9",
    ]
    text = "name: g\ninput: [3, 8, 8]\nblocks:\n  b:\n    layers:\n      - add: {inputs: [in, nowhere]}\n" \
           "layers:\n  - relu\n  - b\n"
    with pytest.raises(GraphError) as graph:
        archviz.loads(text)
    assert graph.value.render().splitlines()[:2] == [
        "<string>:9:5: layer 'add_1': input 'nowhere' is not a layer of this network",
        "  in block 'b', <string>:6:9",
    ]


def test_a_block_that_calls_itself_is_one_frame_repeated() -> None:
    with pytest.raises(SpecError) as caught:
        archviz.loads("name: t\ninput: [3, 8, 8]\nblocks:\n  b: {layers: [b]}\nlayers: [b]\n")
    assert caught.value.render().splitlines() == [
        "<string>:5:10: blocks call each other deeper than 32 levels (a block that uses itself?)",
        "  in block 'b', <string>:4:16",
        "  [the frame above 31 more times]",
    ]


def test_a_missing_parent_is_reported_where_it_is_asked_for(tmp_path: Path) -> None:
    (tmp_path / "child.yaml").write_text("name: child\n# a base\nextends: base/vgg.yml\n")
    result = _cli(tmp_path, "summary", "child.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("error: child.yaml:3:1: extends names 'base/vgg.yml', which is neither a file "
                                    "beside this spec nor a built-in spec\n")
    with pytest.raises(SpecError, match=re.escape("did you mean 'vgg19'?")):
        archviz.loads("name: x\nextends: vgg91\n")


def test_an_error_in_the_parent_names_the_extends_line(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("name: b\nlayers: [{relu: 3}\n")
    (tmp_path / "child.yaml").write_text("name: c\nextends: base.yaml\n")
    with pytest.raises(SpecError) as caught:
        archviz.load(tmp_path / "child.yaml")
    assert caught.value.frames[0].what == f"{tmp_path}/child.yaml extends {tmp_path}/base.yaml"
    assert caught.value.frames[0].location is not None and caught.value.frames[0].location.line == 2


def test_the_readme_spec_works_in_a_new_folder(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"```yaml\n(archviz: 1\nextends: .*?)```", readme, re.DOTALL)
    assert example is not None
    (tmp_path / "mine.yaml").write_text(example.group(1))
    result = _cli(tmp_path, "check", "mine.yaml")
    assert result.returncode == 0, result.stderr
    assert "1 passed, 0 failed" in result.stdout
    assert archviz.load(tmp_path / "mine.yaml").analyze().totals.params == 138_357_544


def test_extends_a_builtin_by_name(tmp_path: Path) -> None:
    (tmp_path / "cifar.yaml").write_text("name: my-vgg\nextends: vgg16\ninput: [3, 32, 32]\n"
                                         "variables: {num_classes: 10}\n")
    totals = archviz.load(tmp_path / "cifar.yaml").analyze().totals
    # the same network as the built-in vgg16-cifar10 (itself checked against published numbers)
    assert totals == archviz.load("vgg16-cifar10").analyze().totals
    assert totals.output_shape == (10,)
    # a file beside the spec wins over the built-in of that name
    (tmp_path / "vgg16.yaml").write_text("name: local\ninput: [3, 8, 8]\nlayers: [relu]\n")
    (tmp_path / "child.yaml").write_text("name: child\nextends: vgg16.yaml\n")
    assert archviz.load(tmp_path / "child.yaml").analyze().totals.params == 0


def test_a_spec_without_input_takes_the_one_given(tmp_path: Path) -> None:
    text = "name: no-input\nlayers: [{conv2d: {filters: 4, kernel: 3}}]\n"
    network = archviz.loads(text)
    assert network.input_shape == ()
    # 4 * 3 * 3 * 3 + 4 params; 4 * 6 * 6 outputs of 27 MACs each
    totals = network.analyze((3, 8, 8)).totals
    assert (totals.params, totals.macs, totals.output_shape) == (112, 3_888, (4, 6, 6))
    with pytest.raises(SpecError, match="has no default 'input' shape, and none was given") as caught:
        network.analyze()
    assert caught.value.location is not None and caught.value.location.line == 1
    path = tmp_path / "noin.yaml"
    path.write_text(text)
    assert "3,888" in _cli(tmp_path, "summary", "noin.yaml", "--input", "3x8x8").stdout
    refused = _cli(tmp_path, "summary", "noin.yaml", "--input", "8")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: this spec has no 'input:', so --input gives every size: CxHxW.")
    missing = _cli(tmp_path, "summary", "noin.yaml")
    assert missing.returncode == 2 and "--input 3x224x224" in missing.stderr


def test_every_error_renders_its_frames_once() -> None:
    error = ArchvizError("boom")
    assert error.render() == "boom"
    assert str(error.add_notes(["x=1 is set"], hint="fix x")) == "boom\n  x=1 is set\n  hint: fix x"


NET = "name: t\ninput: [3, 8, 8]\nvariables: {c: 16}\n"


def _refusal(text: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        archviz.loads(NET + text).analyze()
    return caught.value


def test_a_size_written_as_3x3_says_what_was_expected() -> None:
    error = _refusal("layers:\n  - conv2d: {filters: 4, kernel: 3x3}\n")
    assert error.render() == (
        "<string>:5:26: layer 'conv2d_1': kernel must be one integer or a pair [height, width] (e.g. 3 or [3, 3]), "
        "or arithmetic such as '2 * k'. Received: kernel='3x3', which is not an expression\n"
        "  hint: write [3, 3] for 3 by 3")
    # the same class for any attribute kind: an integer, a number, a condition
    assert "units must be an integer (e.g. 3)" in _refusal("layers: [flatten, {dense: {units: 10 10}}]\n").message
    assert "rate must be a number (e.g. 0.5)" in _refusal("layers: [{dropout: {rate: 1/2/}}]\n").message
    assert "if must be true or false" in _refusal("layers: [{relu: {if: c >}}]\n").message


@pytest.mark.parametrize(("entry", "key", "whole"), [
    ("{conv2d: {filters: max(1, c // 4), kernel: 1}}", "filters", "max(1, c // 4)"),
    ("{conv2d: {kernel: 1, filters: min(c, 8, 4)}}", "filters", "min(c, 8, 4)"),
    ("{relu: {if: max(1, c) > 2}}", "if", "max(1, c) > 2"),
    ("{b: {f: max(1, c // 4)}}", "f", "max(1, c // 4)"),
])
def test_a_value_cut_at_a_comma_by_yaml_is_recognised(entry: str, key: str, whole: str) -> None:
    blocks = "blocks:\n  b: {args: {f: null}, layers: [{conv2d: {filters: f, kernel: 1}}]}\n"
    error = _refusal(blocks + f"layers:\n  - {entry}\n")
    assert f"the value of {key} was cut at a comma" in error.message
    assert repr(whole) in error.message
    assert error.hint == f'quote the value: {key}: "{whole}"'
    assert error.location is not None and error.location.line == 7
    # quoted, it is read whole: max(1, 16 // 4) = 4 and min(16, 8, 4) = 4 filters
    if key in ("filters", "f"):
        quoted = entry.replace(whole, f'"{whole}"')
        assert archviz.loads(NET + blocks + f"layers:\n  - {quoted}\n").analyze().layers[0].output_shape[0] == 4


def test_an_item_cut_at_a_comma_in_a_list() -> None:
    error = _refusal("layers:\n  - conv2d: {filters: 2, kernel: [max(1, c), 3]}\n")
    assert "an item of kernel was cut at a comma" in error.message
    assert error.hint == 'quote it inside the list: ["max(1, c)", ...]'


@pytest.mark.parametrize(("definition", "line", "message"), [
    ("blocks:\n  stage: {layers: [relu]}\n", 4, "block name 'stage' is reserved"),
    ("blocks:\n  layers: {layers: [relu]}\n", 4, "block name 'layers' is reserved"),
    ("blocks:\n  b: {args: {repeat: 2}, layers: [relu]}\n", 4, "argument name 'repeat' is reserved"),
    ("blocks:\n  b: {args: {i: 2}, layers: [relu]}\n", 4, "argument name 'i' is reserved"),
    ("variables: {stage: 2}\n", 3, "variable name 'stage' is reserved"),
    ("variables: {true: 2}\n", 3, "variable name 'true' is reserved"),
])
def test_reserved_words_are_refused_where_they_are_defined(definition: str, line: int, message: str) -> None:
    # the block is never called: its definition itself is refused, at its own line
    with pytest.raises(SpecError) as caught:
        archviz.loads("name: t\ninput: [3, 8, 8]\n" + definition + "layers: [relu]\n")
    assert message in caught.value.message
    assert caught.value.location is not None and caught.value.location.line == line


def test_a_shape_error_in_an_extended_file_names_the_extends(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("name: mine\nextends: vgg16\n")
    network = archviz.load(tmp_path / "mine.yaml")
    for attempt in (lambda: network.analyze((3, 16, 16)), lambda: network.totals_at((3, 16, 16))):
        with pytest.raises(ShapeError) as caught:
            attempt()
        assert caught.value.render().splitlines()[1:3] == [
            f"  {tmp_path}/mine.yaml extends vgg16, {tmp_path}/mine.yaml:2:1",
            "  in block 'maxpool', base/vgg.yaml:32:9",
        ]


def test_a_value_set_with_set_that_is_no_number_is_named() -> None:
    with pytest.raises(SpecError) as caught:
        archviz.load("vgg16", width="wide")
    lines = caught.value.render().splitlines()
    assert lines[0].startswith("vgg16:7:29: layer 'conv1_1': expected a number, got 'wide'")
    assert "  width='wide' is set from outside the spec (--set, --vary or a keyword of load())" in lines
    # a variable computed from it names both
    text = ("name: t\ninput: [3, 8, 8]\nvariables:\n  width: 1\n  fc: 16 * width\n"
            "layers: [flatten, {dense: {units: fc}}]\n")
    with pytest.raises(SpecError) as derived:
        archviz.loads(text, width=0.3)
    assert derived.value.render().splitlines()[1:] == [
        "  fc=4.8 is set as '16 * width' at <string>:5:3",
        "  width=0.3 is set from outside the spec (--set, --vary or a keyword of load())",
        ("  hint: choose width so that 'fc' comes out whole, or round it where it is written (<string>:6:28): "
         "'round(fc)'"),
    ]


@pytest.mark.parametrize("definition", [
    "variables: {c: 4, f: max(1, c // 2)}\n",
    "blocks:\n  b: {args: {f: max(1, c // 2)}, layers: [relu]}\n",
])
def test_a_default_cut_at_a_comma_is_recognised_where_it_is_defined(definition: str) -> None:
    with pytest.raises(SpecError) as caught:
        archviz.loads("name: t\ninput: [3, 8, 8]\n" + definition + "layers: [relu]\n")
    assert "the value of f was cut at a comma" in caught.value.message
    assert caught.value.hint == 'quote the value: f: "max(1, c // 2)"'


def test_a_variable_computed_from_an_override_names_it() -> None:
    text = "name: t\ninput: [3, 8, 8]\nvariables:\n  w: 1\n  f: 64 / w\nlayers: [relu]\n"
    with pytest.raises(SpecError) as caught:
        archviz.loads(text, w=0)
    assert caught.value.render().splitlines() == [
        "<string>:5:3: division by zero in expression '64 / w'",
        "  w=0 is set from outside the spec (--set, --vary or a keyword of load())",
    ]


def test_a_fractional_default_is_fixed_where_it_is_written() -> None:
    text = ("name: t\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {f: 2.5}\n"
            "    layers: [{conv2d: {filters: f, kernel: 1}}]\nlayers: [b]\n")
    with pytest.raises(SpecError) as caught:
        archviz.loads(text)
    assert "  f=2.5 is block 'b''s default at <string>:5:12" in caught.value.render().splitlines()
    assert caught.value.hint == "give f a whole number (<string>:5:12)"


def test_shapes_read_in_a_spec_without_input() -> None:
    with pytest.raises(SpecError, match="read the network's input, but the spec has no 'input:'"):
        archviz.loads("name: t\nlayers: [{conv2d: {filters: in_channels, kernel: 1}}]\n")


def test_frames_repeat_only_where_they_are_equal() -> None:
    from archviz.errors import Frame, Location

    error = ArchvizError("boom", location=Location("a.yaml", 1, 1))
    for frame in (Frame("in block 'c'"), Frame("in block 'b'"), Frame("in block 'b'"), Frame("in block 'a'")):
        error.add_frame(frame)
    assert error.render().splitlines() == ["a.yaml:1:1: boom", "  in block 'a'", "  in block 'b'",
                                           "  [the frame above 1 more time]", "  in block 'c'"]


def test_the_schema_knows_the_reserved_words() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from archviz.schema_gen import build_schema

    schema = build_schema()
    base = {"name": "t", "input": [3, 8, 8], "layers": ["relu"]}
    jsonschema.validate({**base, "blocks": {"b": {"args": {"f": 1}, "layers": ["relu"]}}}, schema)
    for bad in ({"blocks": {"stage": {"layers": ["relu"]}}}, {"blocks": {"b": {"args": {"repeat": 1}, "layers": []}}},
                {"variables": {"i": 1}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**base, **bad}, schema)


def test_a_sweep_cell_keeps_the_frames_on_one_line() -> None:
    from archviz.sweep import one_line

    with pytest.raises(SpecError) as caught:
        archviz.load("vgg16", width=0.3)
    assert one_line(caught.value) == (
        "vgg16:7:29: layer 'conv1_1': filters must be a whole number. Received: filters=19.2 (from 'filters * width'); "
        "in block 'conv3', base/vgg.yaml:21:49; filters=64 is given to block 'conv3' at vgg16:7:37; "
        "width=0.3 is set from outside the spec (--set, --vary or a keyword of load()) "
        "(hint: choose width so that 'filters * width' comes out whole, or round it where it is written "
        "(base/vgg.yaml:21:49): 'round(filters * width)')")


def test_a_size_passed_to_a_block_as_3x3() -> None:
    text = ("name: t\ninput: [3, 8, 8]\nblocks:\n  b: {args: {k: 1}, layers: [{conv2d: {filters: 2, kernel: k}}]}\n"
            "layers: [{b: {k: 3x3}}]\n")
    with pytest.raises(SpecError) as caught:
        archviz.loads(text)
    assert "Received: kernel='3x3', which is not an expression" in caught.value.message
    assert "  k='3x3' is given to block 'b' at <string>:5:15" in caught.value.render().splitlines()
    assert caught.value.hint == "write [3, 3] for 3 by 3"
