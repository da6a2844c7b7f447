"""Build an analysed network as a real ``torch.nn.Module``.

The module follows the spec's graph (branches and merges), runs its layers in graph order and
names every layer module after its spec layer. Names written with a block prefix such as
``layer1_1.conv1`` become nested modules (``model.layer1_1.conv1``), so ``named_modules()`` and
``state_dict()`` keys carry the spec's own names; ``SpecModule.module_names`` maps each spec name
to its module path, which differs from the name only where a name cannot be a module attribute
(see ``module_paths``).

Padding is resolved for the input size the module is built for: ``same`` with stride > 1 may be
asymmetric and then depends on the input size, as in TensorFlow. Build again for another size.

>>> import archviz, archviz.torch
>>> model = archviz.torch.build(archviz.load("vgg16"), device="meta")
>>> sum(p.numel() for p in model.parameters())
138357544
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from archviz.backends.pytorch import layers as L
from archviz.backends.pytorch.options import BackendError
from archviz.ops.base import Op, as_pair, axis_index
from archviz.shapes import Shape
from archviz.spec.expand import NETWORK_INPUT

if TYPE_CHECKING:
    from archviz.analysis import Analysis
    from archviz.network import Network

# Keras' defaults for fused activations (Conv2D/Dense activation=...): leaky_relu's slope is 0.2
# there, not PyTorch's 0.01. The standalone leaky_relu op carries its own slope attribute.
FUSED_LEAKY_SLOPE = 0.2

LayerBuilder = Callable[[Op, tuple[Shape, ...], Shape], nn.Module]


def _activation(name: str, values: Mapping[str, Any]) -> nn.Module:
    makers: dict[str, Callable[[], nn.Module]] = {
        "relu": nn.ReLU,
        "relu6": nn.ReLU6,
        "leaky_relu": lambda: nn.LeakyReLU(values.get("slope", FUSED_LEAKY_SLOPE)),
        "elu": lambda: nn.ELU(values.get("alpha", 1.0)),
        "gelu": lambda: nn.GELU(approximate=values.get("approximate", "none")),
        "hardswish": nn.Hardswish,
        "hardsigmoid": nn.Hardsigmoid,
        "silu": nn.SiLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "softmax": lambda: nn.Softmax(dim=torch_dim(values.get("axis", 0))),
    }
    return makers[name]()


def torch_dim(axis: int) -> int:
    """A spec axis (counted after the batch axis; negative from the end) as a torch dim."""
    return axis + 1 if axis >= 0 else axis


def _fused(op: Op) -> nn.Module | None:
    activation: str = getattr(op, "activation", "linear")
    # a fused softmax runs over the channels of a conv's map, over the units of a dense layer
    # (the last axis, also on (tokens, features))
    return None if activation == "linear" else _activation(activation, {"axis": -1 if op.name == "dense" else 0})


def split_padding(pads: tuple[tuple[int, int], tuple[int, int]]) -> tuple[tuple[int, int], L.Pad4 | None]:
    """Symmetric padding goes to PyTorch's own argument; anything else to an explicit F.pad."""
    (top, bottom), (left, right) = pads
    if top == bottom and left == right:
        return (top, left), None
    return (0, 0), (left, right, top, bottom)


