"""Keras model -> imported layers, from a ``.keras`` file's config.json (no Keras import needed).

A ``.keras`` file is a zip whose ``config.json`` is the model's plain JSON config; the weights
beside it are never read. Both the functional config (``inbound_nodes`` with Keras 3's
``__keras_tensor__`` references, or Keras 2's ``[name, node, tensor, kwargs]`` lists) and the
Sequential one (no inbound nodes: each layer reads the one before) are understood.

Keras facts the mapping follows: channels-last shapes become archviz's channels-first (the
input ``(H, W, C)`` is ``[C, H, W]``; ``Concatenate(axis=-1)`` joins channels);
``padding='same'`` is TensorFlow's rule, which is archviz's ``same``; an activation fused into
Conv2D or Dense stays fused (the language's ``activation`` attribute), so the layer list is
Keras's own ``model.summary()`` row for row; BatchNormalization's moving mean and variance,
Keras's non-trainable params, are archviz's buffers; its momentum is 1 - PyTorch's.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archviz.backends.imported import NETWORK_INPUT, ImportedLayer, ImportedModel, Unsupported, UnsupportedOps
from archviz.errors import Location, SpecError
from archviz.ops import OP_REGISTRY
from archviz.spec.yamlio import open_regular

MAX_CONFIG_BYTES = 64 << 20
ACTIVATIONS = {
    "linear": "linear", "relu": "relu", "relu6": "relu6", "leaky_relu": "leaky_relu", "elu": "elu",
    "gelu": "gelu", "silu": "silu", "swish": "silu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
    "hard_sigmoid": "hardsigmoid", "hard_swish": "hardswish", "hard_silu": "hardswish",
}
FUSABLE = ("linear", "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "softmax")


class _Refuse(Exception):
    """A known layer with a setting archviz cannot express."""


def _snake(name: str) -> str:
    """Keras's own rule for automatic layer names: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _padding(config: dict[str, Any]) -> Any:
    padding = config.get("padding", "valid")
    return 0 if padding == "valid" else padding


