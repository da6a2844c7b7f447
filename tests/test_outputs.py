"""Several outputs (``outputs:``) and the warning for a layer whose result nothing reads.

The shapes are hand-computed: a 3x8x8 input through a 3x3 convolution without padding is 6x6.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archviz
from archviz.cli.main import app
from archviz.schema_gen import build_schema

runner = CliRunner()

TWO_HEADS = """\
name: two-heads
input: [3, 8, 8]
outputs: [loc, conf]
layers:
  - conv2d: {name: body, filters: 4, kernel: 3}
  - conv2d: {name: loc, filters: 8, kernel: 1}
  - conv2d: {name: conf, filters: 5, kernel: 1, inputs: body}
"""

# 'tail' was meant to read 'side' ('inputs: body' is the typo): 'side' is read by nothing
ORPHAN = """\
name: orphan
input: [3, 8, 8]
layers:
  - conv2d: {name: body, filters: 4, kernel: 3}
  - conv2d: {name: side, filters: 2, kernel: 1}
  - relu: {name: tail, inputs: body}
"""


def test_declared_outputs_are_the_network_outputs() -> None:
    network = archviz.loads(TWO_HEADS)
    assert network.outputs == ("loc", "conf")
    analysis = network.analyze()
    assert analysis.output_shapes == (("loc", (8, 6, 6)), ("conf", (5, 6, 6)))
    # the first output's shape, although 'conf' is the last layer
    assert analysis.totals.output_shape == (8, 6, 6)
    assert network.totals_at((3, 10, 10)).output_shape == (8, 8, 8)
    # every layer leads to an output and is counted: 4*3*9+4, 8*4+8, 5*4+5
    assert analysis.totals.params == 112 + 40 + 25
    assert analysis.warnings == ()


def test_a_single_output_is_the_last_layer() -> None:
    network = archviz.load("vgg16")
    assert network.outputs == ("prob",)
    assert network.analyze().output_shapes == (("prob", (1000,)),)
    assert network.warnings == ()


def test_every_builtin_reads_every_layer() -> None:
    for name in archviz.builtin_names():
        assert archviz.load(name).warnings == (), name


@pytest.fixture
def two_heads(tmp_path: Path) -> Path:
    path = tmp_path / "heads.yaml"
    path.write_text(TWO_HEADS, encoding="utf-8")
    return path


def test_summary_and_json_name_every_output(two_heads: Path) -> None:
    table = runner.invoke(app, ["summary", str(two_heads), "--width", "160"])
    assert table.exit_code == 0, table.output
    assert "loc 8x6x6, conf 5x6x6" in table.stdout
    data = json.loads(runner.invoke(app, ["summary", str(two_heads), "--format", "json"]).stdout)
    assert data["outputs"] == [{"name": "loc", "output_shape": [8, 6, 6]},
                               {"name": "conf", "output_shape": [5, 6, 6]}]
    assert data["totals"]["output_shape"] == [8, 6, 6]
    assert data["warnings"] == []


def test_an_orphaned_layer_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "orphan.yaml"
    path.write_text(ORPHAN, encoding="utf-8")
    network = archviz.load(path)
    assert len(network.warnings) == 1
    assert network.warnings[0].startswith(f"{path}:5:5: layer 'side': no layer reads its output")
    # it is still counted: 112 + (2*4+2) + 0
    assert network.analyze().totals.params == 122
    result = runner.invoke(app, ["summary", str(path), "--format", "json"])
    assert result.exit_code == 0
    assert result.stderr.startswith(f"warning: {path}:5:5: layer 'side': no layer reads its output")
    assert "'outputs: [...]'" in result.stderr
    assert json.loads(result.stdout)["warnings"] == list(network.warnings)
    # declaring it an output answers the warning
    declared = archviz.loads(ORPHAN.replace("layers:", "outputs: [tail, side]\nlayers:", 1))
    assert declared.warnings == ()


def test_outputs_that_name_no_layer_are_errors() -> None:
    with pytest.raises(archviz.SpecError) as info:
        archviz.loads(TWO_HEADS.replace("[loc, conf]", "[loc, cnf]"))
    assert info.value.location is not None and (info.value.location.line, info.value.location.column) == (3, 16)
    assert "output 'cnf' is not a layer of this network" in str(info.value)
    assert info.value.hint is not None and "conf" in info.value.hint
    with pytest.raises(archviz.SpecError, match="output 'loc' is listed twice"):
        archviz.loads(TWO_HEADS.replace("[loc, conf]", "[loc, loc]"))
    with pytest.raises(archviz.SpecError, match="outputs must be a list of layer names"):
        archviz.loads(TWO_HEADS.replace("[loc, conf]", "loc"))


def test_outputs_go_with_the_layers_they_name(tmp_path: Path) -> None:
    (tmp_path / "heads.yaml").write_text(TWO_HEADS, encoding="utf-8")
    inherits = tmp_path / "wider.yaml"
    inherits.write_text("extends: heads.yaml\nname: wider\ninput: [3, 10, 10]\n", encoding="utf-8")
    assert archviz.load(inherits).outputs == ("loc", "conf")
    replaces = tmp_path / "chain.yaml"
    replaces.write_text("extends: heads.yaml\nname: chain\nlayers: [relu]\n", encoding="utf-8")
    assert archviz.load(replaces).outputs == ("relu_1",)


def test_variants_keep_the_outputs() -> None:
    network = archviz.loads(TWO_HEADS.replace("name: two-heads", "name: two-heads\nvariables: {k: 5}")
                            .replace("filters: 5", "filters: k"))
    wider = network.with_variables(k=7)
    assert wider.outputs == ("loc", "conf")
    assert wider.analyze().output_shapes[1] == ("conf", (7, 6, 6))


def test_the_schema_knows_outputs() -> None:
    schema = build_schema()["properties"]["outputs"]
    assert schema["type"] == "array" and schema["items"]["type"] == "string"


def test_a_sweep_reports_the_first_output() -> None:
    rows = list(archviz.iter_sweep(archviz.loads(TWO_HEADS), vary={"input": [(3, 8, 8), (3, 10, 10)]}))
    assert [row["output_shape"] for row in rows] == [(8, 6, 6), (8, 8, 8)]