def _conv2d(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    padding, pad = split_padding(op.pads(inputs[0]))
    return L.Conv2d(inputs[0][0], op.filters, as_pair(op.kernel), stride=as_pair(op.stride), padding=padding,
                    dilation=as_pair(op.dilation), groups=op.groups, bias=op.bias, pad=pad, activation=_fused(op))


def _dense(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    return L.Linear(inputs[0][-1], op.units, bias=op.bias, activation=_fused(op))


def _max_pool2d(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    padding, pad = split_padding(op.pads(inputs[0]))
    kernel, stride = as_pair(op.kernel), op.strides()
    if pad is None:
        return nn.MaxPool2d(kernel, stride, padding, ceil_mode=op.ceil_mode)
    return L.PaddedMaxPool2d(kernel, stride, pad, op.ceil_mode, (output[1], output[2]))


def _avg_pool2d(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    padding, pad = split_padding(op.pads(inputs[0]))
    kernel, stride = as_pair(op.kernel), op.strides()
    if pad is None:
        return nn.AvgPool2d(kernel, stride, padding, ceil_mode=op.ceil_mode, count_include_pad=False)
    return L.PaddedAvgPool2d(kernel, stride, pad, op.ceil_mode, (output[1], output[2]))


def _batch_norm(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    norm = nn.BatchNorm2d if len(inputs[0]) == 3 else nn.BatchNorm1d
    return norm(inputs[0][0], eps=op.eps, momentum=op.momentum, affine=op.affine)


def _lrn(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    # PyTorch divides alpha by size (alpha/n * sum); the spec's alpha scales the plain sum.
    return nn.LocalResponseNorm(op.size, alpha=op.alpha * op.size, beta=op.beta, k=op.k)


def _elementwise(op: Op, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    return _activation(op.name, op.values)


def _dim(op: Op, axis: int, shape: Shape) -> int:
    """A spec axis (counted after the batch axis, negative from the end) as a torch dim."""
    return axis_index(op, axis, shape) + 1


def _concat(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    return L.Concat(_dim(op, op.axis, inputs[0]))


def _flatten(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    if op.everything:
        return nn.Flatten()
    start, end = op.axes(inputs[0])
    return nn.Flatten(start + 1, end + 1)


def _split(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    axis, start, length = op.section(inputs[0])
    return L.Narrow(axis + 1, start, length)


def _slice(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    axis, kept = op.bounds(inputs[0])
    return L.Narrow(axis + 1, kept.start, len(kept), kept.step)


PADS = {"constant": nn.ConstantPad2d, "reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d,
        "circular": nn.CircularPad2d}


def _pad(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    (top, bottom), (left, right) = op.pads
    if op.mode == "constant":
        return nn.ConstantPad2d((left, right, top, bottom), op.value)
    return PADS[op.mode]((left, right, top, bottom))


def _parameter(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    return L.LearnableTensor(op.shape, op.value, op.std if op.init == "normal" else None)


def _layer_norm(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    dim = _dim(op, op.axis, inputs[0])
    size = inputs[0][dim - 1]
    if dim == len(inputs[0]):
        return nn.LayerNorm(size, eps=op.eps, elementwise_affine=op.affine, bias=op.bias)
    return L.LayerNormAxis(size, dim, eps=op.eps, elementwise_affine=op.affine, bias=op.bias)


def _instance_norm(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    norm = nn.InstanceNorm2d if len(inputs[0]) == 3 else nn.InstanceNorm1d
    return norm(inputs[0][0], eps=op.eps, affine=op.affine, track_running_stats=op.track_running_stats)


def _conv_transpose2d(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    return nn.ConvTranspose2d(inputs[0][0], op.filters, op.kernel, stride=op.stride, padding=op.padding,
                              output_padding=op.output_padding, groups=op.groups, bias=op.bias,
                              dilation=op.dilation)


def _upsample(op: Any, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    corners = op.align_corners if op.mode == "bilinear" else None
    if op.size is not None:
        return nn.Upsample(size=as_pair(op.size), mode=op.mode, align_corners=corners)
    return nn.Upsample(scale_factor=op.scale, mode=op.mode, align_corners=corners)


BUILDERS: dict[str, LayerBuilder] = {
    "conv2d": _conv2d,
    "dense": _dense,
    "flatten": _flatten,
    "reshape": lambda op, inputs, output: L.Reshape(output),
    "permute": lambda op, inputs, output: L.Permute(op.order(inputs[0])),  # type: ignore[attr-defined]
    "channel_shuffle": lambda op, inputs, output: L.ChannelShuffle(op.groups),  # type: ignore[attr-defined]
    "split": _split,
    "slice": _slice,
    "select": lambda op, inputs, output: L.Select(_dim(op, op.axis, inputs[0]), op.index),  # type: ignore[attr-defined]
    "pad": _pad,
    "parameter": _parameter,
    "conv_transpose2d": _conv_transpose2d,
    "upsample": _upsample,
    "max_unpool2d": lambda op, inputs, output: L.MaxUnpool2d(as_pair(op.kernel), op.strides(), op.padding),  # type: ignore[attr-defined]
    "matmul": lambda op, inputs, output: L.Matmul(op.transpose_b),  # type: ignore[attr-defined]
    "multi_head_attention": lambda op, inputs, output: L.SelfAttention(  # type: ignore[attr-defined]
        inputs[0][1], op.heads, dropout=op.dropout, bias=op.bias),  # type: ignore[attr-defined]
    "layer_norm": _layer_norm,
    "group_norm": lambda op, inputs, output: nn.GroupNorm(op.groups, inputs[0][0], eps=op.eps, affine=op.affine),  # type: ignore[attr-defined]
    "instance_norm": _instance_norm,
    "l2_norm": lambda op, inputs, output: L.L2Norm(inputs[0][0], op.scale, op.eps),  # type: ignore[attr-defined]
    "stochastic_depth": lambda op, inputs, output: nn.Identity(),
    "multiply": lambda op, inputs, output: L.Multiply(),
    "max_pool2d": _max_pool2d,
    "avg_pool2d": _avg_pool2d,
    "global_avg_pool2d": lambda op, inputs, output: L.GlobalAvgPool2d(),
    "global_max_pool2d": lambda op, inputs, output: L.GlobalMaxPool2d(),
    "adaptive_avg_pool2d": lambda op, inputs, output: nn.AdaptiveAvgPool2d(as_pair(op.output_size)),  # type: ignore[attr-defined]
    "batch_norm": _batch_norm,
    "lrn": _lrn,
    "dropout": lambda op, inputs, output: nn.Dropout(op.rate),  # type: ignore[attr-defined]
    "identity": lambda op, inputs, output: nn.Identity(),
    "add": lambda op, inputs, output: L.Add(),
    "concat": _concat,
    **{name: _elementwise for name in
       ("relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "softmax", "hardswish",
        "hardsigmoid")},
}


def layer_module(op: Op, inputs: tuple[Shape, ...], output: Shape) -> nn.Module:
    """The torch module for one layer, given the shapes the analysis found for it."""
    builder = BUILDERS.get(op.name)
    if builder is None:
        raise BackendError(f"op {op.name!r} has no PyTorch builder yet",
                           hint="add one to archviz/backends/pytorch/build.py BUILDERS")
    return builder(op, inputs, output)


class SpecModule(nn.Module):
    """A network built from a spec: layer modules in a tree named after the spec, run in graph order.

    ``forward(x)`` takes a batch ``(N, *input_shape)`` and returns the network's output (the last
    layer's, or ``outputs:``'s one), or a tuple of them, in order, where the network has several.
    Intermediate results are dropped as soon as no later layer needs them.
    """

    def __init__(self, spec_name: str, input_shape: Shape,
                 steps: Sequence[tuple[str, str, nn.Module, tuple[str, ...]]], root_names: Mapping[str, nn.Module],
                 outputs: Sequence[str] = ()):
        super().__init__()
        self.outputs = tuple(outputs) or (steps[-1][0],)
        self.spec_name = spec_name
        self.input_shape = tuple(input_shape)
        for name, child in root_names.items():
            self.add_module(name, child)
        self.module_names: dict[str, str] = {layer: path for layer, path, _, _ in steps}
        last_use: dict[str, int] = {}
        for index, (_, _, _, sources) in enumerate(steps):
            for source in sources:
                last_use[source] = index
        for output in self.outputs:
            last_use[output] = len(steps)  # kept to the end
        self._steps = [
            (layer, module, sources, tuple(s for s in dict.fromkeys(sources) if last_use[s] == index))
            for index, (layer, _, module, sources) in enumerate(steps)
        ]

    def layer_modules(self) -> dict[str, nn.Module]:
        """Spec layer name -> its module, in graph order."""
        return {layer: module for layer, module, _, _ in self._steps}

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        values: dict[str, torch.Tensor] = {NETWORK_INPUT: x}
        for layer, module, sources, release in self._steps:
            out = module(*(values[source] for source in sources))
            for source in release:
                del values[source]
            values[layer] = out
        if len(self.outputs) == 1:
            return values[self.outputs[0]]
        return tuple(values[name] for name in self.outputs)

    def extra_repr(self) -> str:
        return f"spec={self.spec_name!r}, input_shape={self.input_shape}"


def module_paths(names: Sequence[str]) -> dict[str, str]:
    """Spec layer name -> module path inside a SpecModule.

    Dotted names nest (``a.b`` is child ``b`` of group ``a``). A component that would shadow an
    ``nn.Module`` attribute (``eval``, ``float``, ``training``...) gets a trailing ``_``. When a
    layer's name is also a block prefix of other layers (``a`` and ``a.b``), nesting would put
    one layer inside another, so every name is flattened instead (``.`` becomes ``_``).
    """
    prefixes = {".".join(parts[:i]) for parts in (n.split(".") for n in names) for i in range(1, len(parts))}
    nested = not any(name in prefixes for name in names)
    reserved = set(dir(SpecModule)) | set(dir(L.LayerGroup)) | set(vars(nn.Module())) | {
        "spec_name", "input_shape", "module_names", "_steps", "outputs"}
    paths: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        parts = name.split(".") if nested else [name.replace(".", "_")]
        parts = [_safe_component(part, reserved) for part in parts]
        path = ".".join(parts)
        while path in taken or (nested and path in prefixes):
            parts[-1] += "_"
            path = ".".join(parts)
        taken.add(path)
        paths[name] = path
    return paths


def _safe_component(part: str, reserved: set[str]) -> str:
    part = part or "_"
    while part in reserved:
        part += "_"
    return part


def build_from_analysis(network: Network, analysis: Analysis) -> SpecModule:
    """Build for the shapes of an existing analysis (on torch's current default device)."""
    records = {record.name: record for record in analysis.layers}
    paths = module_paths([layer.name for layer in network.layers])
    root: dict[str, nn.Module] = {}
    groups: dict[str, nn.Module] = {}
    steps = []
    for layer in network.layers:
        record = records[layer.name]
        try:
            module = layer_module(layer.op, record.input_shapes, record.output_shape)
        except BackendError as exc:
            raise exc.with_context(layer.location, layer.name, layer.calls)
        path = paths[layer.name]
        *group_parts, leaf = path.split(".")
        if group_parts:
            parent = _group(root, groups, group_parts)
            parent.add_module(leaf, module)
        else:
            root[leaf] = module
        steps.append((layer.name, path, module, layer.inputs))
    return SpecModule(network.name, analysis.input_shape, steps, root, network.outputs)


def _group(root: dict[str, nn.Module], groups: dict[str, nn.Module], parts: list[str]) -> nn.Module:
    key = ".".join(parts)
    if key in groups:
        return groups[key]
    group = L.LayerGroup()
    if len(parts) == 1:
        root[parts[0]] = group
    else:
        _group(root, groups, parts[:-1]).add_module(parts[-1], group)
    groups[key] = group
    return group


def build(network: Network | str, input_shape: Sequence[int] | None = None, *,
          device: str | torch.device | None = None) -> SpecModule:
    """Build ``network`` (a Network or a spec name/path) as an ``nn.Module`` for ``input_shape``.

    ``device="meta"`` allocates no weights (instant, even for VGG); ``None`` uses torch's current
    default device. Weights get PyTorch's default initialisation. The module is in eval mode.

    >>> import archviz, archviz.torch
    >>> model = archviz.torch.build(archviz.load("resnet18"), (3, 64, 64), device="meta")
    >>> model(torch.empty(2, 3, 64, 64, device="meta")).shape
    torch.Size([2, 1000])
    """
    if isinstance(network, str):
        from archviz.network import load

        network = load(network)
    if input_shape is not None:  # a spec whose expressions read shapes expands for its input
        network = network.for_input(input_shape)
    analysis = network.analyze(input_shape)
    if device is None:
        return build_from_analysis(network, analysis).eval()
    with torch.device(device):
        return build_from_analysis(network, analysis).eval()


def instantiate(network: Network, analysis: Analysis, device: str, dtype: str = "float32") -> SpecModule:
    """Build on the meta device, then materialise on ``device`` with PyTorch's default initialisation.

    Building on meta first costs no memory; ``to_empty`` then allocates the weights once on the
    target device (``.to()`` cannot move meta tensors, they hold no data) and every module's
    ``reset_parameters`` fills them (batch norm also resets its running statistics).
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device("meta"):
            model = build_from_analysis(network, analysis)
    finally:
        torch.set_default_dtype(previous)
    if device != "meta":
        model = model.to_empty(device=device)
        with torch.no_grad():
            for module in model.modules():
                reset = getattr(module, "reset_parameters", None)
                if callable(reset):
                    reset()
    return model.eval()
