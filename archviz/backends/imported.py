"""What every framework reader produces: a flat list of layers in the spec language's terms.

A reader (ONNX, Keras, PyTorch) maps each node of its framework's graph to one
:class:`ImportedLayer` — an archviz op name with attribute values as a spec would write them —
or reports it as unsupported. :func:`archviz.spec.writer.write_spec` turns the result into
readable YAML, and that YAML is loaded through the same path as any spec, so an imported model
is validated and analysed exactly like a written one. Nothing here imports a framework.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archviz.errors import SpecError

NETWORK_INPUT = "input"
MAX_LISTED = 40  # unsupported nodes named in one message


@dataclass
class ImportedLayer:
    """One layer: its source name, the archviz op and attributes, and where it came from."""

    name: str
    op: str
    attributes: dict[str, Any]
    inputs: list[str]
    # the groups the layer is in, outermost first: scope[0] is its stage (a label), each later entry
    # a prefix of its name that an instance of a block shares ('layer1.0' of 'layer1.0.conv1')
    scope: tuple[str, ...] = ()
    origin: str = ""  # e.g. "ONNX node '/features/features.0/Conv' (Conv)"
    stated_shape: tuple[int, ...] | None = None  # the output shape the file gives, batch left out


@dataclass
class ImportedModel:
    """A model read from a framework, before it becomes a spec."""

    name: str
    source: str  # the file or module it was read from, for the spec's reference line
    framework: str  # "onnx", "keras", "pytorch"
    input_shape: tuple[int, ...] | None
    layers: list[ImportedLayer]
    outputs: list[str]
    notes: list[str] = field(default_factory=list)  # facts a reader of the spec should know
    source_params: int | None = None  # learnable parameters as the framework counts them


@dataclass(frozen=True)
class Unsupported:
    """A node no archviz op stands for."""

    name: str
    op_type: str
    where: str

    def line(self) -> str:
        return f"{self.name!r} ({self.op_type}) at {self.where}" if self.where else f"{self.name!r} ({self.op_type})"


def name_scope(name: str, stage: str | None = None) -> tuple[str, ...]:
    """'layer1.0.conv1' -> ('layer1', 'layer1.0'); with a stage the file names: (stage, 'layer1.0')."""
    parts = name.split(".")[:-1]
    prefixes = tuple(".".join(parts[:count]) for count in range(1, len(parts) + 1))
    if stage is None:
        return prefixes
    return (stage, *(prefix for prefix in prefixes if prefix != stage))


def check_shapes(model: ImportedModel, shapes: dict[str, tuple[int, ...]], display: str) -> None:
    """Every output shape the file states must be the one archviz computes for that layer."""
    wrong = [(layer, shapes[layer.name]) for layer in model.layers
             if layer.stated_shape is not None and layer.name in shapes and shapes[layer.name] != layer.stated_shape]
    if wrong:
        layer, computed = wrong[0]
        raise SpecError(
            f"{len(wrong)} layer(s) get another shape in archviz than the file states; the first, "
            f"{layer.name!r} ({layer.origin}): the file says {list(layer.stated_shape or ())}, archviz computes "
            f"{list(computed)}",
            hint="this is a gap in archviz's reader: please report it with the file",
        )


class UnsupportedOps(SpecError):
    """Raised with every unsupported node at once, so a user sees the whole list in one run."""

    def __init__(self, source: str, framework: str, nodes: list[Unsupported]) -> None:
        kinds = sorted({node.op_type for node in nodes})
        listed = "\n".join(f"    {node.line()}" for node in nodes[:MAX_LISTED])
        more = f"\n    ... and {len(nodes) - MAX_LISTED} more" if len(nodes) > MAX_LISTED else ""
        super().__init__(
            f"{len(nodes)} {framework} node(s) of {len(kinds)} kind(s) have no archviz op "
            f"({', '.join(kinds)}):\n{listed}{more}",
            hint="docs/import.md lists what maps to archviz's ops; archviz counts no layer it cannot name, "
            "so the model cannot be imported until these have an op",
        )
        self.nodes = nodes


def unique_names(names: list[str]) -> list[str]:
    """The names made unique in order: a repeated one gets ``_2``, ``_3``, ... ."""
    seen: dict[str, int] = {}
    result = []
    taken = set(names)
    for name in names:
        if name not in seen:
            seen[name] = 1
            result.append(name)
            continue
        count = seen[name]
        while True:
            count += 1
            candidate = f"{name}_{count}"
            if candidate not in taken:
                break
        seen[name] = count
        taken.add(candidate)
        result.append(candidate)
    return result
