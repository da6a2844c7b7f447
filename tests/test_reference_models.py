"""The built-in specs against reference PyTorch implementations of the same networks.

``archviz verify`` compares a spec with its own build, so it cannot catch a spec that
approximates the network (an ``identity`` where a layer belongs, a missing scale). Here each
spec's exported module is compared with an independent implementation written from
torchvision's layer layout: the same random weights (and batch-norm statistics) are copied over
by mapping layer names, and both must give the same outputs for the same random input.

Two tiers:
- in the project's venv (torch 2.13.0, no torchvision), the references are written in this file,
  module for module and name for name as torchvision lays them out;
- with torchvision importable (its own venv, ``-m torchvision``: scripts/test.sh), torchvision's
  own models are the references, and the references written here are checked against them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

import archviz

pytest.importorskip("torch")
import torch  # after the skip: the module needs torch
from torch import nn

try:
    import torchvision  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # the project's venv: torch 2.13.0 has no matching torchvision
    torchvision = None

needs_torchvision = pytest.mark.skipif(torchvision is None, reason="torchvision is not installed")

Rename = Callable[[str], str]


# -- references written from torchvision's layout (module names as torchvision's) --------------
class ConvBNAct(nn.Sequential):
    """torchvision.ops.Conv2dNormActivation: conv (no bias), batch norm, activation."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 activation: type[nn.Module] | None = nn.ReLU6) -> None:
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                                   nn.BatchNorm2d(cout)]
        if activation is not None:
            layers.append(activation())
        super().__init__(*layers)


