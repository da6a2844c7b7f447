"""Jupyter displays: an Analysis and a Network show their table with totals, a diagram its SVG."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import archviz


def test_analysis_shows_its_layers_stage_subtotals_and_totals() -> None:
    analysis = archviz.load("vgg16").analyze()
    shown = analysis._repr_html_()
    root = ET.fromstring(shown)  # well-formed: a notebook renders it as one table
    rows = root.findall("./tbody/tr")
    assert len(rows) == 40 + 6  # every layer, and each of the six stages' subtotal after its last layer
    assert [cell.text for cell in rows[0]] == ["conv1_1", "conv3-64", "conv1", "64x224x224", "1,792", "86,704,128"]
    names = [cell.text for cell in (row[0] for row in rows)]
    assert names[names.index("pool1") + 1] == "conv1 subtotal"
    subtotal = rows[names.index("conv1 subtotal")]
    # conv1_1 + conv1_2 = (3·9·64 + 64) + (64·9·64 + 64); bold, not italic
    assert [cell.text for cell in subtotal][-2:] == [f"{1_792 + 36_928:,}", f"{86_704_128 + 1_849_688_064:,}"]
    assert "font-weight:bold" in (subtotal[0].get("style") or "") and subtotal.find(".//i") is None
    # the classifier's subtotal: fc6 + fc7 + fc8 = 25088·4096+4096 + 4096·4096+4096 + 4096·1000+1000
    assert names[-1] == "classifier subtotal"
    assert [cell.text for cell in rows[-1]][-2:] == [f"{102_764_544 + 16_781_312 + 4_097_000:,}",
                                                    f"{25088 * 4096 + 4096 * 4096 + 4096 * 1000:,}"]
    footer = root.findall("./tfoot/tr")
    assert len(footer) == 1
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


def test_analysis_charts_are_inline_svgs() -> None:
    pytest.importorskip("matplotlib")
    svg = archviz.load("vgg11").analyze().chart("params")._repr_svg_()
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert ">fc6<" in svg and ">conv1_1<" in svg  # a bar for each weight layer, named


EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "quickstart.ipynb"


def test_the_example_notebook_is_committed_without_outputs() -> None:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(EXAMPLE, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)  # nothing stale


def test_the_example_notebook_runs_in_a_kernel_and_shows_tables_and_pictures(tmp_path: Path) -> None:
    """docs/examples/quickstart.ipynb executed as Jupyter runs it (nbclient, an IPython kernel
    of this interpreter): the analysis displays as HTML with VGG16's published totals, the
    figure and the chart as inline SVG."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    # a kernel spec of this interpreter, so that the kernel imports this archviz whatever
    # 'python3' kernels the machine has
    spec_dir = tmp_path / "kernels" / "archviz-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "archviz test", "language": "python"}), encoding="utf-8")
    kernels = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    manager = KernelManager(kernel_name="archviz-test", kernel_spec_manager=kernels)
    notebook = nbformat.read(EXAMPLE, as_version=4)
    started = time.perf_counter()
    nbclient.NotebookClient(notebook, km=manager, timeout=120, resources={"metadata": {"path": str(tmp_path)}},
                            ).execute()
    elapsed = time.perf_counter() - started
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    html = [output.data["text/html"] for output in outputs if "text/html" in output.get("data", {})]
    svgs = [output.data["image/svg+xml"] for output in outputs if "image/svg+xml" in output.get("data", {})]
    # VGG16's totals as torchvision publishes them (params) and fvcore counts them (MACs)
    assert any("138,357,544" in table and "15,470,264,320" in table for table in html)
    assert any("conv5 subtotal" in table for table in html)
    streams = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "138,357,544 params, 15,470,264,320 MACs" in streams
    assert len(svgs) >= 2  # the blocks figure and the chart (and the graph where dot is installed)
    for svg in svgs:
        assert ET.fromstring(svg).tag.endswith("svg")
    # the blocks figure names VGG16's stages; the cost chart has a bar for each weight layer
    assert any(all(f">{stage}<" in svg for stage in ("conv1", "conv5", "classifier")) for svg in svgs)
    assert any(all(f">{layer}<" in svg for layer in ("conv1_1", "conv5_3", "fc6", "fc8")) for svg in svgs)
    assert elapsed < 60, f"the example notebook took {elapsed:.1f} s"
