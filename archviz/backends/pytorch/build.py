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
from archviz.ops.base import Op, as_pair
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
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "softmax": lambda: nn.Softmax(dim=1),
    }
    return makers[name]()


def _fused(op: Op) -> nn.Module | None:
    activation: str = getattr(op, "activation", "linear")
    return None if activation == "linear" else _activation(activation, {})


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
    return L.Linear(inputs[0][0], op.units, bias=op.bias, activation=_fused(op))


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


BUILDERS: dict[str, LayerBuilder] = {
    "conv2d": _conv2d,
    "dense": _dense,
    "flatten": lambda op, inputs, output: nn.Flatten(),
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
    "concat": lambda op, inputs, output: L.Concat(),
    **{name: _elementwise for name in
       ("relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "softmax")},
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
