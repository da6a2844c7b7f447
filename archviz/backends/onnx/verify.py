"""Verify an analysis in ONNX Runtime: the spec exported to ONNX, run, and compared per layer.

Every layer's output tensor (named after the layer) is requested from the session, so the
shapes compared are the ones ONNX Runtime computes itself. Parameters and buffers are the
elements of the initializers each layer's node reads, which ONNX Runtime has checked against
the operator's shape rules before it ran. ONNX keeps no batch counter beside BatchNorm's
running statistics (PyTorch's ``num_batches_tracked``, which archviz counts as one buffer): the
measured buffers of a batch-norm layer get that one element added, with a note. FLOPs are not
measured by ONNX Runtime and are reported as not checked.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from archviz.backends.pytorch.records import Check, LayerCheck, Status, Verification

if TYPE_CHECKING:
    from archviz.network import Network

BUFFER_SUFFIXES = (".running_mean", ".running_var")


def _count(quantity: str, expected: int, measured: int, note: str = "") -> Check:
    status = Status.ok if expected == measured else Status.mismatch
    return Check(quantity, expected, measured, status, note or ("both zero" if expected == measured == 0 else ""))


def _shape(expected: tuple[int, ...], measured: tuple[int, ...] | None, batch: int) -> Check:
    if measured is None:
        return Check("output_shape", expected, None, Status.mismatch, "ONNX Runtime gave no such output")
    if measured[:1] != (batch,):
        return Check("output_shape", expected, tuple(measured[1:]), Status.mismatch, f"batch axis {measured[:1]}")
    per_sample = tuple(measured[1:])
    return Check("output_shape", expected, per_sample, Status.ok if per_sample == expected else Status.mismatch)


def verify(network: Network, input_shape: Sequence[int] | None = None, batch: int = 1) -> Verification:
    """Export ``network`` to ONNX, run it once in ONNX Runtime and compare every layer."""
    import numpy as np
    import onnxruntime
    from onnx import helper

    from archviz.backends.onnx.writer import to_onnx

    if input_shape is not None:  # a spec whose expressions read shapes expands for its input
        network = network.for_input(input_shape)
    analysis = network.analyze(input_shape, batch)
    started = time.perf_counter()
    model = to_onnx(network, analysis)
    declared = {output.name for output in model.graph.output}
    for record in analysis.layers:
        if record.name not in declared:
            model.graph.output.append(helper.make_empty_tensor_value_info(record.name))
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every layer
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    built = time.perf_counter()
    x = np.random.default_rng(0).standard_normal((batch, *analysis.input_shape)).astype(np.float32)
    names = [output.name for output in session.get_outputs()]
    results = dict(zip(names, session.run(names, {"input": x}), strict=True))
    ran = time.perf_counter()
    sizes = {tensor.name: int(np.prod(tensor.dims)) for tensor in model.graph.initializer}
    reads: dict[str, list[str]] = {}
    for node in model.graph.node:
        layer = node.name.split("/", 1)[0]
        reads.setdefault(layer, []).extend(name for name in node.input if name in sizes)
    layers = []
    for record in analysis.layers:
        weights = set(reads.get(record.name, []))
        params = sum(sizes[name] for name in weights if name.startswith(record.name + ".")
                     and not name.endswith(BUFFER_SUFFIXES))
        buffers = sum(sizes[name] for name in weights if name.endswith(BUFFER_SUFFIXES))
        note = ""
        if record.op == "batch_norm":
            buffers += 1
            note = "ONNX keeps no batch counter: 1 added for PyTorch's num_batches_tracked"
        output = results.get(record.name)
        layers.append(LayerCheck(
            name=record.name, op=record.op, module=record.name,
            checks=(
                _shape(tuple(record.output_shape), None if output is None else tuple(output.shape), batch),
                _count("params", record.params, params),
                _count("buffers", record.buffers, buffers, note),
                Check("flops", record.flops, None, Status.not_checked, "ONNX Runtime does not count FLOPs"),
            ),
        ))
    final = results.get((list(analysis.outputs) or [analysis.layers[-1].name])[0])
    totals = (
        _shape(tuple(analysis.totals.output_shape), None if final is None else tuple(final.shape), batch),
        _count("params", analysis.totals.params, sum(sum(c.measured for c in layer.checks if c.quantity == "params")
                                                     for layer in layers)),
        _count("buffers", analysis.totals.buffers, sum(sum(c.measured for c in layer.checks if c.quantity == "buffers")
                                                       for layer in layers)),
        Check("flops", analysis.totals.flops, None, Status.not_checked, "ONNX Runtime does not count FLOPs"),
    )
    return Verification(
        spec=analysis.name, input_shape=tuple(analysis.input_shape), batch=batch, device="cpu", dtype="fp32",
        torch_version="", framework="ONNX Runtime", framework_version=f"onnxruntime {onnxruntime.__version__}", layers=tuple(layers), totals=totals,
        build_seconds=built - started, forward_seconds=ran - built,
    )
