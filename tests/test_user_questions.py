"""Questions a new user asks in the first hour (issue 12): one axis order, one spelling, sensible
rounding, unambiguous input sizes, tables that never cut a number, dtypes, input-dependent heads."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from archviz.cli.main import app

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


# -- visible inconsistencies --------------------------------------------------------------------

def test_table2_row_keeps_small_networks_visible() -> None:
    """The inception block has 163,696 params (hand count: 1x1 64 = 12,352; 1x1 96 + 3x3 128 =
    18,528 + 110,720; 1x1 16 + 5x5 32 = 3,088 + 12,832; pool + 1x1 32 = 6,176): 0.164 million, not 0."""
    result = invoke("compare", "vgg16", "inception-block", "--format", "markdown")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("| params (millions"))
    assert [cell.strip() for cell in row.strip("|").split("|")][1:] == ["138", "0.164"]


@pytest.mark.parametrize(("params", "text"), [(138_357_544, "138"), (9_500_000, "10"), (163_696, "0.164"),
                                              (2_300_000, "2.3"), (1_000_000, "1"), (999, "0.000999"), (0, "0")])
def test_millions_in_table2(params: int, text: str) -> None:
    from archviz.render.units import millions

    assert millions(params) == text


def test_one_axis_order_in_text() -> None:
    """list and compare both write the input channels first, as --input reads it."""
    listing = invoke("list")
    assert listing.exit_code == 0, listing.output
    assert "192x28x28" in listing.output
    compared = invoke("compare", "vgg16", "inception-block", "--format", "markdown")
    assert "| input (CxHxW) | 3x224x224 | 192x28x28 |" in compared.output
    assert "28x28x192" not in compared.output and "224x224x3" not in compared.output


def test_two_sizes_that_start_with_the_channels_are_refused() -> None:
    result = invoke("summary", "vgg16", "--input", "3x224")
    assert result.exit_code == 2
    assert "ambiguous" in result.output and "Received: --input 3x224" in result.output
    assert "3x224x224" in result.output  # the fix
    assert "pool" not in result.output  # not a pooling error three layers in


def test_two_sizes_are_height_and_width_with_the_spec_channels() -> None:
    result = invoke("summary", "vgg16", "--input", "160x192", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["input_shape"] == [3, 160, 192]
    # pool5 is 512 x 5 x 6: fc6 reads 15,360 features (15,360 * 4,096 + 4,096 params)
    assert data["layers"][[layer["name"] for layer in data["layers"]].index("fc6")]["params"] == 15360 * 4096 + 4096


def test_sweep_refuses_the_same_ambiguous_input() -> None:
    from archviz.errors import SpecError
    from archviz.sweep import as_shape

    assert as_shape("160x192", (3, 224, 224)) == (3, 160, 192)
    assert as_shape("3x3", (3, 224, 224)) == (3, 3, 3)
    with pytest.raises(SpecError, match="ambiguous"):
        as_shape("3x224", (3, 224, 224))


def test_global_field_is_spelled_alike_in_table_csv_markdown_and_html() -> None:
    """fc6 follows flatten: every output sees the whole input. JSON says null, the rest 'global'."""
    columns = "name,receptive_field"
    table = invoke("summary", "vgg16", "--columns", columns, "--width", "200")
    fc6 = next(line for line in table.output.splitlines() if line.strip().startswith("fc6"))
    assert fc6.split()[-1] == "global"
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(
        invoke("summary", "vgg16", "--columns", columns, "--format", "csv").output))}
    assert rows["fc6"]["receptive_field"] == "global"
    assert rows["conv1_1"]["receptive_field"] == "3x3"
    markdown = invoke("summary", "vgg16", "--columns", columns, "--format", "markdown").output
    assert "| fc6 | global |" in markdown
    html = invoke("summary", "vgg16", "--columns", columns, "--format", "html").output
    assert "<td class=\"\">fc6</td><td class=\"num\">global</td>" in html
    data = json.loads(invoke("summary", "vgg16", "--format", "json").output)
    assert data["layers"][[layer["name"] for layer in data["layers"]].index("fc6")]["receptive_field"] is None


# -- --dtype: what VGG16 costs at 512x512, batch 32, in bf16 ----------------------------------

# VGG16 at 3x512x512, counted by hand from the paper's layout: per stage (convolutions, channels,
# size), each convolution and its ReLU output channels x size x size, then a 2x2 pooling halves it.
VGG16_STAGES = ((2, 64, 512), (2, 128, 256), (3, 256, 128), (3, 512, 64), (3, 512, 32))
VGG16_CONV_PARAMS = 14_714_688  # torchvision's vgg16().features
VGG16_512_PARAMS = VGG16_CONV_PARAMS + (512 * 16 * 16 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)


def _vgg16_activation_elements(size: int) -> int:
    """Every layer's output for one image: convs, ReLUs, pools, flatten, fc6/7/8 and their ReLU,
    dropout and the soft-max."""
    total = 0
    for convs, channels, side in VGG16_STAGES:
        side = side * size // 512
        total += 2 * convs * channels * side * side + channels * (side // 2) ** 2
    last = size // 32
    return total + 512 * last * last + 3 * 4096 + 3 * 4096 + 2 * 1000


def test_vgg16_at_512_batch_32_in_bfloat16() -> None:
    import archviz
    from archviz.analysis import TRAINING_ASSUMPTIONS

    assert VGG16_512_PARAMS == 572_468_008
    analysis = archviz.load("vgg16").analyze((3, 512, 512), batch=32, dtype="bfloat16")
    t = analysis.totals
    activations = 32 * _vgg16_activation_elements(512)
    batch_input = 32 * 3 * 512 * 512
    assert (t.params, t.activation_elements, t.dtype) == (VGG16_512_PARAMS, activations, "bfloat16")
    assert t.param_bytes == 2 * VGG16_512_PARAMS
    assert t.activation_bytes == 2 * activations
    # mixed precision: float32 master weights, gradients and momentum (3 x 4 bytes), a bfloat16
    # copy of the weights (2 bytes), outputs and the input kept for backward in bfloat16
    assert t.training_bytes_estimate == 12 * VGG16_512_PARAMS + 2 * VGG16_512_PARAMS + 2 * (activations + batch_input)
    assert analysis.layer("conv1_1").activation_bytes == 2 * 32 * 64 * 512 * 512
    assert "float32 master weights" in TRAINING_ASSUMPTIONS["bfloat16"]
    # float32 (the default) is what it always was: docs/json.md's VGG16 totals
    default = archviz.load("vgg16").analyze().totals
    assert (default.param_bytes, default.activation_bytes, default.training_bytes_estimate) == \
        (553_430_176, 114_708_288, 1_775_600_928)


@pytest.mark.parametrize(("dtype", "width"), [("float32", 4), ("bfloat16", 2), ("float16", 2), ("int8", 1)])
def test_every_dtype_scales_the_memory(dtype: str, width: int) -> None:
    import archviz

    network = archviz.load("vgg16-bn")
    analysis = network.analyze(dtype=dtype)
    t = analysis.totals
    assert t.param_bytes == width * 138_365_992  # torchvision's vgg16_bn
    assert t.activation_bytes == width * t.activation_elements
    assert sum(r.activation_bytes for r in analysis.layers) == t.activation_bytes
    assert t.buffer_bytes == (4 if dtype == "int8" else width) * t.buffers
    assert network.totals_at(dtype=dtype) == t  # the sweep's walk agrees
    if dtype == "int8":
        assert t.training_bytes_estimate is None


def test_dtype_on_the_command_line() -> None:
    data = json.loads(invoke("summary", "vgg16", "--input", "512", "--batch", "32", "--dtype", "bfloat16",
                             "--format", "json").output)
    assert data["dtype"] == "bfloat16" and data["totals"]["param_bytes"] == 2 * VGG16_512_PARAMS
    assert "float32 master weights" in data["training_assumptions"]
    table = invoke("summary", "vgg16", "--dtype", "int8", "--width", "200").output
    assert "Param memory                131.95 MiB int8" in table
    assert "not estimated: int8 is an inference format" in table
    compared = invoke("compare", "vgg16", "resnet18", "--dtype", "float16", "--format", "markdown").output
    assert "| param memory fp16 | 263.90 MiB | 22.30 MiB |" in compared  # 2 x 138,357,544 and 2 x 11,689,512
    assert "| training memory (estimate) |" in compared
    swept = invoke("sweep", "vgg16", "--vary", "input=224,512", "--batch", "32", "--dtype", "bfloat16",
                   "--format", "json")
    assert swept.exit_code == 0, swept.output
    sweep_data = json.loads(swept.output)
    assert sweep_data["dtype"] == "bfloat16"
    assert [row["param_bytes"] for row in sweep_data["rows"]] == [2 * 138_357_544, 2 * VGG16_512_PARAMS]
    assert sweep_data["rows"][1]["activation_bytes"] == 2 * 32 * _vgg16_activation_elements(512)
    table = invoke("sweep", "vgg16", "--vary", "input=224", "--dtype", "int8").output
    assert "memory in int8" in table


def test_dtype_in_the_html_report(tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "vgg16.html"
    result = invoke("report", "vgg16", "--dtype", "bfloat16", "--out", str(page))
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert "263.90 MiB" in text and "bfloat16" in text and "float32 master weights" in text
    refused = invoke("report", "--dtype", "bfloat16", "--out", str(tmp_path / "folder"))
    assert refused.exit_code == 2 and "--dtype" in refused.output


def test_api_sweep_and_unknown_dtype() -> None:
    import archviz
    from archviz.errors import SpecError

    rows = list(archviz.iter_sweep("vgg16", vary={"input": [224]}, dtype="float16"))
    assert rows[0]["param_bytes"] == 2 * 138_357_544 and rows[0]["dtype"] == "float16"
    with pytest.raises(SpecError, match="bfloat16"):
        archviz.load("vgg16").analyze(dtype="bf16")
    assert invoke("summary", "vgg16", "--dtype", "fp8").exit_code == 2


# -- tables never cut a number ------------------------------------------------------------------

WIDTHS = (60, 80, 120, 200)
FAMILY = ("vgg11", "vgg13", "vgg16", "vgg19")
# exact totals, torchvision's published parameter counts and the MACs of its docs
FAMILY_PARAMS = ("132,863,336", "133,047,848", "138,357,544", "143,667,240")
FAMILY_MACS = ("7,609,090,048", "11,308,466,176", "15,470,264,320", "19,632,062,464")


def _lines(output: str) -> list[str]:
    return output.splitlines()


def _tokens(output: str) -> set[str]:
    return {token for line in output.splitlines() for token in line.replace("│", " ").replace("┃", " ").split()}


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_keeps_every_number_whole(width: int) -> None:
    result = invoke("compare", *FAMILY, "--width", str(width))
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert max(len(line) for line in _lines(result.output)) <= width  # networks go to a second table instead
    tokens = _tokens(result.output)
    assert set(FAMILY_PARAMS) <= tokens and set(FAMILY_MACS) <= tokens


@pytest.mark.parametrize("width", WIDTHS)
def test_conventions_wraps_at_word_boundaries(width: int) -> None:
    from archviz.conventions import CONVENTIONS

    result = invoke("conventions", "vgg16", "--width", str(width))
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert max(len(line) for line in _lines(result.output)) <= width
    tokens = _tokens(result.output)
    assert "15,470,264,320" in tokens and "15,483,821,032" in tokens  # macs / fvcore, torchinfo (docs/conventions.md)
    shown_counts = "Counts" in result.output
    for convention in CONVENTIONS.values():
        assert convention.name in tokens
        if shown_counts:  # every word of the definition whole, never 'multiply-accumul' / 'ates'
            assert set(convention.counts.split()) <= tokens, convention.name


@pytest.mark.parametrize("width", WIDTHS)
def test_summary_sweep_list_and_check_keep_numbers_whole(width: int) -> None:
    import archviz
    from archviz.render import units

    summary = invoke("summary", "vgg16", "--width", str(width)).output
    analysis = archviz.load("vgg16").analyze()
    for record in analysis.layers:
        line = next(line for line in _lines(summary) if line.split() and line.split()[0] == record.name)
        assert units.human(record.params) in line and units.human(record.macs) in line
    assert "…" not in summary and max(len(line) for line in _lines(summary)) <= width
    swept = invoke("sweep", "vgg16", "--vary", "input=224,32,8", "--width", str(width)).output
    assert "…" not in swept and max(len(line) for line in _lines(swept)) <= width
    assert {"138.4", "15.47", "37.69", "336.2"} <= _tokens(swept)
    listing = invoke("list", "--width", str(width)).output
    assert "…" not in listing and "138,357,544" in _tokens(listing) and "163,696" in _tokens(listing)
    checked = invoke("check", "vgg16", "--width", str(width))
    assert checked.exit_code == 0
    assert "…" not in checked.output and {"138,357,544", "15,470,264,320"} <= _tokens(checked.output)


def test_summary_help_lists_the_columns() -> None:
    from archviz.cli.summary import COLUMN_KEYS
    from archviz.render.columns import COLUMNS

    assert COLUMN_KEYS == tuple(COLUMNS)
    result = invoke("summary", "--help")
    assert "--help-columns" not in result.output
    assert invoke("summary", "--help-columns").exit_code == 2  # there is no such option: the help no longer says so
    text = " ".join(result.output.replace("│", " ").split())
    assert "receptive_field" in text and "activation_bytes" in text and "bias_adds" in text


# -- a dense layer sized by the input -----------------------------------------------------------

def test_summary_says_when_the_head_grows_with_the_input() -> None:
    """At 512x512 pool5 is 512 x 16 x 16 = 131,072 values: fc6 has 131,072 x 4,096 + 4,096 params."""
    fc6 = 131_072 * 4096 + 4096
    for name in ("vgg16", "vgg16-bn"):
        data = json.loads(invoke("summary", name, "--input", "512", "--format", "json").output)
        assert len(data["notes"]) == 1
        note = data["notes"][0]
        assert note.startswith("fc6: size depends on the input") and f"{fc6:,} params" in note
        assert "--set torchvision_layout=true" in note
    table = invoke("summary", "vgg16", "--input", "512", "--width", "200").output
    assert "Note" in table and "--set torchvision_layout=true" in table
    fixed = json.loads(invoke("summary", "vgg16", "--input", "512", "--set", "torchvision_layout=true",
                              "--format", "json").output)
    assert fixed["notes"] == [] and fixed["totals"]["params"] == 138_357_544  # torchvision's head at any input
    # at the spec's own input, and for networks with a pooled head, there is nothing to say
    assert json.loads(invoke("summary", "vgg16", "--format", "json").output)["notes"] == []
    assert json.loads(invoke("summary", "resnet18", "--input", "512", "--format", "json").output)["notes"] == []
    csv_run = invoke("summary", "vgg16", "--input", "512", "--format", "csv")
    assert "note: fc6: size depends on the input" in csv_run.stderr


# -- variables with descriptions ------------------------------------------------------------------

def test_every_builtin_variable_has_a_description() -> None:
    import archviz

    for name in archviz.builtin_names():
        network = archviz.load(name)
        missing = [variable for variable in network.variables if not network.variable_descriptions.get(variable)]
        assert missing == [], f"{name}: {missing} have no description"


def test_described_and_plain_variables(write_spec) -> None:  # type: ignore[no-untyped-def]
    import archviz

    path = write_spec("name: tiny\ninput: [3, 8, 8]\nvariables:\n"
                      "  width: {default: 2, description: \"filters per unit\"}\n  bias: true\n"
                      "layers:\n  - conv2d: {filters: 4 * width, kernel: 3, bias: bias}\n")
    network = archviz.load(path)
    assert network.variables == {"width": 2, "bias": True}
    assert network.variable_descriptions == {"width": "filters per unit"}
    # 8 filters of 3 x 3 x 3 plus 8 biases; --set still changes a described variable
    assert network.analyze().totals.params == 8 * 27 + 8
    assert archviz.load(path, width=1).analyze().totals.params == 4 * 27 + 4
    child = write_spec("extends: net.yaml\nname: tiny2\nvariables:\n  width: 3\n", "child.yaml")
    assert archviz.load(child).variable_descriptions == {"width": "filters per unit"}  # inherited


@pytest.mark.parametrize(("declared", "expected"), [
    ("{description: \"no default\"}", "takes 'default' (required)"),
    ("{default: 1, help: \"x\"}", "Received: default, help"),
    ("{default: 1, description: [1, 2]}", "must be one line of text"),
    ("{default: [1], description: \"list\"}", "must be a number, true/false or text"),
])
def test_bad_variable_mappings_name_the_line(write_spec, declared: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(f"name: tiny\ninput: [3, 8, 8]\nvariables:\n  width: {declared}\n"
                      "layers:\n  - conv2d: {filters: 4, kernel: 3}\n")
    result = invoke("summary", str(path))
    assert result.exit_code == 2
    assert "net.yaml:4:" in result.output and "variable 'width'" in result.output and expected in result.output


def test_show_and_list_print_variables() -> None:
    shown = invoke("show", "vgg16", "--width", "200")
    assert shown.exit_code == 0, shown.output
    line = next(line for line in shown.output.splitlines() if "torchvision_layout" in line)
    assert "false" in line and "AdaptiveAvgPool2d((7, 7))" in line
    data = json.loads(invoke("show", "vgg16-bn", "--format", "json").output)
    assert {"name": "batch_norm", "default": True,
            "description": "torchvision's *_bn layout: conv, batch norm, ReLU"} in data["variables"]
    listing = json.loads(invoke("list", "--format", "json").output)
    resnet = next(row for row in listing if row["name"] == "resnet18")
    assert [v["name"] for v in resnet["variables"]] == ["num_classes", "width"]
    assert all(v["description"] for row in listing for v in row["variables"])


def test_schema_accepts_both_variable_forms() -> None:
    import jsonschema

    from archviz.schema_gen import build_schema

    schema = build_schema()
    base = {"name": "tiny", "input": [3, 8, 8], "layers": [{"relu": {}}]}
    jsonschema.validate({**base, "variables": {"w": 1, "v": {"default": 2, "description": "two"}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**base, "variables": {"v": {"description": "no default"}}}, schema)
