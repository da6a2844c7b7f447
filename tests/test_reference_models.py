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


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation with SiLU, as EfficientNet uses it."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(nn.functional.silu(self.fc1(scale))))


class MBConv(nn.Module):
    """torchvision.models.efficientnet.MBConv (stochastic depth: the identity in eval mode)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = [ConvBNAct(cin, hidden, 1, activation=nn.SiLU)] if expand != 1 else []
        layers += [ConvBNAct(hidden, hidden, kernel, stride, groups=hidden, activation=nn.SiLU),
                   SqueezeExcitation(hidden, max(1, cin // 4)), ConvBNAct(hidden, cout, 1, activation=None)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_res_connect else self.block(x)


EFFICIENTNET_B0_ROWS = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
                        (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))  # the paper's Table 1: t, k, s, c, n


class EfficientNetB0(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        features: list[nn.Module] = [ConvBNAct(3, 32, 3, 2, activation=nn.SiLU)]
        cin = 32
        for t, k, s, c, n in EFFICIENTNET_B0_ROWS:
            stage = []
            for index in range(n):
                stage.append(MBConv(cin, c, k, s if index == 0 else 1, t))
                cin = c
            features.append(nn.Sequential(*stage))
        features.append(ConvBNAct(cin, 1280, 1, activation=nn.SiLU))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d: layer norm over the channels of each position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Permute(nn.Module):
    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


class CNBlock(nn.Module):
    """torchvision.models.convnext.CNBlock: pointwise layers as nn.Linear on channels-last."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(dim, dim, 7, padding=3, groups=dim), Permute([0, 2, 3, 1]),
                                   nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim), nn.GELU(),
                                   nn.Linear(4 * dim, dim), Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layer_scale * self.block(x)


class ConvNeXtTiny(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, 96, 4, 4), LayerNorm2d(96, eps=1e-6))]
        for dim, out, blocks in ((96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)):
            layers.append(nn.Sequential(*(CNBlock(dim) for _ in range(blocks))))
            if out is not None:
                layers.append(nn.Sequential(LayerNorm2d(dim, eps=1e-6), nn.Conv2d(dim, out, 2, 2)))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(LayerNorm2d(768, eps=1e-6), nn.Flatten(1), nn.Linear(768, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(nn.functional.adaptive_avg_pool2d(self.features(x), 1))


class ShuffleUnit(nn.Module):
    """torchvision.models.shufflenetv2.InvertedResidual."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        half = cout // 2
        self.stride = stride
        if stride > 1:
            self.branch1 = nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                                         nn.Conv2d(cin, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU())
        first = cin if stride > 1 else half
        self.branch2 = nn.Sequential(nn.Conv2d(first, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
                                     nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False), nn.BatchNorm2d(half),
                                     nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        n, c, h, w = out.shape  # channel shuffle of two groups
        return out.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU())
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 24
        self.stage2, cin = self.stage(cin, 116, 4)
        self.stage3, cin = self.stage(cin, 232, 8)
        self.stage4, cin = self.stage(cin, 464, 4)
        self.conv5 = nn.Sequential(nn.Conv2d(cin, 1024, 1, bias=False), nn.BatchNorm2d(1024), nn.ReLU())
        self.fc = nn.Linear(1024, num_classes)

    @staticmethod
    def stage(cin: int, cout: int, units: int) -> tuple[nn.Sequential, int]:
        return nn.Sequential(ShuffleUnit(cin, cout, 2), *(ShuffleUnit(cout, cout, 1) for _ in range(units - 1))), cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage4(self.stage3(self.stage2(self.maxpool(self.conv1(x)))))
        return self.fc(self.conv5(x).mean([2, 3]))


class EncoderBlock(nn.Module):
    """torchvision.models.vision_transformer.EncoderBlock (dropouts: none in eval mode)."""

    def __init__(self, dim: int = 768, heads: int = 12, mlp: int = 3072) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    def __init__(self, tokens: int = 197, dim: int = 768, depth: int = 12) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.zeros(1, tokens, dim))
        self.layers = nn.Sequential()
        for index in range(depth):
            self.layers.add_module(f"encoder_layer_{index}", EncoderBlock(dim))
        self.ln = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(x + self.pos_embedding))


class ViTB16(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, 768, 16, 16)
        self.class_token = nn.Parameter(torch.zeros(1, 1, 768))
        self.encoder = Encoder()
        self.heads = nn.Sequential()
        self.heads.add_module("head", nn.Linear(768, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_proj(x).flatten(2).permute(0, 2, 1)  # N x 196 x 768
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.heads(self.encoder(x)[:, 0])


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


def vgg_layers(config: tuple[int | str, ...], ceil_at: int | None = None) -> list[nn.Module]:
    """torchvision's VGG ``features`` layout (conv, ReLU, ..., MaxPool); the pool numbered ``ceil_at`` rounds up."""
    layers: list[nn.Module] = []
    cin, pools = 3, 0
    for item in config:
        if item == "M":
            pools += 1
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=pools == ceil_at))
        else:
            assert isinstance(item, int)
            layers += [nn.Conv2d(cin, item, 3, padding=1), nn.ReLU()]
            cin = item
    return layers


