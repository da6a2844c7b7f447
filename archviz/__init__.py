"""archviz: exact numbers and pictures of convolutional networks from a YAML description."""

from archviz.analysis import Analysis, LayerRecord, Totals
from archviz.backends.formats import from_keras, from_onnx, from_torch
from archviz.errors import ArchvizError, ArgumentError, GraphError, ShapeError, SpecError
from archviz.network import Network, load, loads
from archviz.spec.document import builtin_names
from archviz.sweep import iter_sweep, sweep  # after the module: archviz.sweep is the function

__version__ = "0.1.0"


__all__ = [
    "Analysis",
    "ArchvizError",
    "ArgumentError",
    "GraphError",
    "LayerRecord",
    "Network",
    "ShapeError",
    "SpecError",
    "Totals",
    "__version__",
    "builtin_names",
    "from_keras",
    "from_onnx",
    "from_torch",
    "iter_sweep",
    "load",
    "loads",
    "sweep",
]