class Bottleneck(nn.Module):
    """torchvision.models.resnet.Bottleneck (the stride on the 3x3 convolution: v1.5)."""

    def __init__(self, cin: int, planes: int, stride: int) -> None:
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.downsample = (nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))
                           if stride != 1 or cin != out else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet50(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.cin = 64
        self.layer1 = self.stage(64, 3, 1)
        self.layer2 = self.stage(128, 4, 2)
        self.layer3 = self.stage(256, 6, 2)
        self.layer4 = self.stage(512, 3, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def stage(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        layers = []
        for block in range(blocks):
            layers.append(Bottleneck(self.cin, planes, stride if block == 0 else 1))
            self.cin = planes * 4
        return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """torchvision.models.mobilenetv2.InvertedResidual."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = [ConvBNAct(cin, hidden, 1)] if expand != 1 else []
        layers += [ConvBNAct(hidden, hidden, 3, stride, groups=hidden), nn.Conv2d(hidden, cout, 1, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


MOBILENET_V2_ROWS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                     (6, 320, 1, 1))  # the paper's Table 2: t, c, n, s


class MobileNetV2(nn.Module):

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        features: list[nn.Module] = [ConvBNAct(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in MOBILENET_V2_ROWS:
            for index in range(n):
                features.append(InvertedResidual(cin, c, s if index == 0 else 1, t))
                cin = c
        features.append(ConvBNAct(cin, 1280, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


VGG19_CONVS = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512)


class VGG19Features(nn.Module):
    """torchvision's vgg19().features up to relu5_4 (features[:36]), returning the feature maps at
    the end of each stage, as perceptual losses read them."""

    TAPS = (3, 8, 17, 26, 35)  # relu1_2, relu2_2, relu3_4, relu4_4, relu5_4

    def __init__(self, features: nn.Sequential | None = None) -> None:
        super().__init__()
        if features is None:
            layers: list[nn.Module] = []
            cin = 3
            for item in VGG19_CONVS:
                if item == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    assert isinstance(item, int)
                    layers += [nn.Conv2d(cin, item, 3, padding=1), nn.ReLU()]
                    cin = item
            features = nn.Sequential(*layers)
        self.features = features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.TAPS:
                taps.append(x)
        return tuple(taps)


def torchvision_vgg19_features() -> nn.Module:
    return VGG19Features(torchvision.models.vgg19(weights=None).features[:36])


# -- layer names: archviz's (the spec's) to torchvision's ---------------------------------------
def resnet50_name(key: str) -> str:
    """'layer2_1.downsample_conv.weight' -> 'layer2.0.downsample.0.weight'."""
    key = re.sub(r"^layer(\d)_(\d+)\.", lambda m: f"layer{m[1]}.{int(m[2]) - 1}.", key)
    return key.replace(".downsample_conv.", ".downsample.0.").replace(".shortcut.", ".downsample.1.")


def mobilenet_v2_name_map(keys: list[str]) -> dict[str, str]:
    """The spec's blocks b1_1, b2_1, b2_2, ... are torchvision's features.1, features.2, ..."""
    blocks = list(dict.fromkeys(key.split(".")[0] for key in keys if re.match(r"b\d_\d+\.", key)))
    mapping = {}
    for key in keys:
        head, _, rest = key.partition(".")
        if head == "conv0":
            mapping[key] = "features.0." + rest.replace("conv.", "0.").replace("bn.", "1.")
        elif head == "conv_last":
            mapping[key] = "features.18." + rest.replace("conv.", "0.").replace("bn.", "1.")
        elif head == "fc":
            mapping[key] = "classifier.1." + rest
        else:
            index = blocks.index(head) + 1
            part, _, tensor = rest.partition(".")
            expands = not head.startswith("b1_")  # the first row (t = 1) has no expansion
            slots = ({"expand": "0", "dw": "1", "project": "2", "project_bn": "3"} if expands
                     else {"dw": "0", "project": "1", "project_bn": "2"})
            if part in ("expand", "dw"):
                tensor = tensor.replace("conv.", "0.").replace("bn.", "1.")
            mapping[key] = f"features.{index}.conv.{slots[part]}.{tensor}"
    return mapping


def vgg_name_map(keys: list[str]) -> dict[str, str]:
    """conv1_1, conv1_2, conv2_1, ... are features.0, features.2, features.5, ... (ReLUs and pools between)."""
    convs = sorted({key.split(".")[0] for key in keys}, key=lambda name: tuple(map(int, name[4:].split("_"))))
    index: dict[str, int] = {}
    position = 0
    for name in convs:
        if index and name.endswith("_1"):
            position += 1  # the pooling before a new stage
        index[name] = position
        position += 2
    return {key: f"features.{index[key.split('.')[0]]}.{key.split('.', 1)[1]}" for key in keys}


# -- the comparison -----------------------------------------------------------------------------
def randomize(module: nn.Module, seed: int = 0) -> None:
    """Random weights and batch-norm statistics (fresh running stats are 0 and 1: they would hide a
    missing or misplaced normalisation)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.is_floating_point():
                values = torch.randn(tensor.shape, generator=generator) * 0.1
                if name.endswith("running_var"):
                    values = values.abs() + 0.5
                tensor.copy_(values)


def copy_weights(ours: nn.Module, reference: nn.Module, mapping: dict[str, str]) -> None:
    """Copy the reference's tensors into ours by the name mapping, which must cover both exactly."""
    theirs = reference.state_dict()
    mine = ours.state_dict()
    assert sorted(mapping) == sorted(mine)
    assert sorted(mapping.values()) == sorted(theirs), set(theirs) ^ set(mapping.values())
    with torch.no_grad():
        for key, their_key in mapping.items():
            assert mine[key].shape == theirs[their_key].shape, (key, their_key)
            mine[key].copy_(theirs[their_key])


def assert_same_outputs(spec: str, reference: nn.Module, mapping: Callable[[list[str]], dict[str, str]],
                        input_shape: tuple[int, ...] = (3, 224, 224)) -> None:
    import archviz.torch as backend

    network = archviz.load(spec)
    ours = backend.build(network, input_shape, device="cpu")
    randomize(reference)
    reference.eval()
    copy_weights(ours, reference, mapping(list(ours.state_dict())))
    x = torch.randn((2, *input_shape), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(x)
        got = ours(x)  # a tuple, in the spec's order, where it lists several outputs
    expected_list = list(expected) if isinstance(expected, (tuple, list)) else [expected]
    got_list = list(got) if isinstance(got, tuple) else [got]
    assert len(got_list) == len(expected_list) == len(network.outputs)
    for name, mine, want in zip(network.outputs, got_list, expected_list):
        assert mine.shape == want.shape, name
        torch.testing.assert_close(mine, want, rtol=1e-4, atol=1e-4)


def by_key(rename: Rename) -> Callable[[list[str]], dict[str, str]]:
    return lambda keys: {key: rename(key) for key in keys}


def torchvision_model(name: str) -> Callable[[], nn.Module]:
    return lambda: torchvision.models.get_model(name, weights=None)


CASES: dict[str, tuple[Callable[[], nn.Module], Callable[[], nn.Module], Callable[[list[str]], dict[str, str]]]] = {
    # spec: (reference written here, torchvision's model, name mapping)
    "resnet50": (ResNet50, torchvision_model("resnet50"), by_key(resnet50_name)),
    "mobilenet-v2": (MobileNetV2, torchvision_model("mobilenet_v2"), mobilenet_v2_name_map),
    "vgg19-perceptual": (VGG19Features, torchvision_vgg19_features, vgg_name_map),
}


@pytest.mark.parametrize("spec", CASES)
def test_spec_matches_the_reference_written_from_torchvisions_layout(spec: str) -> None:
    written, _, mapping = CASES[spec]
    assert_same_outputs(spec, written(), mapping)


@pytest.mark.torchvision
@needs_torchvision
@pytest.mark.parametrize("spec", CASES)
def test_spec_matches_torchvision(spec: str) -> None:
    _, model, mapping = CASES[spec]
    assert_same_outputs(spec, model(), mapping)


@pytest.mark.torchvision
@needs_torchvision
@pytest.mark.parametrize("spec", CASES)
def test_written_reference_is_torchvisions_layout(spec: str) -> None:
    """The references above have torchvision's tensors, names and outputs (so the first tier's
    comparison is against torchvision's layout, not a guess of it)."""
    written, model, _ = CASES[spec]
    ours, theirs = written(), model()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    randomize(theirs)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), theirs.eval()(x), rtol=1e-4, atol=1e-4)


def test_name_maps() -> None:
    """The mappings, spelled out for a few layers (a wrong map would pair tensors of equal shapes)."""
    assert resnet50_name("layer2_1.downsample_conv.weight") == "layer2.0.downsample.0.weight"
    assert resnet50_name("layer4_3.shortcut.bias") == "layer4.2.downsample.1.bias"  # not: identity there
    convs = [f"conv{stage}_{n}.weight" for stage, count in enumerate((2, 2, 4, 4, 4), 1) for n in range(1, count + 1)]
    vgg = vgg_name_map(convs)
    assert [vgg[key] for key in ("conv1_1.weight", "conv1_2.weight", "conv2_1.weight", "conv5_4.weight")] == \
        ["features.0.weight", "features.2.weight", "features.5.weight", "features.34.weight"]
