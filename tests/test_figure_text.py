"""Every text of a blocks figure lies inside its viewBox, measured with a real font's metrics
(DejaVu Sans, bundled with matplotlib: the widest of the fonts the figure names, and the one a
machine without Helvetica or Arial draws it in)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import archviz
from archviz.render.figure import render_blocks

SPECS = [path.stem for path in sorted((Path(__file__).resolve().parent.parent / "specs").glob("*.yaml"))]


def _extent(text: str, size: float, bold: bool) -> float:
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font = FontProperties(family="DejaVu Sans", size=size, weight="bold" if bold else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(text, font, ismath=False)
    return float(width)


@pytest.mark.parametrize(("spec", "scale"), [*((spec, "auto") for spec in SPECS),
                                            *((spec, "fixed") for spec in ("vgg16", "vgg16-cifar10", "resnet18",
                                                                          "inception-block"))])
def test_every_text_is_inside_the_view_box(spec: str, scale: str) -> None:
    pytest.importorskip("matplotlib")
    network = archviz.load(spec)
    root = ET.fromstring(render_blocks(network.analyze(), network, "svg", scale=scale, warn=lambda _: None))
    _, _, view_width, view_height = (float(v) for v in root.attrib["viewBox"].split())
    outside = []
    for element in root.iter():
        if not element.tag.endswith("text") or not element.text or "transform" in element.attrib:
            continue
        size = float(element.attrib.get("font-size", "12"))
        width = _extent(element.text, size, element.attrib.get("font-weight") == "bold")
        x, y = float(element.attrib["x"]), float(element.attrib["y"])
        anchor = element.attrib.get("text-anchor", "start")
        left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
        if left < 0 or left + width > view_width or y - size < 0 or y > view_height:
            outside.append((element.text, round(left, 1), round(left + width, 1), view_width))
    assert outside == []


def test_subtitle_and_boxes_share_one_axis_order() -> None:
    """The subtitle said input 3x224x224 while the boxes said 224x224x3: both are CxHxW now."""
    network = archviz.load("vgg16")
    root = ET.fromstring(render_blocks(network.analyze(), network, "svg"))
    texts = [element.text or "" for element in root.iter() if element.tag.endswith("text")]
    assert any("input 3x224x224" in text for text in texts)
    assert "3x224x224" in texts and "64x224x224" in texts and "512x7x7" in texts
    assert "224x224x3" not in texts and "224x224x64" not in texts


@pytest.mark.parametrize("spec", SPECS)
def test_no_two_boxes_cover_each_other(spec: str) -> None:
    """Branches stacked across the flow, pooling slabs on their stage: no front face is drawn over
    another (a box's receding side may pass behind the next box, as in the classic figure)."""
    network = archviz.load(spec)
    root = ET.fromstring(render_blocks(network.analyze(), network, "svg", warn=lambda _: None))
    faces = []
    for group in root.iter("{http://www.w3.org/2000/svg}g"):
        front = group.find("{http://www.w3.org/2000/svg}rect")
        if group.find("{http://www.w3.org/2000/svg}title") is not None and front is not None:
            x, y, w, h = (float(front.attrib[key]) for key in ("x", "y", "width", "height"))
            faces.append((x, y, x + w, y + h))
    overlapping = [(a, b) for index, a in enumerate(faces) for b in faces[index + 1:]
                   if a[0] < b[2] - 0.2 and b[0] < a[2] - 0.2 and a[1] < b[3] - 0.2 and b[1] < a[3] - 0.2]
    assert overlapping == []
