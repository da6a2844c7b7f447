"""Sweeps: exact totals per variant, the row order, errors as rows, streaming, the CLI."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archviz
from archviz.cli.main import app
from archviz.errors import SpecError
from archviz.sweep import one_line, pareto_front, parse_vary, plan_sweep, run_sweep

runner = CliRunner()
# vgg16: conv 14,714,688 params; fc6 25,088x4096 at 224 (7x7 after pool5), 512x4096 at 32 (1x1)
VGG16_GRID = {  # (num_classes, input) -> (params, MACs)
    (10, (3, 224, 224)): (134_301_514, 15_466_209_280),
    (10, (3, 32, 32)): (33_638_218, 332_111_872),
    (1000, (3, 224, 224)): (138_357_544, 15_470_264_320),
    (1000, (3, 32, 32)): (37_694_248, 336_166_912),
}


def test_grid_values_and_order() -> None:
    rows = list(archviz.iter_sweep("vgg16", vary={"num_classes": [10, 1000], "input": ["3x224x224", "3x32x32"]}))
    assert [(r["num_classes"], r["input"]) for r in rows] == list(VGG16_GRID)  # variables slowest, input fastest
    assert [(r["params"], r["macs"]) for r in rows] == list(VGG16_GRID.values())
    assert all(r["error"] is None and r["batch"] == 1 and r["flops"] == 2 * r["macs"] for r in rows)
    assert rows[0]["output_shape"] == (10,) and rows[2]["layers"] == 40


@pytest.mark.parametrize("name", ["resnet18", "vgg16", "inception-block", "vgg16-dense"])
def test_rows_equal_full_analyses(name: str) -> None:
    """The sweep's memo of suffixes (inputs repeat shapes deeper in the network) changes no number."""
    network = archviz.load(name)
    channels = network.input_shape[0]
    inputs = [(channels, size, size + 3) for size in range(20, 260, 7)] * 2  # every shape twice
    rows = list(archviz.iter_sweep(network, vary={"input": inputs, "batch": [1, 4]}))
    assert [(r["batch"], r["input"]) for r in rows] == [(b, i) for b in (1, 4) for i in inputs]
    for row in rows:
        try:
            totals = network.analyze(row["input"], row["batch"]).totals.as_dict()
        except archviz.ArchvizError as exc:
            assert row["error"] == one_line(exc)
            continue
        assert {key: row[key] for key in totals} == totals


def test_variables_and_batches_with_the_memo() -> None:
    network = archviz.load("resnet18")
    for row in archviz.iter_sweep(network, vary={"width": [0.5, 1], "input": [64, 97, 64], "batch": [1, 4]}):
        analysis = network.with_variables(width=row["width"]).analyze(row["input"], row["batch"])
        assert {key: row[key] for key in analysis.totals.as_dict()} == analysis.totals.as_dict()


def test_dataframe() -> None:
    frame = archviz.sweep("vgg16", vary={"num_classes": [10, 1000], "input": ["3x224x224", "3x32x32"]})
    assert frame["params"].tolist() == [v[0] for v in VGG16_GRID.values()]
    assert frame["macs"].tolist() == [v[1] for v in VGG16_GRID.values()]
    assert list(frame.columns[:3]) == ["num_classes", "batch", "input"] and frame.columns[-1] == "error"
    assert str(frame["params"].dtype) == "int64"


def test_invalid_variants_are_rows_with_an_error() -> None:
    frame = archviz.sweep("vgg16", vary={"width": [0.5, 0.3], "input": [224, 16]})
    assert frame["params"].tolist()[0] == 75_942_792
    assert frame["error"].isna().tolist() == [True, False, False, False]
    assert "pool5" in frame["error"][1] and "larger than the input" in frame["error"][1]
    assert "whole number" in frame["error"][2] and "\n" not in frame["error"][2]
    assert str(frame["params"].dtype) == "Int64"  # nullable, exact: never float


def test_derived_variables_follow_the_varied_ones(tmp_path: Path) -> None:
    spec = tmp_path / "derived.yaml"
    spec.write_text("name: derived\ninput: [3, 8, 8]\nvariables:\n  width: 1\n  filters: '16 * width'\n"
                    "layers:\n  - conv2d: {filters: filters, kernel: 3}\n")
    rows = list(archviz.iter_sweep(spec, vary={"width": [1, 2]}))
    assert [r["params"] for r in rows] == [16 * 27 + 16, 32 * 27 + 32]
    assert archviz.load(spec).with_variables(width=2).variables["filters"] == 32


def test_fixed_variables_and_batch() -> None:
    rows = list(archviz.iter_sweep("vgg16", vary={"batch": [1, 8]}, num_classes=10))
    assert [r["params"] for r in rows] == [134_301_514] * 2
    assert rows[1]["macs"] == 8 * rows[0]["macs"]


def test_streams_lazily_in_bounded_memory() -> None:
    plan = plan_sweep("vgg16", {"num_classes": range(1, 1001), "input": range(32, 10_032)})
    assert plan.size == 10_000_000
    first = next(run_sweep(plan))  # nothing is computed up front
    assert first["num_classes"] == 1 and first["input"] == (3, 32, 32)

    def peak(batches: int) -> int:  # 100 inputs x batches: the grid's values stay few, the rows many
        plan = plan_sweep("vgg11", {"input": range(32, 132), "batch": range(1, batches + 1)})
        tracemalloc.start()
        for _ in run_sweep(plan):
            pass
        result = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return result

    peak(20)  # first use fills caches (parsed expressions, op defaults)
    assert peak(200) < 1.5 * peak(20) + 50_000  # 20,000 rows cost what 2,000 do