def _pair(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return value[0] if len(set(value)) == 1 else list(value)
    return value


def _activation_name(value: Any) -> str:
    if isinstance(value, dict):  # a serialised activation object
        value = value.get("config", {}).get("name") or value.get("class_name")
    name = str(value or "linear")
    if name not in ACTIVATIONS:
        raise _Refuse(f"activation {name!r}")
    return ACTIVATIONS[name]


def _fused(config: dict[str, Any]) -> dict[str, Any]:
    activation = _activation_name(config.get("activation", "linear"))
    if activation not in FUSABLE:
        raise _Refuse(f"activation {activation!r} fused into the layer")
    return {} if activation == "linear" else {"activation": activation}


def _channels_last(config: dict[str, Any]) -> None:
    if config.get("data_format") not in (None, "channels_last"):
        raise _Refuse(f"data_format={config.get('data_format')!r} (archviz reads channels_last Keras models)")


def _conv(config: dict[str, Any], shape: list[Any] | None) -> tuple[str, dict[str, Any]]:
    _channels_last(config)
    return "conv2d", {
        "filters": config["filters"], "kernel": _pair(config["kernel_size"]),
        "stride": _pair(config.get("strides", 1)), "padding": _padding(config),
        "dilation": _pair(config.get("dilation_rate", 1)), "groups": config.get("groups", 1),
        "bias": bool(config.get("use_bias", True)), **_fused(config),
    }


def _depthwise(config: dict[str, Any], shape: list[Any] | None) -> tuple[str, dict[str, Any]]:
    _channels_last(config)
    if not shape or not isinstance(shape[-1], int):
        raise _Refuse("a depthwise convolution whose input channels the config does not give")
    channels = shape[-1]
    return "conv2d", {
        "filters": channels * int(config.get("depth_multiplier", 1)), "kernel": _pair(config["kernel_size"]),
        "stride": _pair(config.get("strides", 1)), "padding": _padding(config),
        "dilation": _pair(config.get("dilation_rate", 1)), "groups": channels,
        "bias": bool(config.get("use_bias", True)), **_fused(config),
    }


def _dense(config: dict[str, Any], shape: list[Any] | None) -> tuple[str, dict[str, Any]]:
    return "dense", {"units": config["units"], "bias": bool(config.get("use_bias", True)), **_fused(config)}


def _pool(op: str) -> Callable[[dict[str, Any], list[Any] | None], tuple[str, dict[str, Any]]]:
    def mapper(config: dict[str, Any], shape: list[Any] | None) -> tuple[str, dict[str, Any]]:
        _channels_last(config)
        kernel = _pair(config.get("pool_size", 2))
        stride = _pair(config.get("strides") or kernel)
        values = {"kernel": kernel, "padding": _padding(config)}
        return op, values if stride == kernel else {**values, "stride": stride}
    return mapper


def _global(op: str) -> Callable[[dict[str, Any], list[Any] | None], tuple[str, dict[str, Any]]]:
    def mapper(config: dict[str, Any], shape: list[Any] | None) -> tuple[str, dict[str, Any]]:
        _channels_last(config)
        if config.get("keepdims"):
            if op != "global_avg_pool2d":
                raise _Refuse("global max pooling with keepdims=True")
            return "adaptive_avg_pool2d", {"output_size": 1}
        return op, {}
    return mapper


def _batch_norm(config: dict[str, Any], shape: list[Any] | None) -> tuple[str, dict[str, Any]]:
    if bool(config.get("center", True)) != bool(config.get("scale", True)):
        raise _Refuse("a batch norm with only one of center and scale")
    if config.get("axis", -1) not in (-1, 3, [3], [-1]):
        raise _Refuse(f"batch normalisation over axis {config.get('axis')}")
    return "batch_norm", {"eps": float(config.get("epsilon", 1e-3)),
                          "momentum": round(1.0 - float(config.get("momentum", 0.99)), 7),
                          "affine": bool(config.get("center", True))}


def _activation(config: dict[str, Any], shape: list[Any] | None) -> str:
    name = _activation_name(config.get("activation"))
    if name == "linear":
        return "identity"
    if name not in OP_REGISTRY:
        raise _Refuse(f"activation {name!r}")
    return name


def _relu(config: dict[str, Any], shape: list[Any] | None) -> tuple[str, dict[str, Any]] | str:
    maximum, slope, threshold = config.get("max_value"), config.get("negative_slope", 0.0), config.get("threshold", 0.0)
    if threshold:
        raise _Refuse(f"threshold={threshold}")
    if maximum is None:
        return ("leaky_relu", {"slope": float(slope)}) if slope else "relu"
    if float(maximum) == 6.0 and not slope:
        return "relu6"
    raise _Refuse(f"max_value={maximum}, negative_slope={slope}")


def _concat(config: dict[str, Any], shape: list[Any] | None) -> str:
    if config.get("axis", -1) not in (-1, 3):
        raise _Refuse(f"a concatenation along axis {config.get('axis')} (channels only)")
    return "concat"


def _plain(op: str, **renames: str) -> Callable[[dict[str, Any], list[Any] | None], Any]:
    def mapper(config: dict[str, Any], shape: list[Any] | None) -> Any:
        values = {ours: float(config[theirs]) for ours, theirs in renames.items() if config.get(theirs) is not None}
        return (op, values) if values else op
    return mapper


MAPPERS: dict[str, Callable[[dict[str, Any], list[Any] | None], Any]] = {
    "Conv2D": _conv,
    "DepthwiseConv2D": _depthwise,
    "Dense": _dense,
    "MaxPooling2D": _pool("max_pool2d"),
    "MaxPool2D": _pool("max_pool2d"),
    "AveragePooling2D": _pool("avg_pool2d"),
    "AvgPool2D": _pool("avg_pool2d"),
    "GlobalAveragePooling2D": _global("global_avg_pool2d"),
    "GlobalAvgPool2D": _global("global_avg_pool2d"),
    "GlobalMaxPooling2D": _global("global_max_pool2d"),
    "GlobalMaxPool2D": _global("global_max_pool2d"),
    "Flatten": _plain("flatten"),
    "BatchNormalization": _batch_norm,
    "Activation": _activation,
    "ReLU": _relu,
    "LeakyReLU": _plain("leaky_relu", slope="negative_slope"),
    "ELU": _plain("elu", alpha="alpha"),
    "Softmax": _plain("softmax"),
    "Dropout": _plain("dropout", rate="rate"),
    "Add": _plain("add"),
    "Concatenate": _concat,
    "Multiply": _plain("multiply"),
    "Identity": _plain("identity"),
}


def _history(value: Any) -> list[tuple[str, list[Any] | None]]:
    """Every (layer name, channels-last shape) an inbound node's arguments reference."""
    found: list[tuple[str, list[Any] | None]] = []
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            config = value.get("config", {})
            history = config.get("keras_history") or [None]
            found.append((str(history[0]), config.get("shape")))
        else:
            for item in value.values():
                found.extend(_history(item))
    elif isinstance(value, list):
        if len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int):  # Keras 2
            found.append((value[0], None))
        else:
            for item in value:
                found.extend(_history(item))
    return found


