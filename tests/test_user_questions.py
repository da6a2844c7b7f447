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
