"""Frameworks archviz can use but does not need: a clear exit-2 message when one is missing."""

from __future__ import annotations

import importlib.util
import os

from archviz.errors import ArchvizError


class MissingDependency(ArchvizError, ImportError):
    """An optional package is not installed: exit 2 for the CLI, an ImportError for callers."""


def require(module: str, extra: str, what: str) -> None:
    """Raise MissingDependency naming the extra to install when ``module`` cannot be imported."""
    if importlib.util.find_spec(module) is None:
        raise MissingDependency(f"{what} needs {module}, which is not installed", hint=f"pip install 'archviz[{extra}]'")


def keras_backend() -> None:
    """Make Keras importable here: its torch backend where no TensorFlow is installed.

    Keras 3 defaults to TensorFlow; archviz's Keras paths need no TensorFlow, so where
    ``KERAS_BACKEND`` is unset and TensorFlow is absent but torch is present, torch is chosen.
    """
    require("keras", "keras", "the Keras backend")
    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("tensorflow") is None:
        if importlib.util.find_spec("jax") is not None and importlib.util.find_spec("torch") is None:
            os.environ["KERAS_BACKEND"] = "jax"
        else:
            require("torch", "keras", "Keras without TensorFlow")
            os.environ["KERAS_BACKEND"] = "torch"
