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

FROM_MODULE = ["resnet50", "mobilenet_v2", "efficientnet_b0", "vit_b_16", "shufflenet_v2_x1_0"]
# the ONNX route: the legacy exporter in eval mode without constant folding keeps BatchNorm and
# writes static shapes; ViT's and ShuffleNet's exports compute reshapes from Shape nodes, which
# the reader refuses by name (docs/import.md)
FROM_ONNX = ["resnet50", "mobilenet_v2", "efficientnet_b0"]


def published(name: str) -> tuple[int, float]:
    meta: dict[str, Any] = torchvision.models.get_model_weights(name).IMAGENET1K_V1.meta
    return int(meta["num_params"]), float(meta["_ops"])


@pytest.mark.parametrize("name", FROM_MODULE)
def test_module_import_matches_published(name: str) -> None:
    module = torchvision.models.get_model(name).eval()
    totals = archviz.from_torch(module, (3, 224, 224), name=name).analyze().totals
    params, gmacs = published(name)
    assert totals.params == params == sum(p.numel() for p in module.parameters())
    assert round(totals.macs / 1e9, 3) == gmacs


@pytest.mark.parametrize("name", FROM_ONNX)
def test_onnx_export_import_matches_published(name: str, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    module = torchvision.models.get_model(name).eval()
    path = tmp_path / f"{name}.onnx"
    torch.onnx.export(module, (torch.zeros(1, 3, 224, 224),), str(path), dynamo=False, do_constant_folding=False)
    totals = archviz.from_onnx(path).analyze().totals
    params, gmacs = published(name)
    assert totals.params == params
    assert round(totals.macs / 1e9, 3) == gmacs


def test_cli_import_of_a_torchvision_name(tmp_path: Path) -> None:
    from archviz.backends.sources import read_source
    from archviz.spec.writer import write_spec

    text = write_spec(read_source("torchvision.models.resnet50", (3, 224, 224)))
    assert "stage: layer1" in text and "repeat: 2" in text  # layer1.1 and layer1.2 fold into one call
    assert archviz.loads(text).analyze().totals.params == published("resnet50")[0]
