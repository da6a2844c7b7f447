"""The command line: every command, its formats and its exit codes."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archviz.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
BAD = sorted((ROOT / "tests" / "data" / "bad").glob("*.yaml"))
ANSI = re.compile(r"\x1b\[")
runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_summary_defaults_to_vgg16() -> None:
    result = invoke("summary")
    assert result.exit_code == 0, result.output
    assert "vgg16" in result.output
    assert "138,357,544" in result.output
    assert "conv5 total" in result.output
    assert "15,470,264,320" in result.output
    assert not ANSI.search(result.output)  # piped: no colour codes


def test_summary_table_snapshot(snapshot) -> None:  # type: ignore[no-untyped-def]
    import archviz
    from archviz.render.columns import select
    from archviz.render.table import render_summary

    analysis = archviz.load("vgg11").analyze()
    snapshot("summary-vgg11-100.txt", render_summary(analysis, select(None), width=100, color=False))
    snapshot("summary-vgg11-raw-flops.txt",
             render_summary(analysis, select(None, flops=True), human_units=False, width=140, color=False))


def test_summary_markdown_snapshot(snapshot) -> None:  # type: ignore[no-untyped-def]
    result = invoke("summary", "vgg11-lrn", "--format", "markdown")
    assert result.exit_code == 0
    snapshot("summary-vgg11-lrn.md", result.output)


def test_narrow_terminal_keeps_numbers_whole() -> None:
    import archviz
    from archviz.render.columns import select
    from archviz.render.table import render_summary

    text = render_summary(archviz.load("vgg16").analyze(), select(None), human_units=False, width=60, color=False)
    assert "102,764,544" in text
    assert "138,357,544" in text
    assert "…" not in text
    # the note names the headers a reader sees, not the --columns keys
    assert "RF left out to fit 60 columns" in " ".join(text.split()) and "receptive_field" not in text
    assert max(len(line) for line in text.splitlines()) <= 60


def test_piped_wide_table_is_not_truncated() -> None:
    result = invoke("summary", "vgg16", "--columns", "name,op,stage,inputs,output_shape,params,buffers,macs,flops,"
                    "elementwise,bias_adds,activations,activation_bytes,receptive_field,stride,padding",
                    "--units", "raw")
    assert result.exit_code == 0
    assert "…" not in result.output
    assert "1,849,688,064" in result.output and "3,699,376,128" in result.output


def test_json_contract() -> None:
    result = invoke("summary", "vgg16", "--format", "json", "--input", "3x227x227", "--batch", "2")
    data = json.loads(result.output)
    assert {"name", "spec", "input_shape", "batch", "layers", "totals", "conventions"} <= set(data)
    assert data["input_shape"] == [3, 227, 227] and data["batch"] == 2
    pool1 = next(layer for layer in data["layers"] if layer["name"] == "pool1")
    assert pool1["output_shape"] == [64, 113, 113]
    assert pool1["receptive_field"] == [6, 6] and pool1["effective_stride"] == [2, 2]
    assert pool1["effective_padding"] == [2, 2]
    fc6 = next(layer for layer in data["layers"] if layer["name"] == "fc6")
    assert fc6["receptive_field"] is None
    assert data["totals"]["params"] == 138_357_544 == data["totals"]["trainable_params"]
    assert data["totals"]["macs"] == sum(layer["macs"] for layer in data["layers"])
    assert data["conventions"]["flopcounter"] == data["totals"]["flops"]
    for layer in data["layers"]:
        assert {"name", "op", "stage", "inputs", "output_shape", "params", "buffers", "macs", "flops",
                "receptive_field", "effective_stride", "effective_padding"} <= set(layer)


def test_csv_and_markdown_carry_the_same_columns() -> None:
    columns = "name,op,output_shape,params,macs,receptive_field"
    rows = list(csv.reader(io.StringIO(invoke("summary", "vgg16", "--format", "csv", "--columns", columns).output)))
    assert rows[0] == columns.split(",")
    assert rows[1] == ["conv1_1", "conv3-64", "64x224x224", "1792", "86704128", "3x3"]
    assert sum(int(row[3]) for row in rows[1:]) == 138_357_544
    markdown = invoke("summary", "vgg16", "--format", "markdown", "--columns", columns).output
    assert "| Layer | Op | Output shape | Params | MACs | RF |" in markdown
    assert "| conv1\\_1 | conv3-64 | 64x224x224 | 1,792 | 86,704,128 | 3 |" in markdown


def test_set_and_input_options() -> None:
    data = json.loads(invoke("summary", "vgg16", "--format", "json", "--set", "num_classes=10",
                             "--set", "width=0.5", "--input", "64").output)
    assert data["totals"]["output_shape"] == [10]
    assert data["input_shape"] == [3, 64, 64]
    assert data["layers"][0]["output_shape"] == [32, 64, 64]


@pytest.mark.parametrize("args,message", [
    (["summary", "vgg16", "--set", "classes=10"], "unknown variable 'classes'"),
    (["summary", "vgg16", "--columns", "name,parms"], "did you mean 'params'"),
    (["summary", "vgg16", "--input", "3xAx4"], "--input must look like CxHxW"),
    (["summary", "no-such-spec"], "no such file or built-in spec"),
    (["summary", "vgg17"], "did you mean 'vgg1"),
    (["summary", "vgg16", "--convention", "fvcor"], "did you mean 'fvcore'"),
    (["summary", "specs/base/vgg.yaml"], "abstract base"),
    (["summary", "vgg16", "--input", "3x16x16"], "is larger than the input"),
])
def test_bad_arguments_exit_2(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_unknown_option_is_a_usage_error() -> None:
    result = invoke("summary", "--frobnicate")
    assert result.exit_code == 2


def test_nothing_is_written_when_a_command_fails(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = invoke("summary", str(BAD[0]), "--format", "json", "--out", str(out))
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []
    ok = invoke("summary", "vgg16", "--format", "json", "--out", str(out))
    assert ok.exit_code == 0 and json.loads(out.read_text())["totals"]["params"] == 138_357_544
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary left behind


def _expected_bad() -> dict[str, list]:  # type: ignore[type-arg]
    return json.loads((ROOT / "tests" / "data" / "bad" / "expected.json").read_text())


def test_bad_corpus_is_large_enough() -> None:
    assert len(BAD) >= 25
    assert sorted(_expected_bad()) == [p.name for p in BAD]


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_corpus(path: Path) -> None:
    """Each malformed spec: exit 2, the exact message naming file and line, no traceback."""
    code, message = _expected_bad()[path.name]
    result = subprocess.run([sys.executable, "-m", "archviz.cli.main", "summary", f"tests/data/bad/{path.name}"],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == code
    assert result.stdout == ""
    assert result.stderr == message


def test_check_passes_on_all_specs() -> None:
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output and "0 unchecked" in result.output


def test_check_fails_when_a_number_drifts(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs", symlinks=False)
    spec = tmp_path / "specs" / "vgg16.yaml"
    spec.write_text(spec.read_text().replace("params: 138_357_544", "params: 138_357_545"))
    result = invoke("check", str(spec))
    assert result.exit_code == 1
    assert "MISMATCH" in result.output and "params" in result.output and "-1" in result.output
    data = json.loads(invoke("check", str(spec), "--format", "json").output)
    failed = [e for e in data[0]["expectations"] if not e["holds"]]
    assert failed == [{"quantity": "params", "expected": 138_357_545, "got": 138_357_544, "holds": False,
                       "difference": -1, "line": 14}]


def test_check_reports_specs_without_expectations_as_unchecked(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("name: bare\ninput: [3, 8, 8]\nlayers: [relu]\n")
    result = invoke("check", str(path))
    assert result.exit_code == 0
    assert "unchecked" in result.output and "0 passed" in result.output


def test_conventions_reproduce_the_peers_for_torchvision_vgg16() -> None:
    """Totals the peers print for torchvision's vgg16 (../shared/reference, measured with each tool)."""
    data = json.loads(invoke("conventions", "vgg16", "--set", "torchvision_layout=true", "--format", "json").output)
    totals = {c["name"]: c["total"] for c in data["conventions"]}
    assert totals["macs"] == 15_470_264_320  # torchvision docs: 15.47 GFLOPS
    assert totals["fvcore"] == 15_470_289_408
    assert totals["torchinfo"] == 15_483_821_032
    assert totals["ptflops-aten"] == 15_483_821_032
    assert totals["ptflops"] == 15_523_225_576
    assert totals["flopcounter"] == 30_940_528_640
    assert totals["thop"] == 15_470_314_496
    assert round(totals["tf-receptive-field"] / 1e9, 3) == 30.713


