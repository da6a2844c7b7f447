"""Readable, standalone PyTorch source for a spec: the module a user would otherwise write by hand.

The generated file imports only torch. Each layer is an attribute named after its spec layer
(characters that cannot be in a Python name become ``_``: ``layer1_1.conv1`` -> ``layer1_1_conv1``);
merges (add, concat) and fused activations are written in ``forward``. Padding is resolved for
one input size, the one given (TensorFlow's ``same`` with stride > 1 can be asymmetric and depends
on it), and written as PyTorch padding where it is symmetric and as ``F.pad`` where it is not.
Semantics follow ``archviz.backends.pytorch.build``; a test loads one's weights into the other and
compares outputs. Generating source never imports torch.

>>> import archviz
>>> print(to_source(archviz.load("vgg11")).splitlines()[0])  # doctest: +ELLIPSIS
'''VGG configuration A: ...
"""

from __future__ import annotations

import ast
import keyword
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from archviz.backends.pytorch.options import BackendError
from archviz.ops.base import Op, as_pair, axis_index
from archviz.render import units
from archviz.spec.expand import NETWORK_INPUT

if TYPE_CHECKING:
    from archviz.analysis import Analysis, LayerRecord
    from archviz.network import Network

# Names a layer attribute must not take: nn.Module's own members and the names forward() uses.
RESERVED = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile", "cpu",
    "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer", "get_extra_state",
    "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers",
    "named_children", "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_module", "register_parameter", "requires_grad_", "set_extra_state", "set_submodule", "share_memory",
    "state_dict", "to", "to_empty", "train", "training", "type", "xpu", "zero_grad",
    "self", "x", "torch", "nn", "F", "inputs",
})

FUSED = {
    "relu": "F.relu({})", "relu6": "F.relu6({})", "leaky_relu": "F.leaky_relu({}, 0.2)", "elu": "F.elu({})",
    "gelu": "F.gelu({})", "silu": "F.silu({})", "sigmoid": "torch.sigmoid({})", "tanh": "torch.tanh({})",
    "softmax": "F.softmax({}, dim=1)", "hardswish": "F.hardswish({})", "hardsigmoid": "F.hardsigmoid({})",
}


@dataclass(frozen=True)
class _Layer:
    """One layer's source: its constructor (None for merges) and its forward expression."""

    init: str | None
    expr: str
    comment: str = ""
    helper: str | None = None


def to_source(network: Network, input_shape: Sequence[int] | None = None, class_name: str | None = None) -> str:
    """Python source defining an ``nn.Module`` subclass for ``network`` at ``input_shape``."""
    if input_shape is not None:  # a spec whose expressions read shapes expands for its input
        network = network.for_input(input_shape)
    analysis = network.analyze(input_shape)
    name = class_name or class_name_for(network.name)
    if not name.isidentifier() or keyword.iskeyword(name):
        raise BackendError(f"class name must be a Python identifier. Received: {name!r}")
    attrs = attribute_names([layer.name for layer in network.layers])
    variables = _variables(network, attrs)
    records = {record.name: record for record in analysis.layers}
    init_lines: list[str] = []
    forward_lines: list[str] = []
    helpers: list[str] = []
    for layer in network.layers:
        record = records[layer.name]
        try:
            spec = _layer_source(layer.op, record, f"self.{attrs[layer.name]}",
                                 [variables[source] for source in layer.inputs])
        except BackendError as exc:
            raise exc.with_context(layer.location, layer.name, layer.calls)
        if spec.init is not None:
            comment = f"  # {spec.comment}" if spec.comment else ""
            init_lines.append(f"        self.{attrs[layer.name]} = {spec.init}{comment}")
        if spec.helper and spec.helper not in helpers:
            helpers.append(spec.helper)
        forward_lines.append(f"        {variables[layer.name]} = {spec.expr}")
    output = variables[network.layers[-1].name]
    forward_lines.append(f"        return {output}")
    return _module_text(network, analysis, name, variables[NETWORK_INPUT], init_lines, forward_lines, helpers)


