"""Analysis.memory_profile: which outputs are views or in place, what is allocated, and the live peak,
against sums worked out by hand from the layers' shapes."""

from __future__ import annotations

import weakref
from typing import Any

import pytest

import archviz
from archviz.ops.base import IN_PLACE, NEW_STORAGE, VIEW

FLOAT32 = 4


def test_vgg16_allocates_conv_pool_dense_and_softmax_outputs_only() -> None:
    profile = archviz.load("vgg16").analyze().memory_profile()
    kinds = {step.name: step.storage for step in profile.steps}
    assert kinds["relu1_1"] == kinds["relu7"] == IN_PLACE
    assert kinds["flatten"] == kinds["drop6"] == kinds["drop7"] == VIEW
    assert kinds["conv1_1"] == kinds["pool5"] == kinds["fc8"] == kinds["prob"] == NEW_STORAGE
    convs = 2 * 64 * 224 * 224 + 2 * 128 * 112 * 112 + 3 * 256 * 56 * 56 + 3 * 512 * 28 * 28 + 3 * 512 * 14 * 14
    pools = 64 * 112 * 112 + 128 * 56 * 56 + 256 * 28 * 28 + 512 * 14 * 14 + 512 * 7 * 7
    dense_and_softmax = 4096 + 4096 + 1000 + 1000
    assert profile.allocated_bytes == (convs + pools + dense_and_softmax) * FLOAT32 == 60_352_320
    assert sum(step.allocated_bytes for step in profile.steps) == profile.allocated_bytes
    # conv1_2 runs while conv1_1's output (overwritten by relu1_1) is still its input
    assert (profile.peak_bytes, profile.peak_layer) == (2 * 64 * 224 * 224 * FLOAT32, "conv1_2")
    flatten = next(step for step in profile.steps if step.name == "flatten")
    assert (flatten.output_bytes, flatten.allocated_bytes) == (25_088 * FLOAT32, 0)


def test_inception_block_input_view_and_concat_peak() -> None:
    profile = archviz.load("inception-block").analyze().memory_profile()
    assert profile.steps[0].storage == VIEW and profile.steps[0].allocated_bytes == 0  # x: the input itself
    convs_and_pool = 64 + 96 + 128 + 16 + 32 + 192 + 32
    assert profile.allocated_bytes == (convs_and_pool + 256) * 28 * 28 * FLOAT32
    # the concat runs with the four branch outputs (64 + 128 + 32 + 32 channels) still alive
    assert (profile.peak_bytes, profile.peak_layer) == ((256 + 256) * 28 * 28 * FLOAT32, "output")


def test_resnet18_shortcut_keeps_the_block_input_alive() -> None:
    profile = archviz.load("resnet18").analyze().memory_profile()
    steps = {step.name: step for step in profile.steps}
    assert steps["layer1_1.shortcut"].storage == VIEW and steps["layer1_1.out"].storage == IN_PLACE
    assert steps["bn1"].storage == NEW_STORAGE and steps["relu"].storage == IN_PLACE
    block = 64 * 56 * 56 * FLOAT32
    # the add reads bn2's output and the shortcut (a view of maxpool's output) and writes a third tensor
    assert steps["layer1_1.add"].live_bytes == 3 * block
    # stem: conv1 and bn1 both alive while bn1 runs, 64x112x112 each
    assert (profile.peak_bytes, profile.peak_layer) == (2 * 64 * 112 * 112 * FLOAT32, "bn1")


