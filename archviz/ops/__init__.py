"""The op registry: importing this package registers every op."""

from archviz.ops import activation, attention, conv, dense, merge, norm, pool, resize, shape  # noqa: F401  (registration)
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
