"""The op registry: importing this package registers every op."""

from archviz.ops import activation, conv, dense, merge, norm, pool  # noqa: F401  (registration)
from archviz.ops.base import ALIASES, GLOBAL, OP_REGISTRY, POINTWISE, Attribute, Cost, Op, Window

__all__ = ["ALIASES", "GLOBAL", "OP_REGISTRY", "POINTWISE", "Attribute", "Cost", "Op", "Window"]
