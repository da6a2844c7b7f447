"""Frameworks archviz can use but does not need: a clear exit-2 message when one is missing.

Which extra installs which module is written once, in :mod:`archviz.optional`.
"""

from __future__ import annotations

import importlib.util
import os

from archviz.optional import MissingDependencyError as MissingDependency
from archviz.optional import require

__all__ = ["MissingDependency", "keras_backend", "require"]


def keras_backend() -> None:
    """Make Keras importable here: its torch backend where no TensorFlow is installed.

    Keras 3 defaults to TensorFlow; archviz's Keras paths need no TensorFlow, so where
    ``KERAS_BACKEND`` is unset and TensorFlow is absent but torch is present, torch is chosen.
    """
    require("keras", "the Keras backend")
    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("tensorflow") is None:
        if importlib.util.find_spec("jax") is not None and importlib.util.find_spec("torch") is None:
            os.environ["KERAS_BACKEND"] = "jax"
        else:
            require("torch", "Keras without TensorFlow")
            os.environ["KERAS_BACKEND"] = "torch"
