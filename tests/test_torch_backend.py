"""The PyTorch backend: build, verify (meta and CPU), semantic gaps, export. Needs torch."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import archviz
import archviz.torch as backend
from archviz.backends.pytorch.build import module_paths
from archviz.backends.pytorch.records import Status
from archviz.ops.base import Cost
from archviz.ops.conv import Conv2d

ROOT = Path(__file__).resolve().parent.parent
# spec_name is parametrised over specs/*.yaml by conftest.py.
# A second input size per spec (besides its default); CPU runs use small ones to stay fast.
# SSD300's extra layers need about 300 x 300 to keep every feature map (10, 5, 3, 1 at 300)
SECOND = {"vgg16-cifar10": (3, 40, 40), "inception-block": (192, 32, 32), "ssd300-vgg16": (3, 512, 512)}
SMALL_CPU = {"vgg16-dense": None, "vgg16-cifar10": None, "inception-block": (192, 16, 16), "ssd300-vgg16": None}

# Every op of the language, with the awkward cases: TF 'same' with stride 2 (asymmetric), explicit
# asymmetric padding, dilation, groups, ceil_mode windows that start in explicit padding (cropped),
# fused activations, BN on flat input, flatten of a flat input, add of three, concat.
ZOO = """
archviz: 1
name: zoo
description: every op once
input: [3, 32, 32]
layers:
  - conv2d: {name: same_s2, filters: 8, kernel: 3, stride: 2, padding: same, activation: relu}
  - conv2d: {name: dil, filters: 8, kernel: 3, dilation: 2, padding: 2, groups: 2, activation: leaky_relu}
  - conv2d: {name: asym, filters: 8, kernel: [3, 2], padding: [[1, 0], [0, 1]], bias: false, activation: gelu}
  - batch_norm: {name: bn}
  - lrn: {name: lrn, size: 3}
  - max_pool2d: {name: mp_same, kernel: 3, stride: 2, padding: same}
  - avg_pool2d: {name: ap_same, inputs: asym, kernel: 2, stride: 2, padding: same}
  - max_pool2d: {name: mp_ceil, inputs: bn, kernel: 2, stride: 2, ceil_mode: true}
  - avg_pool2d: {name: ap_ceil, inputs: bn, kernel: 3, stride: 2, padding: 1, ceil_mode: true}
  - concat: {name: cat, inputs: [mp_same, ap_same, mp_ceil]}
  - relu6: {name: r6}
  - elu: {name: elu, alpha: 0.5}
  - silu: {name: silu}
  - sigmoid: {name: sig}
  - tanh: {name: tanh}
  - identity: {name: ident}
  - dropout: {name: drop, rate: 0.2}
  - global_max_pool2d: {name: gmax}
  - add: {name: sum, inputs: [mp_same, ap_same]}
  - global_avg_pool2d: {name: gavg}
  - dense: {name: proj, units: 24, activation: sigmoid}
  - conv2d: {name: to4, inputs: input, filters: 4, kernel: 8, stride: 8, activation: tanh}
  - max_pool2d: {name: mp_crop, kernel: 2, stride: 2, padding: [[0, 1], [0, 1]], ceil_mode: true}
  - avg_pool2d: {name: ap_crop, inputs: to4, kernel: 2, stride: 2, padding: [[0, 1], [0, 1]], ceil_mode: true}
  - concat: {name: crops, inputs: [mp_crop, ap_crop]}
  - adaptive_avg_pool2d: {name: adapt, output_size: [1, 1]}
  - flatten: {name: flat}
  - dense: {name: crop_proj, units: 24, activation: elu}
  - add: {name: merge, inputs: [gmax, proj, crop_proj]}
  - batch_norm: {name: bn1d, eps: 0.001, momentum: 0.01}
  - flatten: {name: flat_again}
  - relu: {name: relu}
  - gelu: {name: gelu}
  - leaky_relu: {name: leaky, slope: 0.1}
  - dense: {name: out, units: 10, activation: softmax}
  - softmax: {name: prob}
