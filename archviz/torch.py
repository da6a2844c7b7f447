"""``archviz.torch``: the PyTorch backend's public functions (``pip install 'archviz[torch]'``).

Importing this module does not import torch; each function does when it is first used.

- ``build(network, input_shape=None, *, device=None) -> nn.Module``: the spec as a module whose
  submodules carry the spec's layer names.
- ``verify(network, input_shape=None, batch=1, device="meta", dtype="fp32") -> Verification``:
  shapes, params, buffers and FLOPs per layer, archviz against PyTorch.
- ``benchmark(network, input_shape=None, batch=1, device="cpu", dtype="fp32", ...) -> Benchmark``.
- ``to_source(network, input_shape=None, class_name=None) -> str``: standalone PyTorch source.

>>> import archviz, archviz.torch
>>> archviz.torch.verify(archviz.load("resnet18"), device="meta").ok
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archviz.backends.pytorch.bench import benchmark
    from archviz.backends.pytorch.build import build
    from archviz.backends.pytorch.source import to_source
    from archviz.backends.pytorch.verify import verify

__all__ = ["benchmark", "build", "to_source", "verify"]

_WHERE = {
    "build": "archviz.backends.pytorch.build",
    "verify": "archviz.backends.pytorch.verify",
    "benchmark": "archviz.backends.pytorch.bench",
    "to_source": "archviz.backends.pytorch.source",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'archviz.torch' has no attribute {name!r}")
    if name != "to_source":
        from archviz.backends.pytorch.options import require_torch

        require_torch()
    return getattr(importlib.import_module(_WHERE[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
