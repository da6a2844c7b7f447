"""Model files given where a spec is expected: ``archviz summary model.onnx``, ``load("m.keras")``.

A model file is read by its framework's reader, written as a spec by the one spec writer and
read back through the ordinary spec path, so everything downstream sees a Document like any
other. The reader's modules are imported only when such a file is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archviz.errors import ArchvizError, Location, SpecError

if TYPE_CHECKING:
    from archviz.backends.imported import ImportedModel
    from archviz.network import Network
    from archviz.spec.document import Document

MODEL_SUFFIXES = (".onnx", ".keras")


def is_model_file(spec: object) -> bool:
    return isinstance(spec, (str, Path)) and str(spec).lower().endswith(MODEL_SUFFIXES)


def read_model_file(path: str | Path, display: str | None = None) -> ImportedModel:
    """The imported layers of an .onnx or .keras file."""
    text = str(path)
    if text.lower().endswith(".onnx"):
        from archviz.backends.onnx.reader import read_onnx

        return read_onnx(path, display or text)
    if text.lower().endswith(".keras"):
        from archviz.backends.keras.reader import read_keras

        return read_keras(path, display or text)
    raise SpecError("not a model file archviz reads", location=Location(text), hint="give a .onnx or .keras file")


def imported_spec_text(model: ImportedModel) -> str:
    """The model as spec YAML, checked: it loads, and every shape the file states is archviz's."""
    from archviz.backends.imported import check_shapes
    from archviz.network import loads
    from archviz.spec.writer import write_spec

    text = write_spec(model)
    if any(layer.stated_shape is not None for layer in model.layers) and model.input_shape is not None:
        try:
            analysis = loads(text).analyze()
        except ArchvizError:
            return text  # the caller's own load reports it, with the spec's line
        check_shapes(model, {record.name: tuple(record.output_shape) for record in analysis.layers}, model.source)
    return text


def model_document(path: str | Path, input_shape: tuple[int, ...] | None = None) -> Document:
    """The Document of a model file, as if its imported spec had been given."""
    from archviz.spec.document import read_document_text

    model = read_model_file(path)
    if input_shape is not None:
        model.input_shape = input_shape
    return read_document_text(imported_spec_text(model), display=f"{path} (imported)")


def _network(model: ImportedModel) -> Network:
    from archviz.network import network_from_document
    from archviz.spec.document import read_document_text

    return network_from_document(read_document_text(imported_spec_text(model), display=f"{model.source} (imported)"))


def from_onnx(path: str | Path, input_shape: Sequence[int] | None = None) -> Network:
    """A Network from an ONNX file (no ``onnx`` install needed).

    ``input_shape`` (channels first, no batch) is needed only where the file's input has
    symbolic sizes.
    """
    from archviz.backends.onnx.reader import read_onnx

    model = read_onnx(path)
    if input_shape is not None:
        model.input_shape = tuple(input_shape)
    return _network(_with_input(model))


def from_keras(model_or_path: Any, input_shape: Sequence[int] | None = None) -> Network:
    """A Network from a ``.keras`` file or a live Keras model (its ``get_config()``; no weights read)."""
    from archviz.backends.keras.reader import import_config, read_keras

    if isinstance(model_or_path, (str, Path)):
        model = read_keras(model_or_path)
    else:
        import json

        root = json.loads(model_or_path.to_json())
        model = import_config(root, f"<Keras model {getattr(model_or_path, 'name', '')}>")
    if input_shape is not None:
        model.input_shape = tuple(input_shape)
    return _network(_with_input(model))


def from_torch(module: Any, input_shape: Sequence[int], name: str | None = None) -> Network:
    """A Network from a live ``torch.nn.Module``, traced with torch.fx at ``input_shape`` (C, H, W)."""
    from archviz.backends.pytorch.reader import read_torch

    return _network(read_torch(module, tuple(input_shape), name=name))


def _with_input(model: ImportedModel) -> ImportedModel:
    if model.input_shape is None:
        raise SpecError("the model's input has no fixed size", location=Location(model.source),
                        hint="give one: input_shape=(3, 224, 224), or --input 3x224x224")
    return model
