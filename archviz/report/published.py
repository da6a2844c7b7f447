"""Published reference values the reports compare archviz with. Each is cited; none is computed.

These are the only hand-typed numbers in the reports. archviz never uses them to compute
anything: the reports set them beside the analysis and say whether they agree.
"""

from __future__ import annotations

from archviz.published import CONFIG_LETTER  # noqa: F401 (the reports' name for it; one table in the package)

PAPER = ('K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", '
         "ICLR 2015, arXiv:1409.1556")

# The paper's Table 2: number of parameters, in millions.
TABLE2_MILLIONS = {"vgg11": 133, "vgg11-lrn": 133, "vgg13": 133, "vgg16-c": 134, "vgg16": 138, "vgg19": 144}

TORCHVISION = "torchvision.models documentation (weights tables: num_params, GFLOPS)"
# torchvision's published parameter counts (num_params) and "GFLOPS" (MACs, 2 decimals).
TORCHVISION_PARAMS = {
    "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240,
    "vgg11-bn": 132_868_840, "vgg13-bn": 133_053_736, "vgg16-bn": 138_365_992, "vgg19-bn": 143_678_248,
    "resnet18": 11_689_512,
}
TORCHVISION_GFLOPS = {"vgg11": 7.61, "vgg13": 11.31, "vgg16": 15.47, "vgg19": 19.63,
                      "vgg11-bn": 7.61, "vgg13-bn": 11.31, "vgg16-bn": 15.47, "vgg19-bn": 19.63, "resnet18": 1.81}

TF_RECEPTIVE_FIELD = ("TensorFlow receptive_field library, table for vgg_16 (Araujo, Norris and Sim, "
                      '"Computing Receptive Fields of Convolutional Neural Networks", Distill 2019)')
# field, effective stride, effective padding
TF_VGG16_FIELDS = {"conv1_1": (3, 1, 1), "pool1": (6, 2, 2), "pool4": (100, 16, 42), "pool5": (212, 32, 90)}
TF_VGG16_POOL5_GFLOPS = 30.713

PEERS = "each tool run on torchvision's vgg16 at 1x3x224x224 (measured; docs/conventions.md gives versions)"
# What each tool prints for torchvision's vgg16 (AdaptiveAvgPool2d, no soft-max).
PEER_VGG16 = {
    "macs": ("torchvision docs", 15_470_264_320),
    "fvcore": ("fvcore FlopCountAnalysis.total()", 15_470_289_408),
    "thop": ("thop profile", 15_470_314_496),
    "torchinfo": ("torchinfo total mult-adds", 15_483_821_032),
    "ptflops-aten": ("ptflops, aten backend", 15_483_821_032),
    "ptflops": ("ptflops, pytorch backend", 15_523_225_576),
    "flopcounter": ("torch FlopCounterMode", 30_940_528_640),
}

SEED = "the seed notebook VGGNet_Model.ipynb and the blog post it quotes (five-powerful-cnn-architectures)"
BLOG_FC = {"fc6": 102_764_544, "fc7": 16_781_312, "fc8": 4_100_096}
BLOG_FC_TOTAL = 123_645_952
BLOG_TOTAL_MILLIONS = 138
KERAS_SEED_PARAMS = {"keras-seed-vgg16": 37_694_248, "keras-seed-vgg19": 43_003_944}  # Keras model.summary()

CS231N = "CS231n course notes, 'Convolutional Neural Networks: Architectures', VGGNet walk-through"
CS231N_TOTAL_MEMORY = "24M * 4 bytes ~= 93MB / image (only forward! ~*2 for bwd)"
CS231N_TOTAL_PARAMS = "138M parameters"
