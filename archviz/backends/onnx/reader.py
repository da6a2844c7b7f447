"""ONNX model -> imported layers (one archviz op per node, or a refusal that lists them all).

Reads the file with :mod:`archviz.backends.onnx.proto` (no ``onnx`` import). What the two
PyTorch exporters and onnx.helper write is recognised:

- Conv (pads, auto_pad, groups, dilations), Gemm and MatMul(+Add) as dense layers,
  BatchNormalization (ONNX's momentum is 1 - PyTorch's), LRN (ONNX's alpha is per element of the
  window: archviz's is alpha * size), the pools, GlobalAveragePool and ReduceMean over H and W,
  Flatten and a Reshape to (N, -1) as flatten, Sigmoid·Mul as SiLU, Clip(0, 6) as ReLU6;
- Constant nodes and constant inputs are read as values, not layers.

Whatever else appears is collected and refused in one message (:class:`UnsupportedOps`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archviz.backends.imported import (
    NETWORK_INPUT,
    ImportedLayer,
    ImportedModel,
    Unsupported,
    UnsupportedOps,
    name_scope,
    unique_names,
)
from archviz.backends.onnx.proto import Graph, Model, Node, Tensor, read_model, tensor_values
from archviz.errors import Location, SpecError
from archviz.ops import OP_REGISTRY

MAX_FILE_BYTES = 4 << 30  # the weights are skipped, but the whole file is mapped


@dataclass
class _Context:
    graph: Graph
    constants: dict[str, list[Any] | None] = field(default_factory=dict)  # tensor -> values (None: not inline)
    initializer_dims: dict[str, list[int]] = field(default_factory=dict)
    producer: dict[str, str] = field(default_factory=dict)  # tensor -> layer name that makes it
    consumers: dict[str, list[Node]] = field(default_factory=dict)
    layers: list[ImportedLayer] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)
    by_name: dict[str, ImportedLayer] = field(default_factory=dict)
    stated: dict[str, tuple[int, ...]] = field(default_factory=dict)  # value_info shapes, batch left out

    def constant(self, name: str) -> list[Any] | None:
        return self.constants.get(name)

    def is_constant(self, name: str) -> bool:
        return name in self.constants

    def source(self, tensor: str) -> str:
        return self.producer.get(tensor, NETWORK_INPUT)

    def data_inputs(self, node: Node) -> list[str]:
        return [name for name in node.inputs if name and not self.is_constant(name)]


Mapper = Callable[[Node, _Context], tuple[str, dict[str, Any]] | str | None]


def _attr(node: Node, name: str, default: Any = None) -> Any:
    attribute = node.attributes.get(name)
    return default if attribute is None else attribute.value()


def _padding(node: Node, kernel: list[int]) -> Any:
    auto = _attr(node, "auto_pad", b"NOTSET")
    if auto in (b"SAME_UPPER",):
        return "same"
    if auto == b"VALID":
        return "valid"
    if auto == b"SAME_LOWER":
        raise _Refuse("auto_pad=SAME_LOWER")
    pads = list(_attr(node, "pads", []) or [0] * 2 * len(kernel))
    if len(pads) != 4:
        raise _Refuse(f"pads={pads}")
    top, left, bottom, right = pads
    if top == bottom and left == right:
        return top if top == left else [top, left]
    return [[top, bottom], [left, right]]


class _Refuse(Exception):
    """A node of a known type whose attributes archviz cannot express."""


def _pair(values: list[int]) -> Any:
    return values[0] if len(set(values)) == 1 else list(values)


def _conv(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    weight = ctx.initializer_dims.get(node.inputs[1])
    if weight is None or len(weight) != 4:
        raise _Refuse("a weight that is not a 4-D initializer")
    kernel = list(_attr(node, "kernel_shape", weight[2:]))
    values: dict[str, Any] = {
        "filters": weight[0], "kernel": _pair(kernel),
        "stride": _pair(list(_attr(node, "strides", [1, 1]))),
        "padding": _padding(node, kernel),
        "dilation": _pair(list(_attr(node, "dilations", [1, 1]))),
        "groups": _attr(node, "group", 1),
        "bias": len(node.inputs) > 2 and bool(node.inputs[2]),
    }
    return "conv2d", values


def _gemm(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    weight = ctx.initializer_dims.get(node.inputs[1])
    if weight is None or len(weight) != 2 or _attr(node, "transA", 0):
        raise _Refuse("a weight that is not a 2-D initializer")
    units = weight[0] if _attr(node, "transB", 0) else weight[1]
    return "dense", {"units": units, "bias": len(node.inputs) > 2 and bool(node.inputs[2])}


def _matmul(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    weight = ctx.initializer_dims.get(node.inputs[1])
    if weight is None:
        if ctx.is_constant(node.inputs[0]) or ctx.is_constant(node.inputs[1]):
            raise _Refuse("a product with a constant that is not a 2-D weight")
        return "matmul", {}
    if len(weight) != 2:
        raise _Refuse("a product with a weight that is not 2-D")
    return "dense", {"units": weight[1], "bias": False}


def _transpose(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    perm = list(_attr(node, "perm", []))
    if not perm or perm[0] != 0:
        raise _Refuse(f"a transpose that moves the batch axis (perm={perm})")
    return "permute", {"dims": [axis - 1 for axis in perm[1:]]}


def _reshape(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]] | str | None:
    if _is_flatten(node, ctx):
        return _flatten(node, ctx)
    target = ctx.constant(node.inputs[1]) if len(node.inputs) > 1 else None
    if target is None or len(target) < 2 or target[0] not in (0, 1, -1):
        raise _Refuse("a reshape whose shape is computed, or that changes the batch")
    if any(dim == 0 for dim in target[1:]) and not _attr(node, "allowzero", 0):
        raise _Refuse(f"a reshape that copies input sizes (0 in {target})")
    return "reshape", {"shape": [int(dim) for dim in target[1:]]}


def _layer_norm(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    axis = _axis(_attr(node, "axis", -1))
    affine = len(node.inputs) > 1 and bool(node.inputs[1])
    bias = len(node.inputs) > 2 and bool(node.inputs[2])
    values: dict[str, Any] = {"eps": _f32(_attr(node, "epsilon", 1e-5)), "affine": affine, "bias": bias}
    return "layer_norm", values if axis == -1 else {"axis": axis, **values}


def _group_norm(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    return "group_norm", {"groups": _attr(node, "num_groups"), "eps": _f32(_attr(node, "epsilon", 1e-5))}


def _instance_norm(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    return "instance_norm", {"eps": _f32(_attr(node, "epsilon", 1e-5)), "affine": True}


def _conv_transpose(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    weight = ctx.initializer_dims.get(node.inputs[1])
    if weight is None or len(weight) != 4:
        raise _Refuse("a weight that is not a 4-D initializer")
    groups = _attr(node, "group", 1)
    kernel = list(_attr(node, "kernel_shape", weight[2:]))
    pads = list(_attr(node, "pads", [0, 0, 0, 0]))
    if _attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID") or pads[:2] != pads[2:]:
        raise _Refuse("asymmetric or automatic padding of a transposed convolution")
    return "conv_transpose2d", {
        "filters": weight[1] * groups, "kernel": _pair(kernel), "stride": _pair(list(_attr(node, "strides", [1, 1]))),
        "padding": _pair(pads[:2]), "output_padding": _pair(list(_attr(node, "output_padding", [0, 0]))),
        "dilation": _pair(list(_attr(node, "dilations", [1, 1]))), "groups": groups,
        "bias": len(node.inputs) > 2 and bool(node.inputs[2]),
    }


def _resize(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    mode = _attr(node, "mode", b"nearest")
    modes = {b"nearest": "nearest", b"linear": "bilinear"}
    if mode not in modes:
        raise _Refuse(f"resize mode {mode.decode(errors='replace')}")
    values: dict[str, Any] = {"mode": modes[mode]}
    if modes[mode] == "bilinear":
        values["align_corners"] = _attr(node, "coordinate_transformation_mode", b"half_pixel") == b"align_corners"
    scales = ctx.constant(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    sizes = ctx.constant(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
    if node.op_type == "Upsample" and len(node.inputs) > 1:
        scales = ctx.constant(node.inputs[1])
    if scales and len(scales) == 4 and scales[0] == scales[1] == 1 and scales[2] == scales[3]:
        return "upsample", {"scale": float(scales[2]), **values}
    if sizes and len(sizes) == 4:
        return "upsample", {"size": [int(sizes[2]), int(sizes[3])], **values}
    raise _Refuse("a resize whose scale or size is computed, or differs between height and width")


def _pad(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    pads = ctx.constant(node.inputs[1]) if len(node.inputs) > 1 else _attr(node, "pads")
    mode = _attr(node, "mode", b"constant").decode(errors="replace")
    if pads is None or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
        raise _Refuse("padding that is computed or touches the batch or channel axes")
    if mode not in ("constant", "reflect", "edge"):
        raise _Refuse(f"pad mode {mode}")
    value = ctx.constant(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else [0.0]
    values: dict[str, Any] = {"padding": [[int(pads[2]), int(pads[6])], [int(pads[3]), int(pads[7])]]}
    if mode != "constant":
        values["mode"] = "replicate" if mode == "edge" else mode
    elif value and float(value[0]) != 0.0:
        values["value"] = float(value[0])
    return "pad", values


def _split(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    axis = _axis(_attr(node, "axis", 0))
    sections = ctx.constant(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else _attr(node, "split")
    if sections:
        return "split", {"axis": axis, "sections": [int(size) for size in sections]}
    return "split", {"axis": axis, "parts": len(node.outputs)}


def _slice(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    starts, ends = ctx.constant(node.inputs[1]), ctx.constant(node.inputs[2])
    axes = ctx.constant(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
    steps = ctx.constant(node.inputs[4]) if len(node.inputs) > 4 and node.inputs[4] else [1]
    if starts is None or ends is None or len(starts) != 1 or axes is None or len(axes) != 1:
        raise _Refuse("a slice of several axes, or with computed bounds")
    end = int(ends[0])
    values: dict[str, Any] = {"axis": _axis(int(axes[0])), "start": int(starts[0])}
    if end < 2 ** 62:
        values["end"] = end
    if steps and int(steps[0]) != 1:
        values["step"] = int(steps[0])
    return "slice", values


def _gather(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    index = ctx.constant(node.inputs[1])
    dims = ctx.initializer_dims.get(node.inputs[1])
    if index is None or len(index) != 1 or (dims is not None and len(dims) != 0):
        raise _Refuse("a gather of computed or several indices")
    return "select", {"axis": _axis(_attr(node, "axis", 0)), "index": int(index[0])}


def _pool(op: str) -> Mapper:
    def mapper(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
        kernel = list(_attr(node, "kernel_shape"))
        if any(d != 1 for d in _attr(node, "dilations", [1, 1])):
            raise _Refuse("dilated pooling")
        return op, {"kernel": _pair(kernel), "stride": _pair(list(_attr(node, "strides", [1, 1]))),
                    "padding": _padding(node, kernel), "ceil_mode": bool(_attr(node, "ceil_mode", 0))}
    return mapper


def _global_pool(op: str, flat_op: str) -> Mapper:
    def mapper(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
        if _flattened_next(node, ctx):
            return flat_op, {}
        if op == "":
            raise _Refuse("global max pooling that keeps its 1x1 axes")
        return op, {"output_size": 1}
    return mapper


def _flattened_next(node: Node, ctx: _Context) -> bool:
    """The pooled map is read only by a Flatten (or Reshape to N x C): the pair is one global pool."""
    readers = ctx.consumers.get(node.outputs[0], [])
    return len(readers) == 1 and readers[0].op_type in ("Flatten", "Reshape") and _is_flatten(readers[0], ctx)


def _reduce_mean(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    axes = _attr(node, "axes")
    if axes is None and len(node.inputs) > 1:
        axes = ctx.constant(node.inputs[1])
    if axes is None or sorted(a % 4 for a in axes) != [2, 3]:
        raise _Refuse(f"a mean over axes {axes} (only height and width map to pooling)")
    if not _attr(node, "keepdims", 1):
        return "global_avg_pool2d", {}
    return _global_pool("adaptive_avg_pool2d", "global_avg_pool2d")(node, ctx)  # type: ignore[return-value]


def _is_flatten(node: Node, ctx: _Context) -> bool:
    """Flatten(axis=1), or a Reshape to (batch, features): the batch as 0, -1 or 1 (exporters
    write the traced batch of 1), the features as -1 or a count (checked against archviz's
    shape afterwards, see check_shapes)."""
    if node.op_type == "Flatten":
        return _attr(node, "axis", 1) == 1
    target = ctx.constant(node.inputs[1]) if len(node.inputs) > 1 else None
    return target is not None and len(target) == 2 and target[0] in (0, 1, -1) and (target[1] == -1 or target[1] > 0)


def _flatten(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]] | str | None:
    if not _is_flatten(node, ctx):
        raise _Refuse("a reshape other than a flatten to (N, features)")
    producer = ctx.by_name.get(ctx.source(node.inputs[0]))
    if producer is not None and producer.op in ("global_avg_pool2d", "global_max_pool2d") and \
            len(ctx.consumers.get(node.inputs[0], [])) == 1:
        return "fold"  # already flat: the pool took this flatten in
    return "flatten", {}


def _clip(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    low = _attr(node, "min")
    high = _attr(node, "max")
    if len(node.inputs) > 1 and node.inputs[1]:
        low = (ctx.constant(node.inputs[1]) or [None])[0]
    if len(node.inputs) > 2 and node.inputs[2]:
        high = (ctx.constant(node.inputs[2]) or [None])[0]
    if low == 0 and high == 6:
        return "relu6", {}
    if low == 0 and high is None:
        return "relu", {}
    raise _Refuse(f"a clip to [{low}, {high}] (only [0, 6] is ReLU6)")


def _f32(value: float) -> float:
    """A float32 attribute as the shortest decimal that is the same float32 (1e-05, not 9.99e-06)."""
    import struct

    packed = struct.pack("<f", value)
    for digits in range(1, 10):
        text = float(f"{value:.{digits}g}")
        if struct.pack("<f", text) == packed:
            return text
    return float(value)


def _erf(node: Node, ctx: _Context) -> str:
    """GELU as exporters write it: x * 0.5 * (1 + erf(x / sqrt(2))); the whole pattern becomes one
    gelu layer, found from the Erf (its Div before, Add and two Muls after)."""
    raise _Refuse("an erf that is not part of a GELU")


@dataclass
class _Gelus:
    final: dict[int, str] = field(default_factory=dict)  # id(last Mul) -> the x it is GELU of
    inner: set[int] = field(default_factory=set)  # ids of the nodes a pattern's last node stands for
    l2_norms: dict[int, tuple[str, float]] = field(default_factory=dict)  # id(scaling Mul) -> (x, eps)


def _near(ctx: _Context, name: str, value: float) -> bool:
    found = ctx.constant(name)
    return found is not None and len(found) == 1 and abs(float(found[0]) - value) < 1e-4


def _gelu_patterns(nodes: list[Node], ctx: _Context) -> _Gelus:
    """x * 0.5 * (1 + erf(x / sqrt(2))), in either order of the two products."""
    made = {output: node for node in nodes for output in node.outputs}
    readers: dict[str, list[Node]] = {}
    for node in nodes:
        for name in node.inputs:
            readers.setdefault(name, []).append(node)
    found = _Gelus()
    for erf in nodes:
        if erf.op_type != "Erf":
            continue
        div = made.get(erf.inputs[0])
        if div is None or div.op_type not in ("Div", "Mul") or not (
                _near(ctx, div.inputs[1], 2 ** 0.5) if div.op_type == "Div" else _near(ctx, div.inputs[1], 2 ** -0.5)):
            continue
        x = div.inputs[0]
        adds = readers.get(erf.outputs[0], [])
        if len(adds) != 1 or adds[0].op_type != "Add" or not any(_near(ctx, n, 1.0) for n in adds[0].inputs):
            continue
        add = adds[0]
        products = readers.get(add.outputs[0], [])
        if len(products) != 1 or products[0].op_type != "Mul":
            continue
        product = products[0]
        other = next(name for name in product.inputs if name != add.outputs[0])
        if other == x:  # (x * (1 + erf)) * 0.5
            halves = readers.get(product.outputs[0], [])
            if len(halves) == 1 and halves[0].op_type == "Mul" and any(_near(ctx, n, 0.5) for n in halves[0].inputs):
                found.final[id(halves[0])] = x
                found.inner.update({id(div), id(erf), id(add), id(product)})
        else:  # (x * 0.5) * (1 + erf)
            half = made.get(other)
            if half is not None and half.op_type == "Mul" and x in half.inputs and \
                    any(_near(ctx, n, 0.5) for n in half.inputs) and len(readers.get(half.outputs[0], [])) == 1:
                found.final[id(product)] = x
                found.inner.update({id(div), id(erf), id(add), id(half)})
    return found


def _l2_norm_patterns(nodes: list[Node], ctx: _Context, found: _Gelus) -> None:
    """SSD's L2Norm: x / max(ReduceL2(x over channels), eps) (or + eps) times a learnable scale per channel."""
    readers: dict[str, list[Node]] = {}
    for node in nodes:
        for name in node.inputs:
            readers.setdefault(name, []).append(node)

    def only_reader(node: Node, op_type: str) -> Node | None:
        users = readers.get(node.outputs[0], [])
        return users[0] if len(users) == 1 and users[0].op_type == op_type else None

    for norm in nodes:
        axes = _attr(norm, "axes") or (ctx.constant(norm.inputs[1]) if len(norm.inputs) > 1 else None)
        if norm.op_type != "ReduceL2" or list(axes or []) != [1] or not _attr(norm, "keepdims", 1):
            continue
        x = norm.inputs[0]
        floor = readers.get(norm.outputs[0], [])
        if len(floor) != 1 or floor[0].op_type not in ("Max", "Add", "Clip"):
            continue
        eps_name = next((name for name in floor[0].inputs[1:] if ctx.is_constant(name)), None)
        eps = (ctx.constant(eps_name) or [1e-12])[0] if eps_name else 1e-12
        divide = only_reader(floor[0], "Div")
        if divide is None or divide.inputs[0] != x:
            continue
        scale = only_reader(divide, "Mul")
        weight = next((name for name in (scale.inputs if scale else []) if name in ctx.initializer_dims), None)
        if scale is None or weight is None:
            continue
        found.l2_norms[id(scale)] = (x, float(eps))
        found.inner.update({id(norm), id(floor[0]), id(divide)})