def test_relu_is_not_in_place_where_its_input_is_read_later_or_is_the_input(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("""
archviz: 1
name: branch
input: [2, 4, 4]
outputs: [a, b]
layers:
  - relu: {name: on_input}
  - conv2d: {name: a, filters: 3, kernel: 1}
  - relu: {name: r, inputs: a}
  - conv2d: {name: b, inputs: a, filters: 3, kernel: 1}
  - relu: {name: last, inputs: b}
""")
    analysis = archviz.load(path).analyze()
    profile = analysis.memory_profile()
    kinds = {step.name: step.storage for step in profile.steps}
    # the network's input is the caller's; a is read by b after r; b is an output
    assert kinds == {"on_input": NEW_STORAGE, "a": NEW_STORAGE, "r": NEW_STORAGE, "b": NEW_STORAGE,
                     "last": NEW_STORAGE}
    values = 2 * 16 + 3 * 16 * 4
    assert profile.allocated_bytes == values * FLOAT32
    # on_input is freed after a reads it; a and b are outputs, r is read by nobody (kept, as the
    # network's): a, r, b and last are alive at the end
    assert profile.steps[-1].live_bytes == 4 * 3 * 16 * FLOAT32


def test_dtype_scales_the_profile() -> None:
    network = archviz.load("vgg16")
    float32, bfloat16 = network.analyze().memory_profile(), network.analyze(dtype="bfloat16").memory_profile()
    assert bfloat16.allocated_bytes * 2 == float32.allocated_bytes
    assert bfloat16.peak_bytes * 2 == float32.peak_bytes and bfloat16.peak_layer == "conv1_2"


@pytest.mark.parametrize("spec", ["vgg16", "resnet18", "inception-block"])
def test_allocated_and_peak_match_what_pytorch_allocates(spec: str) -> None:
    """Measured, not modelled: the spec built as a PyTorch module with torchvision's
    ReLU(inplace=True), run without gradients under a dispatch mode that sees every tensor the
    aten ops return and a finalizer that sees each freed. A storage is new when its address is
    not the input's, a weight's or a live tensor's; the live bytes rise when one is made and fall
    when its last tensor is freed (the module drops each output after its last reader).
    Max pooling's int64 indices, which PyTorch's CPU kernel allocates and frees at once, are left
    out: archviz counts the layers' outputs."""
    torch = pytest.importorskip("torch")
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    import archviz.torch as backend

    class Storages(TorchDispatchMode):
        def __init__(self, known: set[int]) -> None:
            super().__init__()
            self.known, self.tensors, self.sizes, self.objects = known, {}, {}, set()  # type: ignore[var-annotated]
            self.live = self.peak = self.allocated = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            out = func(*args, **(kwargs or {}))
            for tensor in tree_flatten(out)[0]:
                if isinstance(tensor, torch.Tensor) and tensor.dtype.is_floating_point:
                    self.track(tensor)
            return out

        def track(self, tensor: Any) -> None:
            address = tensor.untyped_storage().data_ptr()
            if address in self.known or id(tensor) in self.objects:  # a weight, or an op's `self` returned
                return
            if address not in self.tensors:
                self.tensors[address], self.sizes[address] = 0, tensor.untyped_storage().nbytes()
                self.live += self.sizes[address]
                self.allocated += self.sizes[address]
                self.peak = max(self.peak, self.live)
            self.tensors[address] += 1
            self.objects.add(id(tensor))
            weakref.finalize(tensor, self.freed, id(tensor), address)

        def freed(self, key: int, address: int) -> None:
            self.objects.discard(key)
            self.tensors[address] -= 1
            if not self.tensors[address]:
                self.live -= self.sizes.pop(address)
                del self.tensors[address]

    network = archviz.load(spec)
    module = backend.build(network).eval()
    for layer in module.modules():
        if isinstance(layer, torch.nn.ReLU):
            layer.inplace = True
    x = torch.randn(1, *network.analyze().input_shape)
    known = {x.untyped_storage().data_ptr()} | {t.untyped_storage().data_ptr()
                                                 for t in [*module.parameters(), *module.buffers()]}
    mode = Storages(known)
    with torch.no_grad(), mode:
        result = module(x)
    del result
    profile = network.analyze().memory_profile()
    assert (mode.allocated, mode.peak) == (profile.allocated_bytes, profile.peak_bytes)
