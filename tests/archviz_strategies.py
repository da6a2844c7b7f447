"""Hypothesis profiles and strategies that write random, valid archviz specs as YAML text.

The strategies build a network layer by layer, tracking the shape each layer produces with
PyTorch's own size rules (written out below from ATen's ``pooling_output_shape`` and the
``nn.Conv2d`` docs, not taken from archviz), so every generated spec is valid by construction.
They emit the spec as text in a random mix of YAML block and flow styles, sometimes with
numbers written as expressions or variables, so a property exercises the whole pipeline:
YAML reader, document, expansion, graph, analysis, then the PyTorch backend.

Profiles (select with ``HYPOTHESIS_PROFILE``; ``ci`` is the default):

- ``ci``: derandomized (a fixed seed per test), no example database, no deadline. The
  examples each test runs are its ``examples(n)`` budget below.
- ``dev``: a tenth of the examples, for a quick local loop.
- ``thorough``: ten times the examples and random seeds (run it nightly or before a release).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

_COMMON = {"deadline": None, "database": None, "print_blob": True,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", derandomize=True, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("dev", derandomize=True, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("thorough", derandomize=False, **_COMMON)  # type: ignore[arg-type]
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)
SCALE = {"ci": 1.0, "dev": 0.1, "thorough": 10.0}.get(PROFILE, 1.0)


def examples(n: int) -> int:
    """The example budget of one property under the active profile."""
    return max(1, round(n * SCALE))


# -- PyTorch's size rules (the oracle that keeps generated networks valid) ------------------

def conv_length(size: int, kernel: int, stride: int, pad: tuple[int, int], dilation: int) -> int:
    """nn.Conv2d: floor((size + pads - dilation*(kernel-1) - 1) / stride) + 1 (< 1: invalid)."""
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


def pool_length(size: int, kernel: int, stride: int, pad: tuple[int, int], ceil_mode: bool) -> int:
    """ATen's pooling_output_shape_pad_lr (div_rtn is floor division)."""
    out = (size + pad[0] + pad[1] - (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad[0]:
        out -= 1
    return out


def same_length(size: int, stride: int) -> int:
    """TensorFlow's 'same': ceil(size / stride)."""
    return -(-size // stride)


# -- a tiny YAML writer with a random mix of styles -----------------------------------------

def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Raw):
        return value.text
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Raw:
    """Text written into the YAML as it is (an unquoted word such as same)."""

    text: str


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def block(value: Any, indent: int, use_flow: Callable[[], bool]) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, (dict, list)) or not item or use_flow():
                lines.append(f"{pad}{key}: {flow(item)}")
            else:
                lines.append(f"{pad}{key}:")
                lines += block(item, indent + 2, use_flow)
        return lines
    for item in value:
        if not isinstance(item, (dict, list)) or not item or use_flow():
            lines.append(f"{pad}- {flow(item)}")
        else:
            inner = block(item, indent + 2, use_flow)
            lines.append(f"{pad}- {inner[0][indent + 2:]}")
            lines += inner[1:]
    return lines


def to_yaml(document: dict[str, Any], style: int) -> str:
    """Top level in block style; each nested container flow or block as the bits of ``style``
    say (0: all flow, the shortest text; a set bit writes that container in block style)."""
    bits = iter(range(64))

    def use_flow() -> bool:
        return not (style >> next(bits, 63)) & 1

    return "\n".join(block(document, 0, use_flow)) + "\n"


# -- numbers written as literals, expressions or variables ----------------------------------

HOW = ("literal",) * 6 + ("product", "sum", "variable", "quotient", "call")
FLAGS = st.integers(0, 2**16 - 1)


@dataclass
class Writer:
    """Collects the variables a spec needs while its numbers are written."""

    variables: dict[str, Any] = field(default_factory=dict)
    bits: int = 0
    left: int = 0

    def flag(self, draw: st.DrawFn) -> bool:
        """A yes/no choice; 16 at a time come from one draw, which is cheaper and shrinks to 'no'."""
        if not self.left:
            self.bits, self.left = draw(FLAGS), 16
        self.left -= 1
        return bool((self.bits >> self.left) & 1)

    def number(self, draw: st.DrawFn, value: int) -> Any:
        how = HOW[draw(st.integers(0, len(HOW) - 1))]
        if how == "literal":
            return value
        if how == "product" and value > 1:
            factor = draw(st.sampled_from([d for d in range(1, value + 1) if value % d == 0]))
            return f"{factor} * {value // factor}"
        if how == "sum":
            extra = draw(st.integers(0, 5))
            return f"{value + extra} - {extra}"
        if how == "quotient":
            return f"{value * 2} / 2"  # a float that comes out whole
        if how == "call":
            return f"max({value}, 1)" if value >= 1 else f"abs({value})"
        name = f"v{len(self.variables) + 1}"
        self.variables[name] = value
        return name


# -- the layers ----------------------------------------------------------------------------

STYLES = st.integers(0, 2**40 - 1)
ACTIVATIONS = ("relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "softmax")
FUSED = ("linear",) * 4 + ACTIVATIONS
Shape = tuple[int, ...]


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 4))


