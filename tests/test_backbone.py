"""A network up to a layer (``Network.truncate``, ``--until``): VGG as a feature extractor.

The expected numbers are computed here from the VGG16 layout (paper Table 1, configuration D):
3x3 convolutions with padding 1, so each one costs 9 * in * out MACs per output pixel.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import archviz
from archviz.errors import SpecError

# (in, out, side) of VGG16's convolutions up to conv4_3
VGG16_TO_CONV4_3 = [(3, 64, 224), (64, 64, 224), (64, 128, 112), (128, 128, 112), (128, 256, 56), (256, 256, 56),
                    (256, 256, 56), (256, 512, 28), (512, 512, 28), (512, 512, 28)]


def test_vgg16_up_to_relu4_3() -> None:
    totals = archviz.load("vgg16").truncate("relu4_3").analyze().totals
    assert totals.params == sum(9 * i * o + o for i, o, _ in VGG16_TO_CONV4_3) == 7_635_264
    assert totals.macs == sum(9 * i * o * s * s for i, o, s in VGG16_TO_CONV4_3)
    assert totals.output_shape == (512, 28, 28)


def test_vgg16_backbone_to_pool5_is_the_network_without_its_classifier() -> None:
    whole = archviz.load("vgg16").analyze().totals
    backbone = archviz.load("vgg16").truncate("pool5")
    totals = backbone.analyze().totals
    fc_params = 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    assert totals.params == whole.params - fc_params == 14_714_688
    assert totals.macs == whole.macs - (25088 * 4096 + 4096 * 4096 + 4096 * 1000)
    assert totals.output_shape == (512, 7, 7)
    assert backbone.name == "vgg16 up to pool5"
    # other values and inputs keep the cut
    assert backbone.with_variables(width=0.5).analyze().totals.output_shape == (256, 7, 7)
    assert backbone.analyze((3, 32, 32)).totals.output_shape == (512, 1, 1)


def test_truncating_a_branching_network_keeps_only_what_the_layer_depends_on() -> None:
    network = archviz.load("resnet18")
    cut = network.truncate("layer1_2.out")
    names = [layer.name for layer in cut.layers]
    assert names[-1] == "layer1_2.out"
    assert "layer2_1.conv1" not in names and "layer1_1.shortcut" in names
    # stem 9,408 + 64 + 64 (bn) and two basic blocks of 2 x (36,864 + 128)
    assert cut.analyze().totals.params == 9408 + 128 + 2 * 2 * (36864 + 128)
    # several return nodes: the union of what they need, the last one is the output
    both = network.truncate("layer2_2.out", "layer1_2.out")
    assert both.layers[-1].name == "layer2_2.out"
    assert both.outputs == ("layer2_2.out", "layer1_2.out") and not both.warnings
    assert both.analyze().totals.output_shape == (128, 28, 28)


def test_truncate_names_a_layer_of_the_network() -> None:
    with pytest.raises(SpecError, match=r"Received: 'pool6'") as raised:
        archviz.load("vgg16").truncate("pool6")
    assert raised.value.hint is not None and "pool5" in raised.value.hint


def test_cli_until() -> None:
    run = subprocess.run([sys.executable, "-m", "archviz.cli.main", "summary", "vgg16", "--until", "relu4_3", "--format",
                          "json"], capture_output=True, text=True, check=True)
    data = json.loads(run.stdout)
    assert data["totals"]["params"] == 7_635_264
    assert data["layers"][-1]["name"] == "relu4_3"
    bad = subprocess.run([sys.executable, "-m", "archviz.cli.main", "summary", "vgg16", "--until", "pool6"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
