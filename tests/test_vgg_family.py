"""The VGG family against the paper, torchvision and hand arithmetic."""

from __future__ import annotations

import pytest

import archviz

# Params as torchvision publishes them; MACs as torchvision's "GFLOPS" (derived exactly, see
# ../shared/reference and docs/conventions.md).
EXACT = {
    "vgg11": (132_863_336, 7_609_090_048, 133),
    "vgg11-lrn": (132_863_336, 7_609_090_048, 133),
    "vgg13": (133_047_848, 11_308_466_176, 133),
    "vgg16-c": (133_638_952, 11_770_888_192, 134),
    "vgg16": (138_357_544, 15_470_264_320, 138),
    "vgg19": (143_667_240, 19_632_062_464, 144),
}
BN = {"vgg11-bn": 132_868_840, "vgg13-bn": 133_053_736, "vgg16-bn": 138_365_992, "vgg19-bn": 143_678_248}

# The paper's Table 1, convolution stages as (filters, kernel) per layer.
TABLE1 = {
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "vgg13": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    "vgg16": [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3],
    "vgg19": [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4],
}


def hand_count(stages: list[list[int]], height: int, width: int, classes: int = 1000) -> tuple[int, int]:
    """Params and MACs by the textbook formulas, written out independently of archviz."""
    params = macs = 0
    channels = 3
    for stage in stages:
        for filters in stage:
            params += 3 * 3 * channels * filters + filters
            macs += height * width * 3 * 3 * channels * filters
            channels = filters
        height, width = height // 2, width // 2
    features = channels * height * width
    for units in (4096, 4096, classes):
        params += features * units + units
        macs += features * units
        features = units
    return params, macs


@pytest.mark.parametrize("name", EXACT)
def test_exact_totals_and_table2(name: str) -> None:
    params, macs, millions = EXACT[name]
    totals = archviz.load(name).analyze().totals
    assert totals.params == params
    assert totals.macs == macs
    assert totals.flops == 2 * macs
    assert round(totals.params / 1e6) == millions


@pytest.mark.parametrize("name", BN)
def test_batch_norm_variants(name: str) -> None:
    analysis = archviz.load(name).analyze()
    plain = archviz.load(name.removesuffix("-bn")).analyze()
    assert analysis.totals.params == BN[name]
    convs = [r for r in analysis.layers if r.op == "conv2d"]
    filters = sum(r.output_shape[0] for r in convs)
    # gamma and beta per channel are params; running mean/var and the batch counter are buffers
    assert analysis.totals.params - plain.totals.params == 2 * filters
    assert analysis.totals.buffers == 2 * filters + len(convs)
    assert analysis.totals.macs == plain.totals.macs
    order = [r.op for r in analysis.layers[:3]]
    assert order == ["conv2d", "batch_norm", "relu"]  # torchvision's layout


@pytest.mark.parametrize("name", TABLE1)
@pytest.mark.parametrize("size", [(224, 224), (227, 227), (97, 131), (32, 32), (64, 200)])
def test_other_input_sizes_match_hand_arithmetic(name: str, size: tuple[int, int]) -> None:
    params, macs = hand_count(TABLE1[name], *size)
    totals = archviz.load(name).analyze((3, *size)).totals
    assert (totals.params, totals.macs) == (params, macs)


def test_flatten_size_follows_the_input() -> None:
    analysis = archviz.load("vgg16").analyze((3, 97, 131))
    assert analysis.layer("pool5").output_shape == (512, 3, 4)  # 97->48->24->12->6->3, 131->65->32->16->8->4
    assert analysis.layer("fc6").params == 512 * 3 * 4 * 4096 + 4096
    assert analysis.totals.params == 60_762_920


def test_vgg16_per_layer_values_by_hand() -> None:
    a = archviz.load("vgg16").analyze()
    assert a.layer("conv1_1").params == 3 * 3 * 3 * 64 + 64 == 1_792
    assert a.layer("conv1_1").macs == 224 * 224 * 3 * 3 * 3 * 64 == 86_704_128
    assert a.layer("conv1_2").params == 3 * 3 * 64 * 64 + 64 == 36_928
    assert a.layer("conv3_1").output_shape == (256, 56, 56)
    assert a.layer("conv5_3").macs == 14 * 14 * 3 * 3 * 512 * 512 == 462_422_016
    assert a.layer("pool5").output_shape == (512, 7, 7)
    assert a.layer("flatten").output_shape == (25_088,)
    assert a.layer("fc6").params == 25_088 * 4096 + 4096 == 102_764_544
    assert a.layer("fc7").params == 4096 * 4096 + 4096 == 16_781_312
    assert a.layer("fc8").params == 4096 * 1000 + 1000 == 4_097_000
    assert a.layer("fc8").bias_adds == 1000
    assert a.layer("relu1_1").elementwise_ops == 64 * 224 * 224
    assert a.layer("pool1").elementwise_ops == 64 * 112 * 112 * 4
    assert a.layer("prob").output_shape == (1000,)


def test_seed_blog_fc_arithmetic_is_off_by_the_wrong_bias() -> None:
    """The blog adds 4096 biases to the 1000-way layer: 4,100,096 instead of 4,097,000."""
    a = archviz.load("vgg16").analyze()
    fc = [a.layer(n).params for n in ("fc6", "fc7", "fc8")]
    assert fc == [102_764_544, 16_781_312, 4_097_000]
    assert sum(fc) == 123_642_856
    blog_last, blog_total = 4096 * 1000 + 4096, 123_645_952
    assert blog_last - fc[2] == 3_096 == blog_total - sum(fc)


