"""A spec as an ONNX model, built node by node with ``onnx.helper`` (no PyTorch involved).

Every layer becomes the ONNX operator that means the same thing, with its padding resolved for
the analysed input (as the PyTorch export does); weights are seeded random numbers, so the model
runs in ONNX Runtime and opens in Netron. Each layer's output tensor is named after the layer,
so a verifier can ask ONNX Runtime for any layer's output. The batch axis is symbolic (``N``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from archviz.backends.pytorch.options import BackendError
from archviz.ops.base import as_pair

if TYPE_CHECKING:
    import onnx

    from archviz.analysis import Analysis, LayerRecord
    from archviz.network import Network

OPSET = 18
BATCH = "N"


class _Graph:
    def __init__(self, seed: int) -> None:
        import numpy as np

        self.np = np
        self.random = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.counter = 0

    def weight(self, name: str, shape: Sequence[int], scale: float = 0.05, fill: float | None = None) -> str:
        from onnx import numpy_helper

        if fill is not None:
            values = self.np.full(tuple(shape), fill, dtype=self.np.float32)
        else:
            values = self.random.standard_normal(tuple(shape), dtype=self.np.float32)
            values *= scale
        self.initializers.append(numpy_helper.from_array(values, name))
        return name

    def ints(self, name: str, values: Sequence[int]) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(self.np.array(list(values), dtype=self.np.int64), name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], output: str, name: str, **attributes: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=name, **attributes))
        return output

    def temp(self, layer: str, what: str) -> str:
        self.counter += 1
        return f"{layer}/{what}_{self.counter}"


Builder = Callable[[_Graph, Any, "LayerRecord", list[str], str], object]


def _onnx_pads(pads: tuple[tuple[int, int], tuple[int, int]]) -> list[int]:
    (top, bottom), (left, right) = pads
    return [top, left, bottom, right]


def _activation(graph: _Graph, name: str, source: str, output: str, layer: str, values: dict[str, Any]) -> None:
    if name == "relu":
        graph.node("Relu", [source], output, layer)
    elif name == "relu6":
        graph.node("Clip", [source, graph.weight(graph.temp(layer, "min"), [], fill=0.0),
                            graph.weight(graph.temp(layer, "max"), [], fill=6.0)], output, layer)
    elif name == "leaky_relu":
        graph.node("LeakyRelu", [source], output, layer, alpha=float(values.get("slope", 0.01)))
    elif name == "elu":
        graph.node("Elu", [source], output, layer, alpha=float(values.get("alpha", 1.0)))
    elif name == "sigmoid":
        graph.node("Sigmoid", [source], output, layer)
    elif name == "tanh":
        graph.node("Tanh", [source], output, layer)
    elif name == "softmax":
        graph.node("Softmax", [source], output, layer, axis=-1)
    elif name == "silu":
        gate = graph.node("Sigmoid", [source], graph.temp(layer, "sigmoid"), f"{layer}/sigmoid")
        graph.node("Mul", [source, gate], output, layer)
    elif name == "gelu":  # erf form, as opset 18 has no Gelu: x * 0.5 * (1 + erf(x / sqrt(2)))
        scaled = graph.node("Div", [source, graph.weight(graph.temp(layer, "sqrt2"), [], fill=2 ** 0.5)],
                            graph.temp(layer, "div"), f"{layer}/div")
        erf = graph.node("Erf", [scaled], graph.temp(layer, "erf"), f"{layer}/erf")
        one = graph.node("Add", [erf, graph.weight(graph.temp(layer, "one"), [], fill=1.0)],
                         graph.temp(layer, "add"), f"{layer}/add")
        half = graph.node("Mul", [source, graph.weight(graph.temp(layer, "half"), [], fill=0.5)],
                          graph.temp(layer, "half"), f"{layer}/mul")
        graph.node("Mul", [half, one], output, layer)
    elif name == "hardsigmoid":
        graph.node("HardSigmoid", [source], output, layer, alpha=1 / 6, beta=0.5)
    elif name == "hardswish":
        graph.node("HardSwish", [source], output, layer)
    else:
        raise BackendError(f"activation {name!r} has no ONNX export yet")


def _fused(graph: _Graph, op: Any, source: str, output: str, layer: str) -> None:
    activation = getattr(op, "activation", "linear")
    if activation == "linear":
        graph.node("Identity", [source], output, f"{layer}/identity")
    else:
        _activation(graph, activation, source, output, f"{layer}/{activation}", {})


def _conv2d(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    channels = record.input_shapes[0][0]
    kernel = as_pair(op.kernel)
    weight = graph.weight(f"{record.name}.weight", [op.filters, channels // op.groups, *kernel])
    sources = [inputs[0], weight]
    if op.bias:
        sources.append(graph.weight(f"{record.name}.bias", [op.filters]))
    fused = getattr(op, "activation", "linear") != "linear"
    target = graph.temp(record.name, "conv") if fused else output
    graph.node("Conv", sources, target, record.name, kernel_shape=list(kernel), strides=list(as_pair(op.stride)),
               dilations=list(as_pair(op.dilation)), group=op.groups, pads=_onnx_pads(op.pads(record.input_shapes[0])))
    if fused:
        _fused(graph, op, target, output, record.name)


def _dense(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    features = record.input_shapes[0][0]
    sources = [inputs[0], graph.weight(f"{record.name}.weight", [op.units, features])]
    if op.bias:
        sources.append(graph.weight(f"{record.name}.bias", [op.units]))
    fused = getattr(op, "activation", "linear") != "linear"
    target = graph.temp(record.name, "gemm") if fused else output
    graph.node("Gemm", sources, target, record.name, transB=1)
    if fused:
        _fused(graph, op, target, output, record.name)


def _pool(op_type: str) -> Builder:
    def build(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
        pads = op.pads(record.input_shapes[0])
        extra = {"count_include_pad": 0} if op_type == "AveragePool" else {}
        graph.node(op_type, inputs[:1], output, record.name, kernel_shape=list(as_pair(op.kernel)),
                   strides=list(op.strides()), pads=_onnx_pads(pads), ceil_mode=int(op.ceil_mode), **extra)
    return build


def _global(op_type: str) -> Builder:
    def build(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
        pooled = graph.node(op_type, inputs[:1], graph.temp(record.name, "pool"), record.name)
        graph.node("Flatten", [pooled], output, f"{record.name}/flatten", axis=1)
    return build


def _adaptive(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    _, height, width = record.input_shapes[0]
    out_h, out_w = as_pair(op.output_size)
    if (out_h, out_w) == (1, 1):
        graph.node("GlobalAveragePool", inputs[:1], output, record.name)
        return
    if height % out_h or width % out_w:
        raise BackendError(f"adaptive average pooling from {height}x{width} to {out_h}x{out_w} has uneven windows, "
                           "which ONNX's AveragePool cannot express", hint="use an input whose size divides evenly")
    kernel = [height // out_h, width // out_w]
    graph.node("AveragePool", inputs[:1], output, record.name, kernel_shape=kernel, strides=kernel)


def _batch_norm(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    channels = record.input_shapes[0][0]
    name = record.name
    scale = graph.weight(f"{name}.weight", [channels], fill=1.0) if op.affine else \
        graph.weight(graph.temp(name, "one"), [channels], fill=1.0)
    bias = graph.weight(f"{name}.bias", [channels], fill=0.0) if op.affine else \
        graph.weight(graph.temp(name, "zero"), [channels], fill=0.0)
    mean = graph.weight(f"{name}.running_mean", [channels], fill=0.0)
    var = graph.weight(f"{name}.running_var", [channels], fill=1.0)
    graph.node("BatchNormalization", [inputs[0], scale, bias, mean, var], output, name,
               epsilon=float(op.eps), momentum=1.0 - float(op.momentum))


def _lrn(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    # ONNX's alpha, like PyTorch's, is divided by size; archviz's scales the plain sum
    graph.node("LRN", inputs[:1], output, record.name, size=op.size, alpha=float(op.alpha * op.size),
               beta=float(op.beta), bias=float(op.k))


def _elementwise(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    _activation(graph, op.name, inputs[0], output, record.name, op.values)


def _add(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    graph.node("Sum" if len(inputs) > 2 else "Add", inputs, output, record.name)


def _ints(graph: _Graph, layer: str, what: str, values: Sequence[int]) -> str:
    return graph.ints(graph.temp(layer, what), values)


def _multiply(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    product = inputs[0]
    for index, other in enumerate(inputs[1:], start=1):
        last = index == len(inputs) - 1
        product = graph.node("Mul", [product, other], output if last else graph.temp(record.name, "mul"), record.name)


def _parameter(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    # a learnable tensor of its own shape with a leading 1: it broadcasts over any batch in Add and Mul
    tensor = graph.weight(f"{record.name}.weight", [1, *record.output_shape], fill=float(op.value)
                          if op.init == "constant" else None, scale=float(op.std))
    graph.node("Identity", [tensor], output, record.name)


def _layer_norm(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    shape = record.input_shapes[0]
    axis = op.axis + len(shape) if op.axis < 0 else op.axis
    size = shape[axis]
    sources = [inputs[0]]
    last = axis == len(shape) - 1
    perm = [0, *(d + 1 for d in range(len(shape)) if d != axis), axis + 1]
    if not last:  # normalise one inner axis: move it last, normalise, move it back
        sources = [graph.node("Transpose", [inputs[0]], graph.temp(record.name, "to_last"), f"{record.name}/to_last",
                              perm=perm)]
    scale = graph.weight(f"{record.name}.weight", [size], fill=1.0) if op.affine else \
        graph.weight(graph.temp(record.name, "one"), [size], fill=1.0)
    extra = [graph.weight(f"{record.name}.bias", [size], fill=0.0)] if op.affine and op.bias else []
    target = output if last else graph.temp(record.name, "normed")
    graph.node("LayerNormalization", [sources[0], scale, *extra], target, record.name, axis=-1, epsilon=float(op.eps))
    if not last:
        back = [perm.index(d) for d in range(len(perm))]
        graph.node("Transpose", [target], output, f"{record.name}/back", perm=back)


def _conv_transpose2d(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    channels = record.input_shapes[0][0]
    kernel = as_pair(op.kernel)
    sources = [inputs[0], graph.weight(f"{record.name}.weight", [channels, op.filters // op.groups, *kernel])]
    if op.bias:
        sources.append(graph.weight(f"{record.name}.bias", [op.filters]))
    pad_h, pad_w = as_pair(op.padding)
    graph.node("ConvTranspose", sources, output, record.name, kernel_shape=list(kernel),
               strides=list(as_pair(op.stride)), pads=[pad_h, pad_w, pad_h, pad_w],
               output_padding=list(as_pair(op.output_padding)), dilations=list(as_pair(op.dilation)), group=op.groups)


def _channel_shuffle(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    channels, *spatial = record.input_shapes[0]
    grouped = graph.node("Reshape", [inputs[0], _ints(graph, record.name, "groups", [0, op.groups, channels // op.groups,
                                                                                      *spatial])],
                         graph.temp(record.name, "grouped"), f"{record.name}/group")
    swapped = graph.node("Transpose", [grouped], graph.temp(record.name, "swapped"), f"{record.name}/swap",
                         perm=[0, 2, 1, *range(3, 3 + len(spatial))])
    graph.node("Reshape", [swapped, _ints(graph, record.name, "shape", [0, channels, *spatial])], output, record.name)


def _split(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    axis, start, length = op.section(record.input_shapes[0])
    graph.node("Slice", [inputs[0], _ints(graph, record.name, "start", [start]),
                         _ints(graph, record.name, "end", [start + length]), _ints(graph, record.name, "axis", [axis + 1])],
               output, record.name)


def _l2_norm(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    channels = record.input_shapes[0][0]
    rank = len(record.input_shapes[0])
    norm = graph.node("ReduceL2", [inputs[0], _ints(graph, record.name, "axes", [1])], graph.temp(record.name, "norm"),
                      f"{record.name}/norm", keepdims=1)
    floor = graph.node("Max", [norm, graph.weight(graph.temp(record.name, "eps"), [], fill=float(op.eps))],
                       graph.temp(record.name, "floor"), f"{record.name}/eps")
    unit = graph.node("Div", [inputs[0], floor], graph.temp(record.name, "unit"), f"{record.name}/div")
    scale = graph.weight(f"{record.name}.weight", [channels, *([1] * (rank - 1))], fill=float(op.scale))
    graph.node("Mul", [unit, scale], output, record.name)


def _permute(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    rank = len(record.input_shapes[0])
    dims = [d + rank if d < 0 else d for d in op.dims]
    graph.node("Transpose", inputs[:1], output, record.name, perm=[0, *(d + 1 for d in dims)])


def _reshape(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    graph.node("Reshape", [inputs[0], _ints(graph, record.name, "shape", [0, *record.output_shape])], output,
               record.name)


def _select(graph: _Graph, op: Any, record: LayerRecord, inputs: list[str], output: str) -> None:
    from onnx import numpy_helper

    shape = record.input_shapes[0]
    axis = op.axis + len(shape) if op.axis < 0 else op.axis
    index = op.index + shape[axis] if op.index < 0 else op.index
    name = graph.temp(record.name, "index")
    graph.initializers.append(numpy_helper.from_array(graph.np.array(index, dtype=graph.np.int64), name))
    graph.node("Gather", [inputs[0], name], output, record.name, axis=axis + 1)


BUILDERS: dict[str, Builder] = {
    "conv2d": _conv2d,
    "dense": _dense,
    "max_pool2d": _pool("MaxPool"),
    "avg_pool2d": _pool("AveragePool"),
    "global_avg_pool2d": _global("GlobalAveragePool"),
    "global_max_pool2d": _global("GlobalMaxPool"),
    "adaptive_avg_pool2d": _adaptive,
    "batch_norm": _batch_norm,
    "lrn": _lrn,
    "flatten": lambda graph, op, record, inputs, output: graph.node("Flatten", inputs, output, record.name, axis=1),
    "dropout": lambda graph, op, record, inputs, output: graph.node("Identity", inputs, output, record.name),
    "identity": lambda graph, op, record, inputs, output: graph.node("Identity", inputs, output, record.name),
    "add": _add,
    "multiply": _multiply,
    "parameter": _parameter,
    "layer_norm": _layer_norm,
    "conv_transpose2d": _conv_transpose2d,
    "channel_shuffle": _channel_shuffle,
    "split": _split,
    "l2_norm": _l2_norm,
    "permute": _permute,
    "reshape": _reshape,
    "select": _select,
    "stochastic_depth": lambda graph, op, record, inputs, output: graph.node("Identity", inputs, output, record.name),
    "concat": lambda graph, op, record, inputs, output: graph.node("Concat", inputs, output, record.name, axis=1),
    **{name: _elementwise for name in ("relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh",
                                       "softmax", "hardswish", "hardsigmoid")},
}


def supported(op_name: str) -> bool:
    return op_name in BUILDERS


def to_onnx(network: Network, analysis: Analysis, seed: int = 0) -> onnx.ModelProto:
    """The network as an ONNX model (opset 18) for the analysed input shape, any batch."""
    from onnx import TensorProto, helper

    missing = sorted({layer.op.name for layer in network.layers if layer.op.name not in BUILDERS})
    if missing:
        raise BackendError(f"these ops have no ONNX export yet: {', '.join(missing)}",
                           hint="docs/import.md lists what each framework has")
    graph = _Graph(seed)
    records = {record.name: record for record in analysis.layers}
    shape = list(analysis.input_shape)
    for layer in network.layers:
        record = records[layer.name]
        first = len(graph.nodes)
        BUILDERS[layer.op.name](graph, layer.op, record, list(layer.inputs), layer.name)
        if layer.stage:  # archviz's reader takes the stage back from here (docs/import.md)
            for node in graph.nodes[first:]:
                node.metadata_props.add(key="archviz.stage", value=layer.stage)
    output_names = list(getattr(network, "outputs", None) or [network.layers[-1].name])
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [BATCH, *records[name].output_shape])
               for name in output_names]
    graph_proto = helper.make_graph(
        graph.nodes, network.name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [BATCH, *shape])],
        outputs, graph.initializers,
    )
    model = helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="archviz", producer_version=_version())
    model.ir_version = 8  # readable by every ONNX Runtime of the last years
    return model


def _version() -> str:
    from archviz import __version__

    return __version__


def onnx_bytes(network: Network, analysis: Analysis, seed: int = 0) -> bytes:
    """The serialised model, checked with ``onnx.checker`` first."""
    import onnx

    model = to_onnx(network, analysis, seed)
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