def test_progress_callback() -> None:
    seen: list[int] = []
    rows = list(run_sweep(plan_sweep("vgg11", {"input": range(32, 2532)}), seen.append))
    assert len(rows) == 2500 and seen == [1000, 2000, 2500]


def test_bad_grids_raise_before_running() -> None:
    with pytest.raises(SpecError, match="unknown variable 'wdth'.*") as info:
        plan_sweep("vgg16", {"wdth": [1]})
    assert "did you mean 'width'" in str(info.value)
    with pytest.raises(SpecError, match="at least one value"):
        plan_sweep("vgg16", {"width": []})
    with pytest.raises(SpecError, match="batch sizes must be integers >= 1"):
        plan_sweep("vgg16", {"batch": [0]})
    with pytest.raises(SpecError, match="input must have 3 dimensions"):
        plan_sweep("vgg16", {"input": [(1, 2, 3, 4)]})


def test_parse_vary() -> None:
    assert parse_vary(["width=0.5,1,2", "num_classes=10..30:10", "input=3x224x224,160,128x96", "batch_norm=true"]) \
        == {"width": [0.5, 1, 2], "num_classes": [10, 20, 30], "input": ["3x224x224", "160", "128x96"],
            "batch_norm": [True]}
    assert parse_vary(["input=32..64:16"]) == {"input": [32, 48, 64]}
    for bad, message in (("width", "NAME=V1,V2"), ("=1", "NAME=V1,V2"), ("width=", "NAME=V1,V2"),
                         ("width=1,,2", "empty value"), ("n=5..1", "is empty")):
        with pytest.raises(SpecError, match=message):
            parse_vary([bad])
    with pytest.raises(SpecError, match="given twice"):
        parse_vary(["width=1", "width=2"])


def test_pareto_front() -> None:
    assert pareto_front([]) == []
    assert pareto_front([(5, 5)]) == [0]
    assert pareto_front([(1, 9), (2, 5), (3, 7), (4, 1), (2, 5)]) == [0, 1, 4, 3]
    points = [(macs, params) for macs in range(5) for params in range(5)]
    assert [points[i] for i in pareto_front(points)] == [(0, 0)]


# -- the command --------------------------------------------------------------------------------
def test_cli_csv_is_exact() -> None:
    result = runner.invoke(app, ["sweep", "vgg16", "--vary", "num_classes=10,1000", "--vary",
                                 "input=3x224x224,3x32x32", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(int(r["num_classes"]), r["input"], int(r["params"]), int(r["macs"])) for r in rows] == [
        (classes, "x".join(map(str, shape)), *values) for (classes, shape), values in VGG16_GRID.items()]
    assert rows[0]["output_shape"] == "10" and rows[0]["error"] == ""


def test_cli_json_and_errors_as_rows() -> None:
    result = runner.invoke(app, ["sweep", "vgg16", "-v", "input=224,16", "-f", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["name"] == "vgg16" and data["variants"] == 2 and data["columns"][:2] == ["batch", "input"]
    assert data["rows"][0]["input"] == [3, 224, 224] and data["rows"][0]["params"] == 138_357_544
    assert data["rows"][1]["params"] is None and "pool5" in data["rows"][1]["error"]


def test_cli_table() -> None:
    result = runner.invoke(app, ["sweep", "vgg16", "--vary", "width=0.5,1", "--vary", "input=224,16"])
    assert result.exit_code == 0
    assert "138.4 M" in result.stdout and "75.94 M" in result.stdout and "15.47 G" in result.stdout
    assert "4 variants, 2 not valid networks" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--vary", "width"], "--vary expects NAME=V1,V2,..."),
    (["--vary", "wdth=1,2"], "unknown variable 'wdth'"),
    (["--vary", "input=3x2x"], "input must look like CxHxW"),
    (["--vary", "width=1,,2"], "empty value"),
    (["--vary", "batch=0"], "batch sizes must be integers >= 1"),
    (["--chart", "out.txt"], "--chart is written as svg, png, pdf"),
])
def test_cli_bad_vary_exits_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["sweep", "vgg16", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and message in result.stderr


def test_cli_out_chart_and_progress(tmp_path: Path) -> None:
    out, chart = tmp_path / "rows.csv", tmp_path / "pareto.svg"
    result = runner.invoke(app, ["sweep", "vgg11", "--vary", "width=0.5,1,2", "--vary", "num_classes=10,1000",
                                 "--vary", "input=64..224:32", "--format", "csv", "--out", str(out),
                                 "--chart", str(chart), "--progress"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert len(out.read_text().splitlines()) == 1 + 3 * 2 * 6
    svg = chart.read_text()
    assert svg.startswith("<?xml") and "Pareto front" in svg and "36 variants" in svg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pareto.svg", "rows.csv"]  # no temporary left


def test_cli_out_is_all_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    result = runner.invoke(app, ["sweep", "vgg16", "--vary", "wdth=1", "--format", "json", "--out", str(out)])
    assert result.exit_code == 2 and list(tmp_path.iterdir()) == []
