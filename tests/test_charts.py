"""Charts: every kind, deterministic SVG, escaped names, clean errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import archviz
from archviz.render.charts import Kind, _tick, render_chart

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def vgg16() -> archviz.Analysis:
    return archviz.load("vgg16").analyze()


@pytest.fixture(scope="module")
def cost_svg(vgg16: archviz.Analysis) -> bytes:
    return render_chart([vgg16], "cost", "svg")


def text_of(svg: bytes) -> str:
    root = ET.fromstring(svg)
    return " ".join("".join(element.itertext()) for element in root.iter())


@pytest.mark.parametrize("kind", ["cost", "params", "memory"])
def test_per_layer_kinds_name_the_layers(vgg16: archviz.Analysis, cost_svg: bytes, kind: str) -> None:
    svg = cost_svg if kind == "cost" else render_chart([vgg16], kind, "svg")
    text = text_of(svg)
    assert "fc6" in text and "conv1_1" in text
    if kind == "memory":
        assert "relu1_1" in text and "MiB" in text
    else:
        assert "relu1_1" not in text  # only layers with params or MACs


def test_cost_chart_shows_where_params_and_compute_sit(cost_svg: bytes) -> None:
    text = text_of(cost_svg)
    assert "74.27%" in text  # fc6's share of the parameters
    assert "11.96%" in text  # conv1_2's share of the MACs
    assert "138.4 M in all" in text and "15.47 G in all" in text


def test_compare_chart_has_one_point_per_network_and_shares_equal_points() -> None:
    analyses = [archviz.load(name).analyze() for name in ("vgg11", "vgg16", "vgg16-dense", "resnet18")]
    text = text_of(render_chart(analyses, Kind.compare))
    assert "D (vgg16), vgg16-dense" in text
    assert "vgg11" in text and "resnet18" in text


def test_svg_is_deterministic(vgg16: archviz.Analysis, cost_svg: bytes) -> None:
    assert render_chart([vgg16], "cost", "svg") == cost_svg
    assert b"<dc:date>" not in cost_svg


def test_png_pdf_and_dark_theme(vgg16: archviz.Analysis) -> None:
    assert render_chart([vgg16], "macs", "png").startswith(b"\x89PNG\r\n\x1a\n")
    assert render_chart([vgg16], "memory", "pdf", theme="dark").startswith(b"%PDF-")
    assert b"#16181d" in render_chart([vgg16], "params", "svg", theme="dark")


def test_names_are_escaped(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("""
archviz: 1
name: "<script>&net"
input: [3, 8, 8]
layers:
  - conv2d: {name: "<script>\\"&", filters: 4, kernel: 3}
  - flatten
  - dense: {name: "fc'\\\"=cmd|x", units: 2}
""")
    analysis = archviz.load(path).analyze()
    for kind in ("cost", "memory", "compare"):
        svg = render_chart([analysis], kind, "svg")
        root = ET.fromstring(svg)  # parses: escaped
        assert not [e for e in root.iter() if e.tag.endswith("script")]
        assert '<script>"&' in text_of(svg) or kind == "compare"


def test_errors(vgg16: archviz.Analysis) -> None:
    with pytest.raises(archviz.ArchvizError, match="draws one network"):
        render_chart([vgg16, vgg16], "cost")
    with pytest.raises(archviz.ArchvizError, match="svg, png, pdf"):
        render_chart([vgg16], "cost", "jpg")
    with pytest.raises(archviz.ArchvizError, match="at least one"):
        render_chart([], "compare")
    with pytest.raises(ValueError):
        render_chart([vgg16], "pie")


def test_tick_labels_are_short() -> None:
    assert [_tick(v) for v in (0, 5000, 20_000_000, 250_000_000, 1_250_000_000, 2_000_000_000)] == [
        "0", "5,000", "20 M", "250 M", "1.25 G", "2 G"]
