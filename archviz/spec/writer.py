"""One spec writer: any imported layer list as YAML a person would want to read.

The layers come from a framework reader (:mod:`archviz.backends.imported`). The writer

- groups consecutive layers that share the outermost part of their scope (a module path such
  as ``layer1.0.conv1``, a Keras name prefix such as ``block1_``) into stages;
- folds the instances inside a stage (``layer1.0``, ``layer1.1``) that have one structure into a
  block, with arguments for the attribute values that differ between instances, and consecutive
  calls that differ only by their index into one ``repeat``;
- leaves out what the language implies: ``inputs`` where a layer reads the layer before it,
  attributes at their default.

The YAML it writes is read back through the ordinary spec path (``loads``), so what an import
gives is validated and analysed exactly like a hand-written spec.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from archviz.backends.imported import NETWORK_INPUT, ImportedLayer, ImportedModel
from archviz.ops import OP_REGISTRY

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_RESERVED_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "none", "y", "n"}
_INDEXED = re.compile(r"^(.*?)(\d+)$")
BLOCK_INPUT = "in"


def scalar(value: Any) -> str:
    """A YAML scalar or flow list for a spec value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(item) for item in value) + "]"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED_WORDS:
        return text
    return json.dumps(text)  # a JSON string is a valid double-quoted YAML scalar


def _defaults(op: str) -> dict[str, Any]:
    cls = OP_REGISTRY[op]
    return {key: attribute.default for key, attribute in cls.attributes.items() if not attribute.required}


def _same(value: Any, default: Any) -> bool:
    if isinstance(value, (list, tuple)) and not isinstance(default, (list, tuple)):
        return all(item == default for item in _flatten(value))
    return bool(value == default) and type(value) is type(default)


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [item for part in value for item in _flatten(part)]
    return [value]


def written_attributes(layer: ImportedLayer) -> dict[str, Any]:
    """The attributes that differ from the op's defaults, in the op's declaration order."""
    defaults = _defaults(layer.op)
    order = list(OP_REGISTRY[layer.op].attributes)
    kept = {key: value for key, value in layer.attributes.items()
            if not (key in defaults and _same(value, defaults[key]))}
    return {key: kept[key] for key in sorted(kept, key=lambda k: order.index(k) if k in order else len(order))}


def _entry(op: str, fields: dict[str, str]) -> str:
    if not fields:
        return op
    return f"{op}: {{" + ", ".join(f"{key}: {text}" for key, text in fields.items()) + "}"


@dataclass
class _Instance:
    """Consecutive layers of one stage that share a scope prefix (``layer1.0``)."""

    prefix: str
    layers: list[ImportedLayer]

    def local(self, name: str) -> str:
        return name[len(self.prefix) + 1:]

    def shape_key(self, before: str) -> tuple[Any, ...] | None:
        """The structure without attribute values; None where the instance cannot be a block."""
        names = {layer.name for layer in self.layers}
        if any(not layer.name.startswith(self.prefix + ".") for layer in self.layers):
            return None
        rows = []
        previous = before
        for layer in self.layers:
            wiring = []
            for source in layer.inputs:
                if source in names:
                    wiring.append(self.local(source))
                elif source == before:
                    wiring.append(BLOCK_INPUT)
                else:
                    return None
            implicit = layer.inputs == [previous]
            written = written_attributes(layer)
            # list values (a reshape's shape) stay in the block: only numbers and words become arguments
            fixed = tuple((key, json.dumps(value)) for key, value in written.items() if isinstance(value, (list, tuple)))
            rows.append((self.local(layer.name), layer.op, tuple(key for key in written if not isinstance(written[key], (list, tuple))),
                         None if implicit else tuple(wiring), fixed))
            previous = layer.name
        return tuple(rows)


