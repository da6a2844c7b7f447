"""A spec as a readable Keras 3 Python module (functional API, channels last).

The module needs only Keras (any backend): ``build_model()`` returns a ``keras.Model`` whose
layers carry the spec's names (``/`` and other characters Keras refuses become ``_``). Padding is
resolved for the analysed input as the PyTorch export does: where it is Keras's own ``same``
rule the layer says ``padding="same"``; other padding is a ``ZeroPadding2D`` before the layer
(named ``<layer>_pad``), and PyTorch's ``ceil_mode`` becomes extra padding at the bottom and
right. Two differences in values, none in shapes or parameters, are written as comments where
they occur: zero padding before a max pool (PyTorch pads with -inf) and before an average pool
(archviz leaves padding out of the divisor). Keras has no LRN layer: a spec with one is refused.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from archviz.backends.pytorch.options import BackendError
from archviz.ops.base import as_pair
from archviz.shapes import same_padding

if TYPE_CHECKING:
    from archviz.analysis import Analysis, LayerRecord
    from archviz.network import Network

ACTIVATIONS = {"relu": "relu", "relu6": "relu6", "leaky_relu": "leaky_relu", "elu": "elu", "gelu": "gelu",
               "silu": "silu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax"}
SIMPLE_ACTIVATIONS = {"gelu": "gelu", "silu": "silu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
                      "hardswish": "hard_swish", "hardsigmoid": "hard_sigmoid"}


def keras_name(name: str) -> str:
    """A layer name Keras accepts on every backend: letters, digits, '_' and '-' ('/' is refused by
    Keras, '.' by the torch backend's parameter names)."""
    return re.sub(r"[^A-Za-z0-9_\-]", "_", name) or "layer"


def _identifier(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", name)
    if not base or base[0].isdigit():
        base = f"t_{base}"
    if base in {"x", "keras", "layers", "inputs", "outputs", "model", "build_model"}:
        base = f"{base}_"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    taken.add(candidate)
    return candidate


def _call(layer: str, arguments: list[str]) -> str:
    return f"layers.{layer}({', '.join(arguments)})"


def _tuple(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def _fused(op: Any) -> list[str]:
    activation = getattr(op, "activation", "linear")
    return [] if activation == "linear" else [f'activation="{ACTIVATIONS[activation]}"']


def _window_padding(op: Any, record: LayerRecord, kernel: tuple[int, int], stride: tuple[int, int],
                    dilation: tuple[int, int] = (1, 1)) -> tuple[str | None, tuple[tuple[int, int], tuple[int, int]]]:
    """('same' or None, explicit pads still needed) for a window op at the analysed input."""
    pads = op.pads(record.input_shapes[0])
    _, height, width = record.input_shapes[0]
    size = (height, width)
    if all(pads[axis] == (0, 0) for axis in range(2)):
        explicit = ((0, 0), (0, 0))
        keras_same = None
    else:
        same = tuple(same_padding(size[axis], kernel[axis], stride[axis], dilation[axis]) for axis in range(2))
        keras_same = "same" if tuple(pads) == same else None
        explicit = ((0, 0), (0, 0)) if keras_same else pads
    out = record.output_shape[1:]
    # ceil_mode, or any rounding Keras's floor would not give: extra padding at the end
    extra = []
    for axis in range(2):
        if keras_same:
            extra.append(0)
            continue
        padded = size[axis] + sum(explicit[axis])
        effective = dilation[axis] * (kernel[axis] - 1) + 1
        needed = (out[axis] - 1) * stride[axis] + effective
        extra.append(max(0, needed - padded))
    if any(extra):
        explicit = ((explicit[0][0], explicit[0][1] + extra[0]), (explicit[1][0], explicit[1][1] + extra[1]))
    return keras_same, explicit


class _Source:
    def __init__(self, network: Network, analysis: Analysis) -> None:
        self.network = network
        self.records = {record.name: record for record in analysis.layers}
        self.analysis = analysis
        self.lines: list[str] = []
        self.taken: set[str] = set()
        self.tensor: dict[str, str] = {"input": "inputs"}
        self.names: set[str] = set()
        self.layer_names: dict[str, str] = {}  # spec layer -> its Keras layer's name

    def unique_layer_name(self, name: str) -> str:
        candidate, number = keras_name(name), 2
        base = candidate
        while candidate in self.names:
            candidate, number = f"{base}_{number}", number + 1
        self.names.add(candidate)
        return candidate

    def emit(self, target: str, layer: str, arguments: list[str], sources: list[str], comment: str = "") -> None:
        source = sources[0] if len(sources) == 1 else "[" + ", ".join(sources) + "]"
        if comment:
            self.lines.append(f"    # {comment}")
        self.lines.append(f"    {target} = {_call(layer, arguments)}({source})")

    def padded(self, name: str, source: str, pads: tuple[tuple[int, int], tuple[int, int]], comment: str = "") -> str:
        if pads == ((0, 0), (0, 0)):
            return source
        target = _identifier(f"{name}_pad", self.taken)
        self.emit(target, "ZeroPadding2D", [f"padding=({pads[0]}, {pads[1]})",
                                            f'name="{self.unique_layer_name(name + "_pad")}"'], [source], comment)
        return target

    def layer(self, layer: Any) -> None:
        op, record = layer.op, self.records[layer.name]
        sources = [self.tensor[name] for name in layer.inputs]
        target = _identifier(layer.name, self.taken)
        self.layer_names[layer.name] = self.unique_layer_name(layer.name)
        name = f'name="{self.layer_names[layer.name]}"'
        kind = op.name
        if kind == "conv2d":
            kernel, stride, dilation = as_pair(op.kernel), as_pair(op.stride), as_pair(op.dilation)
            same, pads = _window_padding(op, record, kernel, stride, dilation)
            source = self.padded(layer.name, sources[0], pads)
            arguments = [str(op.filters), _tuple(kernel)]
            arguments += [f"strides={_tuple(stride)}"] if stride != (1, 1) else []
            arguments += ['padding="same"'] if same else []
            arguments += [f"dilation_rate={_tuple(dilation)}"] if dilation != (1, 1) else []
            arguments += [f"groups={op.groups}"] if op.groups != 1 else []
            arguments += ["use_bias=False"] if not op.bias else []
            self.emit(target, "Conv2D", [*arguments, *_fused(op), name], [source])
        elif kind == "dense":
            arguments = [str(op.units), *(["use_bias=False"] if not op.bias else []), *_fused(op), name]
            self.emit(target, "Dense", arguments, sources)
        elif kind in ("max_pool2d", "avg_pool2d"):
            kernel, stride = as_pair(op.kernel), op.strides()
            same, pads = _window_padding(op, record, kernel, stride)
            note = ("zero padding where PyTorch pads with -inf: equal after a ReLU, shapes always equal"
                    if kind == "max_pool2d" else "the padding counts in the average here; archviz leaves it out")
            source = self.padded(layer.name, sources[0], pads, note if pads != ((0, 0), (0, 0)) else "")
            arguments = [_tuple(kernel)]
            arguments += [f"strides={_tuple(stride)}"] if stride != kernel else []
            arguments += ['padding="same"'] if same else []
            self.emit(target, "MaxPooling2D" if kind == "max_pool2d" else "AveragePooling2D", [*arguments, name],
                      [source])
        elif kind in ("global_avg_pool2d", "global_max_pool2d"):
            self.emit(target, "GlobalAveragePooling2D" if kind == "global_avg_pool2d" else "GlobalMaxPooling2D",
                      [name], sources)
        elif kind == "adaptive_avg_pool2d":
            _, height, width = record.input_shapes[0]
            out_h, out_w = as_pair(op.output_size)
            if (out_h, out_w) == (1, 1):
                self.emit(target, "GlobalAveragePooling2D", ["keepdims=True", name], sources)
            elif (out_h, out_w) == (height, width):
                self.emit(target, "Identity", [name], sources, "adaptive pooling to the size it receives")
            elif height % out_h == 0 and width % out_w == 0:
                window = (height // out_h, width // out_w)
                self.emit(target, "AveragePooling2D", [_tuple(window), name], sources)
            else:
                raise BackendError(f"adaptive average pooling from {height}x{width} to {out_h}x{out_w} has uneven "
                                   "windows, which Keras's pooling cannot express", hint="use an input that divides evenly")
        elif kind == "batch_norm":
            arguments = [f"epsilon={op.eps!r}", f"momentum={round(1 - op.momentum, 7)!r}"]
            arguments += ["center=False", "scale=False"] if not op.affine else []
            self.emit(target, "BatchNormalization", [*arguments, name], sources)
        elif kind == "flatten":
            self.emit(target, "Flatten", [name], sources, "channels-last order: the same count as PyTorch's")
        elif kind == "dropout":
            self.emit(target, "Dropout", [repr(op.rate), name], sources)
        elif kind == "identity":
            self.emit(target, "Identity", [name], sources)
        elif kind == "add":
            self.emit(target, "Add", [name], sources)
        elif kind == "concat":
            self.emit(target, "Concatenate", ["axis=-1", name], sources)
        elif kind == "relu":
            self.emit(target, "ReLU", [name], sources)
        elif kind == "relu6":
            self.emit(target, "ReLU", ["max_value=6.0", name], sources)
        elif kind == "leaky_relu":
            self.emit(target, "LeakyReLU", [f"negative_slope={op.slope!r}", name], sources)
        elif kind == "elu":
            self.emit(target, "ELU", [f"alpha={op.alpha!r}", name], sources)
        elif kind in SIMPLE_ACTIVATIONS:
            self.emit(target, "Activation", [f'"{SIMPLE_ACTIVATIONS[kind]}"', name], sources)
        else:
            raise BackendError(f"layer {layer.name!r}: Keras has no layer for {kind!r}",
                               hint="docs/import.md lists what each framework has")
        self.tensor[layer.name] = target

    def render(self) -> str:
        network = self.network
        shape = tuple(self.analysis.input_shape)
        keras_shape = (*shape[1:], shape[0]) if len(shape) == 3 else shape
        for layer in network.layers:
            self.layer(layer)
        outputs = list(self.analysis.outputs) or [network.layers[-1].name]
        returned = self.tensor[outputs[0]] if len(outputs) == 1 else "[" + ", ".join(self.tensor[n] for n in outputs) + "]"
        header = [
            f'"""{network.name} as a Keras 3 model (channels last), written by `archviz export --to keras`.',
            "",
            f"Input {list(shape)} in archviz's channels-first order is {list(keras_shape)} here.",
            f"archviz counts {self.analysis.totals.params:,} learnable parameters.",
            '"""',
            "",
            "import keras",
            "from keras import layers",
            "",
            "",
            f"def build_model(input_shape={keras_shape!r}) -> keras.Model:",
            '    inputs = keras.Input(shape=input_shape, name="input")',
        ]
        footer = [f'    return keras.Model(inputs, {returned}, name="{keras_name(network.name)}")', ""]
        return "\n".join([*header, *self.lines, *footer])


def to_keras_source(network: Network, analysis: Analysis) -> str:
    """Python source of a Keras 3 functional model for ``network`` at the analysed input."""
    return _Source(network, analysis).render()


def keras_layer_names(network: Network, analysis: Analysis) -> tuple[str, dict[str, str]]:
    """The source and, for each spec layer, the name of the Keras layer that stands for it."""
    source = _Source(network, analysis)
    return source.render(), source.layer_names
