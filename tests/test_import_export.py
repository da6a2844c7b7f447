"""Models from PyTorch, ONNX and Keras read into specs; specs written to ONNX and Keras (issue 15).

The numbers compared come from outside archviz: ``sum(p.numel())`` of the PyTorch module,
Keras's own ``count_params()``, the ``onnx`` package's reading of the same file, and counts done
by hand for models built with ``onnx.helper``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import archviz
from archviz.backends.imported import UnsupportedOps
from archviz.errors import SpecError

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
SEED_CODE = ROOT / "tests" / "data" / "seed_notebook.py"  # the notebook's code cell, as it is written
SEED_FILES = [folder / "shared" / "seed" / "000_ccc2eb34d2444124.txt" for folder in ROOT.parents]


def keras_env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "KERAS_BACKEND": "torch", "KERAS_HOME": str(tmp / "keras-home"),
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.fixture(scope="module")
def keras_mod(tmp_path_factory: pytest.TempPathFactory) -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ.setdefault("KERAS_HOME", str(tmp_path_factory.mktemp("keras-home")))
    return pytest.importorskip("keras")


def totals(network: archviz.Network) -> tuple[Any, ...]:
    t = network.analyze().totals
    return (t.params, t.buffers, t.macs, t.flops, tuple(t.output_shape))


def weighted(network: archviz.Network) -> list[tuple[str, int, int]]:
    """(op, params, MACs) of every layer with parameters, in order: what a round trip keeps."""
    return [(r.op, r.params, r.macs) for r in network.analyze().layers if r.params or r.macs]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archviz.cli.main", *args], capture_output=True, text=True,
                          env=env or {**os.environ, "PYTHONPATH": str(ROOT)}, cwd=cwd, check=False)


# -- PyTorch modules the tests write themselves --------------------------------------------
class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: Any) -> Any:
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + x)


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.layer1 = nn.Sequential(Block(16), Block(16))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: Any) -> Any:
        return self.fc(torch.flatten(self.avgpool(self.layer1(self.conv1(x))), 1))


class Branches(nn.Module):
    """Depthwise and grouped convolutions, a concat, a functional view(size(0), -1)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pointwise = nn.Conv2d(8, 16, 1)
        self.side = nn.Conv2d(8, 4, 5, padding=2, dilation=1)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.head = nn.Linear(20 * 4 * 4, 7)

    def forward(self, x: Any) -> Any:
        x = torch.relu(self.stem(x))
        x = torch.cat([self.pointwise(self.depthwise(x)), self.side(x)], dim=1)
        x = self.pool(x)
        return self.head(x.view(x.size(0), -1))


def module_params(module: nn.Module) -> tuple[int, int]:
    return sum(p.numel() for p in module.parameters()), sum(b.numel() for b in module.buffers())


@pytest.mark.parametrize("factory", [Residual, Branches])
def test_from_torch_counts_what_pytorch_counts(factory: type[nn.Module]) -> None:
    module = factory().eval()
    shape = (3, 7, 7) if factory is Branches else (3, 32, 32)
    network = archviz.from_torch(module, shape)
    params, buffers = module_params(module)
    analysis = network.analyze()
    assert analysis.totals.params == params
    assert analysis.totals.buffers == buffers
    assert tuple(analysis.totals.output_shape) == tuple(module(torch.zeros(1, *shape)).shape[1:])