@pytest.mark.parametrize("spec,sets,expected", [
    # measured with torch 2.13.0, fvcore 0.1.5, torchinfo 1.8.0, ptflops 0.7.5, thop 0.1.1 (docs/conventions.md)
    ("vgg16-bn", ["torchvision_layout=true"], {"fvcore": 15_497_384_448, "torchinfo": 15_483_829_480,
                                               "ptflops-aten": 15_483_821_032, "ptflops": 15_550_320_616,
                                               "thop": 15_524_504_576, "flopcounter": 30_940_528_640}),
    ("resnet18", [], {"fvcore": 1_819_065_856, "torchinfo": 1_814_083_944, "ptflops-aten": 1_814_074_344,
                      "ptflops": 1_825_313_768, "thop": 1_824_033_792, "flopcounter": 3_628_146_688}),
])
def test_conventions_match_measured_peers(spec: str, sets: list[str], expected: dict[str, int]) -> None:
    args = ["conventions", spec, "--format", "json"] + [arg for s in sets for arg in ("--set", s)]
    totals = {c["name"]: c["total"] for c in json.loads(invoke(*args).output)["conventions"]}
    assert {name: totals[name] for name in expected} == expected


def test_conventions_per_layer_sums() -> None:
    rows = list(csv.DictReader(io.StringIO(invoke("conventions", "resnet18", "--per-layer", "--format", "csv").output)))
    assert sum(int(r["macs"]) for r in rows) == 1_814_073_344
    assert sum(int(r["flopcounter"]) for r in rows) == 2 * 1_814_073_344


