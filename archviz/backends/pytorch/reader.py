"""PyTorch module -> imported layers, by torch.fx symbolic tracing with shape propagation.

Every ``call_module`` node names its module by its path (``layer1.0.conv1``), which becomes the
layer's name and, through its prefix, the stage and block structure of the written spec. A
function applied inside a module's ``forward`` (the residual ``out + identity`` of a block) is
named after the module its first input comes from (``layer1.0.add``). Size arithmetic
(``x.size(0)``, ``x.shape``) is followed only as far as a ``view``/``reshape`` to (batch, -1),
which is a flatten. Anything else is refused in one message listing every node.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from archviz.backends.imported import (
    NETWORK_INPUT,
    ImportedLayer,
    ImportedModel,
    Unsupported,
    UnsupportedOps,
    name_scope,
)
from archviz.errors import SpecError
from archviz.ops import OP_REGISTRY


class _Refuse(Exception):
    """A known module or function with a setting archviz cannot express."""


def _pair(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return value[0] if len(set(value)) == 1 else list(value)
    return value


def _conv(m: nn.Conv2d) -> tuple[str, dict[str, Any]]:
    if m.padding_mode != "zeros":
        raise _Refuse(f"padding_mode={m.padding_mode!r}")
    padding: Any = m.padding if isinstance(m.padding, str) else _pair(m.padding)
    return "conv2d", {"filters": m.out_channels, "kernel": _pair(m.kernel_size), "stride": _pair(m.stride),
                      "padding": 0 if padding == "valid" else padding, "dilation": _pair(m.dilation),
                      "groups": m.groups, "bias": m.bias is not None}


def _batch_norm(m: nn.modules.batchnorm._BatchNorm) -> tuple[str, dict[str, Any]]:
    if not m.track_running_stats or m.momentum is None:
        raise _Refuse("running statistics off or a cumulative average (momentum=None)")
    return "batch_norm", {"eps": float(m.eps), "momentum": float(m.momentum), "affine": bool(m.affine)}


def _pool(op: str) -> Callable[[Any], tuple[str, dict[str, Any]]]:
    def mapper(m: Any) -> tuple[str, dict[str, Any]]:
        if _pair(getattr(m, "dilation", 1)) != 1:
            raise _Refuse("dilated pooling")
        kernel, stride = _pair(m.kernel_size), _pair(m.stride)
        values = {"kernel": kernel, "padding": _pair(m.padding), "ceil_mode": bool(m.ceil_mode)}
        return op, values if stride == kernel else {**values, "stride": stride}
    return mapper


def _conv_transpose(m: nn.ConvTranspose2d) -> tuple[str, dict[str, Any]]:
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise _Refuse(f"padding={m.padding!r}, padding_mode={m.padding_mode!r}")
    return "conv_transpose2d", {"filters": m.out_channels, "kernel": _pair(m.kernel_size), "stride": _pair(m.stride),
                                "padding": _pair(m.padding), "output_padding": _pair(m.output_padding),
                                "dilation": _pair(m.dilation), "groups": m.groups, "bias": m.bias is not None}


def _upsample(m: nn.Upsample) -> tuple[str, dict[str, Any]]:
    modes = {"nearest": "nearest", "bilinear": "bilinear"}
    if m.mode not in modes:
        raise _Refuse(f"mode={m.mode!r}")
    values: dict[str, Any] = {"mode": modes[m.mode]}
    if m.mode == "bilinear":
        values["align_corners"] = bool(m.align_corners)
    if m.size is not None:
        return "upsample", {"size": _pair(m.size), **values}
    scale = _pair(m.scale_factor)
    if isinstance(scale, list):
        raise _Refuse("different scales along height and width")
    return "upsample", {"scale": float(scale), **values}


def _softmax(m: nn.Softmax) -> str:
    if m.dim not in (1, -1, None):
        raise _Refuse(f"softmax over dim {m.dim}")
    return "softmax"


def _lrn(m: nn.LocalResponseNorm) -> tuple[str, dict[str, Any]]:
    # PyTorch divides alpha by size; archviz's alpha multiplies the plain sum (the paper's)
    return "lrn", {"size": m.size, "alpha": m.alpha / m.size, "beta": m.beta, "k": m.k}


def _layer_norm(m: nn.LayerNorm) -> tuple[str, dict[str, Any]]:
    if len(m.normalized_shape) != 1:
        raise _Refuse(f"a layer norm over {len(m.normalized_shape)} axes (archviz normalises one)")
    return "layer_norm", {"eps": float(m.eps), "affine": m.elementwise_affine,
                          "bias": m.elementwise_affine and getattr(m, "bias", None) is not None}


def _attention(m: nn.MultiheadAttention) -> tuple[str, dict[str, Any]]:
    if not m.batch_first or not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn:
        raise _Refuse("attention that is not batch-first self-attention with nn.MultiheadAttention's plain layout")
    return "multi_head_attention", {"heads": m.num_heads, "bias": m.in_proj_bias is not None,
                                    **({"dropout": float(m.dropout)} if m.dropout else {})}


def _gelu(m: nn.GELU) -> str:
    if m.approximate != "none":
        raise _Refuse(f"approximate={m.approximate!r}")
    return "gelu"


MODULES: dict[type[nn.Module], Callable[[Any], Any]] = {
    nn.Conv2d: _conv,
    nn.Linear: lambda m: ("dense", {"units": m.out_features, "bias": m.bias is not None}),
    nn.BatchNorm2d: _batch_norm,
    nn.BatchNorm1d: _batch_norm,
    nn.ReLU: lambda m: "relu",
    nn.ReLU6: lambda m: "relu6",
    nn.LeakyReLU: lambda m: ("leaky_relu", {"slope": float(m.negative_slope)}),
    nn.ELU: lambda m: ("elu", {"alpha": float(m.alpha)}),
    nn.GELU: _gelu,
    nn.SiLU: lambda m: "silu",
    nn.Sigmoid: lambda m: "sigmoid",
    nn.Tanh: lambda m: "tanh",
    nn.Softmax: _softmax,
    nn.Dropout: lambda m: ("dropout", {"rate": float(m.p)}),
    nn.Identity: lambda m: "identity",
    nn.MaxPool2d: _pool("max_pool2d"),
    nn.AvgPool2d: _pool("avg_pool2d"),
    nn.LocalResponseNorm: _lrn,
    nn.Hardswish: lambda m: "hardswish",
    nn.LayerNorm: _layer_norm,
    nn.ConvTranspose2d: _conv_transpose,
    nn.Upsample: _upsample,
    nn.GroupNorm: lambda m: ("group_norm", {"groups": m.num_groups, "eps": float(m.eps), "affine": m.affine}),
    nn.InstanceNorm2d: lambda m: ("instance_norm", {"eps": float(m.eps), "affine": m.affine,
                                                    "track_running_stats": m.track_running_stats}),
    nn.ChannelShuffle: lambda m: ("channel_shuffle", {"groups": m.groups}),
    nn.MultiheadAttention: _attention,
    nn.Hardsigmoid: lambda m: "hardsigmoid",
}
ELEMENTWISE_FUNCTIONS: dict[Any, str] = {
    F.relu: "relu", torch.relu: "relu", F.relu6: "relu6", F.silu: "silu", F.gelu: "gelu",
    torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", torch.tanh: "tanh", F.hardswish: "hardswish",
    F.hardsigmoid: "hardsigmoid",
}
ELEMENTWISE_METHODS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}


def _arg(node: Any, index: int, key: str, default: Any = None) -> Any:
    """An fx node's argument, positional or by keyword (untyped: fx's own types are a union)."""
    args = node.args
    return args[index] if len(args) > index else node.kwargs.get(key, default)


class _OneInput:
    """An fx node seen with one tensor argument (self-attention's query = key = value)."""

    def __init__(self, node: fx.Node, source: Any) -> None:
        self.node, self.meta, self.name = node, node.meta, node.name
        self.args: tuple[Any, ...] = (source,)
        self.kwargs: dict[str, Any] = {}

    def __hash__(self) -> int:
        return hash(self.node)

    def __eq__(self, other: object) -> bool:
        return other is self.node or other is self


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return tuple(int(d) for d in shape[1:]) if shape is not None else None


class _Reader:
    def __init__(self, graph_module: fx.GraphModule) -> None:
        self.gm = graph_module
        self.modules = dict(graph_module.named_modules())
        self.layers: list[ImportedLayer] = []
        self.by_name: dict[str, ImportedLayer] = {}
        self.produced: dict[fx.Node, str] = {}  # fx node -> the layer whose output it is
        self.sizes: set[fx.Node] = set()  # nodes that compute sizes (or hold a layer's weights), not tensors
        self.splits: set[fx.Node] = set()  # nodes whose result is a tuple of split outputs
        self.absorbed: set[fx.Node] = set()  # nodes a layer made earlier stands for already
        self.unsupported: list[Unsupported] = []
        self.taken: set[str] = set()

    def users(self, node: fx.Node) -> list[fx.Node]:
        return list(node.users)

    def tensor_inputs(self, node: fx.Node) -> list[fx.Node]:
        found: list[fx.Node] = []

        def visit(value: Any) -> None:
            if isinstance(value, fx.Node):
                if value not in self.sizes:
                    found.append(value)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    visit(item)
            elif isinstance(value, dict):
                for item in value.values():
                    visit(item)
        visit(node.args)
        visit(node.kwargs)
        return found

    def unique(self, name: str) -> str:
        candidate, number = name, 1
        while candidate in self.taken or candidate == NETWORK_INPUT:
            number += 1
            candidate = f"{name}_{number}"
        self.taken.add(candidate)
        return candidate

    def function_name(self, node: fx.Node, base: str) -> str:
        """A function's result is named in the module its first input comes from."""
        for source in self.tensor_inputs(node):
            layer = self.produced.get(source)
            if layer and "." in layer:
                return f"{layer.rsplit('.', 1)[0]}.{base}"
        return base

    def add(self, node: fx.Node, name: str, op: str, values: dict[str, Any], origin: str) -> None:
        if op not in OP_REGISTRY:
            raise _Refuse(f"{op} is not an archviz op yet")
        sources = [self.produced.get(source, NETWORK_INPUT) for source in self.tensor_inputs(node)]
        name = self.unique(name)
        layer = ImportedLayer(name, op, values, sources or [NETWORK_INPUT], name_scope(name), origin, _shape(node))
        self.layers.append(layer)
        self.by_name[name] = layer
        self.produced[node] = name

    def alias(self, node: fx.Node, source: fx.Node) -> None:
        self.produced[node] = self.produced.get(source, NETWORK_INPUT)
        layer = self.by_name.get(self.produced[node])
        if layer is not None:
            layer.stated_shape = _shape(node)

    def is_flatten(self, node: fx.Node) -> bool:
        """``x.view(x.size(0), -1)``, ``x.reshape(n, -1)``, ``torch.flatten(x, 1)``, ``x.flatten(1)``."""
        if node.op == "call_function" and node.target is torch.flatten:
            start = _arg(node, 1, "start_dim", 0)
            end = _arg(node, 2, "end_dim", -1)
            return bool(start == 1 and end == -1)
        if node.op == "call_method" and node.target == "flatten":
            start = _arg(node, 1, "start_dim", 0)
            return bool(start == 1)
        if node.op == "call_method" and node.target in ("view", "reshape"):
            shape = node.args[1:]
            if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
                shape = tuple(shape[0])
            return bool(len(shape) == 2 and shape[1] == -1)
        if node.op == "call_module" and isinstance(self.modules.get(str(node.target)), nn.Flatten):
            module = self.modules[str(node.target)]
            return bool(module.start_dim == 1 and module.end_dim == -1)
        return False

    def pooled_then_flattened(self, node: fx.Node) -> bool:
        users = self.users(node)
        return len(users) == 1 and self.is_flatten(users[0])

    def visit(self, node: fx.Node) -> None:
        origin = f"fx node {node.name!r} ({node.op} {getattr(node.target, '__name__', node.target)})"
        if node.op == "call_module":
            self.visit_module(node, str(node.target), origin)
        elif node.op == "call_function":
            self.visit_function(node, origin)
        elif node.op == "call_method":
            self.visit_method(node, origin)
        elif node.op == "get_attr":
            if self.l2_norm_scale(node) is not None:
                self.sizes.add(node)  # SSD's L2Norm scale: counted by the l2_norm layer it becomes
                for view in node.users:
                    self.sizes.add(view)
                return
            if all(user.op == "call_function" and user.target is F.layer_norm for user in node.users):
                self.sizes.add(node)  # the weights of a functional layer norm
                return
            self.visit_parameter(node, origin)

    def visit_module(self, node: fx.Node, path: str, origin: str) -> None:
        module = self.modules[path]
        if isinstance(module, nn.Flatten):
            return self.visit_flatten(node, path, origin)
        if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            size = _pair(module.output_size)
            if size == 1 and self.pooled_then_flattened(node):
                op = "global_avg_pool2d" if isinstance(module, nn.AdaptiveAvgPool2d) else "global_max_pool2d"
                return self.add(node, path, op, {}, origin)
            if isinstance(module, nn.AdaptiveMaxPool2d):
                raise _Refuse("adaptive max pooling (archviz has adaptive average pooling)")
            return self.add(node, path, "adaptive_avg_pool2d", {"output_size": size}, origin)
        mapper = MODULES.get(type(module))
        if mapper is None:
            raise _Refuse("")
        result = mapper(module)
        op, values = (result, {}) if isinstance(result, str) else result
        if op == "multi_head_attention":
            query, key, value = (node.args + (None, None, None))[:3]
            key = node.kwargs.get("key", key)
            value = node.kwargs.get("value", value)
            if not (query is key is value):
                raise _Refuse("cross-attention (archviz's attention is self-attention: query, key and value the same)")
            if node.kwargs.get("attn_mask") is not None or node.kwargs.get("key_padding_mask") is not None:
                raise _Refuse("attention with a mask")
            node = _OneInput(node, query)  # type: ignore[assignment]
        if isinstance(module, nn.Dropout) and values.get("rate") == 0.5:
            values = {}
        self.add(node, path, op, values, origin)
        return None

    def visit_reshape(self, node: fx.Node, name: str, origin: str) -> None:
        """A view or reshape to whatever shape shape propagation saw (the batch kept first)."""
        shape = _shape(node)
        meta = node.meta.get("tensor_meta")
        if shape is None or meta is None:
            raise _Refuse("a reshape whose result shape is unknown")
        source_meta = self.tensor_inputs(node)[0].meta.get("tensor_meta")
        if source_meta is None or tuple(source_meta.shape[:1]) != tuple(meta.shape[:1]):
            raise _Refuse("a reshape that changes the batch axis")
        if len(shape) == 1:
            return self.add(node, name, "flatten", {}, origin)
        return self.add(node, name, "reshape", {"shape": list(shape)}, origin)

    def visit_flatten(self, node: fx.Node, name: str, origin: str) -> None:
        if not self.is_flatten(node):
            return self.visit_reshape(node, name, origin)
        source = self.tensor_inputs(node)[0]
        producer = self.by_name.get(self.produced.get(source, ""))
        if producer is not None and producer.op in ("global_avg_pool2d", "global_max_pool2d"):
            return self.alias(node, source)  # the pool's output is flat already
        return self.add(node, name, "flatten", {}, origin)

    def visit_function(self, node: fx.Node, origin: str) -> None:
        target = node.target
        if target in (getattr, operator.getitem) and self._is_size(node):
            self.sizes.add(node)
            return None
        if target in (operator.eq, operator.floordiv, operator.mul, operator.add, operator.sub, torch._assert) and \
                not self.tensor_inputs(node):
            self.sizes.add(node)  # arithmetic on sizes, and checks of them
            return None
        if target in (operator.add, torch.add, operator.iadd):
            if len(self.tensor_inputs(node)) != 2:
                raise _Refuse("the addition of a constant")
            return self.add(node, self.function_name(node, "add"), "add", {}, origin)
        if target in (operator.mul, torch.mul, operator.imul):
            if len(self.tensor_inputs(node)) != 2:
                raise _Refuse("a multiplication by a constant")
            return self.add(node, self.function_name(node, "mul"), "multiply", {}, origin)
        if target is torch.cat:
            dim = int(_arg(node, 1, "dim", 0))
            rank = len(_shape(node) or ()) + 1
            if dim % rank == 0:
                raise _Refuse("a concatenation along the batch axis")
            axis = dim - 1 if dim > 0 else dim
            return self.add(node, self.function_name(node, "cat"), "concat", {"axis": axis} if axis else {}, origin)
        if target is torch.flatten:
            return self.visit_flatten(node, self.function_name(node, "flatten"), origin)
        if target in (F.softmax, torch.softmax):
            dim = _arg(node, 1, "dim", None)
            if dim not in (1, -1):
                raise _Refuse(f"softmax over dim {dim}")
            return self.add(node, self.function_name(node, "softmax"), "softmax", {}, origin)
        if target in ELEMENTWISE_FUNCTIONS:
            op = ELEMENTWISE_FUNCTIONS[target]
            return self.add(node, self.function_name(node, op), op, {}, origin)
        if target is F.adaptive_avg_pool2d:
            size = _pair(_arg(node, 1, "output_size", None))
            if size == 1 and self.pooled_then_flattened(node):
                return self.add(node, self.function_name(node, "avgpool"), "global_avg_pool2d", {}, origin)
            return self.add(node, self.function_name(node, "avgpool"), "adaptive_avg_pool2d", {"output_size": size}, origin)
        if target in (torch.permute,):
            return self.visit_permute(node, _arg(node, 1, "dims", None), origin)
        if target is torch.transpose:
            return self.visit_transpose(node, origin)
        if target is operator.getitem:
            return self.visit_getitem(node, origin)
        if target is F.layer_norm:
            return self.visit_functional_norm(node, origin)
        if target is F.normalize:
            return self.visit_l2_norm(node, origin)
        if getattr(target, "__name__", "") == "stochastic_depth":  # torchvision.ops.stochastic_depth
            rate = _arg(node, 1, "p", 0.0)
            mode = _arg(node, 2, "mode", "row")
            return self.add(node, self.function_name(node, "stochastic_depth"), "stochastic_depth",
                            {"rate": float(rate), "mode": mode}, origin)
        if target is F.dropout:
            return self.alias(node, self.tensor_inputs(node)[0]) if not node.kwargs.get("training") else \
                self.add(node, self.function_name(node, "dropout"), "dropout", {}, origin)
        raise _Refuse("")

    def visit_permute(self, node: fx.Node, dims: Any, origin: str) -> None:
        dims = list(dims)
        if not dims or dims[0] != 0:
            raise _Refuse(f"a permutation that moves the batch axis ({dims})")
        return self.add(node, self.function_name(node, "permute"), "permute", {"dims": [d - 1 for d in dims[1:]]},
                        origin)

    def visit_transpose(self, node: fx.Node, origin: str) -> None:
        shape = _shape(node)
        if shape is None:
            raise _Refuse("a transpose whose shape is unknown")
        rank = len(shape) + 1
        first, second = (int(d) % rank for d in list(node.args[1:3]))  # type: ignore[arg-type]
        if 0 in (first, second):
            raise _Refuse("a transpose of the batch axis")
        dims = list(range(rank))
        dims[first], dims[second] = dims[second], dims[first]
        return self.visit_permute(node, dims, origin)

    def visit_getitem(self, node: fx.Node, origin: str) -> None:
        source, index = node.args[0], node.args[1]
        if isinstance(source, fx.Node) and source in self.sizes:
            self.sizes.add(node)
            return None
        if isinstance(source, fx.Node) and source in self.splits:  # one output of a split
            self.produced[node] = f"{self.produced[source]}.{int(index)}"  # type: ignore[arg-type]
            return None
        if isinstance(source, fx.Node) and isinstance(index, int) and _shape(source) is None:
            return self.alias(node, source)  # element 0 of a tuple an attention layer returns
        if isinstance(index, tuple) and len(index) == 2 and index[0] == slice(None) and isinstance(index[1], int):
            return self.add(node, self.function_name(node, "select"), "select", {"axis": 0, "index": index[1]}, origin)
        raise _Refuse(f"indexing with {index!r}")

    def visit_functional_norm(self, node: fx.Node, origin: str) -> None:
        shape = _arg(node, 1, "normalized_shape", None)
        weight = _arg(node, 2, "weight", None)
        bias = _arg(node, 3, "bias", None)
        eps = _arg(node, 4, "eps", 1e-5)
        if len(tuple(shape)) != 1:  # type: ignore[arg-type]
            raise _Refuse("a layer norm over several axes")
        for parameter in (weight, bias):
            if isinstance(parameter, fx.Node):
                self.sizes.add(parameter)  # counted by the layer norm itself
        name = self.function_name(node, "layer_norm")
        if isinstance(weight, fx.Node) and weight.op == "get_attr":
            name = str(weight.target).rsplit(".", 1)[0]  # the module that owns the weights
        return self.add(node, name, "layer_norm", {"eps": float(eps), "affine": weight is not None,
                                                   "bias": bias is not None}, origin)

    def l2_norm_scale(self, node: fx.Node) -> fx.Node | None:
        """The product ``scale.view(1, -1, 1, 1) * F.normalize(x)`` a per-channel scale takes part in."""
        views = list(node.users)
        if len(views) != 1 or views[0].op != "call_method" or views[0].target not in ("view", "reshape"):
            return None
        products = list(views[0].users)
        if len(products) != 1 or products[0].target not in (operator.mul, torch.mul):
            return None
        other = next((arg for arg in products[0].args if arg is not views[0]), None)
        if isinstance(other, fx.Node) and other.op == "call_function" and other.target is F.normalize and \
                _arg(other, 2, "dim", 1) == 1 and _arg(other, 1, "p", 2.0) == 2.0:
            return products[0]
        return None

    def visit_l2_norm(self, node: fx.Node, origin: str) -> None:
        """F.normalize(x, dim=1) whose result a learnable per-channel scale multiplies: one l2_norm layer."""
        product = next((user for user in node.users), None)
        scale = None
        if product is not None and len(node.users) == 1:
            scale = next((arg for arg in product.args if isinstance(arg, fx.Node) and arg in self.sizes
                          and arg.op == "call_method"), None)
        if scale is None or product is None:
            raise _Refuse("an L2 normalisation without a learnable per-channel scale")
        parameter = scale.args[0]
        owner = str(parameter.target).rsplit(".", 1)[0] if isinstance(parameter, fx.Node) and \
            "." in str(parameter.target) else ""
        name = f"{owner}.l2_norm" if owner else self.function_name(node, "l2_norm")
        eps = float(_arg(node, 3, "eps", 1e-12))
        self.add(node, name, "l2_norm", {} if eps == 1e-12 else {"eps": eps}, origin)
        self.alias(product, node)
        self.absorbed.add(product)

    def visit_parameter(self, node: fx.Node, origin: str) -> None:
        """A tensor the module holds (a class token, a positional embedding, a layer scale)."""
        value = self.gm
        for part in str(node.target).split("."):
            value = getattr(value, part)
        if not isinstance(value, nn.Parameter):
            raise _Refuse("a buffer or constant tensor read in forward")
        dims = list(value.shape)
        shape = dims[1:] if len(dims) > 1 and dims[0] == 1 else dims
        sources = [self.produced.get(n, NETWORK_INPUT) for n in self.gm.graph.nodes if n.op == "placeholder"][:1]
        name = self.unique(str(node.target))
        layer = ImportedLayer(name, "parameter", {"shape": shape}, sources or [NETWORK_INPUT],
                              name_scope(name), origin, tuple(shape))
        self.layers.append(layer)
        self.by_name[name] = layer
        self.produced[node] = name

    def visit_method(self, node: fx.Node, origin: str) -> None:
        method = str(node.target)
        if method in ("size", "dim"):
            self.sizes.add(node)
            return None
        if method == "expand":  # a learnable token broadcast over the batch: the same tensor per sample
            return self.alias(node, self.tensor_inputs(node)[0])
        if method == "permute":
            dims: Any = node.args[1:] if not isinstance(node.args[1], (tuple, list)) else node.args[1]
            return self.visit_permute(node, dims, origin)
        if method == "transpose":
            return self.visit_transpose(node, origin)
        if method == "chunk":
            chunks = _arg(node, 1, "chunks", None)
            dim = int(_arg(node, 2, "dim", 0))
            if dim == 0:
                raise _Refuse("a chunk along the batch axis")
            self.add(node, self.function_name(node, "split"), "split", {"axis": dim - 1, "parts": int(chunks)}, origin)
            self.splits.add(node)
            return None
        if method in ("view", "reshape", "flatten"):
            return self.visit_flatten(node, self.function_name(node, "flatten"), origin)
        if method in ("contiguous", "clone"):
            return self.alias(node, self.tensor_inputs(node)[0])
        if method in ELEMENTWISE_METHODS:
            op = ELEMENTWISE_METHODS[method]
            return self.add(node, self.function_name(node, op), op, {}, origin)
        if method in ("add", "add_"):
            return self.add(node, self.function_name(node, "add"), "add", {}, origin)
        if method == "mean":
            dims = _arg(node, 1, "dim", None)
            if isinstance(dims, (list, tuple)) and sorted(int(d) % 4 for d in dims) == [2, 3]:
                if node.kwargs.get("keepdim") or (len(node.args) > 2 and node.args[2]):
                    return self.add(node, self.function_name(node, "mean"), "adaptive_avg_pool2d",
                                    {"output_size": 1}, origin)
                return self.add(node, self.function_name(node, "mean"), "global_avg_pool2d", {}, origin)
        raise _Refuse("")

    def _is_size(self, node: fx.Node) -> bool:
        base = node.args[0] if node.args else None
        if node.target is getattr:
            return node.args[1] == "shape"
        return isinstance(base, fx.Node) and base in self.sizes

    def run(self) -> list[str]:
        outputs: list[str] = []
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                self.produced[node] = NETWORK_INPUT
                continue
            if node.op == "output":
                outputs = [self.produced.get(source, NETWORK_INPUT) for source in self.tensor_inputs(node)]
                continue
            if node in self.absorbed or node in self.sizes:
                continue  # a layer made earlier stands for it, or it holds a size or a layer's weight
            try:
                self.visit(node)
            except _Refuse as refusal:
                what = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
                if node.op == "call_module":
                    what = type(self.modules[str(node.target)]).__name__
                self.unsupported.append(Unsupported(node.name, f"{what}: {refusal}" if str(refusal) else str(what),
                                                    f"{node.op} {node.target}"))
                self.produced[node] = node.name
        return outputs


class _DetectionNetwork(nn.Module):
    """A torchvision detector's network part: the backbone's feature maps into the head.

    Its ``transform`` (normalising and resizing images) and ``postprocess_detections`` (anchor
    decoding, score thresholds, non-maximum suppression) are data-dependent code, not layers:
    what archviz counts, as torchvision's published parameters and GFLOPS do, is this part.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.backbone: nn.Module = detector.backbone  # type: ignore[assignment]
        self.head: nn.Module = detector.head  # type: ignore[assignment]

    def forward(self, x: Any) -> Any:
        features = list(self.backbone(x).values())
        return self.head(features)


def network_part(module: nn.Module) -> nn.Module:
    """The module itself, or for a torchvision detector (backbone, head, anchor generator) its network."""
    if all(hasattr(module, part) for part in ("backbone", "head", "anchor_generator")):
        return _DetectionNetwork(module)
    return module


def read_torch(module: nn.Module, input_shape: Sequence[int], name: str | None = None,
               source: str = "<module>") -> ImportedModel:
    """The layers of ``module`` for one input of ``input_shape`` (channels first, no batch)."""
    module = network_part(module.eval())
    try:
        graph_module = fx.symbolic_trace(module)
    except Exception as exc:  # noqa: BLE001  (fx raises many kinds on Python control flow)
        raise SpecError(f"torch.fx cannot trace this module: {type(exc).__name__}: {exc}"[:500],
                        hint="archviz follows torch.fx's graph; data-dependent control flow cannot be traced") from None
    from torch.fx.passes.shape_prop import ShapeProp

    try:
        with torch.no_grad():
            ShapeProp(graph_module).propagate(torch.zeros(1, *input_shape))
    except Exception as exc:  # noqa: BLE001  (whatever the module's forward raises)
        raise SpecError(f"the module does not run on an input of shape {list(input_shape)}: "
                        f"{type(exc).__name__}: {exc}"[:500], hint="give the input shape it takes with --input") from None
    reader = _Reader(graph_module)
    outputs = reader.run()
    if reader.unsupported:
        raise UnsupportedOps(source, "PyTorch", reader.unsupported)
    params = sum(p.numel() for p in module.parameters())
    return ImportedModel(
        name=name or type(module).__name__, source=source, framework="PyTorch", input_shape=tuple(input_shape),
        layers=reader.layers, outputs=outputs, source_params=params,
        notes=[f"traced with torch.fx at input {list(input_shape)}"],
    )