class SSDBackbone(nn.Module):
    """torchvision.models.detection.ssd.SSDFeatureExtractorVGG (SSD300): six feature maps."""

    def __init__(self) -> None:
        super().__init__()
        vgg = vgg_layers((64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
                         ceil_at=3)
        self.scale_weight = nn.Parameter(torch.full((512,), 20.0))
        self.features = nn.Sequential(*vgg[:23])  # to conv4_3's ReLU
        fc = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(512, 1024, 3, padding=6, dilation=6), nn.ReLU(),
                           nn.Conv2d(1024, 1024, 1), nn.ReLU())
        self.extra = nn.ModuleList([nn.Sequential(*vgg[23:-1], fc)])
        for cin, reduce, out, stride, padding in ((1024, 256, 512, 2, 1), (512, 128, 256, 2, 1), (256, 128, 256, 1, 0),
                                                  (256, 128, 256, 1, 0)):
            self.extra.append(nn.Sequential(nn.Conv2d(cin, reduce, 1), nn.ReLU(),
                                            nn.Conv2d(reduce, out, 3, stride, padding), nn.ReLU()))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.features(x)
        maps = [self.scale_weight.view(1, -1, 1, 1) * nn.functional.normalize(x)]
        for block in self.extra:
            x = block(x)
            maps.append(x)
        return maps


class SSDHead(nn.Module):
    """torchvision's SSDHead: per map a 3x3 conv, (N, A*K, H, W) laid out as (N, H*W*A, K), concatenated."""

    def __init__(self, channels: tuple[int, ...] = (512, 1024, 512, 256, 256, 256), anchors: tuple[int, ...] = (4, 6, 6, 6, 4, 4),
                 num_classes: int = 91) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.classification_head = nn.Module()
        self.classification_head.module_list = nn.ModuleList(  # type: ignore[assignment]
            nn.Conv2d(c, a * num_classes, 3, padding=1) for c, a in zip(channels, anchors))
        self.regression_head = nn.Module()
        self.regression_head.module_list = nn.ModuleList(  # type: ignore[assignment]
            nn.Conv2d(c, a * 4, 3, padding=1) for c, a in zip(channels, anchors))

    @staticmethod
    def scores(convs: nn.Module, maps: list[torch.Tensor], columns: int) -> torch.Tensor:
        results = []
        for conv, features in zip(convs.module_list, maps):  # type: ignore[arg-type]
            out = conv(features)
            n, _, h, w = out.shape
            results.append(out.view(n, -1, columns, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, columns))
        return torch.cat(results, dim=1)

    def forward(self, maps: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"bbox_regression": self.scores(self.regression_head, maps, 4),
                "cls_logits": self.scores(self.classification_head, maps, self.num_classes)}