def _instances(layers: list[ImportedLayer], depth: int) -> list[_Instance | ImportedLayer]:
    """Split a stage's layers into runs that share their first ``depth`` scope parts."""
    items: list[_Instance | ImportedLayer] = []
    for layer in layers:
        if len(layer.scope) <= depth:
            items.append(layer)
            continue
        prefix = layer.scope[depth]
        last = items[-1] if items else None
        if isinstance(last, _Instance) and last.prefix == prefix:
            last.layers.append(layer)
        else:
            items.append(_Instance(prefix, [layer]))
    return items


@dataclass
class _Call:
    """One block instance in the written spec (a run of ``repeat`` equal calls once folded)."""

    key: tuple[Any, ...]
    prefix: str
    values: dict[tuple[int, str], Any]
    last: str  # the name of the last layer the call (or its last repetition) makes
    run: int = 1


@dataclass
class _Block:
    name: str
    key: tuple[Any, ...]
    instances: list[dict[tuple[int, str], Any]]

    def params(self) -> dict[str, list[tuple[int, str]]]:
        """Arguments: the (row, attribute) slots whose values differ between instances; slots
        that differ in step everywhere share one argument."""
        if len(self.instances) < 2:
            return {}
        varying: dict[tuple[str, ...], list[tuple[int, str]]] = {}
        for slot in sorted(self.instances[0]):
            column = tuple(json.dumps(instance[slot]) for instance in self.instances)
            if len(set(column)) > 1:
                varying.setdefault(column, []).append(slot)
        params: dict[str, list[tuple[int, str]]] = {}
        for slots in varying.values():
            base = slots[0][1]
            name, number = base, 2
            while name in params:
                name, number = f"{base}_{number}", number + 1
            params[name] = slots
        return params


Item = ImportedLayer | _Call


