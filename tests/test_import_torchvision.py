"""torchvision's own models read into specs give torchvision's published counts (issue 15).

The published numbers are read from torchvision itself (each weights enum's ``meta``:
``num_params``, and ``_ops``, its GFLOPS, which are multiply-accumulates), never written here.
These tests run in scripts/test.sh's torchvision venv (``-m torchvision``); elsewhere they skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import archviz

torch = pytest.importorskip("torch")
try:
    import torchvision  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # the project's venv: torch 2.13.0 has no matching torchvision
    torchvision = None

pytestmark = [pytest.mark.torchvision,
              pytest.mark.skipif(torchvision is None, reason="torchvision is not installed")]

FROM_MODULE = ["resnet50", "mobilenet_v2", "efficientnet_b0", "vit_b_16", "shufflenet_v2_x1_0", "ssd300_vgg16"]
# the ONNX route: the legacy exporter in eval mode without constant folding keeps BatchNorm and
# writes static shapes; ViT's and ShuffleNet's exports compute reshapes from Shape nodes, which
# the reader refuses by name (docs/import.md)
FROM_ONNX = ["resnet50", "mobilenet_v2", "efficientnet_b0"]


def published(name: str) -> tuple[int, float]:
    meta: dict[str, Any] = torchvision.models.get_model_weights(name).DEFAULT.meta
    return int(meta["num_params"]), float(meta["_ops"])


def build(name: str) -> Any:
    """torchvision's model with random weights (nothing downloaded: a detector's backbone too)."""
    try:
        return torchvision.models.get_model(name, weights=None, weights_backbone=None).eval()
    except TypeError:
        return torchvision.models.get_model(name, weights=None).eval()


@pytest.mark.parametrize("name", FROM_MODULE)
def test_module_import_matches_published(name: str) -> None:
    module = build(name)
    size = 300 if name.startswith("ssd300") else 224  # SSD300's published count is at 300x300
    totals = archviz.from_torch(module, (3, size, size), name=name).analyze().totals
    params, gmacs = published(name)
    assert totals.params == params == sum(p.numel() for p in module.parameters())
    assert round(totals.macs / 1e9, 3) == gmacs


@pytest.mark.parametrize("name", FROM_ONNX)
def test_onnx_export_import_matches_published(name: str, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    module = build(name)
    path = tmp_path / f"{name}.onnx"
    torch.onnx.export(module, (torch.zeros(1, 3, 224, 224),), str(path), dynamo=False, do_constant_folding=False)
    totals = archviz.from_onnx(path).analyze().totals
    params, gmacs = published(name)
    assert totals.params == params
    assert round(totals.macs / 1e9, 3) == gmacs


def test_ssd300_is_its_backbone_and_heads() -> None:
    """The detector's network part (backbone feature maps into the box and class heads) is what is
    counted; its two outputs are the heads' concatenated predictions (8,732 anchors at 300x300)."""
    analysis = archviz.from_torch(build("ssd300_vgg16"), (3, 300, 300)).analyze()
    shapes = {name: next(r.output_shape for r in analysis.layers if r.name == name) for name in analysis.outputs}
    assert sorted(shapes.values()) == [(8732, 4), (8732, 91)]
    assert any(r.op == "l2_norm" for r in analysis.layers)  # conv4_3's L2Norm, with its 512 scales


def test_cli_import_of_a_torchvision_name(tmp_path: Path) -> None:
    from archviz.backends.sources import read_source
    from archviz.spec.writer import write_spec

    text = write_spec(read_source("torchvision.models.resnet50", (3, 224, 224)))
    assert "stage: layer1" in text and "repeat: 2" in text  # layer1.1 and layer1.2 fold into one call
    assert archviz.loads(text).analyze().totals.params == published("resnet50")[0]