def _l2_norm_of(x: str, eps: float) -> Mapper:
    def mapper(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
        node.inputs = [x]
        return "l2_norm", {} if eps == 1e-12 else {"eps": _f32(eps)}
    return mapper


def _gelu_of(x: str) -> Mapper:
    def mapper(node: Node, ctx: _Context) -> str:
        node.inputs = [x]  # the layer reads x itself; the pattern's constants are gone
        return "gelu"
    return mapper


def _batch_norm(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    return "batch_norm", {"eps": _f32(_attr(node, "epsilon", 1e-5)),
                          "momentum": round(1.0 - float(_attr(node, "momentum", 0.9)), 7)}


def _lrn(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    size = _attr(node, "size")
    return "lrn", {"size": size, "alpha": _f32(float(_attr(node, "alpha", 1e-4))) / size,
                   "beta": _f32(_attr(node, "beta", 0.75)), "k": _f32(_attr(node, "bias", 1.0))}


def _softmax(node: Node, ctx: _Context) -> str:
    if _attr(node, "axis", -1) not in (-1,):
        raise _Refuse(f"a softmax along axis {_attr(node, 'axis')} (archviz's is along the last axis)")
    return "softmax"


def _add(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]] | str:
    constants = [name for name in node.inputs if ctx.is_constant(name)]
    if not constants:
        return "add", {}
    data = ctx.data_inputs(node)
    producer = ctx.by_name.get(ctx.source(data[0])) if len(data) == 1 else None
    if (producer is not None and producer.op == "dense" and not producer.attributes.get("bias")
            and len(ctx.consumers.get(data[0], [])) == 1):
        producer.attributes["bias"] = True  # MatMul + Add: a linear layer with its bias
        return "fold"
    return _constant_operand(node, ctx, "add")


def _mul(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]] | str:
    if any(ctx.is_constant(name) for name in node.inputs):
        return _constant_operand(node, ctx, "multiply")
    a, b = node.inputs[:2]
    for x, gate in ((a, b), (b, a)):
        gate_layer = ctx.by_name.get(ctx.source(gate))
        if (gate_layer is not None and gate_layer.op == "sigmoid" and gate_layer.inputs == [ctx.source(x)]
                and len(ctx.consumers.get(gate, [])) == 1 and gate_layer.name == ctx.layers[-1].name):
            gate_layer.op = "silu"  # x * sigmoid(x)
            return "fold"
    if "multiply" in OP_REGISTRY:
        return "multiply", {}
    raise _Refuse("an elementwise product (multiply is not an archviz op yet)")


def _axis(axis: int) -> int:
    """An ONNX axis (batch first) as archviz's (no batch): 1 -> 0; negative axes count from the end in both."""
    if axis == 0:
        raise _Refuse("an operation along the batch axis")
    return axis - 1 if axis > 0 else axis


def _concat(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    axis = _axis(_attr(node, "axis", 1))
    return "concat", {} if axis == 0 else {"axis": axis}


def _constant_operand(node: Node, ctx: _Context, op: str) -> tuple[str, dict[str, Any]] | str:
    """x + c or x * c with c an initializer of more than one element: a learnable tensor (a
    positional embedding, a layer scale), a 'parameter' layer feeding the merge."""
    constant = next(name for name in node.inputs if ctx.is_constant(name))
    dims = ctx.initializer_dims.get(constant)
    size = 1
    for dim in dims or []:
        size *= dim
    if dims is None or size <= 1:
        raise _Refuse(f"the {op} of a scalar constant")
    shape = list(dims[1:]) if len(dims) > 1 and dims[0] == 1 else list(dims)
    return "parameter+" + op, {"shape": shape}


def _simple(op: str, **renames: str) -> Mapper:
    def mapper(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
        return op, {ours: _f32(float(_attr(node, theirs))) for ours, theirs in renames.items()
                    if node.attributes.get(theirs) is not None}
    return mapper


def _dropout(node: Node, ctx: _Context) -> tuple[str, dict[str, Any]]:
    ratio = _attr(node, "ratio")
    if ratio is None and len(node.inputs) > 1 and node.inputs[1]:
        ratio = (ctx.constant(node.inputs[1]) or [0.5])[0]
    return "dropout", {"rate": _f32(float(ratio if ratio is not None else 0.5))}


MAPPERS: dict[str, Mapper] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "MaxPool": _pool("max_pool2d"),
    "AveragePool": _pool("avg_pool2d"),
    "GlobalAveragePool": _global_pool("adaptive_avg_pool2d", "global_avg_pool2d"),
    "GlobalMaxPool": _global_pool("", "global_max_pool2d"),
    "ReduceMean": _reduce_mean,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "LayerNormalization": _layer_norm,
    "GroupNormalization": _group_norm,
    "InstanceNormalization": _instance_norm,
    "ConvTranspose": _conv_transpose,
    "Resize": _resize,
    "Upsample": _resize,
    "Pad": _pad,
    "Split": _split,
    "Slice": _slice,
    "Gather": _gather,
    "Erf": _erf,
    "Relu": _simple("relu"),
    "Sigmoid": _simple("sigmoid"),
    "Tanh": _simple("tanh"),
    "LeakyRelu": _simple("leaky_relu", slope="alpha"),
    "Elu": _simple("elu", alpha="alpha"),
    "Gelu": _simple("gelu"),
    "Softmax": _softmax,
    "Clip": _clip,
    "BatchNormalization": _batch_norm,
    "LRN": _lrn,
    "Dropout": _dropout,
    "Identity": _simple("identity"),
    "Add": _add,
    "Mul": _mul,
    "Concat": _concat,
}
# ops the language gains elsewhere map as soon as they are registered
OPTIONAL = {"HardSwish": "hardswish", "HardSigmoid": "hardsigmoid"}


STAGE_KEY = "archviz.stage"  # written by archviz's own ONNX export: the layer's stage
WEIGHTED = ("Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization")


def module_path(node: Node, index: int, ctx: _Context) -> str:
    """The module a node comes from, as a dotted path where the file says it.

    In order: a weight initializer named ``PATH.weight`` (both PyTorch exporters keep the
    module's name on its parameters, also where BatchNorm was folded in); the dynamo
    exporter's ``pkg.torch.onnx.name_scopes``; the legacy exporter's node name
    ``/layer1/layer1.0/conv1/Conv`` (module layer1.0.conv1); else the node's name.
    """
    if node.op_type in WEIGHTED and len(node.inputs) > 1 and node.inputs[1].endswith(".weight"):
        return node.inputs[1][: -len(".weight")]
    scopes = node.metadata.get("pkg.torch.onnx.name_scopes")
    if scopes:
        parts = [part.strip(" '\"") for part in scopes.strip("[]").split(",")]
        modules = [part for part in parts[:-1] if part]
        if modules:
            return modules[-1]
        return parts[-1] or node.op_type.lower()
    name = node.name or (node.outputs[0] if node.outputs else f"{node.op_type}_{index}")
    if name.startswith("/"):
        parts = [part for part in name.split("/") if part]
        if parts and (parts[-1] == node.op_type or parts[-1].startswith(node.op_type + "_")):
            parts = parts[:-1]
        path = ""
        for part in parts:
            path = part if not path or part.startswith(path + ".") else f"{path}.{part}"
        return path or node.op_type.lower()
    return _clean(name)


def _layer_names(paths: list[str], op_types: list[str]) -> list[str]:
    """A module that holds others (layer1.0 holds layer1.0.conv1) names its own ops by type:
    the residual sum of block layer1.0 is layer1.0.add."""
    prefixes = {path[:cut] for path in paths for cut in range(len(path)) if path[cut] == "."}
    return unique_names([f"{path}.{op.lower()}" if path in prefixes else path
                         for path, op in zip(paths, op_types, strict=True)])


def _tensor_name(name: str) -> str:
    """An initializer's name as the last part of a layer name: 'encoder.pos_embedding' -> 'pos_embedding'."""
    return _clean(name.rsplit(".", 1)[-1]) or "parameter"


def _clean(name: str) -> str:
    text = "".join(ch if ch.isalnum() or ch in "_.-/:" else "_" for ch in name).strip("_") or "layer"
    return text[:200]


def _prepare(model: Model) -> _Context:
    graph = model.graph
    ctx = _Context(graph)
    for tensor in graph.initializers:
        ctx.initializer_dims[tensor.name] = list(tensor.dims)
        ctx.constants[tensor.name] = tensor_values(tensor)
    for node in graph.nodes:
        for name in node.inputs:
            ctx.consumers.setdefault(name, []).append(node)
    for info in [*graph.value_info, *graph.outputs]:
        if info.shape and len(info.shape) > 1 and all(isinstance(d, int) and d > 0 for d in info.shape[1:]):
            ctx.stated[info.name] = tuple(int(d) for d in info.shape[1:])  # type: ignore[arg-type]
    return ctx


def _constant_node(node: Node, ctx: _Context) -> None:
    value = node.attributes.get("value")
    values: list[Any] | None = None
    if value is not None and isinstance(value.value(), Tensor):
        tensor = value.value()
        values = tensor_values(tensor)
        ctx.initializer_dims[node.outputs[0]] = list(tensor.dims)
    elif node.attributes.get("value_ints") is not None:
        values = list(node.attributes["value_ints"].ints)
    elif node.attributes.get("value_int") is not None:
        values = [node.attributes["value_int"].i]
    elif node.attributes.get("value_float") is not None:
        values = [node.attributes["value_float"].f]
    ctx.constants[node.outputs[0]] = values


def _input_shape(graph: Graph, ctx: _Context, display: str) -> tuple[str, tuple[int, ...] | None]:
    real = [info for info in graph.inputs if info.name not in ctx.initializer_dims]
    if len(real) != 1:
        names = ", ".join(info.name for info in real) or "none"
        raise SpecError(f"archviz analyses networks with one input; this model has {len(real)} ({names})",
                        location=Location(display))
    info = real[0]
    if info.shape is None or len(info.shape) < 2:
        return info.name, None
    dims = info.shape[1:]
    if all(isinstance(d, int) and d > 0 for d in dims):
        return info.name, tuple(int(d) for d in dims)  # type: ignore[arg-type]
    return info.name, None


def import_model(model: Model, display: str, name: str) -> ImportedModel:
    """The layers of an ONNX model in archviz's terms."""
    ctx = _prepare(model)
    graph = model.graph
    input_name, input_shape = _input_shape(graph, ctx, display)
    ctx.producer[input_name] = NETWORK_INPUT
    layer_nodes = []
    for node in graph.nodes:
        if node.op_type == "Constant":
            _constant_node(node, ctx)
        elif node.op_type == "Identity" and node.inputs and ctx.is_constant(node.inputs[0]):
            ctx.constants[node.outputs[0]] = ctx.constants[node.inputs[0]]  # an alias the exporter made
            if node.inputs[0] in ctx.initializer_dims:
                ctx.initializer_dims[node.outputs[0]] = ctx.initializer_dims[node.inputs[0]]
        else:
            layer_nodes.append(node)
    gelus = _gelu_patterns(layer_nodes, ctx)
    _l2_norm_patterns(layer_nodes, ctx, gelus)
    layer_nodes = [node for node in layer_nodes if id(node) not in gelus.inner]
    paths = [module_path(node, index, ctx) for index, node in enumerate(layer_nodes)]
    names = _layer_names(paths, [node.op_type for node in layer_nodes])
    for index, node in enumerate(layer_nodes):
        if id(node) in gelus.l2_norms:
            mapper = _l2_norm_of(*gelus.l2_norms[id(node)])
        elif id(node) in gelus.final:
            mapper = _gelu_of(gelus.final[id(node)])
        elif node.domain not in ("", "ai.onnx"):
            mapper = None
        else:
            mapper = MAPPERS.get(node.op_type)
            if mapper is None and node.op_type in OPTIONAL and OPTIONAL[node.op_type] in OP_REGISTRY:
                mapper = _simple(OPTIONAL[node.op_type])
        layer_name = names[index]
        scope = name_scope(layer_name, node.metadata.get(STAGE_KEY))
        where = f"node {index}" + (f" {node.name!r}" if node.name else "")
        if mapper is None:
            ctx.unsupported.append(Unsupported(layer_name, node.op_type, where))
            result: Any = None
        else:
            try:
                result = mapper(node, ctx)
            except _Refuse as refusal:
                ctx.unsupported.append(Unsupported(layer_name, f"{node.op_type}: {refusal}", where))
                result = None
        data = ctx.data_inputs(node)
        if result == "fold":  # the node is part of a layer made already: its output is that layer's
            target = ctx.source(data[0]) if node.op_type != "Mul" else ctx.layers[-1].name
            ctx.producer[node.outputs[0]] = target
            if target in ctx.by_name:
                ctx.by_name[target].stated_shape = ctx.stated.get(node.outputs[0])
            continue
        if result is None:
            for output in node.outputs:
                ctx.producer[output] = layer_name
            continue
        op, values = (result, {}) if isinstance(result, str) else result
        sources = [ctx.source(name) for name in data] or [NETWORK_INPUT]
        if op.startswith("parameter+"):  # a learnable operand: its own layer, then the merge
            constant = next(name for name in node.inputs if ctx.is_constant(name))
            parameter = ImportedLayer(f"{layer_name}.{_tensor_name(constant)}", "parameter", values, sources[:1],
                                      scope, f"ONNX initializer {constant!r} of node {index}")
            ctx.layers.append(parameter)
            ctx.by_name[parameter.name] = parameter
            op, values = op[len("parameter+"):], {}
            sources = [*sources, parameter.name]
        layer = ImportedLayer(layer_name, op, values, sources, scope,
                              f"ONNX node {index} {node.name!r} ({node.op_type})",
                              ctx.stated.get(node.outputs[0]) if node.outputs else None)
        ctx.layers.append(layer)
        ctx.by_name[layer_name] = layer
        if op == "split":  # each output is its own layer, '<name>.0', '<name>.1', ...
            for number, output in enumerate(node.outputs):
                ctx.producer[output] = f"{layer_name}.{number}"
        for output in node.outputs[:1]:
            ctx.producer.setdefault(output, layer_name)
    if ctx.unsupported:
        raise UnsupportedOps(display, "ONNX", ctx.unsupported).with_context(Location(display))
    outputs = [ctx.source(info.name) for info in graph.outputs]
    return ImportedModel(
        name=name, source=display, framework="ONNX", input_shape=input_shape, layers=ctx.layers,
        outputs=outputs, notes=_notes(model, ctx), source_params=_learnable(graph, ctx),
    )


def _learnable(graph: Graph, ctx: _Context) -> int:
    """Elements of the initializers that act as weights (BatchNorm's statistics are buffers)."""
    learnable: dict[str, int] = {}
    for node in graph.nodes:
        slots = {"Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (1,),
                 "BatchNormalization": (1, 2), "Add": (0, 1), "Mul": (0, 1)}.get(node.op_type, ())
        for slot in slots:
            if slot < len(node.inputs) and node.inputs[slot] in ctx.initializer_dims:
                dims = ctx.initializer_dims[node.inputs[slot]]
                if node.op_type in ("Add", "Mul") and len(dims) == 0:
                    continue
                size = 1
                for dim in dims:
                    size *= dim
                learnable[node.inputs[slot]] = size
    return sum(learnable.values())


def _notes(model: Model, ctx: _Context) -> list[str]:
    producer = f"{model.producer} {model.producer_version}".strip() or "an unknown producer"
    notes = [f"written by {producer}, ONNX IR {model.ir_version}, opset {model.opsets.get('', '?')}"]
    if not any(node.op_type == "BatchNormalization" for node in model.graph.nodes) and \
            "pytorch" in model.producer.lower():
        notes.append("PyTorch's exporter folds BatchNorm into the preceding Conv in eval mode: a model "
                     "exported that way has no batch_norm layers here")
    return notes


def read_onnx(path: str | Path, display: str | None = None) -> ImportedModel:
    """Read an .onnx file (an ``.onnx.data`` sidecar is never needed: weights are not read)."""
    path = Path(path)
    display = display or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SpecError(f"cannot read the model: {exc.strerror}", location=Location(display)) from None
    try:
        import stat

        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SpecError("a model must be a regular file", location=Location(display))
        if info.st_size > MAX_FILE_BYTES:
            raise SpecError(f"the file is larger than {MAX_FILE_BYTES >> 30} GiB", location=Location(display))
        import mmap

        if info.st_size == 0:
            raise SpecError("the file is empty: not an ONNX model", location=Location(display))
        failure: SpecError | None = None
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                model = read_model(view)
            except SpecError as exc:
                # a fresh error: the raised one's frames still hold views of the mapping
                failure = SpecError(exc.message, hint=exc.hint or "is it an ONNX model? (.onnx, a ModelProto)")
            finally:
                view.release()
        if failure is not None:
            raise failure
        stem = path.name[: -len(".onnx")] if path.name.endswith(".onnx") else path.stem
        return import_model(model, display, stem)
    except SpecError as exc:
        raise exc.with_context(Location(display))
    finally:
        os.close(fd)