def _inbound(layer: dict[str, Any]) -> list[tuple[str, list[Any] | None]] | None:
    nodes = layer.get("inbound_nodes")
    if nodes is None:
        return None
    if len(nodes) > 1:
        raise _Refuse(f"a layer called {len(nodes)} times (shared weights)")
    if not nodes:
        return []
    node = nodes[0]
    return _history(node.get("args", node) if isinstance(node, dict) else node)


def _scope(name: str, class_name: str) -> tuple[str, ...]:
    """keras.applications' 'block1_conv1' is stage block1; 'conv2d_3' (an automatic name) has none."""
    prefix, sep, _ = name.partition("_")
    if not sep or prefix == _snake(class_name) or prefix in _snake(class_name).split("_"):
        return ()
    return (prefix,)


def _input_shape(layers: list[dict[str, Any]], config: dict[str, Any]) -> tuple[int, ...] | None:
    candidates: list[Any] = []
    for layer in layers[:1]:
        layer_config = layer.get("config", {})
        candidates += [layer_config.get("batch_shape"), layer_config.get("batch_input_shape"),
                       (layer.get("build_config") or {}).get("input_shape")]
    candidates.append(config.get("build_input_shape"))
    for shape in candidates:
        if isinstance(shape, list) and len(shape) >= 2 and all(isinstance(d, int) and d > 0 for d in shape[1:]):
            dims = [int(d) for d in shape[1:]]
            return (dims[-1], *dims[:-1]) if len(dims) == 3 else tuple(dims)
    return None


def import_config(root: dict[str, Any], display: str) -> ImportedModel:
    """The layers of a Keras model config (the contents of a ``.keras`` file's config.json)."""
    class_name = root.get("class_name")
    config = root.get("config") if isinstance(root.get("config"), dict) else None
    if class_name not in ("Functional", "Model", "Sequential") or config is None or \
            not isinstance(config.get("layers"), list):
        raise SpecError(f"not a Keras Functional or Sequential model config. Received: class_name={class_name!r}",
                        location=Location(display), hint="save the model with model.save('model.keras')")
    layers = [layer for layer in config["layers"] if isinstance(layer, dict)]
    sequential = class_name == "Sequential"
    imported: list[ImportedLayer] = []
    unsupported: list[Unsupported] = []
    produced: dict[str, str] = {}  # Keras layer name -> the archviz layer that stands for its output
    input_names = set()
    previous = NETWORK_INPUT
    padding: dict[str, Any] = {}  # ZeroPadding2D layers waiting for the layer they pad
    sources_of_padding: dict[str, list[str]] = {}
    readers = _reader_counts(layers, sequential)
    for index, layer in enumerate(layers):
        kind = str(layer.get("class_name"))
        layer_config = layer.get("config") or {}
        name = str(layer_config.get("name") or layer.get("name") or f"{_snake(kind)}_{index}")
        if kind == "InputLayer":
            input_names.add(name)
            produced[name] = NETWORK_INPUT
            continue
        try:
            inbound = None if sequential else _inbound(layer)
            shape = inbound[0][1] if inbound else None
            if shape is None:
                shape = (layer.get("build_config") or {}).get("input_shape")
            if kind == "ZeroPadding2D":
                padding[name] = _zero_padding(layer_config)
                sources_of_padding[name] = [previous] if inbound is None else \
                    [produced.get(source, source) for source, _ in inbound]
                produced[name] = name
                previous = name
                continue
            mapper = MAPPERS.get(kind)
            if mapper is None:
                raise _Refuse("")
            result = mapper(layer_config, shape)
            op, values = (result, {}) if isinstance(result, str) else result
            if op not in OP_REGISTRY:
                raise _Refuse(f"{op} is not an archviz op yet")
        except _Refuse as refusal:
            unsupported.append(Unsupported(name, f"{kind}: {refusal}" if str(refusal) else kind, f"layer {index}"))
            produced[name] = name
            previous = name
            continue
        sources = [previous] if inbound is None else [produced.get(source, source) for source, _ in inbound]
        if len(sources) == 1 and sources[0] in padding:
            pad = padding.pop(sources[0])
            if op not in ("conv2d", "max_pool2d", "avg_pool2d") or values.get("padding", 0) not in (0, "valid") \
                    or readers.get(sources[0], 0) != 1:
                unsupported.append(Unsupported(sources[0], "ZeroPadding2D: padding that does not feed one convolution "
                                               "or pooling layer", "before " + repr(name)))
            values["padding"] = pad
            sources = sources_of_padding.pop(sources[0])
        imported.append(ImportedLayer(name, op, values, sources or [NETWORK_INPUT], _scope(name, kind),
                                      f"Keras layer {index} {name!r} ({kind})"))
        produced[name] = name
        previous = name
    if unsupported:
        raise UnsupportedOps(display, "Keras", unsupported).with_context(Location(display))
    outputs = [produced.get(name, name) for name in _output_names(config)] or ([previous] if imported else [])
    model_name = str(config.get("name") or "")
    if model_name in ("", "functional", "sequential", "model") or model_name.startswith(("functional_", "sequential_")):
        model_name = Path(display).stem  # Keras's automatic name says nothing
    params = None
    return ImportedModel(
        name=model_name, source=display, framework="Keras", input_shape=_input_shape(layers, config),
        layers=imported, outputs=outputs, source_params=params,
        notes=["channels-last Keras shapes are written channels first, as archviz writes every shape"],
    )