class SSD300(nn.Module):
    """SSD300's network without its pre- and post-processing: class logits and box offsets per anchor."""

    def __init__(self, backbone: nn.Module | None = None, head: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone if backbone is not None else SSDBackbone()
        self.head = head if head is not None else SSDHead()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = self.backbone(x)
        out = self.head(list(maps.values()) if isinstance(maps, dict) else maps)
        return out["cls_logits"], out["bbox_regression"]


def torchvision_ssd300() -> nn.Module:
    model = torchvision.models.detection.ssd300_vgg16(weights=None, weights_backbone=None)
    return SSD300(model.backbone, model.head)


class FCN8s(nn.Module):
    """FCN-8s on VGG16 (Long et al., CVPR 2015, Fig. 3) with the Caffe models' layer names, without
    the input padding of 100 and the crops (fc6 padded by 3 instead, as the spec): no torchvision
    model exists, so this reference is written from the paper."""

    def __init__(self, num_classes: int = 21) -> None:
        super().__init__()
        cin = 3
        for stage, (filters, count) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), 1):
            for index in range(1, count + 1):
                setattr(self, f"conv{stage}_{index}", nn.Conv2d(cin, filters, 3, padding=1))
                cin = filters
        self.fc6 = nn.Conv2d(512, 4096, 7, padding=3)
        self.fc7 = nn.Conv2d(4096, 4096, 1)
        self.score_fr = nn.Conv2d(4096, num_classes, 1)
        self.upscore2 = nn.ConvTranspose2d(num_classes, num_classes, 4, 2, 1, bias=False)
        self.score_pool4 = nn.Conv2d(512, num_classes, 1)
        self.upscore_pool4 = nn.ConvTranspose2d(num_classes, num_classes, 4, 2, 1, bias=False)
        self.score_pool3 = nn.Conv2d(256, num_classes, 1)
        self.upscore8 = nn.ConvTranspose2d(num_classes, num_classes, 16, 8, 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pools = []
        for stage, count in enumerate((2, 2, 3, 3, 3), 1):
            for index in range(1, count + 1):
                x = torch.relu(getattr(self, f"conv{stage}_{index}")(x))
            x = nn.functional.max_pool2d(x, 2, 2)
            pools.append(x)
        score = self.score_fr(torch.relu(self.fc7(torch.relu(self.fc6(x)))))  # dropout: none in eval mode
        score = self.upscore2(score) + self.score_pool4(pools[3])
        score = self.upscore_pool4(score) + self.score_pool3(pools[2])
        return self.upscore8(score)


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


def efficientnet_b0_name(key: str) -> str:
    """'s2_1.expand.conv.weight' -> 'features.2.0.block.0.0.weight' (the first row has no expansion)."""
    head, _, rest = key.partition(".")
    outer = {"conv0": "features.0", "conv_last": "features.8"}
    if head in outer:
        return f"{outer[head]}.{rest.replace('conv.', '0.').replace('bn.', '1.')}"
    if head == "fc":
        return f"classifier.1.{rest}"
    stage, unit = (int(n) for n in head[1:].split("_"))
    part, _, tensor = rest.partition(".")
    slots = ["expand", "dw", "se", "project"] if stage > 1 else ["dw", "se", "project"]
    if part != "se":
        tensor = tensor.replace("conv.", "0.").replace("bn.", "1.")
    return f"features.{stage}.{unit - 1}.block.{slots.index(part)}.{tensor}"


def convnext_tiny_name(key: str) -> str:
    """'stage3_2.pwconv1.weight' -> 'features.5.1.block.3.weight'; 'down3.conv' -> 'features.4.1'."""
    fixed = {"stem_conv": "features.0.0", "stem_norm": "features.0.1", "norm": "classifier.0", "fc": "classifier.2"}
    head, _, rest = key.partition(".")
    if head in fixed:
        return f"{fixed[head]}.{rest}"
    if head.startswith("down"):
        part, _, tensor = rest.partition(".")
        return f"features.{2 * int(head[4:]) - 2}.{'0' if part == 'norm' else '1'}.{tensor}"
    stage, unit = (int(n) for n in head[5:].split("_"))
    part, _, tensor = rest.partition(".")
    prefix = f"features.{2 * stage - 1}.{unit - 1}"
    if part == "gamma":
        return f"{prefix}.layer_scale"
    return f"{prefix}.block.{ {'dwconv': 0, 'norm': 2, 'pwconv1': 3, 'pwconv2': 5}[part] }.{tensor}"


def shufflenet_v2_name(key: str) -> str:
    """'stage3_1.branch2.dw.bn.weight' -> 'stage3.0.branch2.4.weight'."""
    head, _, rest = key.partition(".")
    if head in ("conv1", "conv5"):
        return f"{head}.{rest.replace('conv.', '0.').replace('bn.', '1.')}"
    if head == "fc":
        return key
    stage, unit = head.split("_")
    slots = {"branch1_dw.conv": "branch1.0", "branch1_dw.bn": "branch1.1", "branch1_pw.conv": "branch1.2",
             "branch1_pw.bn": "branch1.3", "branch2.pw1.conv": "branch2.0", "branch2.pw1.bn": "branch2.1",
             "branch2.dw.conv": "branch2.3", "branch2.dw.bn": "branch2.4", "branch2.pw2.conv": "branch2.5",
             "branch2.pw2.bn": "branch2.6"}
    module, _, tensor = rest.rpartition(".")
    return f"{stage}.{int(unit) - 1}.{slots[module]}.{tensor}"


def ssd300_name_map(keys: list[str]) -> dict[str, str]:
    """conv1_1 ... conv4_3 are backbone.features.N, conv5_x, fc6 and fc7 backbone.extra.0.N, conv8 ...
    conv11 backbone.extra.1-4, headI the heads' module_list.I-1."""
    vgg = vgg_name_map([key for key in keys if re.match(r"conv[1-4]_\d\.", key)])
    fixed = {"conv4_3_norm.weight": "backbone.scale_weight", "conv5_1": "backbone.extra.0.1",
             "conv5_2": "backbone.extra.0.3", "conv5_3": "backbone.extra.0.5", "fc6": "backbone.extra.0.7.1",
             "fc7": "backbone.extra.0.7.3"}
    mapping = {}
    for key in keys:
        head, _, rest = key.partition(".")
        if key in vgg:
            mapping[key] = "backbone." + vgg[key]
        elif key in fixed:
            mapping[key] = fixed[key]
        elif head in fixed:
            mapping[key] = f"{fixed[head]}.{rest}"
        elif match := re.fullmatch(r"conv(\d+)_([12])", head):
            mapping[key] = f"backbone.extra.{int(match[1]) - 7}.{0 if match[2] == '1' else 2}.{rest}"
        else:
            part, _, tensor = rest.partition(".")
            which = "classification_head" if part == "cls_conv" else "regression_head"
            mapping[key] = f"head.{which}.module_list.{int(head[4:]) - 1}.{tensor}"
    return mapping


def vit_b16_name(key: str) -> str:
    """'encoder_layer_3.mlp_fc2.weight' -> 'encoder.layers.encoder_layer_3.mlp.3.weight'."""
    fixed = {"class_token.weight": "class_token", "pos_embedding.weight": "encoder.pos_embedding"}
    if key in fixed:
        return fixed[key]
    head, _, rest = key.partition(".")
    if head == "ln":
        return f"encoder.ln.{rest}"
    if head == "head":
        return f"heads.head.{rest}"
    if head.startswith("encoder_layer_"):
        return f"encoder.layers.{head}.{rest.replace('mlp_fc1.', 'mlp.0.').replace('mlp_fc2.', 'mlp.3.')}"
    return key  # conv_proj


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
            mine_shape, their_shape = mine[key].shape, theirs[their_key].shape
            if mine_shape != their_shape:
                # the same tensor laid out another way: a 1x1 convolution's weight for an nn.Linear's
                # (out, in, 1, 1 for out, in), a class token without torchvision's batch axis
                assert [n for n in mine_shape if n != 1] == [n for n in their_shape if n != 1], (key, their_key)
            mine[key].copy_(theirs[their_key].reshape(mine_shape))


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
    "efficientnet-b0": (EfficientNetB0, torchvision_model("efficientnet_b0"), by_key(efficientnet_b0_name)),
    "convnext-tiny": (ConvNeXtTiny, torchvision_model("convnext_tiny"), by_key(convnext_tiny_name)),
    "shufflenet-v2": (ShuffleNetV2, torchvision_model("shufflenet_v2_x1_0"), by_key(shufflenet_v2_name)),
    "vit-b16": (ViTB16, torchvision_model("vit_b_16"), by_key(vit_b16_name)),
    "ssd300-vgg16": (SSD300, torchvision_ssd300, ssd300_name_map),
}
# written from the paper only (torchvision has no such model): the first tier alone
PAPER_CASES: dict[str, tuple[Callable[[], nn.Module], Callable[[list[str]], dict[str, str]]]] = {
    "fcn8s-vgg16": (FCN8s, by_key(lambda key: key)),  # the spec uses the Caffe models' names
}
INPUTS = {"ssd300-vgg16": (3, 300, 300)}


@pytest.mark.parametrize("spec", CASES)
def test_spec_matches_the_reference_written_from_torchvisions_layout(spec: str) -> None:
    written, _, mapping = CASES[spec]
    assert_same_outputs(spec, written(), mapping, INPUTS.get(spec, (3, 224, 224)))


@pytest.mark.parametrize("spec", PAPER_CASES)
def test_spec_matches_the_reference_written_from_the_paper(spec: str) -> None:
    written, mapping = PAPER_CASES[spec]
    assert_same_outputs(spec, written(), mapping)


@pytest.mark.torchvision
@needs_torchvision
@pytest.mark.parametrize("spec", CASES)
def test_spec_matches_torchvision(spec: str) -> None:
    _, model, mapping = CASES[spec]
    assert_same_outputs(spec, model(), mapping, INPUTS.get(spec, (3, 224, 224)))


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
    x = torch.randn(1, *INPUTS.get(spec, (3, 224, 224)), generator=torch.Generator().manual_seed(2))
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