def test_from_torch_keeps_module_paths_and_folds_blocks() -> None:
    from archviz.backends.pytorch.reader import read_torch
    from archviz.spec.writer import write_spec

    model = read_torch(Residual(), (3, 32, 32))
    names = [layer.name for layer in model.layers]
    assert names[:4] == ["conv1", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu"]
    assert "layer1.0.add" in names and "layer1.1.add" in names
    text = write_spec(model)
    assert "stage: layer1" in text
    assert 'block_1: {name: "layer1.{i - 1}", repeat: 2}' in text  # both instances are one block, repeated
    layers = [r.name for r in archviz.loads(text).analyze().layers]
    assert layers == names


def test_torch_refusal_lists_every_unsupported_node() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.up = nn.PixelShuffle(2)

        def forward(self, x: Any) -> Any:
            return torch.cumsum(self.up(self.conv(x)), dim=1)

    with pytest.raises(UnsupportedOps) as caught:
        archviz.from_torch(Odd(), (3, 8, 8))
    text = caught.value.render()
    assert "PixelShuffle" in text and "cumsum" in text and "docs/import.md" in text
    assert len(caught.value.nodes) == 2


# -- ONNX ---------------------------------------------------------------------------------
def export_both(module: nn.Module, shape: tuple[int, ...], folder: Path) -> dict[str, Path]:
    x = torch.randn(1, *shape)
    paths = {"legacy": folder / "legacy.onnx", "legacy-train": folder / "legacy-train.onnx",
             "dynamo": folder / "dynamo.onnx"}
    torch.onnx.export(module.eval(), (x,), str(paths["legacy"]), dynamo=False)
    torch.onnx.export(module, (x,), str(paths["legacy-train"]), dynamo=False, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.TRAINING)
    module.eval()
    pytest.importorskip("onnxscript")
    torch.onnx.export(module, (x,), str(paths["dynamo"]), dynamo=True, verbose=False)
    return paths


@pytest.fixture(scope="module")
def residual_exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[nn.Module, dict[str, Path]]:
    torch.manual_seed(0)
    module = Residual()
    return module, export_both(module, (3, 32, 32), tmp_path_factory.mktemp("onnx"))


def test_proto_reader_agrees_with_the_onnx_package(residual_exports: tuple[nn.Module, dict[str, Path]]) -> None:
    from archviz.backends.onnx.proto import read_model

    for path in residual_exports[1].values():
        ours = read_model(path.read_bytes()).graph
        theirs = onnx.load(str(path), load_external_data=False).graph
        assert [(n.op_type, n.inputs, n.outputs) for n in ours.nodes] == \
               [(n.op_type, list(n.input), list(n.output)) for n in theirs.node]
        assert {t.name: list(t.dims) for t in ours.initializers} == {t.name: list(t.dims) for t in theirs.initializer}
        for ours_node, their_node in zip(ours.nodes, theirs.node, strict=True):
            for attribute in their_node.attribute:
                if attribute.type in (onnx.AttributeProto.TENSOR, onnx.AttributeProto.GRAPH):
                    assert list(ours_node.attributes[attribute.name].value().dims) == list(attribute.t.dims)
                    continue
                assert ours_node.attributes[attribute.name].value() == pytest.approx(
                    helper.get_attribute_value(attribute))


def test_onnx_exports_import_with_the_module_numbers(residual_exports: tuple[nn.Module, dict[str, Path]]) -> None:
    module, paths = residual_exports
    params, buffers = module_params(module)
    bn_params = sum(p.numel() for m in module.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())
    # folding a BatchNorm into a convolution without a bias gives it one: beta becomes the bias
    new_biases = sum(m.out_channels for m in module.modules() if isinstance(m, nn.Conv2d) and m.bias is None)
    kept = archviz.from_onnx(paths["legacy-train"]).analyze().totals
    assert (kept.params, kept.buffers) == (params, buffers)  # BatchNorm kept: every parameter is there
    for folded in ("legacy", "dynamo"):  # eval-mode export folds BatchNorm into the convolutions
        network = archviz.from_onnx(paths[folded])
        t = network.analyze().totals
        assert t.params == params - bn_params + new_biases
        assert t.buffers == 0
        assert not [r for r in network.analyze().layers if r.op == "batch_norm"]
    names = [r.name for r in archviz.from_onnx(paths["dynamo"]).analyze().layers]
    assert names[:2] == ["conv1", "layer1.0.conv1"]  # the dynamo exporter's names come from the weights
    assert "layer1.0.add" in [r.name for r in archviz.from_onnx(paths["legacy"]).analyze().layers]


def helper_model(nodes: list[Any], initializers: list[Any], shape: list[int], out: list[int]) -> Any:
    graph = helper.make_graph(nodes, "hand", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *shape])],
                              [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, [1, *out])],
                              initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def init(name: str, *shape: int) -> Any:
    import numpy as np

    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def test_onnx_helper_model_counted_by_hand(tmp_path: Path) -> None:
    import numpy as np

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c1", "g", "beta", "mean", "var"], ["n1"], name="bn", epsilon=1e-3),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p1"], ["g1"], name="gap"),
        helper.make_node("Reshape", ["g1", "shape"], ["f1"], name="reshape"),
        helper.make_node("MatMul", ["f1", "w2"], ["m1"], name="fc"),
        helper.make_node("Add", ["m1", "b2"], ["fc_out"], name="fc_bias"),
        helper.make_node("Sigmoid", ["fc_out"], ["s1"], name="gate"),
        helper.make_node("Mul", ["fc_out", "s1"], ["y"], name="silu"),
    ]
    inits = [init("w1", 8, 3, 3, 3), init("b1", 8), init("g", 8), init("beta", 8), init("mean", 8), init("var", 8),
             numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape"), init("w2", 8, 5), init("b2", 5)]
    path = tmp_path / "hand.onnx"
    onnx.save(helper_model(nodes, inits, [3, 16, 16], [5]), str(path))
    network = archviz.from_onnx(path)
    layers = network.analyze().layers
    assert [(r.name, r.op) for r in layers] == [("conv", "conv2d"), ("bn", "batch_norm"), ("relu", "relu"),
                                                ("pool", "max_pool2d"), ("gap", "global_avg_pool2d"),
                                                ("fc", "dense"), ("gate", "silu")]
    # conv 8*3*3*3 + 8 = 224; bn 2*8 = 16 (+ 17 buffers); fc 8*5 + 5 = 45 (MatMul + Add is one dense layer)
    assert [r.params for r in layers] == [224, 16, 0, 0, 0, 45, 0]
    assert layers[0].output_shape == (8, 8, 8) and layers[3].output_shape == (8, 4, 4)
    assert layers[0].macs == 8 * 8 * 8 * 27 and layers[5].macs == 40
    assert network.analyze().totals.output_shape == (5,)


def test_onnx_unsupported_nodes_are_listed_and_exit_2(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv"),
        helper.make_node("TopK", ["c1", "k"], ["t1", "i1"], name="pick", axis=1),
        helper.make_node("Einsum", ["t1", "t1"], ["y"], name="mix", equation="ncij,ncij->nc"),
    ]
    import numpy as np

    path = tmp_path / "odd.onnx"
    onnx.save(helper_model(nodes, [init("w1", 4, 3, 1, 1), numpy_helper.from_array(np.array([2], dtype=np.int64), "k")],
                           [3, 4, 4], [2]), str(path))
    with pytest.raises(UnsupportedOps) as caught:
        archviz.from_onnx(path)
    assert {(n.name, n.op_type) for n in caught.value.nodes} == {("pick", "TopK"), ("mix", "Einsum")}
    result = run_cli("summary", str(path))
    assert result.returncode == 2
    assert "TopK" in result.stderr and "Einsum" in result.stderr and "Traceback" not in result.stderr


def test_not_an_onnx_file_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")
    with pytest.raises(SpecError, match="junk.onnx"):
        archviz.from_onnx(path)
    result = run_cli("summary", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr


# -- spec -> framework -> import round trips -------------------------------------------------
ROUND_TRIP_SPECS = ["vgg11", "vgg11-lrn", "vgg16-c", "vgg16-bn", "vgg16-cifar10", "vgg16-dense", "resnet18",
                    "inception-block", "keras-seed-vgg16"]
SMALL_INPUT = {"vgg16-cifar10": None, "inception-block": None}


def small(name: str) -> tuple[archviz.Network, tuple[int, ...]]:
    network = archviz.load(name)
    shape = network.input_shape if name in SMALL_INPUT or len(network.input_shape) != 3 else (3, 64, 64)
    if name == "vgg16-dense":
        shape = network.input_shape
    return network, tuple(shape)


@pytest.mark.parametrize("name", ROUND_TRIP_SPECS)
def test_spec_to_onnx_and_back(name: str, tmp_path: Path) -> None:
    from archviz.backends.onnx.writer import onnx_bytes

    network, shape = small(name)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(onnx_bytes(network, network.analyze(shape)))
    onnx.checker.check_model(str(path))
    back = archviz.from_onnx(path)
    there = network.analyze(shape).totals
    again = back.analyze().totals
    assert (again.params, again.buffers, again.macs, again.output_shape) == \
           (there.params, there.buffers, there.macs, there.output_shape)


@pytest.mark.parametrize("name", ROUND_TRIP_SPECS)
def test_spec_to_pytorch_source_and_back(name: str) -> None:
    from archviz.backends.pytorch.source import to_source

    network, shape = small(name)
    namespace: dict[str, Any] = {}
    exec(compile(to_source(network, shape), name, "exec"), namespace)  # noqa: S102  (the exported module)
    module = next(value for value in namespace.values()
                  if isinstance(value, type) and issubclass(value, nn.Module) and value.__module__ == "builtins")()
    back = archviz.from_torch(module, shape)
    there = network.analyze(shape).totals
    assert totals(back)[:3] == (there.params, there.buffers, there.macs)
    assert weighted(back) == [(r.op, r.params, r.macs) for r in network.analyze(shape).layers if r.params or r.macs]
    assert (back.analyze().totals.params, back.analyze().totals.buffers) == module_params(module)


@pytest.mark.parametrize("name", [n for n in ROUND_TRIP_SPECS if n != "vgg11-lrn"])
def test_spec_to_keras_and_back(name: str, keras_mod: Any) -> None:
    from archviz.backends.keras.verify import build

    network, shape = small(name)
    model, _ = build(network, shape)
    back = archviz.from_keras(model)
    there = network.analyze(shape).totals
    again = back.analyze().totals
    assert (again.params, again.macs, again.output_shape) == (there.params, there.macs, there.output_shape)
    assert model.count_params() == there.params + sum(2 * r.output_shape[0] for r in network.analyze(shape).layers
                                                      if r.op == "batch_norm")


def test_keras_has_no_lrn_and_says_so() -> None:
    from archviz.backends.keras.writer import to_keras_source
    from archviz.backends.pytorch.options import BackendError

    network = archviz.load("vgg11-lrn")
    with pytest.raises(BackendError, match="lrn"):
        to_keras_source(network, network.analyze())


# -- Keras models the tests build, and the seed notebook's own code ----------------------------
def test_keras_sequential_and_functional(keras_mod: Any, tmp_path: Path) -> None:
    keras = keras_mod
    from keras import layers

    sequential = keras.Sequential([
        keras.Input((20, 20, 3)),
        layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        layers.DepthwiseConv2D(3, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.2),
        layers.Dense(4, activation="softmax"),
    ])
    inputs = keras.Input((16, 16, 3))
    a = layers.Conv2D(6, 1, name="block1_a")(inputs)
    b = layers.Conv2D(6, 3, padding="same", name="block1_b")(inputs)
    merged = layers.Add(name="block1_add")([a, b])
    side = layers.Conv2D(2, 1, name="block2_side")(merged)
    joined = layers.Concatenate(name="block2_cat")([merged, side])
    out = layers.Dense(3)(layers.Flatten()(layers.MaxPooling2D()(joined)))
    functional = keras.Model(inputs, out)
    for model in (sequential, functional):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        from_file = archviz.from_keras(path)
        trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
        moving = sum(math.prod(w.shape) for w in model.non_trainable_weights)
        assert from_file.analyze().totals.params == trainable
        assert from_file.analyze().totals.buffers == moving + sum(
            1 for layer in model.layers if type(layer).__name__ == "BatchNormalization")
        import numpy as np

        produced = model(np.zeros((1, *model.inputs[0].shape[1:]), dtype="float32"))
        assert tuple(from_file.analyze().totals.output_shape) == tuple(produced.shape[1:])
        assert totals(archviz.from_keras(model)) == totals(from_file)
    stages = {r.stage for r in archviz.from_keras(functional).analyze().layers}
    assert {"block1", "block2"} <= stages  # keras.applications-style name prefixes become stages


@pytest.fixture(scope="module")
def seed_models(tmp_path_factory: pytest.TempPathFactory, keras_mod: Any) -> dict[str, Path]:
    """The seed notebook's vgg16() and vgg19(), run as its code is written, saved as .keras."""
    code = SEED_CODE.read_text(encoding="utf-8")
    folder = tmp_path_factory.mktemp("seed")
    namespace: dict[str, Any] = {}
    exec(compile(code, str(SEED_CODE), "exec"), namespace)  # noqa: S102  (the notebook's own code)
    paths = {}
    for name in ("vgg16", "vgg19"):
        model = namespace[name]()
        paths[name] = folder / f"seed-{name}.keras"
        model.save(paths[name])
        paths[f"{name}-params"] = model.count_params()  # type: ignore[assignment]
    return paths


def test_seed_code_is_the_notebooks() -> None:
    seeds = [path for path in SEED_FILES if path.exists()]
    if not seeds:
        pytest.skip("the seed notebook (../shared/seed) is not beside this checkout")
    text = seeds[0].read_text(encoding="utf-8")
    cell = text[text.index("from keras import layers"):text.index("if __name__ == '__main__':")]
    copied = SEED_CODE.read_text(encoding="utf-8")
    assert cell.strip() in copied


def test_seed_notebook_models_equal_the_keras_seed_specs(seed_models: dict[str, Any]) -> None:
    assert seed_models["vgg16-params"] == 37_694_248 and seed_models["vgg19-params"] == 43_003_944
    for name, spec, variables in (("vgg16", "keras-seed-vgg16", {}), ("vgg19", "keras-seed-vgg16",
                                                                      {"convs_per_stage_4": 4})):
        imported = archviz.from_keras(seed_models[name]).analyze()
        written = archviz.load(spec, **variables).analyze()
        assert imported.totals.params == seed_models[f"{name}-params"]
        rows = [(r.op, r.output_shape, r.params, r.macs, r.receptive_field) for r in imported.layers]
        assert rows == [(r.op, r.output_shape, r.params, r.macs, r.receptive_field) for r in written.layers]


def test_seed_cli_summary_and_keras_round_trip(seed_models: dict[str, Any], tmp_path: Path, keras_mod: Any) -> None:
    result = run_cli("summary", str(seed_models["vgg16"]), "--format", "json", env=keras_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert '"params": 37694248' in result.stdout
    # the notebook's model, imported, exported to Keras again: the same layers, the same weights' shapes
    original = keras_mod.saving.load_model(seed_models["vgg16"])
    from archviz.backends.keras.verify import build

    rebuilt, _ = build(archviz.from_keras(seed_models["vgg16"]))
    assert rebuilt.count_params() == original.count_params()
    assert [(type(a).__name__, tuple(a.output.shape)) for a in original.layers[1:]] == \
           [(type(b).__name__, tuple(b.output.shape)) for b in rebuilt.layers[1:]]
    assert [[tuple(w.shape) for w in a.weights] for a in original.layers] == \
           [[tuple(w.shape) for w in b.weights] for b in rebuilt.layers]


def test_verify_backends_pass_and_exit_codes(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("keras")
    env = keras_env(tmp_path)
    for args in (["keras-seed-vgg16", "--backend", "keras"], ["resnet18", "--backend", "onnxruntime", "--input", "64"],
                 ["inception-block", "--backend", "keras"]):
        result = run_cli("verify", *args, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "every measured quantity agrees" in result.stdout
        assert "0 differ" in result.stdout
    refused = run_cli("verify", "vgg11-lrn", "--backend", "keras", env=env)
    assert refused.returncode == 2 and "lrn" in refused.stderr


def test_keras_file_is_read_without_keras(seed_models: dict[str, Any], tmp_path: Path) -> None:
    """The reader opens config.json only: with keras hidden, the summary still works."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\nclass _Block:\n    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('keras', 'onnx', 'torch'):\n"
        "            raise ImportError('hidden ' + name)\n        return None\nsys.meta_path.insert(0, _Block())\n")
    env = {**os.environ, "PYTHONPATH": f"{hide}{os.pathsep}{ROOT}"}
    result = run_cli("summary", str(seed_models["vgg16"]), "--format", "csv", env=env)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(seed_models["vgg16"]) as archive:
        assert "config.json" in archive.namelist()


def test_cli_import_writes_a_spec_that_loads(residual_exports: tuple[nn.Module, dict[str, Path]], tmp_path: Path) -> None:
    out = tmp_path / "residual.yaml"
    result = run_cli("import", str(residual_exports[1]["legacy-train"]), "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.startswith("# Imported by `archviz import` from ONNX")
    params, _ = module_params(residual_exports[0])
    assert archviz.load(out).analyze().totals.params == params
    module_file = tmp_path / "net.py"
    module_file.write_text("from torch import nn\n\ndef Net():\n    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(),"
                           " nn.Flatten(), nn.Linear(4 * 6 * 6, 2))\n")
    result = run_cli("import", f"{module_file}:Net", "--input", "3x8x8")
    assert result.returncode == 0, result.stderr
    assert archviz.loads(result.stdout).analyze().totals.params == 4 * 27 + 4 + 144 * 2 + 2
    missing_input = run_cli("import", f"{module_file}:Net")
    assert missing_input.returncode == 2 and "--input" in missing_input.stderr
    nothing = run_cli("import", "no/such/file.py:Net")
    assert nothing.returncode == 2 and "Traceback" not in nothing.stderr


def test_export_onnx_cli_passes_checker_and_runs(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    out = tmp_path / "r.onnx"
    result = run_cli("export", "resnet18", "--to", "onnx", "--input", "3x64x64", "--out", str(out))
    assert result.returncode == 0, result.stderr
    onnx.checker.check_model(str(out))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"input": np.zeros((2, 3, 64, 64), dtype=np.float32)})
    assert y.shape == (2, 1000)
    assert run_cli("export", "resnet18", "--to", "onnx").returncode == 2  # binary: --out is required


# -- the ops of the networks people use, through both readers ------------------------------------
class TinyViT(nn.Module):
    """Patches, a class token, a positional embedding, pre-norm attention and MLP, the class token out."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, dim, 4, stride=4)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, 17, dim))
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.head = nn.Linear(dim, 5)

    def forward(self, x: Any) -> Any:
        n = x.shape[0]
        x = self.conv_proj(x).reshape(n, 32, 16).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1) + self.pos_embedding
        y = self.ln_1(x)
        y, _ = self.attention(y, y, y, need_weights=False)
        x = x + y
        x = x + self.mlp(self.ln_2(x))
        return self.head(x[:, 0])


def test_tiny_vit_from_module_counts_what_pytorch_counts() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    module = TinyViT().eval()
    network = archviz.from_torch(module, (3, 16, 16))
    analysis = network.analyze()
    assert analysis.totals.params == sum(p.numel() for p in module.parameters())
    ops = [r.op for r in analysis.layers]
    assert {"parameter", "multi_head_attention", "layer_norm", "permute", "reshape", "select", "concat"} <= set(ops)
    tokens, dim = 17, 32
    by_hand = (16 * dim * 3 * 4 * 4  # patches: 16 positions x 32 filters x 3x4x4
               + 4 * tokens * dim * dim + 2 * tokens * tokens * dim  # Q, K, V, out projections; QK^T and AV
               + 2 * tokens * dim * 2 * dim  # the MLP's two linears
               + dim * 5)  # the head on the class token
    assert analysis.totals.macs == by_hand
    counter = FlopCounterMode(display=False)
    with counter:  # FlopCounterMode sees every matmul but the attention's two inside SDPA on the CPU
        module(torch.zeros(1, 3, 16, 16))
    assert analysis.totals.flops - counter.get_total_flops() == 2 * 2 * tokens * tokens * dim


def test_onnx_of_token_ops_and_gelu_pattern(tmp_path: Path) -> None:
    class Tokens(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(8)
            self.fc = nn.Linear(8, 8)
            self.scale = nn.Parameter(torch.ones(8, 1, 1))
            self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)

        def forward(self, x: Any) -> Any:
            y = self.norm(x.reshape(1, 8, 36).permute(0, 2, 1))  # (N, 36 tokens, 8 features)
            y = torch.nn.functional.gelu(self.fc(y)).permute(0, 2, 1).reshape(1, 8, 6, 6)
            return self.up(x + self.scale * y)

    module = Tokens().eval()
    path = tmp_path / "tokens.onnx"
    torch.onnx.export(module, (torch.zeros(1, 8, 6, 6),), str(path), dynamo=False)
    ops = [layer.op.name for layer in archviz.from_onnx(path).layers]
    assert "gelu" in ops and "permute" in ops and "layer_norm" in ops and "conv_transpose2d" in ops
    assert "parameter" in ops and "multiply" in ops
    totals = archviz.from_onnx(path).analyze().totals
    assert totals.params == sum(p.numel() for p in module.parameters())
    assert totals.output_shape == (4, 12, 12)


def test_archviz_onnx_keeps_stages_and_blocks_fold_back(tmp_path: Path) -> None:
    """archviz's own ONNX export records each layer's stage; the import gives resnet18's stages back,
    and its two block shapes (with and without a downsampling shortcut) as two blocks."""
    from archviz.backends.onnx.reader import read_onnx
    from archviz.backends.onnx.writer import onnx_bytes
    from archviz.spec.writer import write_spec

    network = archviz.load("resnet18")
    path = tmp_path / "resnet18.onnx"
    path.write_bytes(onnx_bytes(network, network.analyze((3, 64, 64))))
    text = write_spec(read_onnx(path))
    assert [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("  - stage: ")] == \
           ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    assert '- block_1: {name: "layer1_{i}", filters: 64, repeat: 2}' in text
    assert "  block_2:" in text and "  block_3:" not in text
    again = archviz.loads(text).analyze()
    assert [(r.name, r.stage) for r in again.layers] == [(r.name, r.stage) for r in network.analyze((3, 64, 64)).layers]


# -- the newer built-ins through ONNX, and where a framework has no op for them -----------------
NEW_OP_SPECS = {"efficientnet-b0": None, "convnext-tiny": None, "shufflenet-v2": None, "ssd300-vgg16": None,
                "mobilenet-v2": None, "resnet50": (3, 64, 64), "decoder": None}
DECODER = """
name: decoder
input: [8, 10, 10]
layers:
  - conv_transpose2d: {name: up1, filters: 6, kernel: 4, stride: 2, padding: 1}
  - conv_transpose2d: {name: up2, filters: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}
  - conv2d: {name: skip, inputs: up1, filters: 4, kernel: 1, stride: 1}
outputs: [up2, skip]
"""


@pytest.mark.parametrize("name", sorted(NEW_OP_SPECS))
def test_newer_specs_to_onnx_and_back(name: str, tmp_path: Path) -> None:
    """Broadcasting multiplies, layer norm over channels, parameters, transposed convolutions,
    channel shuffle, splits, SSD's L2Norm and its permute/reshape heads: written by archviz's ONNX
    export, read back by the reader, the same params, buffers, MACs and outputs."""
    from archviz.backends.onnx.writer import onnx_bytes

    network = archviz.loads(DECODER) if name == "decoder" else archviz.load(name)
    shape = NEW_OP_SPECS[name] or network.input_shape
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(onnx_bytes(network, network.analyze(shape)))
    there, again = network.analyze(shape), archviz.from_onnx(path).analyze()
    assert (again.totals.params, again.totals.buffers, again.totals.macs) == \
           (there.totals.params, there.totals.buffers, there.totals.macs)
    assert [again.layer(n).output_shape for n in again.outputs] == [there.layer(n).output_shape for n in there.outputs]


def test_where_a_framework_has_no_op_it_says_so() -> None:
    from archviz.backends.keras.writer import to_keras_source
    from archviz.backends.onnx.writer import onnx_bytes
    from archviz.backends.pytorch.options import BackendError

    vit = archviz.load("vit-b16")
    with pytest.raises(BackendError, match="multi_head_attention"):
        onnx_bytes(vit, vit.analyze())
    for name, op in (("convnext-tiny", "layer_norm"), ("efficientnet-b0", "multiply"), ("ssd300-vgg16", "l2_norm")):
        network = archviz.load(name)
        with pytest.raises(BackendError, match=op):
            to_keras_source(network, network.analyze())