def class_name_for(spec_name: str) -> str:
    """'keras-seed-vgg16' -> 'KerasSeedVgg16'."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", spec_name) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words) or "Network"
    return text if text[0].isalpha() else f"Net{text}"


def attribute_names(names: Sequence[str]) -> dict[str, str]:
    """Spec layer name -> a unique Python attribute name."""
    result: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        text = re.sub(r"\W", "_", name, flags=re.ASCII) or "layer"
        if text[0].isdigit():
            text = f"layer_{text}"
        while text in taken or text in RESERVED or keyword.iskeyword(text):
            text += "_"
        taken.add(text)
        result[name] = text
    return result


def _variables(network: Network, attrs: dict[str, str]) -> dict[str, str]:
    """The local variable holding each layer's output in forward().

    A result used only by the very next layer lives in ``x`` (reassigned straight away, as a
    hand-written chain does); one used elsewhere (a branch, a shortcut) gets its layer's name.
    """
    order = [NETWORK_INPUT, *(layer.name for layer in network.layers)]
    consumers: dict[str, list[str]] = {name: [] for name in order}
    for layer in network.layers:
        for source in dict.fromkeys(layer.inputs):
            consumers[source].append(layer.name)
    variables = {}
    for index, name in enumerate(order):
        following = order[index + 1] if index + 1 < len(order) else None
        chain = consumers[name] == [following] or (following is None and not consumers[name])
        variables[name] = "x" if chain else (attrs[name] if name != NETWORK_INPUT else "inputs")
    return variables


def _layer_source(op: Op, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    maker = MAKERS.get(op.name)
    if maker is None:
        raise BackendError(f"op {op.name!r} cannot be exported to PyTorch yet",
                           hint="add it to archviz/backends/pytorch/source.py MAKERS")
    return maker(op, record, module, inputs)


def _size(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else str(tuple(pair))


def _kwargs(values: dict[str, Any]) -> str:
    return "".join(f", {key}={value}" for key, value in values.items())


def _split(pads: tuple[tuple[int, int], tuple[int, int]]) -> tuple[tuple[int, int], tuple[int, int, int, int] | None]:
    (top, bottom), (left, right) = pads
    if top == bottom and left == right:
        return (top, left), None
    return (0, 0), (left, right, top, bottom)


def _fused(op: Any, expr: str) -> str:
    activation = getattr(op, "activation", "linear")
    if activation == "softmax" and op.name == "dense":
        return f"F.softmax({expr}, dim=-1)"  # over the units, also on (tokens, features)
    return expr if activation == "linear" else FUSED[activation].format(expr)


def _conv2d(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    padding, pad = _split(op.pads(record.input_shapes[0]))
    options: dict[str, Any] = {}
    if as_pair(op.stride) != (1, 1):
        options["stride"] = _size(as_pair(op.stride))
    if padding != (0, 0):
        options["padding"] = _size(padding)
    if as_pair(op.dilation) != (1, 1):
        options["dilation"] = _size(as_pair(op.dilation))
    if op.groups != 1:
        options["groups"] = op.groups
    if not op.bias:
        options["bias"] = False
    init = f"nn.Conv2d({record.input_shapes[0][0]}, {op.filters}, {_size(as_pair(op.kernel))}{_kwargs(options)})"
    source = inputs[0] if pad is None else f"F.pad({inputs[0]}, {pad})"
    resolved = op.padding == "same" and (padding != (0, 0) or pad is not None)
    comment = f"padding 'same' resolved for {units.shape(record.input_shapes[0])}" if resolved else ""
    return _Layer(init, _fused(op, f"{module}({source})"), comment)


def _dense(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    bias = "" if op.bias else ", bias=False"
    return _Layer(f"nn.Linear({record.input_shapes[0][-1]}, {op.units}{bias})", _fused(op, f"{module}({inputs[0]})"))


def _crop_text(record: LayerRecord, ceil_mode: bool) -> str:
    return f"[..., :{record.output_shape[1]}, :{record.output_shape[2]}]" if ceil_mode else ""


def _max_pool2d(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    padding, pad = _split(op.pads(record.input_shapes[0]))
    options: dict[str, Any] = {"stride": _size(op.strides())}
    if padding != (0, 0):
        options["padding"] = _size(padding)
    if op.ceil_mode:
        options["ceil_mode"] = True
    init = f"nn.MaxPool2d({_size(as_pair(op.kernel))}{_kwargs(options)})"
    if pad is None:
        return _Layer(init, f"{module}({inputs[0]})")
    expr = f"{module}(F.pad({inputs[0]}, {pad}, value=float(\"-inf\"))){_crop_text(record, op.ceil_mode)}"
    return _Layer(init, expr, "asymmetric padding with -inf in forward()")


def _avg_pool2d(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    padding, pad = _split(op.pads(record.input_shapes[0]))
    kernel, stride = as_pair(op.kernel), op.strides()
    if pad is not None:
        size = (record.output_shape[1], record.output_shape[2])
        init = f"PaddedAvgPool2d({kernel}, {stride}, {pad}, {op.ceil_mode}, {size})"
        return _Layer(init, f"{module}({inputs[0]})", "padding left out of the average", helper="PaddedAvgPool2d")
    options: dict[str, Any] = {"stride": _size(stride)}
    if padding != (0, 0):
        options["padding"] = _size(padding)
    if op.ceil_mode:
        options["ceil_mode"] = True
    if padding != (0, 0) or op.ceil_mode:
        options["count_include_pad"] = False
    return _Layer(f"nn.AvgPool2d({_size(kernel)}{_kwargs(options)})", f"{module}({inputs[0]})")


def _batch_norm(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    kind = "nn.BatchNorm2d" if len(record.input_shapes[0]) == 3 else "nn.BatchNorm1d"
    options: dict[str, Any] = {}
    if op.eps != 1e-5:
        options["eps"] = repr(op.eps)
    if op.momentum != 0.1:
        options["momentum"] = repr(op.momentum)
    if not op.affine:
        options["affine"] = False
    return _Layer(f"{kind}({record.input_shapes[0][0]}{_kwargs(options)})", f"{module}({inputs[0]})")


def _lrn(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    init = f"nn.LocalResponseNorm({op.size}, alpha={op.alpha * op.size!r}, beta={op.beta!r}, k={op.k!r})"
    return _Layer(init, f"{module}({inputs[0]})",
                  f"PyTorch divides alpha by size: the spec's alpha={op.alpha!r} is {op.alpha * op.size!r} here")


def _dim(op: Op, axis: int, shape: tuple[int, ...]) -> int:
    return axis_index(op, axis, shape) + 1


def _shape_text(shape: Sequence[int]) -> str:
    return ", ".join(str(size) for size in shape)


def _concat(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    return _Layer(None, f"torch.cat([{', '.join(inputs)}], dim={_dim(op, op.axis, record.input_shapes[0])})")


def _flatten(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    if op.everything:
        return _Layer("nn.Flatten()", f"{module}({inputs[0]})")
    start, end = op.axes(record.input_shapes[0])
    return _Layer(f"nn.Flatten({start + 1}, {end + 1})", f"{module}({inputs[0]})")


def _split_output(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    axis, start, length = op.section(record.input_shapes[0])
    return _Layer(None, f"{inputs[0]}.narrow({axis + 1}, {start}, {length})")


def _slice(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    axis, kept = op.bounds(record.input_shapes[0])
    stop = kept.start + (len(kept) - 1) * kept.step + 1
    step = f":{kept.step}" if kept.step != 1 else ""
    return _Layer(None, f"{inputs[0]}[{':, ' * (axis + 1)}{kept.start}:{stop}{step}]")


def _pad(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    (top, bottom), (left, right) = op.pads
    value = f", value={op.value!r}" if op.mode == "constant" and op.value != 0 else ""
    mode = f", mode={op.mode!r}" if op.mode != "constant" else ""
    return _Layer(None, f"F.pad({inputs[0]}, ({left}, {right}, {top}, {bottom}){mode}{value})")


def _parameter(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    std = op.std if op.init == "normal" else None
    init = f"LearnableTensor(({_shape_text(op.shape)},), value={op.value!r}, std={std!r})"
    return _Layer(init, f"{module}({inputs[0]})", "expanded over the batch", helper="LearnableTensor")


def _layer_norm(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    shape = record.input_shapes[0]
    dim = _dim(op, op.axis, shape)
    options: dict[str, Any] = {}
    if op.eps != 1e-5:
        options["eps"] = repr(op.eps)
    if not op.affine:
        options["elementwise_affine"] = False
    if not op.bias:
        options["bias"] = False
    if dim == len(shape):
        return _Layer(f"nn.LayerNorm({shape[dim - 1]}{_kwargs(options)})", f"{module}({inputs[0]})")
    return _Layer(f"LayerNormAxis({shape[dim - 1]}, {dim}{_kwargs(options)})", f"{module}({inputs[0]})",
                  f"over dim {dim}", helper="LayerNormAxis")


def _group_norm(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    options = {"eps": repr(op.eps)} if op.eps != 1e-5 else {}
    if not op.affine:
        options["affine"] = "False"
    return _Layer(f"nn.GroupNorm({op.groups}, {record.input_shapes[0][0]}{_kwargs(options)})", f"{module}({inputs[0]})")


def _instance_norm(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    kind = "nn.InstanceNorm2d" if len(record.input_shapes[0]) == 3 else "nn.InstanceNorm1d"
    options: dict[str, Any] = {"eps": repr(op.eps)} if op.eps != 1e-5 else {}
    if op.affine:
        options["affine"] = True
    if op.track_running_stats:
        options["track_running_stats"] = True
    return _Layer(f"{kind}({record.input_shapes[0][0]}{_kwargs(options)})", f"{module}({inputs[0]})")


def _conv_transpose2d(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    options: dict[str, Any] = {}
    for key, default in (("stride", (1, 1)), ("padding", (0, 0)), ("output_padding", (0, 0)), ("dilation", (1, 1))):
        value = getattr(op, key)
        if value != default:
            options[key] = _size(value)
    if op.groups != 1:
        options["groups"] = op.groups
    if not op.bias:
        options["bias"] = False
    init = f"nn.ConvTranspose2d({record.input_shapes[0][0]}, {op.filters}, {_size(op.kernel)}{_kwargs(options)})"
    return _Layer(init, f"{module}({inputs[0]})")


def _upsample(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    how = f"size={_size(as_pair(op.size))}" if op.size is not None else f"scale_factor={op.scale!r}"
    corners = f", align_corners={op.align_corners}" if op.mode == "bilinear" else ""
    return _Layer(f"nn.Upsample({how}, mode={op.mode!r}{corners})", f"{module}({inputs[0]})")


def _max_unpool2d(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    init = f"MaxUnpool2d({as_pair(op.kernel)}, {op.strides()}, {tuple(op.padding)})"
    return _Layer(init, f"{module}({inputs[0]}, {inputs[1]})", "indices from max pooling the second input",
                  helper="MaxUnpool2d")


def _matmul(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    second = f"{inputs[1]}.transpose(-2, -1)" if op.transpose_b else inputs[1]
    return _Layer(None, f"torch.matmul({inputs[0]}, {second})")


def _attention(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    options: dict[str, Any] = {}
    if op.dropout:
        options["dropout"] = repr(op.dropout)
    if not op.bias:
        options["bias"] = False
    init = f"nn.MultiheadAttention({record.input_shapes[0][1]}, {op.heads}{_kwargs(options)}, batch_first=True)"
    x = inputs[0]
    return _Layer(init, f"{module}({x}, {x}, {x}, need_weights=False)[0]", "self-attention")


def _l2_norm(op: Any, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    init = f"L2Norm({record.input_shapes[0][0]}, scale={op.scale!r}, eps={op.eps!r})"
    return _Layer(init, f"{module}({inputs[0]})", helper="L2Norm")


ACTIVATIONS = {
    "relu": lambda op: "nn.ReLU()", "relu6": lambda op: "nn.ReLU6()",
    "leaky_relu": lambda op: f"nn.LeakyReLU({op.slope!r})", "elu": lambda op: f"nn.ELU({op.alpha!r})",
    "gelu": lambda op: "nn.GELU()" if op.approximate == "none" else "nn.GELU(approximate='tanh')",
    "hardswish": lambda op: "nn.Hardswish()", "hardsigmoid": lambda op: "nn.Hardsigmoid()", "silu": lambda op: "nn.SiLU()", "sigmoid": lambda op: "nn.Sigmoid()",
    "tanh": lambda op: "nn.Tanh()", "softmax": lambda op: f"nn.Softmax(dim={op.axis + 1 if op.axis >= 0 else op.axis})",
    "identity": lambda op: "nn.Identity()", "stochastic_depth": lambda op: "nn.Identity()",
    "dropout": lambda op: "nn.Dropout()" if op.rate == 0.5 else f"nn.Dropout({op.rate!r})",
    "global_avg_pool2d": lambda op: "nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())",
    "global_max_pool2d": lambda op: "nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten())",
    "adaptive_avg_pool2d": lambda op: f"nn.AdaptiveAvgPool2d({_size(as_pair(op.output_size))})",
}


def _simple(op: Op, record: LayerRecord, module: str, inputs: list[str]) -> _Layer:
    return _Layer(ACTIVATIONS[op.name](op), f"{module}({inputs[0]})")


MAKERS = {
    "conv2d": _conv2d,
    "dense": _dense,
    "max_pool2d": _max_pool2d,
    "avg_pool2d": _avg_pool2d,
    "batch_norm": _batch_norm,
    "lrn": _lrn,
    "add": lambda op, record, module, inputs: _Layer(None, " + ".join(inputs)),
    "concat": _concat,
    "multiply": lambda op, record, module, inputs: _Layer(None, " * ".join(inputs)),
    "flatten": _flatten,
    "reshape": lambda op, record, module, inputs: _Layer(
        None, f"{inputs[0]}.reshape({inputs[0]}.shape[0], {_shape_text(record.output_shape)})"),
    "permute": lambda op, record, module, inputs: _Layer(
        None, f"{inputs[0]}.permute(0, {_shape_text([d + 1 for d in op.order(record.input_shapes[0])])})"),
    "channel_shuffle": lambda op, record, module, inputs: _Layer(
        f"ChannelShuffle({op.groups})", f"{module}({inputs[0]})", helper="ChannelShuffle"),
    "split": _split_output,
    "slice": _slice,
    "select": lambda op, record, module, inputs: _Layer(
        None, f"{inputs[0]}.select({_dim(op, op.axis, record.input_shapes[0])}, {op.index})"),
    "pad": _pad,
    "parameter": _parameter,
    "layer_norm": _layer_norm,
    "group_norm": _group_norm,
    "instance_norm": _instance_norm,
    "l2_norm": _l2_norm,
    "conv_transpose2d": _conv_transpose2d,
    "upsample": _upsample,
    "max_unpool2d": _max_unpool2d,
    "matmul": _matmul,
    "multi_head_attention": _attention,
    **{name: _simple for name in ACTIVATIONS},
}


def helper_source(name: str) -> str:
    """The source of one helper class from layers.py (read as text: no torch import)."""
    text = resources.files("archviz.backends.pytorch").joinpath("layers.py").read_text(encoding="utf-8")
    tree = ast.parse(text)
    wanted = {name, "_crop"}
    parts = [ast.get_source_segment(text, node) for node in tree.body
             if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in wanted]
    return "\n\n\n".join(part for part in parts if part)


def _module_text(network: Network, analysis: Analysis, class_name: str, input_var: str, init_lines: list[str],
                 forward_lines: list[str], helpers: list[str]) -> str:
    from archviz import __version__

    shape = units.shape(analysis.input_shape)
    header = [
        f"{network.description or network.name}",
        "",
        f"Generated by archviz {__version__} from the spec {network.name!r} for input {shape}",
        (f"(N x {shape} batches). archviz counts {analysis.totals.params:,} parameters and an output of shape "
        f"{units.shape(analysis.totals.output_shape)}."),
    ]
    if network.reference:
        header += ["", *textwrap.wrap(f"Reference: {network.reference}", 100)]
    # Spec text in the docstring: backslashes doubled, so a description holding '\N' or a Windows
    # path is not read as an escape sequence (a SyntaxError), and no ''' that would close it early.
    docstring = "\n".join(header).replace("\\", "\\\\").replace("'''", '"""')
    lines = ["'''" + docstring + "\n'''", "", "import torch",
             "import torch.nn.functional as F", "from torch import nn", ""]
    for helper in helpers:
        lines += ["", helper_source(helper), ""]
    lines += [
        "",
        f"class {class_name}(nn.Module):",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *(init_lines or ["        pass"]),
        "",
        f"    def forward(self, {input_var}: torch.Tensor) -> torch.Tensor:",
        *forward_lines,
        "",
        "",
        'if __name__ == "__main__":',
        f"    model = {class_name}().eval()",
        "    params = sum(p.numel() for p in model.parameters())",
        f"    print(f\"params: {{params:,}} (archviz: {analysis.totals.params:,})\")",
        "    with torch.no_grad():",
        f"        y = model(torch.randn(1, {', '.join(str(d) for d in analysis.input_shape)}))",
        f"    print(\"output:\", tuple(y.shape[1:]), \"(archviz: {tuple(analysis.totals.output_shape)})\")",
    ]
    return "\n".join(lines) + "\n"
