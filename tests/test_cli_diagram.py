"""archviz diagram and archviz chart on the command line: formats, exit codes, warnings."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archviz
from archviz.cli.main import app

runner = CliRunner()
needs_dot = pytest.mark.skipif(shutil.which("dot") is None and not os.environ.get("CI"),
                               reason="Graphviz's dot is not installed (apt-get install graphviz)")


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()
    return " ".join("".join(element.itertext()) for element in root.iter())


@needs_dot
def test_diagram_defaults_to_vgg16_graph(tmp_path: Path) -> None:
    out = tmp_path / "vgg.svg"
    result = invoke("diagram", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = svg_text(out)
    weight_layers = [r.name for r in archviz.load("vgg16").analyze().layers if r.family in ("conv", "dense")]
    assert len(weight_layers) == 16
    assert all(name in text for name in weight_layers)


@needs_dot
@pytest.mark.parametrize("extension, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF-"), ("dot", b"digraph"),
                                              ("gv", b"digraph")])
def test_diagram_format_follows_the_extension(tmp_path: Path, extension: str, magic: bytes) -> None:
    out = tmp_path / f"net.{extension}"
    result = invoke("diagram", "vgg11", "--detail", "stages", "--direction", "LR", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)


def test_diagram_blocks_style(tmp_path: Path) -> None:
    out = tmp_path / "vgg19.svg"
    result = invoke("diagram", "vgg19", "--style", "blocks", "--theme", "dark", "--no-title", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = svg_text(out)
    assert "64x224x224" in text and "FC 4096" in text and "conv5_4" in text


def test_diagram_input_and_set_change_the_picture(tmp_path: Path) -> None:
    out = tmp_path / "small.svg"
    result = invoke("diagram", "vgg16", "--style", "blocks", "--input", "3x64x64", "--set", "num_classes=10",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    text = svg_text(out)
    assert "64x64x64" in text and "FC 10" in text


@pytest.mark.parametrize("args, message", [
    (("--out", "x.jpg"), "writes .svg, .png, .pdf, .dot"),
    (("--style", "blocks", "--out", "x.dot"), "blocks style writes .svg, .png, .pdf"),
    (("--theme", "neon", "--out", "x.svg"), "neon"),
    (("no-such-net", "--out", "x.svg"), "no-such-net"),
])
def test_diagram_bad_arguments_exit_2_and_write_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        args: tuple[str, ...], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("diagram", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_missing_graphviz_exits_2_with_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "vgg.svg"
    result = invoke("diagram", "--out", str(out))
    assert result.exit_code == 2
    assert "apt-get install graphviz" in result.stderr
    assert not out.exists()
    source = tmp_path / "vgg.dot"
    assert invoke("diagram", "--out", str(source)).exit_code == 0
    assert source.read_text(encoding="utf-8").startswith("digraph")
    # the blocks style needs no Graphviz at all
    assert invoke("diagram", "--style", "blocks", "--out", str(out)).exit_code == 0


HUGE = """
archviz: 1
name: huge
input: [3, 8, 8]
layers:
  - {stage: body, layers: [conv2d: {filters: 4, kernel: 3, padding: 1, repeat: 700}]}
"""


@needs_dot
def test_huge_graph_warns_and_draws_stages(write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec(HUGE)
    out = tmp_path / "huge.svg"
    result = invoke("diagram", str(spec), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "warning: 700 layers is more than 500 nodes" in result.stderr
    assert out.read_bytes().count(b'class="node"') == 3
    blocks = invoke("diagram", str(spec), "--style", "blocks", "--out", str(tmp_path / "b.svg"))
    assert blocks.exit_code == 0 and "warning: More than 500 boxes" in blocks.stderr
    quiet = invoke("diagram", str(spec), "--detail", "stages", "--out", str(out))
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr


def test_chart_defaults(tmp_path: Path) -> None:
    out = tmp_path / "cost.svg"
    result = invoke("chart", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "fc6" in svg_text(out)
    compare = tmp_path / "compare.svg"
    assert invoke("chart", "--kind", "compare", "--out", str(compare)).exit_code == 0
    text = svg_text(compare)
    assert all(name in text for name in ("vgg11", "vgg13", "vgg16-c", "vgg19"))


def test_chart_several_specs_compare_by_default(tmp_path: Path) -> None:
    out = tmp_path / "c.png"
    result = invoke("chart", "vgg11", "resnet18", "--set", "num_classes=10", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args, message", [
    (("vgg11", "vgg16", "--kind", "memory", "--out", "x.svg"), "draws one network"),
    (("--out", "x.txt"), ".svg, .png or .pdf"),
])
def test_chart_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...],
                             message: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("chart", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert list(tmp_path.iterdir()) == []
