"""The op registry: importing this package registers every op."""

from archviz.ops import activation, conv, dense, merge, norm, pool  # noqa: F401  (registration)
from archviz.ops.base import (
    ALIASES,
    GLOBAL,
    NOT_APPLICABLE,
    OP_REGISTRY,
    POINTWISE,
    Attribute,
    Cost,
    MultiOutput,
    Op,
    Window,
)

__all__ = ["ALIASES", "GLOBAL", "NOT_APPLICABLE", "OP_REGISTRY", "POINTWISE", "Attribute", "Cost", "MultiOutput", "Op", "Window"]

# Imported where a spec uses one of their ops (see Registry); tests/test_ops.py checks that each
# module registers exactly these names.
DEFERRED = {
    "archviz.ops.attention": ("matmul", "multi_head_attention"),
    "archviz.ops.resize": ("conv_transpose2d", "upsample", "max_unpool2d"),
    "archviz.ops.shape": ("reshape", "permute", "channel_shuffle", "split", "slice", "select", "pad", "parameter"),
    "archviz.ops.statnorm": ("layer_norm", "group_norm", "instance_norm", "l2_norm"),
}
for _module, _names in DEFERRED.items():
    OP_REGISTRY.defer(_module, _names)
