"""``archviz import SOURCE``: what a SOURCE names, and the module or file it leads to.

SOURCE is a model file (``.onnx``, ``.keras``), a PyTorch module as ``path/to/file.py:NAME`` or
``package.module:NAME`` (NAME a class or a factory called with no arguments), or
``torchvision.models.NAME`` where torchvision is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archviz.backends.formats import is_model_file, read_model_file
from archviz.backends.imported import ImportedModel
from archviz.errors import ArchvizError, Location, SpecError
from archviz.optional import require
from archviz.suggest import did_you_mean

TORCHVISION = "torchvision.models."




def _python_object(source: str) -> tuple[Any, str]:
    """The object SOURCE names, and a display name for it."""
    if source.startswith(TORCHVISION) and ":" not in source:
        require("torchvision", f"importing {source}")
        import torchvision

        attribute = source[len(TORCHVISION):].rsplit(".", 1)[-1]
        if attribute not in torchvision.models.list_models():
            raise SpecError(f"torchvision has no model {attribute!r}", location=Location(source),
                            hint=did_you_mean(attribute, torchvision.models.list_models()) or "see torchvision.models.list_models()")
        def build() -> Any:
            # random weights only: nothing is downloaded (a detector's backbone would fetch its own)
            try:
                return torchvision.models.get_model(attribute, weights=None, weights_backbone=None)
            except TypeError:
                return torchvision.models.get_model(attribute, weights=None)

        return build, attribute
    else:
        module_name, sep, attribute = source.rpartition(":")
        if not sep or not module_name or not attribute:
            raise SpecError(f"cannot tell what to import. Received: {source!r}",
                            hint="give a .onnx or .keras file, path/to/file.py:NAME, package.module:NAME or "
                                 "torchvision.models.NAME")
    if module_name.endswith(".py") or "/" in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise SpecError("no such Python file", location=Location(module_name))
        spec = importlib.util.spec_from_file_location(f"archviz_imported_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise SpecError("cannot load this file as a Python module", location=Location(module_name))
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001  (the user's module may raise anything)
            raise SpecError(f"running the file raised {type(exc).__name__}: {exc}"[:500],
                            location=Location(module_name)) from None
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise SpecError(f"no module named {exc.name!r}", location=Location(source),
                            hint="check the module path, or give path/to/file.py:NAME") from None
    if not hasattr(module, attribute):
        raise SpecError(f"{module_name} has no {attribute!r}", location=Location(source))
    return getattr(module, attribute), attribute


def _instantiate(factory: Any, name: str, source: str) -> Any:
    import torch

    if isinstance(factory, torch.nn.Module):
        return factory
    if not callable(factory):
        raise SpecError(f"{name} is neither an nn.Module nor a class or factory", location=Location(source))
    try:
        module = factory()
    except Exception as exc:  # noqa: BLE001
        raise SpecError(f"calling {name}() raised {type(exc).__name__}: {exc}"[:500], location=Location(source),
                        hint="NAME must be a class or factory that takes no arguments") from None
    if not isinstance(module, torch.nn.Module):
        raise SpecError(f"{name}() returned a {type(module).__name__}, not an nn.Module", location=Location(source))
    return module


def read_source(source: str, input_shape: Sequence[int] | None = None) -> ImportedModel:
    """The imported layers of whatever SOURCE names."""
    if is_model_file(source):
        model = read_model_file(source)
        if input_shape is not None:
            model.input_shape = tuple(input_shape)
        return model
    require("torch", "importing a PyTorch module")
    factory, name = _python_object(source)
    module = _instantiate(factory, name, source)
    if input_shape is None:
        raise SpecError("a PyTorch module has no input size of its own", location=Location(source),
                        hint="give one with --input, e.g. --input 3x224x224")
    from archviz.backends.pytorch.reader import read_torch

    try:
        return read_torch(module, input_shape, name=name, source=source)
    except ArchvizError as exc:
        raise exc.with_context(Location(source))
