"""Verify an analysis with Keras 3: the spec exported as Keras source, built, and compared per layer.

The generated module (:mod:`archviz.backends.keras.writer`) is executed and ``build_model()``
called at the analysed input; each spec layer is looked up by its Keras name. Shapes are Keras's
own (channels last, compared in archviz's channels-first order); params are the layer's trainable
weights. Keras lists BatchNormalization's moving mean and variance as non-trainable weights and
keeps no batch counter: a batch-norm layer's measured buffers get PyTorch's ``num_batches_tracked``
element added, with a note. FLOPs are not measured by Keras (not checked). Keras runs on any
backend; archviz's tests use the torch backend (``KERAS_BACKEND=torch``), so no TensorFlow is needed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archviz.backends.onnx.verify import _count, _shape
from archviz.backends.pytorch.records import Check, LayerCheck, Status, Verification

if TYPE_CHECKING:
    from archviz.network import Network


def _channels_first(shape: Sequence[Any]) -> tuple[int, ...]:
    dims = tuple(int(d) if d is not None else -1 for d in shape)
    return (dims[0], dims[-1], *dims[1:-1]) if len(dims) == 4 else dims


def build(network: Network, input_shape: Sequence[int] | None = None) -> tuple[Any, dict[str, str]]:
    """The Keras model archviz's export writes for ``network``, and each spec layer's Keras name."""
    from archviz.backends.keras.writer import keras_layer_names

    if input_shape is not None:  # a spec whose expressions read shapes expands for its input
        network = network.for_input(input_shape)
    analysis = network.analyze(input_shape)
    source, names = keras_layer_names(network, analysis)
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<keras export of {network.name}>", "exec"), namespace)  # noqa: S102  (our own source)
    return namespace["build_model"](), names


def verify(network: Network, input_shape: Sequence[int] | None = None, batch: int = 1) -> Verification:
    """Build the Keras export of ``network`` and compare every layer's shape, params and buffers."""
    import keras
    import numpy as np

    if input_shape is not None:  # a spec whose expressions read shapes expands for its input
        network = network.for_input(input_shape)
    analysis = network.analyze(input_shape, batch)
    started = time.perf_counter()
    model, names = build(network, input_shape)
    built = time.perf_counter()
    shape = tuple(analysis.input_shape)
    keras_shape = (*shape[1:], shape[0]) if len(shape) == 3 else shape
    output = model(np.random.default_rng(0).standard_normal((batch, *keras_shape)).astype("float32"))
    ran = time.perf_counter()
    layers = []
    for record in analysis.layers:
        layer = model.get_layer(names[record.name])
        params = sum(math.prod(weight.shape) for weight in layer.trainable_weights)
        buffers = sum(math.prod(weight.shape) for weight in layer.non_trainable_weights)
        note = ""
        if record.op == "batch_norm":
            buffers += 1
            note = "Keras keeps no batch counter: 1 added for PyTorch's num_batches_tracked"
        measured = _channels_first((batch, *layer.output.shape[1:]))
        layers.append(LayerCheck(
            name=record.name, op=record.op, module=names[record.name],
            checks=(
                _shape(tuple(record.output_shape), measured, batch),
                _count("params", record.params, params),
                _count("buffers", record.buffers, buffers, note),
                Check("flops", record.flops, None, Status.not_checked, "Keras does not count FLOPs"),
            ),
        ))
    final = output[0] if isinstance(output, (list, tuple)) else output
    totals = (
        _shape(tuple(analysis.totals.output_shape), _channels_first(tuple(final.shape)), batch),
        _count("params", analysis.totals.params, sum(math.prod(w.shape) for w in model.trainable_weights)),
        _count("buffers", analysis.totals.buffers,
               sum(math.prod(w.shape) for w in model.non_trainable_weights)
               + sum(1 for record in analysis.layers if record.op == "batch_norm")),
        Check("flops", analysis.totals.flops, None, Status.not_checked, "Keras does not count FLOPs"),
    )
    return Verification(
        spec=analysis.name, input_shape=shape, batch=batch, device="cpu", dtype="fp32",
        torch_version="", framework="Keras", framework_version=f"keras {keras.__version__} ({keras.backend.backend()} backend)", layers=tuple(layers),
        totals=totals, build_seconds=built - started, forward_seconds=ran - built,
    )
