"""``archviz verify`` and ``archviz export``: exit codes 0/1/2, formats, clean errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archviz.cli.main import app

torch = pytest.importorskip("torch")

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_verify_defaults_to_vgg16_on_meta() -> None:
    result = invoke("verify")
    assert result.exit_code == 0, result.output
    assert "vgg16: archviz against PyTorch" in result.output
    assert "on meta" in result.output
    assert "✓ 138,357,544" in result.output
    assert "verified: every measured quantity agrees" in result.output


def test_verify_branching_spec_at_another_input() -> None:
    result = invoke("verify", "inception-block", "--input", "192x32x32", "--batch", "2")
    assert result.exit_code == 0, result.output
    assert "256x32x32" in result.output


def test_verify_json_is_plain_records() -> None:
    result = invoke("verify", "resnet18", "--input", "64", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    verification = data["verification"]
    assert verification["ok"] is True and data["benchmark"] is None
    first = verification["layers"][0]
    assert first["name"] == "conv1"
    assert {c["quantity"]: c["status"] for c in first["checks"]} == {
        "output_shape": "ok", "params": "ok", "buffers": "ok", "flops": "ok"}
    bn = verification["layers"][1]
    assert bn["checks"][3] == {"quantity": "flops", "expected": 0, "measured": None, "status": "not checked",
                               "note": "FlopCounterMode does not count this op"}


def test_verify_fails_with_exit_1_and_names_the_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    from archviz.ops.base import Cost
    from archviz.ops.conv import Conv2d

    original = Conv2d.cost

    def without_bias(self, inputs, output, batch):  # type: ignore[no-untyped-def]
        cost = original(self, inputs, output, batch)
        return Cost(params=cost.params - (self.filters if self.bias else 0), buffers=cost.buffers, macs=cost.macs,
                    bias_adds=cost.bias_adds, elementwise_ops=cost.elementwise_ops)

    monkeypatch.setattr(Conv2d, "cost", without_bias)
    result = invoke("verify", "vgg11", "--width", "200")
    assert result.exit_code == 1, result.output
    assert "NOT verified" in result.output
    assert "conv1_1: params archviz 1,728, PyTorch 1,792" in result.output
    assert "✗ 1,728 ≠ torch 1,792" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_clean_error() -> None:
    result = invoke("verify", "vgg11", "--device", "cuda")
    assert result.exit_code == 2
    assert "CUDA is not available" in result.output
    assert "Traceback" not in result.output


def test_benchmark_on_meta_is_a_clean_error() -> None:
    result = invoke("verify", "vgg11", "--benchmark")
    assert result.exit_code == 2
    assert "meta device computes nothing" in result.output


def test_channels_last_without_benchmark_is_a_clean_error() -> None:
    result = invoke("verify", "vgg11", "--device", "cpu", "--channels-last")
    assert result.exit_code == 2
    assert "--benchmark" in result.output


def test_bad_input_is_a_clean_error() -> None:
    result = invoke("verify", "vgg11", "--input", "3x8x8")
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output


def test_missing_torch_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    result = invoke("verify", "vgg11")
    assert result.exit_code == 2
    assert "pip install 'archviz[torch]'" in result.output
    import archviz.torch

    with pytest.raises(ImportError, match="needs torch"):  # callers may catch ImportError as usual
        archviz.torch.verify  # noqa: B018


def test_benchmark_on_cpu(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    result = invoke("verify", "inception-block", "--input", "192x8x8", "--device", "cpu", "--benchmark",
                    "--iterations", "2", "--warmup", "1", "--peak-tflops", "1", "--format", "markdown", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "## inception-block: measured speed" in text
    assert "images/s" in text and "given with --peak-tflops" in text
    assert "| `b2.conv` | conv2d |" in text


def test_export_prints_runnable_pytorch(tmp_path: Path) -> None:
    result = invoke("export", "vgg11", "--to", "pytorch", "--input", "32", "--class-name", "VGG11")
    assert result.exit_code == 0, result.output
    namespace: dict[str, object] = {"__name__": "exported"}
    exec(compile(result.output, "<export>", "exec"), namespace)  # noqa: S102  (running the generated source is the test)
    model = namespace["VGG11"]()  # type: ignore[operator]
    # VGG11 at 32x32: 9,220,480 conv weights and biases, fc6 512*4096+4096, fc7 4096*4096+4096, fc8 4096*1000+1000
    assert sum(p.numel() for p in model.parameters()) == 9_220_480 + 2_101_248 + 16_781_312 + 4_097_000
    out = tmp_path / "net.py"
    assert invoke("export", "resnet18", "-o", str(out)).exit_code == 0
    assert "class Resnet18(nn.Module):" in out.read_text(encoding="utf-8")


def test_export_rejects_a_bad_class_name() -> None:
    result = invoke("export", "vgg11", "--class-name", "not a name")
    assert result.exit_code == 2
    assert "identifier" in result.output


def test_help_lists_verify_and_export() -> None:
    result = invoke("--help")
    assert "verify" in result.output and "export" in result.output
