"""Jupyter displays: an Analysis and a Network show their table with totals, a diagram its SVG."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET

import pytest

import archviz


def test_analysis_shows_its_layers_stage_subtotals_and_totals() -> None:
    analysis = archviz.load("vgg16").analyze()
    shown = analysis._repr_html_()
    root = ET.fromstring(shown)  # well-formed: a notebook renders it as one table
    rows = root.findall("./tbody/tr")
    assert len(rows) == 40
    assert [cell.text for cell in rows[0]] == ["conv1_1", "conv3-64", "conv1", "64x224x224", "1,792", "86,704,128"]
    footer = root.findall("./tfoot/tr")
    assert len(footer) == 6 + 1  # five conv stages and the classifier, then the total
    # the classifier's subtotal: fc6 + fc7 + fc8 = 25088·4096+4096 + 4096·4096+4096 + 4096·1000+1000
    assert [cell.text for cell in footer[5]][-2:] == [f"{102_764_544 + 16_781_312 + 4_097_000:,}",
                                                      f"{25088 * 4096 + 4096 * 4096 + 4096 * 1000:,}"]
    assert [cell.text for cell in footer[-1]][-2:] == ["138,357,544", "15,470,264,320"]


def test_network_shows_its_description_and_analysis() -> None:
    network = archviz.load("vgg16")
    shown = network._repr_html_()
    assert network.description[:30] in shown and "138,357,544" in shown


def test_blocks_diagram_is_an_inline_svg() -> None:
    svg = archviz.load("vgg11").diagram("blocks")._repr_svg_()
    assert ET.fromstring(svg).tag.endswith("svg") and "vgg11" in svg


@pytest.mark.skipif(shutil.which("dot") is None and not os.environ.get("CI"), reason="Graphviz's dot is missing")
def test_graph_diagram_is_an_inline_svg() -> None:
    svg = archviz.load("vgg11").diagram()._repr_svg_()
    assert ET.fromstring(svg).tag.endswith("svg") and "conv1_1" in svg