"""


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> archviz.Network:
    path = tmp_path_factory.mktemp("zoo") / "zoo.yaml"
    path.write_text(ZOO, encoding="utf-8")
    return archviz.load(path)


def test_importing_archviz_does_not_import_torch() -> None:
    import subprocess

    code = "import sys, archviz, archviz.torch, archviz.cli.main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_every_spec_verifies_on_meta_at_two_sizes(spec_name: str) -> None:
    network = archviz.load(spec_name)
    second = SECOND.get(spec_name, (network.input_shape[0], 256, 256))
    for shape in (None, second):
        result = backend.verify(network, shape, batch=2, device="meta")
        assert result.ok, result.mismatches()
        assert result.counts()["ok"] > 0


def test_every_spec_verifies_on_cpu(spec_name: str) -> None:
    network = archviz.load(spec_name)
    shape = SMALL_CPU.get(spec_name, (network.input_shape[0], 32, 32))
    result = backend.verify(network, shape, device="cpu")
    assert result.ok, result.mismatches()


@pytest.mark.skipif(not os.environ.get("ARCHVIZ_SLOW"), reason="full CPU run at default inputs: ARCHVIZ_SLOW=1")
def test_every_spec_verifies_on_cpu_at_default_and_second_input(spec_name: str) -> None:
    network = archviz.load(spec_name)
    for shape in (None, SECOND.get(spec_name, (network.input_shape[0], 256, 256))):
        assert backend.verify(network, shape, device="cpu").ok


def test_vgg16_on_cpu_at_224() -> None:
    result = backend.verify(archviz.load("vgg16"), device="cpu")
    assert result.ok
    assert result.totals[1].measured == 138_357_544


def test_zoo_verifies_on_meta_and_cpu(zoo: archviz.Network) -> None:
    for device, shape in (("meta", None), ("meta", (3, 45, 37)), ("cpu", None), ("cpu", (3, 27, 30))):
        result = backend.verify(zoo, shape, batch=3, device=device)
        assert result.ok, (device, shape, result.mismatches())


def test_flops_checked_only_where_flop_counter_counts(zoo: archviz.Network) -> None:
    result = backend.verify(zoo, device="meta")
    by_name = {layer.name: layer for layer in result.layers}
    assert by_name["same_s2"].check("flops").status is Status.ok
    assert by_name["same_s2"].check("flops").measured > 0
    assert by_name["out"].check("flops").status is Status.ok
    for name in ("lrn", "bn", "mp_same", "ap_same", "relu", "sum", "cat", "prob", "gavg"):
        check = by_name[name].check("flops")
        assert check.status is Status.not_checked, name
        assert check.measured is None
    assert result.totals[3].status is Status.ok


def test_meta_verify_of_vgg16_is_fast() -> None:
    import time

    network = archviz.load("vgg16")
    backend.verify(network, device="meta")  # torch's own lazy imports happen on first use
    started = time.perf_counter()
    assert backend.verify(network, device="meta").ok
    assert time.perf_counter() - started < 1.0


def test_a_wrong_analysis_fails_and_names_the_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Conv2d.cost

    def without_bias(self, inputs, output, batch):  # type: ignore[no-untyped-def]
        cost = original(self, inputs, output, batch)
        return Cost(params=cost.params - (self.filters if self.bias else 0), buffers=cost.buffers, macs=cost.macs,
                    bias_adds=cost.bias_adds, elementwise_ops=cost.elementwise_ops)

    monkeypatch.setattr(Conv2d, "cost", without_bias)
    result = backend.verify(archviz.load("vgg11"), device="meta")
    assert not result.ok
    wrong = {(layer, check.quantity) for layer, check in result.mismatches()}
    assert ("conv1_1", "params") in wrong
    assert ("total", "params") in wrong
    assert all(quantity == "params" for _, quantity in wrong)


def test_build_names_modules_after_the_spec() -> None:
    model = backend.build(archviz.load("resnet18"), (3, 64, 64), device="meta")
    names = dict(model.named_modules())
    assert "layer1_1.conv1" in names
    assert isinstance(names["layer1_1.conv1"], torch.nn.Conv2d)
    assert "layer1_1.conv1.weight" in model.state_dict()
    assert model.module_names["layer1_1.conv1"] == "layer1_1.conv1"
    assert sum(p.numel() for p in model.parameters()) == 11_689_512
    assert model(torch.empty(2, 3, 64, 64, device="meta")).shape == (2, 1000)


def test_module_paths_avoid_clashes() -> None:
    paths = module_paths(["a", "a.b", "eval", "x.training", "c.d"])
    assert paths == {"a": "a", "a.b": "a_b", "eval": "eval_", "x.training": "x_training", "c.d": "c_d"}
    assert module_paths(["b1.conv", "b1.relu", "forward"]) == {"b1.conv": "b1.conv", "b1.relu": "b1.relu",
                                                                "forward": "forward_"}


def test_lrn_alpha_is_the_papers(write_spec) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec("archviz: 1\nname: n\ninput: [7, 3, 4]\nlayers:\n"
                      "  - lrn: {name: norm, size: 5, alpha: 0.01, beta: 0.75, k: 2}\n")
    model = backend.build(archviz.load(spec), device="cpu")
    x = torch.randn(2, 7, 3, 4, dtype=torch.float64)
    got = model.double()(x)
    squares = x**2
    expected = torch.empty_like(x)
    for c in range(7):
        window = squares[:, max(0, c - 2): min(7, c + 3)].sum(dim=1)
        expected[:, c] = x[:, c] / (2 + 0.01 * window) ** 0.75
    torch.testing.assert_close(got, expected)
    assert model.layer_modules()["norm"].alpha == pytest.approx(0.05)


def test_same_padding_with_stride_two_pads_like_tensorflow(write_spec) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec("archviz: 1\nname: n\ninput: [3, 32, 31]\nlayers:\n"
                      "  - conv2d: {name: conv, filters: 4, kernel: 3, stride: 2, padding: same}\n")
    network = archviz.load(spec)
    model = backend.build(network, device="cpu")
    x = torch.randn(2, 3, 32, 31)
    got = model(x)
    assert tuple(got.shape[1:]) == network.analyze().totals.output_shape == (4, 16, 16)
    conv = model.layer_modules()["conv"]
    assert isinstance(conv, torch.nn.Conv2d)
    # TF: total padding 1 along height (odd pixel after), 2 along width (1 before, 1 after).
    manual = F.conv2d(F.pad(x, (1, 1, 0, 1)), conv.weight, conv.bias, stride=2)
    torch.testing.assert_close(got, manual)


def test_asymmetric_pooling_pads_with_minus_infinity_and_excludes_padding(write_spec) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec("archviz: 1\nname: n\ninput: [2, 5, 5]\nlayers:\n"
                      "  - max_pool2d: {name: mp, kernel: 2, stride: 2, padding: same}\n"
                      "  - avg_pool2d: {name: ap, inputs: input, kernel: 2, stride: 2, padding: same}\n"
                      "  - add: {name: sum, inputs: [mp, ap]}\n")
    model = backend.build(archviz.load(spec), device="cpu")
    negative = -torch.rand(1, 2, 5, 5) - 1
    layers = model.layer_modules()
    max_out = layers["mp"](negative)
    assert max_out.shape == (1, 2, 3, 3)
    assert bool((max_out < 0).all())  # zero padding would have won the maximum at the edges
    ones = torch.ones(1, 2, 5, 5)
    torch.testing.assert_close(layers["ap"](ones), torch.ones(1, 2, 3, 3))  # padding is not averaged in


def test_export_runs_and_matches_the_analysis(zoo: archviz.Network) -> None:
    for network, shape in ((archviz.load("vgg11-lrn"), (3, 32, 32)), (archviz.load("resnet18"), (3, 64, 64)),
                           (archviz.load("inception-block"), None), (zoo, None), (zoo, (3, 29, 34))):
        analysis = network.analyze(shape)
        source = backend.to_source(network, shape)
        namespace: dict[str, object] = {"__name__": "exported"}
        exec(compile(source, f"<{network.name}>", "exec"), namespace)  # noqa: S102  (runs the generated source)
        classes = [v for v in namespace.values() if isinstance(v, type) and issubclass(v, torch.nn.Module)
                   and v.__module__ == "exported" and v.__name__ != "PaddedAvgPool2d"]
        exported = classes[0]().eval()
        assert sum(p.numel() for p in exported.parameters()) == analysis.totals.params
        assert sum(b.numel() for b in exported.buffers()) == analysis.totals.buffers
        x = torch.randn(2, *analysis.input_shape)
        with torch.no_grad():
            y = exported(x)
        assert tuple(y.shape[1:]) == analysis.totals.output_shape
        # Same weights in the built module give the same outputs: both mean the same network.
        built = backend.build(network, shape, device="cpu")
        with torch.no_grad():
            for source_tensor, target in zip(built.state_dict().values(), exported.state_dict().values(),
                                             strict=True):
                target.copy_(source_tensor)
            torch.testing.assert_close(exported(x), built(x), rtol=1e-4, atol=1e-5)


def test_export_needs_no_torch_and_names_layers() -> None:
    source = backend.to_source(archviz.load("resnet18"), class_name="ResNet18")
    assert "class ResNet18(nn.Module):" in source
    assert "self.layer1_1_conv1 = nn.Conv2d(64, 64, 3, padding=1, bias=False)" in source
    assert "x = layer1_1_bn2 + x" in source
    lrn = backend.to_source(archviz.load("vgg11-lrn"))
    assert "nn.LocalResponseNorm(5, alpha=0.0005, beta=0.75, k=2.0)" in lrn


def test_benchmark_on_cpu_reports_every_layer() -> None:
    network = archviz.load("vgg11")
    result = backend.benchmark(network, (3, 32, 32), batch=2, device="cpu", warmup=1, iterations=2)
    assert result.seconds > 0 and result.images_per_second == pytest.approx(2 / result.seconds)
    assert [layer.name for layer in result.layers] == [layer.name for layer in network.layers]
    assert result.flops == network.analyze((3, 32, 32), 2).totals.flops
    assert result.peak is None and result.share_of_peak is None  # no known peak for a CPU
    given = backend.benchmark(network, (3, 32, 32), batch=1, device="cpu", warmup=0, iterations=1, peak_tflops=1.0)
    assert given.peak is not None and given.share_of_peak == pytest.approx(given.flops_per_second / 1e12)


def test_bf16_channels_last_benchmark_on_cpu() -> None:
    result = backend.benchmark("inception-block", (192, 8, 8), device="cpu", dtype="bf16", channels_last=True,
                               warmup=0, iterations=1)
    assert result.dtype == "bf16" and result.channels_last


def test_known_gpu_peaks() -> None:
    from archviz.backends.pytorch.peaks import find_peak

    assert find_peak("NVIDIA H200", "bf16").flops_per_second == pytest.approx(989.4e12)  # type: ignore[union-attr]
    assert find_peak("NVIDIA H100 80GB HBM3", "tf32").flops_per_second == pytest.approx(494.7e12)  # type: ignore[union-attr]
    assert find_peak("NVIDIA H100 PCIe", "bf16").flops_per_second == pytest.approx(756e12)  # type: ignore[union-attr]
    assert find_peak("NVIDIA A100-SXM4-80GB", "fp32").flops_per_second == pytest.approx(19.5e12)  # type: ignore[union-attr]
    assert find_peak("NVIDIA H200 NVL", "bf16").device == "NVIDIA H200 NVL"  # type: ignore[union-attr]
    assert find_peak("Intel(R) Xeon(R)", "fp32") is None


def test_export_escapes_spec_text_in_the_docstring(write_spec) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec("archviz: 1\nname: odd\ndescription: 'C:\\Nets\\new ''''''quoted'''''' \\N{x}'\n"
                      "input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 2, kernel: 3}\n")
    network = archviz.load(spec)
    source = backend.to_source(network)
    compile(source, "<odd>", "exec")  # a backslash or ''' from the spec must not break the file
    assert "C:\\\\Nets" in source


# The ops of issue 14 once each, in a chain where every one matters to the output.
OPS_ZOO = """
name: ops-zoo
input: [8, 6, 6]
layers:
  - split: {name: s, parts: 2}
  - conv2d: {filters: 4, kernel: 3, padding: 1}
  - concat: {inputs: [s.0, conv2d_1]}
  - channel_shuffle: {groups: 2}
  - parameter: {name: gamma, shape: [8, 1, 1], value: 0.5}
  - multiply: {inputs: [channel_shuffle_1, gamma]}
  - layer_norm: {axis: 0}
  - group_norm: {groups: 2}
  - instance_norm: {affine: true}
  - l2_norm
  - pad: {padding: [[1, 0], [2, 1]], mode: reflect}
  - slice: {axis: 1, start: 1, end: -1, step: 2}
  - conv_transpose2d: {filters: 8, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - upsample: {scale: 1.5, mode: bilinear}
  - hardswish
  - stochastic_depth: {rate: 0.1}
  - max_pool2d: {name: mp, kernel: 2}
  - max_unpool2d: {kernel: 2, inputs: [mp, stochastic_depth_1]}
  - flatten: {start: 1}
  - permute: {dims: [1, 0]}
  - reshape: {shape: [-1, 8]}
  - parameter: {name: cls, shape: [1, 8], init: normal}
  - concat: {inputs: [cls, reshape_1], axis: 0}
  - layer_norm
  - multi_head_attention: {heads: 2}
  - matmul: {inputs: [multi_head_attention_1, multi_head_attention_1], transpose_b: true}
  - dense: {units: 8}
  - select: {index: 0}
  - hardsigmoid
  - gelu: {approximate: tanh}
  - dense: {units: 4, activation: hardswish}
"""


def test_the_new_ops_verify_on_meta_and_cpu_and_export(tmp_path: Path) -> None:
    from archviz.backends.pytorch.source import class_name_for

    network = archviz.loads(OPS_ZOO)
    for device in ("meta", "cpu"):
        verification = backend.verify(network, batch=2, device=device)
        assert verification.ok, verification.mismatches()
    analysis = network.analyze()
    namespace: dict[str, object] = {"__name__": "exported"}
    exec(compile(backend.to_source(network), "<ops-zoo>", "exec"), namespace)  # noqa: S102  (the generated source)
    exported = namespace[class_name_for(network.name)]().eval()  # type: ignore[operator]
    assert sum(p.numel() for p in exported.parameters()) == analysis.totals.params
    built = backend.build(network, device="cpu")
    x = torch.randn(2, *analysis.input_shape)
    with torch.no_grad():
        for source_tensor, target in zip(built.state_dict().values(), exported.state_dict().values(), strict=True):
            target.copy_(source_tensor)
        torch.testing.assert_close(exported(x), built(x), rtol=1e-4, atol=1e-5)