class _Writer:
    def __init__(self, model: ImportedModel) -> None:
        self.model = model
        self.blocks: dict[tuple[Any, ...], _Block] = {}

    # -- pass 1: structure ---------------------------------------------------------------
    def stage_items(self, layers: list[ImportedLayer], previous: str) -> tuple[list[Item], str]:
        grouped = _instances(layers, 1)
        instance_count = sum(isinstance(item, _Instance) for item in grouped)
        items: list[Item] = []
        for group in grouped:
            if isinstance(group, ImportedLayer):
                items.append(group)
                previous = group.name
                continue
            key = group.shape_key(previous) if instance_count > 1 and len(group.layers) > 1 else None
            if key is None:
                items.extend(group.layers)
            else:
                values = {(row, attribute): value for row, layer in enumerate(group.layers)
                          for attribute, value in written_attributes(layer).items()
                          if not isinstance(value, (list, tuple))}
                block = self.blocks.setdefault(key, _Block(f"block_{len(self.blocks) + 1}", key, []))
                block.instances.append(values)
                items.append(_Call(key, group.prefix, values, group.layers[-1].name))
            previous = group.layers[-1].name
        return _fold_repeats(items), previous

    # -- pass 2: text ----------------------------------------------------------------------
    def layer_line(self, layer: ImportedLayer, previous: str, indent: str) -> str:
        fields = {"name": scalar(layer.name)}
        if layer.inputs != [previous]:
            fields["inputs"] = scalar(layer.inputs[0]) if len(layer.inputs) == 1 else scalar(layer.inputs)
        fields.update((key, scalar(value)) for key, value in written_attributes(layer).items())
        return f"{indent}- {_entry(layer.op, fields)}"

    def call_line(self, call: _Call, indent: str) -> str:
        block = self.blocks[call.key]
        fields: dict[str, str] = {}
        match = _INDEXED.match(call.prefix)
        if call.run > 1 and match:
            offset = int(match.group(2)) - 1
            index = "i" if offset == 0 else (f"i + {offset}" if offset > 0 else f"i - {-offset}")
            fields["name"] = scalar(f"{match.group(1)}{{{index}}}")
        else:
            fields["name"] = scalar(call.prefix)
        for arg, slots in block.params().items():
            fields[arg] = scalar(call.values[slots[0]])
        if call.run > 1:
            fields["repeat"] = str(call.run)
        return f"{indent}- {_entry(block.name, fields)}"

    def item_lines(self, items: list[Item], previous: str, indent: str) -> tuple[list[str], str]:
        lines = []
        for item in items:
            if isinstance(item, ImportedLayer):
                lines.append(self.layer_line(item, previous, indent))
                previous = item.name
            else:
                lines.append(self.call_line(item, indent))
                previous = item.last
        return lines, previous

    def block_lines(self) -> list[str]:
        lines = []
        for block in self.blocks.values():
            params = block.params()
            by_slot = {slot: arg for arg, slots in params.items() for slot in slots}
            lines.append(f"  {block.name}:")
            if params:
                lines.append("    args: {" + ", ".join(f"{arg}: null" for arg in params) + "}")
            lines.append("    layers:")
            for row, (local, op, attributes, wiring, fixed) in enumerate(block.key):
                fields = {"name": scalar(local)}
                if wiring is not None:
                    fields["inputs"] = scalar(wiring[0]) if len(wiring) == 1 else scalar(list(wiring))
                for attribute in attributes:
                    fields[attribute] = by_slot.get((row, attribute)) or scalar(block.instances[0][(row, attribute)])
                fields.update((attribute, scalar(json.loads(text))) for attribute, text in fixed)
                lines.append(f"      - {_entry(op, fields)}")
        return lines

    def write(self) -> str:
        model = self.model
        sections: list[tuple[str | None, list[Item]]] = []
        previous = NETWORK_INPUT
        index = 0
        layers = model.layers
        while index < len(layers):
            layer = layers[index]
            if not layer.scope:
                sections.append((None, [layer]))
                previous = layer.name
                index += 1
                continue
            end = index
            while end < len(layers) and layers[end].scope[:1] == layer.scope[:1]:
                end += 1
            items, previous = self.stage_items(layers[index:end], previous)
            sections.append((layer.scope[0], items))
            index = end
        body: list[str] = []
        previous = NETWORK_INPUT
        for stage, items in sections:
            if stage is None:
                lines, previous = self.item_lines(items, previous, "  ")
            else:
                body.extend([f"  - stage: {scalar(stage)}", "    layers:"])
                lines, previous = self.item_lines(items, previous, "      ")
            body.extend(lines)
        header = [
            f"# Imported by `archviz import` from {model.framework}: {model.source}",
            *(f"# {note}" for note in model.notes),
            "archviz: 1",
            f"name: {scalar(model.name)}",
            f"description: {scalar(f'{model.name}, imported from {model.framework}')}",
            f"reference: {scalar(model.source)}",
        ]
        if model.input_shape is not None:
            header.append(f"input: {scalar(list(model.input_shape))}")
        if self.blocks:
            header.append("blocks:")
            header.extend(self.block_lines())
        header.append("layers:")
        footer = []
        last = layers[-1].name if layers else NETWORK_INPUT
        if model.outputs and model.outputs != [last]:
            footer.append(f"outputs: {scalar(model.outputs)}")
        return "\n".join([*header, *body, *footer]) + "\n"


def _fold_repeats(items: list[Item]) -> list[Item]:
    """Consecutive calls of one block with equal arguments and indexed names (x.0, x.1): one repeat."""
    folded: list[Item] = []
    for item in items:
        last = folded[-1] if folded else None
        if isinstance(item, _Call) and isinstance(last, _Call) and last.key == item.key and last.values == item.values:
            match, here = _INDEXED.match(last.prefix), _INDEXED.match(item.prefix)
            if match and here and here.group(1) == match.group(1) and int(here.group(2)) == int(match.group(2)) + last.run:
                last.run += 1
                last.last = item.last
                continue
        folded.append(item)
    return folded


def write_spec(model: ImportedModel) -> str:
    """Readable YAML for ``model``; ``archviz.loads`` of it gives the model's network."""
    return _Writer(model).write()
