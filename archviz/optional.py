"""The optional parts of archviz, and the one place that says how to install each.

``pip install archviz`` (or ``pip install -e .``) carries everything the tables, exports,
diagrams, charts and reports need, matplotlib and cairosvg included. The frameworks are left
out by default (torch is large, and a user picks the build for their hardware): the ``torch``,
``torchvision``, ``onnx`` and ``keras`` extras. A module that is still missing -- one of those, or
matplotlib/cairosvg in an environment installed without dependencies -- is reported by the
command that needs it as one line naming the extra to install, with exit code 2, before any work
starts; never as a traceback.

Every mapping from a module to its extra is in ``EXTRAS``; pyproject.toml's
``[project.optional-dependencies]`` has an extra of each name (a test checks both agree).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from archviz.errors import ArchvizError

# The CPU build of torch is on PyTorch's own wheel index; from the public registry, torch on Linux is
# the CUDA build (with several GB of CUDA wheels). Named in the hint, the way PyTorch's install page
# offers it.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@dataclass(frozen=True)
class Extra:
    """The pip extra that installs a module, and what archviz uses the module for."""

    name: str
    used_for: str
    hint: str | None = None


EXTRAS: dict[str, Extra] = {
    "torch": Extra("torch", "the PyTorch backend (verify, benchmark, the report's verification)",
                   hint=f"for the CPU build only: pip install torch --index-url {TORCH_CPU_INDEX}, "
                   "then pip install 'archviz[torch]'"),
    "torchvision": Extra("torchvision", "torchvision's models"),
    "onnx": Extra("onnx", "the ONNX backend (export to ONNX, verify in ONNX Runtime)"),
    "onnxruntime": Extra("onnx", "verifying in ONNX Runtime"),
    "keras": Extra("keras", "the Keras backend (export to Keras, verify in Keras)"),
    "matplotlib": Extra("charts", "drawing charts"),
    "cairosvg": Extra("figures", "converting the blocks figure to PNG or PDF",
                      hint="cairosvg also needs the Cairo library (Debian/Ubuntu: apt-get install libcairo2; "
                      "macOS: brew install cairo); or write --out FILE.svg"),
}


def install_command(module: str) -> str:
    """``pip install 'archviz[EXTRA]'`` for a module in EXTRAS."""
    return f"pip install 'archviz[{EXTRAS[module].name}]'"


class MissingDependencyError(ArchvizError, ImportError):
    """An optional module is not installed: an ArchvizError for the CLI (exit 2), and an ImportError
    for Python callers that already catch one."""

    def __init__(self, module: str, needed_by: str | None = None) -> None:
        extra = EXTRAS[module]
        self.module = module
        super().__init__(f"{needed_by or extra.used_for} needs {module}, which is not installed; "
                         f"install it with: {install_command(module)}", hint=extra.hint)
        self.name = module  # ImportError's attribute: the module that could not be imported


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (cheap: no start-up cost)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder refused it, or a half-imported module without a spec
        return False


def require(module: str, needed_by: str | None = None) -> None:
    """Raise MissingDependencyError (naming the extra) unless ``module`` is installed."""
    if not is_installed(module):
        raise MissingDependencyError(module, needed_by)


def as_missing_dependency(exc: BaseException) -> MissingDependencyError | None:
    """The MissingDependencyError for an ImportError of a module in EXTRAS (raised anywhere below a
    command); None for any other exception, which stays what it is."""
    if isinstance(exc, MissingDependencyError):
        return exc
    if not isinstance(exc, ImportError) or not exc.name:
        return None
    top = exc.name.split(".")[0]
    return MissingDependencyError(top) if top in EXTRAS else None