def test_rows_sum_to_totals_for_every_spec(spec_name: str) -> None:
    a = archviz.load(spec_name).analyze(batch=2)
    t = a.totals
    for field in ("params", "buffers", "macs", "flops", "bias_adds", "elementwise_ops"):
        assert sum(getattr(r, field) for r in a.layers) == getattr(t, field), field
    assert sum(r.output_elements for r in a.layers) == t.activation_elements
    assert sum(sum(s[field] for _, s in a.stage_totals()) for field in ("params",)) == t.params


def test_batch_scales_work_not_weights() -> None:
    one = archviz.load("vgg16").analyze(batch=1).totals
    many = archviz.load("vgg16").analyze(batch=8).totals
    assert many.params == one.params
    assert many.macs == 8 * one.macs
    assert many.activation_bytes == 8 * one.activation_bytes


def test_receptive_fields_match_tensorflow_table() -> None:
    """TensorFlow receptive_field library, vgg_16: field / effective stride / effective padding."""
    a = archviz.load("vgg16").analyze()
    table = {"conv1_1": (3, 1, 1), "pool1": (6, 2, 2), "pool4": (100, 16, 42), "pool5": (212, 32, 90)}
    for name, (field, stride, padding) in table.items():
        r = a.layer(name)
        assert r.receptive_field == (field, field)
        assert r.effective_stride == (stride, stride)
        assert r.effective_padding == (padding, padding)
    assert a.layer("fc6").receptive_field is None  # after flatten every output sees the whole image


@pytest.mark.parametrize("name,expected", [("vgg11", (150, 59)), ("vgg13", (156, 62)), ("vgg16-c", (156, 62)),
                                           ("vgg19", (268, 118))])
def test_pool5_receptive_field_of_other_configurations(name: str, expected: tuple[int, int]) -> None:
    r = archviz.load(name).analyze().layer("pool5")
    assert r.receptive_field is not None and r.effective_padding is not None
    assert (r.receptive_field[0], r.effective_padding[0]) == expected


def test_three_stacked_3x3_convs_see_7x7_with_fewer_params() -> None:
    """The paper's section 2.3 argument, computed: 3 x (3x3) = 7x7 field, 27C^2 vs 49C^2 weights."""
    a = archviz.load("vgg16").analyze()
    after, before = a.layer("conv3_3").receptive_field, a.layer("pool2").receptive_field
    assert after is not None and before is not None
    assert after[0] - before[0] == 6 * 4
    channels = 256
    assert 3 * (3 * 3 * channels * channels) < 7 * 7 * channels * channels


def test_keras_seed_models_match_keras_summary() -> None:
    """Keras' model.summary() of the seed notebook's code (see the notebook output)."""
    a = archviz.load("keras-seed-vgg16").analyze()
    keras = {"conv2d_1": ((64, 227, 227), 1_792), "conv2d_2": ((64, 227, 227), 36_928),
             "max_pooling": None, "conv2d_3": ((128, 113, 113), 73_856), "conv2d_4": ((128, 113, 113), 147_584),
             "conv2d_13": ((512, 14, 14), 2_359_808), "dense_1": ((4096,), 2_101_248),
             "dense_2": ((4096,), 16_781_312), "dense_3": ((1000,), 4_097_000)}
    for name, value in keras.items():
        if value is None:
            continue
        assert (a.layer(name).output_shape, a.layer(name).params) == value
    pools = [r.output_shape[1] for r in a.layers if r.op == "max_pool2d"]
    assert pools == [113, 56, 28, 14, 7]
    assert a.totals.params == 37_694_248
    assert archviz.load("keras-seed-vgg19").analyze().totals.params == 43_003_944


def test_dense_evaluation_is_fully_convolutional() -> None:
    network = archviz.load("vgg16-dense")
    a224 = network.analyze()
    assert a224.totals.params == 138_357_544
    assert a224.layer("fc8").output_shape == (1000, 1, 1)
    a384 = network.analyze((3, 384, 384))
    assert a384.totals.params == 138_357_544  # same weights at any size
    assert a384.layer("fc8").output_shape == (1000, 6, 6)  # a class score map, then averaged
    assert a384.totals.output_shape == (1000,)
    with pytest.raises(archviz.ShapeError, match="fc6"):
        network.analyze((3, 200, 200))


def test_cifar10_variant() -> None:
    a = archviz.load("vgg16-cifar10").analyze()
    assert a.input_shape == (3, 32, 32)
    assert a.layer("pool5").output_shape == (512, 1, 1)
    assert a.totals.params == 14_714_688 + (512 * 4096 + 4096) + 16_781_312 + (4096 * 10 + 10)


def test_variables_override_width_and_classes() -> None:
    half = archviz.load("vgg16", width=0.5, num_classes=10).analyze()
    assert half.layer("conv1_1").output_shape == (32, 224, 224)
    assert half.totals.output_shape == (10,)
    with pytest.raises(archviz.SpecError, match="whole number"):
        archviz.load("vgg16", width=0.3)