def _zero_padding(config: dict[str, Any]) -> Any:
    """ZeroPadding2D's padding as archviz's [[top, bottom], [left, right]] (or p, [ph, pw])."""
    _channels_last(config)
    value = config.get("padding", 1)
    if isinstance(value, int):
        return value
    if all(isinstance(v, int) for v in value):
        return _pair(list(value))
    (top, bottom), (left, right) = value
    if top == bottom and left == right:
        return top if top == left else [top, left]
    return [[top, bottom], [left, right]]


def _reader_counts(layers: list[dict[str, Any]], sequential: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    for index, layer in enumerate(layers):
        if sequential:
            if index:
                name = str((layers[index - 1].get("config") or {}).get("name"))
                counts[name] = counts.get(name, 0) + 1
            continue
        try:
            inbound = _inbound(layer) or []
        except _Refuse:
            continue
        for source, _ in inbound:
            counts[source] = counts.get(source, 0) + 1
    return counts


def _output_names(config: dict[str, Any]) -> list[str]:
    outputs = config.get("output_layers")
    if not outputs:
        return []
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], str):
        return [outputs[0]]
    return [str(item[0]) for item in outputs if isinstance(item, list) and item]


def read_keras(path: str | Path, display: str | None = None) -> ImportedModel:
    """Read a ``.keras`` file (Keras 3's zip; only its config.json is opened)."""
    path = Path(path)
    display = display or str(path)
    where = Location(display)
    try:
        # a FIFO would block the open forever, a device never end: regular files only
        with os.fdopen(open_regular(path, where, "model"), "rb") as stream, zipfile.ZipFile(stream) as archive:
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                raise SpecError("the .keras file has no config.json", location=where,
                                hint="save the model with Keras 3's model.save('model.keras')") from None
            if info.file_size > MAX_CONFIG_BYTES:
                raise SpecError(f"config.json is larger than {MAX_CONFIG_BYTES >> 20} MiB", location=where)
            with archive.open(info) as handle:
                text = handle.read(MAX_CONFIG_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise SpecError(f"not a readable .keras file ({type(exc).__name__}: {exc})", location=where,
                        hint="a .keras file is the zip Keras 3's model.save('model.keras') writes") from None
    try:
        root = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SpecError(f"config.json is not valid JSON ({exc})"[:300], location=where) from None
    if not isinstance(root, dict):
        raise SpecError("config.json does not hold a model config", location=where)
    return import_config(root, display)