def _pair_value(draw: st.DrawFn, w: Writer, pair: tuple[int, int]) -> Any:
    if pair[0] == pair[1] and w.flag(draw):
        return w.number(draw, pair[0])
    return [w.number(draw, pair[0]), w.number(draw, pair[1])]


def conv_layer(draw: st.DrawFn, w: Writer, shape: Shape) -> tuple[dict[str, Any], Shape]:
    channels, height, width = shape
    groups = draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
    filters = groups * draw(st.integers(1, max(1, 12 // groups)))
    attrs: dict[str, Any] = {"filters": w.number(draw, filters)}
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.sampled_from((1, 1, 1, 2, 3))), draw(st.sampled_from((1, 1, 1, 2, 3))))
    style = draw(st.sampled_from(("int", "pair", "explicit", "same", "valid", "none")))
    sizes = (height, width)
    if style == "same":
        kernel = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
        out = (same_length(height, stride[0]), same_length(width, stride[1]))
        padding: Any = Raw("same") if w.flag(draw) else "same"
    else:
        if style in ("int", "pair"):
            p = draw(st.integers(0, 3))
            pads = ((p, p), (p, p)) if style == "int" else ((p, p), (q := draw(st.integers(0, 3)), q))
        elif style == "explicit":
            pads = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(2))  # type: ignore[assignment]
        else:
            pads = ((0, 0), (0, 0))
        # the largest kernel that still fits the padded input: d*(k-1)+1 <= size + pads
        kernel = tuple(draw(st.integers(1, max(1, min(7, (sizes[a] + sum(pads[a]) - 1) // dilation[a] + 1))))
                       for a in range(2))  # type: ignore[assignment]
        out = tuple(conv_length(sizes[a], kernel[a], stride[a], pads[a], dilation[a]) for a in range(2))  # type: ignore[assignment]
        if style == "int":
            padding = w.number(draw, pads[0][0])
        elif style == "pair":
            padding = [w.number(draw, pads[0][0]), w.number(draw, pads[1][0])]
        elif style == "explicit":
            padding = [[pads[0][0], pads[0][1]], [pads[1][0], pads[1][1]]]
        else:
            padding = "valid" if w.flag(draw) else None
    attrs["kernel"] = _pair_value(draw, w, kernel)
    if stride != (1, 1) or w.flag(draw):
        attrs["stride"] = _pair_value(draw, w, stride)
    if padding is not None:
        attrs["padding"] = padding
    if dilation != (1, 1) or w.flag(draw):
        attrs["dilation"] = _pair_value(draw, w, dilation)
    if groups != 1 or w.flag(draw):
        attrs["groups"] = w.number(draw, groups)
    if w.flag(draw):
        attrs["bias"] = w.flag(draw)
    activation = draw(st.sampled_from(FUSED))
    if activation != "linear" or w.flag(draw):
        attrs["activation"] = activation
    return {"conv2d": attrs}, (filters, out[0], out[1])


def pool_layer(draw: st.DrawFn, w: Writer, shape: Shape) -> tuple[dict[str, Any], Shape]:
    channels, height, width = shape
    op = draw(st.sampled_from(("max_pool2d", "avg_pool2d", "maxpool2d", "avgpool2d")))
    ceil_mode = w.flag(draw)
    style = draw(st.sampled_from(("int", "explicit", "same", "none")))
    sizes = (height, width)
    kernel, stride, pads, out = [], [], [], []
    default_stride = w.flag(draw)
    for axis in range(2):
        # ceil_mode lets the last window hang over the edge: a kernel up to size + 2*pad + stride - 1
        k = draw(st.integers(1, max(1, min(6, sizes[axis] + (3 if ceil_mode else 0)))))
        s = k if default_stride else draw(st.integers(1, 4))
        if style == "same":
            p = (0, 0)
            length = same_length(sizes[axis], s)
        else:
            if style == "int":
                p = (draw(st.integers(0, k // 2)),) * 2
            elif style == "explicit":
                p = (draw(st.integers(0, k // 2)), draw(st.integers(0, k // 2)))
            else:
                p = (0, 0)
            length = pool_length(sizes[axis], k, s, p, ceil_mode)
            if length < 1:  # fall back to a window that fits
                k = min(k, sizes[axis])
                s = k if default_stride else s
                p = (0, 0) if style != "int" else (min(p[0], k // 2),) * 2
                length = pool_length(sizes[axis], k, s, p, ceil_mode)
        kernel.append(k)
        stride.append(s)
        pads.append(p)
        out.append(length)
    if style == "int" and pads[0] != pads[1]:
        style = "explicit"
    attrs: dict[str, Any] = {"kernel": _pair_value(draw, w, (kernel[0], kernel[1]))}
    if not default_stride:
        attrs["stride"] = _pair_value(draw, w, (stride[0], stride[1]))
    if style == "same":
        attrs["padding"] = Raw("same")
    elif style == "int":
        attrs["padding"] = w.number(draw, pads[0][0])
    elif style == "explicit":
        attrs["padding"] = [list(pads[0]), list(pads[1])]
    if ceil_mode or w.flag(draw):
        attrs["ceil_mode"] = ceil_mode
    return {op: attrs}, (channels, out[0], out[1])


def _attrs_or_bare(op: str, attrs: dict[str, Any]) -> Any:
    return {op: attrs} if attrs else op


def pointwise_layer(draw: st.DrawFn, w: Writer, shape: Shape) -> tuple[Any, Shape]:
    """Shape-preserving layers: activations, batch norm, LRN (spatial only), dropout, identity."""
    options = list(ACTIVATIONS) + ["batch_norm", "dropout", "identity"] + (["lrn"] if len(shape) == 3 else [])
    op = draw(st.sampled_from(options))
    attrs: dict[str, Any] = {}
    if op == "leaky_relu" and w.flag(draw):
        attrs["slope"] = draw(_floats(0, 1))
    elif op == "elu" and w.flag(draw):
        attrs["alpha"] = draw(_floats(0.1, 2))
    elif op == "batch_norm":
        if w.flag(draw):
            attrs["affine"] = w.flag(draw)
        if w.flag(draw):
            attrs["eps"] = draw(st.sampled_from((1e-5, 0.001, "1e-3", 0.1)))
        if w.flag(draw):
            attrs["momentum"] = draw(_floats(0, 1))
    elif op == "dropout" and w.flag(draw):
        # archviz takes a drop rate in [0, 1) (docs/spec.md); rounding to 4 places would turn
        # 0.99999 into the excluded 1.0, so the draw stops short of it
        attrs["rate"] = draw(_floats(0, 0.999))
    elif op == "lrn":
        if w.flag(draw):
            attrs["size"] = w.number(draw, draw(st.integers(1, 7)))
        if w.flag(draw):
            attrs["alpha"] = draw(_floats(0, 0.01))
        if w.flag(draw):
            attrs["beta"] = draw(_floats(0.5, 1))
        if w.flag(draw):
            attrs["k"] = draw(_floats(1, 2))
    return _attrs_or_bare(op, attrs), shape


def reduce_layer(draw: st.DrawFn, w: Writer, shape: Shape) -> tuple[Any, Shape]:
    """Spatial to spatial or flat: adaptive, global pooling, flatten."""
    op = draw(st.sampled_from(("adaptive_avg_pool2d", "global_avg_pool2d", "global_max_pool2d", "flatten")))
    channels, height, width = shape
    if op == "adaptive_avg_pool2d":
        size = (draw(st.integers(1, height + 2)), draw(st.integers(1, width + 2)))
        return {op: {"output_size": _pair_value(draw, w, size)}}, (channels, size[0], size[1])
    if op == "flatten":
        return op, (channels * height * width,)
    return op, (channels,)


def dense_layer(draw: st.DrawFn, w: Writer, shape: Shape) -> tuple[Any, Shape]:
    units = draw(st.integers(1, 24))
    attrs: dict[str, Any] = {"units": w.number(draw, units)}
    if w.flag(draw):
        attrs["bias"] = w.flag(draw)
    activation = draw(st.sampled_from(FUSED))
    if activation != "linear" or w.flag(draw):
        attrs["activation"] = activation
    return {draw(st.sampled_from(("dense", "dense", "linear", "fc"))): attrs}, (units,)


def any_layer(draw: st.DrawFn, w: Writer, shape: Shape) -> tuple[Any, Shape]:
    if len(shape) == 1:
        kind = draw(st.sampled_from(("dense", "dense", "pointwise", "flatten")))
        if kind == "flatten":
            return "flatten", shape
        return (dense_layer if kind == "dense" else pointwise_layer)(draw, w, shape)
    kind = draw(st.sampled_from(("conv", "conv", "conv", "pool", "pool", "pointwise", "reduce")))
    maker = {"conv": conv_layer, "pool": pool_layer, "pointwise": pointwise_layer, "reduce": reduce_layer}[kind]
    return maker(draw, w, shape)


def set_entry_key(entry: Any, key: str, value: Any) -> Any:
    """Add ``name``/``inputs``/``repeat`` to an op entry (a bare op name becomes a mapping)."""
    if isinstance(entry, str):
        return {entry: {key: value}}
    (op, attrs), = entry.items()
    return {op: {**attrs, key: value}}


# -- whole specs ---------------------------------------------------------------------------

@dataclass(frozen=True)
class GeneratedSpec:
    text: str
    input_shape: Shape
    batch: int
    layers: int  # layers after expansion
    output_shape: Shape

    def __repr__(self) -> str:  # hypothesis prints this for a failing example: show the YAML
        return f"GeneratedSpec(batch={self.batch}, text=\n{self.text})"


def spatial_input(draw: st.DrawFn, max_size: int = 24) -> Shape:
    return (draw(st.integers(1, 6)), draw(st.integers(1, max_size)), draw(st.integers(1, max_size)))


def _document(draw: st.DrawFn, w: Writer, shape: Shape, layers: list[Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if w.flag(draw):
        doc["archviz"] = 1
    doc["name"] = draw(st.sampled_from(("net", "generated", "t")))
    doc["input"] = [w.number(draw, d) for d in shape]
    if w.variables:
        doc["variables"] = dict(w.variables)
    doc["layers"] = layers
    # 'input' may also be written after 'layers': key order is free
    if w.flag(draw):
        doc["input"] = doc.pop("input")
    return doc


@st.composite
def sequential_specs(draw: st.DrawFn, max_layers: int = 8) -> GeneratedSpec:
    """A chain of random layers (conv, pool, norm, activations, reductions, dense), valid by construction."""
    w = Writer()
    if draw(st.integers(0, 9)) == 0:
        shape: Shape = (draw(st.integers(1, 64)),)
    else:
        shape = spatial_input(draw)
    input_shape = shape
    entries: list[Any] = []
    count = 0
    for _ in range(draw(st.integers(1, max_layers))):
        entry, out = any_layer(draw, w, shape)
        repeat = 1
        if out == shape and draw(st.integers(0, 5)) == 0:  # a shape-preserving layer may repeat
            repeat = draw(st.integers(0, 3))
            entry = set_entry_key(entry, "repeat", w.number(draw, repeat))
        if repeat and draw(st.integers(0, 4)) == 0:
            entry = set_entry_key(entry, "name", f"layer_{len(entries)}_{{i}}")
        entries.append(entry)
        count += repeat
        if repeat:
            shape = out
    if count == 0:  # every entry repeated zero times: the spec would have no layers
        entries.append("identity")
        count = 1
    layers = _stages(draw, w, entries)
    doc = _document(draw, w, input_shape, layers)
    text = to_yaml(doc, draw(STYLES))
    return GeneratedSpec(text, input_shape, draw(st.integers(1, 3)), count, shape)


def _stages(draw: st.DrawFn, w: Writer, entries: list[Any]) -> list[Any]:
    """Group runs of entries into stages (named groups) some of the time."""
    if len(entries) < 2 or w.flag(draw):
        return entries
    cut = draw(st.integers(1, len(entries) - 1))
    return [{"stage": "first", "layers": entries[:cut]}, {"stage": "second", "layers": entries[cut:]}]


# names that collide with nn.Module attributes, need nesting or look odd, for the torch backend
ODD_NAMES = ("forward", "training", "eval", "float", "half", "add_module", "_modules", "input_shape",
             "spec_name", "module_names", "a.b", "a.b.c", "blk.conv", "x-y", "n 1", "ünï", "T_destination")


NAME_POOL = ("a", "b", "c", "conv", "x1", "branch_2", "out", "Stem", "l") + ODD_NAMES


def layer_names(draw: st.DrawFn, n: int) -> list[str]:
    """n distinct names, most plain, some that collide with nn.Module attributes or nest."""
    unique: list[str] = []
    for _ in range(n):
        name = NAME_POOL[draw(st.integers(0, len(NAME_POOL) - 1))]
        while name in ("input", "in") or name in unique:
            name += "_"
        unique.append(name)
    return unique


@dataclass
class _Node:
    entry: Any  # op entry without name/inputs
    inputs: list[int]  # node indices; 0 is the network input
    shape: Shape


def _keeps_size(draw: st.DrawFn, w: Writer, shape: Shape, filters: int | None) -> tuple[Any, Shape]:
    """A layer that keeps (H, W): stride-1 conv with same or centred padding, stride-1 pool, pointwise."""
    channels, height, width = shape
    kind = draw(st.sampled_from(("conv", "conv", "pool", "pointwise")))
    if kind == "pointwise" and filters in (None, channels):
        return pointwise_layer(draw, w, shape)
    if kind == "pool" and filters in (None, channels):
        k = draw(st.sampled_from((1, 3, 5)))
        op = draw(st.sampled_from(("max_pool2d", "avg_pool2d")))
        padding: Any = Raw("same") if w.flag(draw) else k // 2
        return {op: {"kernel": k, "stride": 1, "padding": padding}}, shape
    groups_ok = [g for g in range(1, channels + 1) if channels % g == 0 and (filters is None or filters % g == 0)]
    groups = draw(st.sampled_from(groups_ok))
    out = filters if filters is not None else groups * draw(st.integers(1, max(1, 8 // groups)))
    dilation = draw(st.sampled_from((1, 1, 2)))
    if w.flag(draw):
        kernel = draw(st.integers(1, 5))
        attrs: dict[str, Any] = {"filters": out, "kernel": kernel, "padding": Raw("same")}
    else:
        kernel = draw(st.sampled_from((1, 3, 5)))
        attrs = {"filters": out, "kernel": kernel, "padding": dilation * (kernel - 1) // 2}
    if dilation != 1:
        attrs["dilation"] = dilation
    if groups != 1:
        attrs["groups"] = groups
    if w.flag(draw):
        attrs["bias"] = False
    return {"conv2d": attrs}, (out, height, width)


@st.composite
def graph_specs(draw: st.DrawFn, max_blocks: int = 5) -> GeneratedSpec:
    """Random branching graphs: chains, residual adds (with projections), inception-style concats,
    merges of any earlier layers that share a shape; every layer named, with explicit inputs,
    written in creation order or shuffled (inputs may name layers written later)."""
    w = Writer()
    input_shape = spatial_input(draw, 16) if draw(st.integers(0, 7)) else (draw(st.integers(1, 32)),)
    nodes: list[_Node] = [_Node(None, [], input_shape)]

    def add(entry: Any, inputs: list[int], shape: Shape) -> int:
        nodes.append(_Node(entry, inputs, shape))
        return len(nodes) - 1

    current = 0
    for _ in range(draw(st.integers(1, max_blocks))):
        shape = nodes[current].shape
        kind = draw(st.sampled_from(("chain", "residual", "concat", "merge")))
        if kind == "chain" or (kind == "concat" and len(shape) == 1 and w.flag(draw)):
            source = current if draw(st.integers(0, 3)) else draw(st.integers(0, len(nodes) - 1))
            entry, out = any_layer(draw, w, nodes[source].shape)
            current = add(entry, [source], out)
        elif kind == "residual":
            if len(shape) == 3 and w.flag(draw):
                # projection shortcut: k x k conv with stride s and padding (k-1)/2 on the main path,
                # 1x1 conv with stride s on the shortcut; both give floor((H-1)/s)+1
                stride = draw(st.integers(1, 3))
                filters = draw(st.integers(1, 8))
                k = draw(st.sampled_from((1, 3, 5)))
                main = add({"conv2d": {"filters": filters, "kernel": k, "stride": stride, "padding": k // 2}},
                           [current], (filters, (shape[1] - 1) // stride + 1, (shape[2] - 1) // stride + 1))
                main_shape = nodes[main].shape
                if w.flag(draw):
                    main = add(*pointwise_layer(draw, w, main_shape)[:1], [main], main_shape)
                short = add({"conv2d": {"filters": filters, "kernel": 1, "stride": stride, "bias": False}},
                            [current], main_shape)
                current = add("add", [main, short], main_shape)
            else:
                branch = current
                for _ in range(draw(st.integers(1, 2))):
                    if len(shape) == 3:
                        entry, out = _keeps_size(draw, w, shape, shape[0])
                    else:
                        entry, out = (draw(st.sampled_from((pointwise_layer, _dense_same)))(draw, w, shape))
                    branch = add(entry, [branch], out)
                others = [current] * draw(st.integers(1, 2))
                current = add("add", [branch, *others], shape)
        elif kind == "concat":
            ends = []
            for _ in range(draw(st.integers(2, 3))):
                end = current
                for _ in range(draw(st.integers(0, 2))):
                    if len(shape) == 3:
                        entry, out = _keeps_size(draw, w, nodes[end].shape, None)
                    else:
                        entry, out = dense_layer(draw, w, shape)
                        if w.flag(draw):
                            entry, out = pointwise_layer(draw, w, shape)
                    end = add(entry, [end], out)
                    if len(shape) == 1:
                        break
                ends.append(end)
            if len(shape) == 1:
                ends = [e for e in ends if len(nodes[e].shape) == 1] or [current, current]
            channels = sum(nodes[e].shape[0] for e in ends)
            current = add("concat", ends, (channels, *shape[1:]))
        else:  # merge earlier layers that happen to share the current shape
            same = [i for i, node in enumerate(nodes) if node.shape == shape]
            chosen = draw(st.lists(st.sampled_from(same), min_size=2, max_size=3))
            current = add(draw(st.sampled_from(("add", "concat"))), chosen, shape)
            if nodes[current].entry == "concat":
                nodes[current].shape = (sum(nodes[i].shape[0] for i in chosen), *shape[1:])
    if w.flag(draw):  # a head
        shape = nodes[current].shape
        if len(shape) == 3:
            entry, out = reduce_layer(draw, w, shape)
            current = add(entry, [current], out)
        if len(nodes[current].shape) == 1:
            entry, out = dense_layer(draw, w, nodes[current].shape)
            current = add(entry, [current], out)

    names = ["input", *layer_names(draw, len(nodes) - 1)]
    order = list(range(1, len(nodes)))
    shuffled = w.flag(draw)
    if shuffled:
        order = draw(st.permutations(order))
        # graph order: archviz sorts by text position among the layers that are ready
        output = _last_in_graph_order(nodes, order)
    else:
        output = len(nodes) - 1
    entries = []
    previous = 0
    for index in order:
        node = nodes[index]
        entry = node.entry
        entry = set_entry_key(entry, "name", names[index])
        if shuffled or node.inputs != [previous] or w.flag(draw):
            refs = [names[i] for i in node.inputs]
            entry = set_entry_key(entry, "inputs", refs[0] if len(refs) == 1 and w.flag(draw) else refs)
        entries.append(entry)
        previous = index
    doc = _document(draw, w, input_shape, entries)
    text = to_yaml(doc, draw(STYLES))
    return GeneratedSpec(text, input_shape, draw(st.integers(1, 3)), len(nodes) - 1, nodes[output].shape)


def _dense_same(draw: st.DrawFn, w: Writer, shape: Shape) -> tuple[Any, Shape]:
    entry, _ = dense_layer(draw, w, shape)
    (op, attrs), = entry.items()
    return {op: {**attrs, "units": shape[0]}}, shape


def _last_in_graph_order(nodes: list[_Node], order: list[int]) -> int:
    """The layer archviz analyses last: Kahn's algorithm taking the earliest-written ready layer."""
    position = {node: i for i, node in enumerate(order)}
    done = {0}
    last = order[-1]
    remaining = list(order)
    while remaining:
        ready = [n for n in remaining if all(i in done for i in nodes[n].inputs)]
        pick = min(ready, key=position.__getitem__)
        remaining.remove(pick)
        done.add(pick)
        last = pick
    return last