def test_compare_regenerates_tables_1_and_2() -> None:
    result = invoke("compare")
    assert result.exit_code == 0
    text = result.output
    for label in ("conv1-256", "conv1-512", "LRN", "maxpool", "FC-4096", "FC-1000", "soft-max"):
        assert label in text
    table2 = next(line for line in text.splitlines() if "Table 2" in line)
    assert re.findall(r"\b1[34]\d\b", table2) == ["133", "133", "133", "134", "138", "144"]
    data = json.loads(invoke("compare", "vgg16", "vgg19", "--format", "json").output)
    assert [d["params"] for d in data] == [138_357_544, 143_667_240]
    assert data[0]["dense_params"] == 123_642_856


def test_list_schema_and_version() -> None:
    listing = json.loads(invoke("list", "--format", "json").output)
    by_name = {row["name"]: row for row in listing}
    assert by_name["vgg16"]["params"] == 138_357_544 and "base" not in by_name
    schema = json.loads(invoke("schema").output)
    assert schema["title"] == "archviz network spec"
    version = invoke("--version")
    assert version.exit_code == 0 and version.output.startswith("archviz ")


def test_every_command_has_help_with_examples() -> None:
    for command in ("summary", "compare", "check", "conventions", "list", "schema"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        if command not in ("list",):
            assert "Example" in result.output, command


def test_console_script_runs_without_traceback() -> None:
    exe = shutil.which("archviz")
    if exe is None:
        pytest.skip("archviz console script not installed")
    ok = subprocess.run([exe, "summary", "specs/vgg16.yaml", "--format", "json"], check=False, cwd=ROOT,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout)["totals"]["params"] == 138_357_544
    bad = subprocess.run([exe, "summary", "tests/data/bad/13-cycle.yaml"], check=False, cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "13-cycle.yaml:4:5" in bad.stderr


def test_dtype_takes_both_spellings_on_every_command() -> None:
    # 138,357,544 params at 2 bytes = 276,715,088 B = 263.90 MiB; at 4 bytes 527.79 MiB
    assert round(138_357_544 * 2 / 2**20, 2) == 263.90
    for spelling in ("bfloat16", "bf16", "BF16"):
        result = invoke("summary", "vgg11", "--dtype", spelling, "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["totals"]["dtype"] == "bfloat16"
    result = invoke("summary", "vgg16", "--dtype", "fp32")
    assert result.exit_code == 0 and "527.79 MiB fp32" in result.output
    result = invoke("summary", "vgg16", "--dtype", "fp64")
    assert result.exit_code == 2 and "float32 (fp32)" in result.output and "int8" in result.output


def test_verify_takes_the_long_dtype_names_and_refuses_int8() -> None:
    pytest.importorskip("torch")
    result = invoke("verify", "vgg11", "--dtype", "bfloat16")
    assert result.exit_code == 0, result.output
    assert "(bf16," in result.output
    result = invoke("verify", "vgg11", "--dtype", "int8")
    assert result.exit_code == 2 and "int8" in result.output and "bfloat16 (bf16)" in result.output
