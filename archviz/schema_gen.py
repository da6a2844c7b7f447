"""The JSON Schema of the spec language, generated from the op registry.

The shipped file (archviz/schema/archviz-spec.schema.json) is this function's output; a test
keeps the two equal. Editors (e.g. VS Code's YAML extension) use it to validate and complete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from archviz.ops import ALIASES, OP_REGISTRY, Attribute
from archviz.spec.document import (
    ENTRY_WORDS,
    EXPECT_KEYS,
    EXPECT_LAYER_KEYS,
    LANGUAGE_VERSION,
    RESERVED_BLOCK_NAMES,
    RESERVED_VALUE_NAMES,
)
from archviz.spec.expand import ENTRY_KEYS

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "archviz-spec.schema.json"
EXPRESSION = {"$ref": "#/$defs/expression"}


def _attribute_schema(attribute: Attribute) -> dict[str, Any]:
    integer: dict[str, Any] = {"type": "integer"}
    if attribute.minimum is not None:
        integer["minimum"] = int(attribute.minimum)
    if attribute.kind == "int":
        options: list[dict[str, Any]] = [integer, EXPRESSION]
    elif attribute.kind == "float":
        number: dict[str, Any] = {"type": "number"}
        if attribute.minimum is not None:
            number["minimum"] = attribute.minimum
        if attribute.maximum is not None:
            number["maximum"] = attribute.maximum
        if attribute.above is not None:
            number["exclusiveMinimum"] = attribute.above
        if attribute.below is not None:
            number["exclusiveMaximum"] = attribute.below
        options = [number, EXPRESSION]
    elif attribute.kind == "bool":
        options = [{"type": "boolean"}, EXPRESSION]
    elif attribute.kind == "pair":
        options = [integer, {"type": "array", "items": {"anyOf": [integer, EXPRESSION]}, "minItems": 2,
                             "maxItems": 2}, EXPRESSION]
    elif attribute.kind == "ints":
        options = [{"type": "array", "items": {"anyOf": [integer, EXPRESSION]}, "minItems": 1}, integer, EXPRESSION]
    elif attribute.kind in ("axis", "index"):
        options = [{"type": "integer"}, EXPRESSION]
    elif attribute.kind == "padding":
        side = {"anyOf": [{"type": "integer", "minimum": 0}, EXPRESSION]}
        options = [
            {"enum": ["same", "valid"]},
            {"type": "integer", "minimum": 0},
            {"type": "array", "items": side, "minItems": 2, "maxItems": 2},
            {"type": "array", "items": {"type": "array", "items": side, "minItems": 2, "maxItems": 2},
             "minItems": 2, "maxItems": 2},
            EXPRESSION,
        ]
    elif attribute.kind == "choice":
        options = [{"enum": list(attribute.choices)}]
    else:
        options = [{"type": "string"}]
    schema: dict[str, Any] = {"description": attribute.doc}
    if len(options) == 1:
        schema.update(options[0])
    else:
        schema["anyOf"] = options
    if not attribute.required and attribute.default is not None:
        default = attribute.default
        schema["default"] = list(default) if isinstance(default, tuple) else default
    return schema


def _common_entry_properties() -> dict[str, Any]:
    return {
        "name": {"type": "string", "description": "Layer name; may use {expressions}, e.g. 'conv{stage_index}_{n}'."},
        "inputs": {"description": "Input layer name(s); default: the previous layer. 'in' is a block's input, "
                   "'input' the network's.",
                   "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
        "if": {"description": "Include the entry only when true.", "anyOf": [{"type": "boolean"}, EXPRESSION]},
        "repeat": {"description": "Repeat the entry; '{i}' is the repetition number.",
                   "anyOf": [{"type": "integer", "minimum": 0}, EXPRESSION]},
    }


def build_schema() -> dict[str, Any]:
    assert set(ENTRY_KEYS) == {"name", "inputs", "if", "repeat"}
    op_entries = []
    for name in sorted(OP_REGISTRY):
        cls = OP_REGISTRY[name]
        properties = {key: _attribute_schema(attr) for key, attr in cls.attributes.items()}
        properties.update(_common_entry_properties())
        required = [key for key, attr in cls.attributes.items() if attr.required]
        body: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            body["required"] = required
        keys = [name] + [alias for alias, target in ALIASES.items() if target == name]
        for key in keys:
            entry_body = body if required else {"anyOf": [body, {"type": "null"}]}
            op_entries.append({
                "type": "object", "description": cls.summary,
                "properties": {key: entry_body}, "required": [key], "additionalProperties": False,
            })
    op_names = sorted([*OP_REGISTRY, *ALIASES])
    entry = {
        "anyOf": [
            {"type": "string", "description": "An op with default attributes or a block without arguments."},
            {"$ref": "#/$defs/group"},
            *op_entries,
            {"type": "object", "description": "A block call: '- block_name: {arg: value, repeat: n}'.",
             "minProperties": 1, "maxProperties": 1,
             "propertyNames": {"not": {"enum": [*op_names, "stage", "layers"]}},
             "additionalProperties": {"anyOf": [{"type": "object"}, {"type": "null"}, {"type": ["number", "string"]}]}},
        ]
    }
    scalar = {"type": ["integer", "number", "boolean", "string"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://archviz.invalid/schema/archviz-spec.schema.json",
        "title": "archviz network spec",
        "description": "A framework-neutral description of a convolutional network (docs/spec.md).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "archviz": {"const": LANGUAGE_VERSION, "description": "Spec language version."},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "reference": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "extends": {"type": "string", "description": "A spec file in this folder (or below) to build on."},
            "abstract": {"type": "boolean", "description": "A shared base, not a network."},
            "input": {"type": "array", "items": {"anyOf": [{"type": "integer", "minimum": 1}, EXPRESSION]},
                      "minItems": 1, "maxItems": 4,
                      "description": "Default input [channels, height, width], [tokens, features] or [features]."},
            "variables": {"type": "object", "additionalProperties": {"anyOf": [scalar, {
                              "type": "object", "required": ["default"], "additionalProperties": False,
                              "properties": {"default": scalar,
                                             "description": {"type": "string", "description": "One line: what the "
                                                             "variable changes (archviz show SPEC prints it)."}}}]},
                          "propertyNames": {"not": {"enum": list(RESERVED_VALUE_NAMES)}},
                          "description": "Defaults, overridable from the API and CLI (--set NAME=VALUE)."},
            "blocks": {"type": "object", "additionalProperties": {"$ref": "#/$defs/block"},
                       "propertyNames": {"not": {"enum": [*RESERVED_BLOCK_NAMES, *op_names]}}},
            "layers": {"$ref": "#/$defs/layers"},
            "outputs": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
                        "uniqueItems": True,
                        "description": "The layers the network returns, for several outputs (default: the last layer)."},
            "expect": {"$ref": "#/$defs/expect"},
        },
        "$defs": {
            "expression": {"type": "string", "description": "Arithmetic on variables, e.g. '64 * width'."},
            "layers": {"type": "array", "items": {"$ref": "#/$defs/entry"}},
            "entry": entry,
            "group": {
                "type": "object", "required": ["layers"], "additionalProperties": False,
                "properties": {
                    "stage": {"type": "string", "description": "Stage name (subtotals, diagram clusters)."},
                    "layers": {"$ref": "#/$defs/layers"},
                    "if": _common_entry_properties()["if"],
                    "repeat": _common_entry_properties()["repeat"],
                },
            },
            "block": {
                "type": "object", "required": ["layers"], "additionalProperties": False,
                "properties": {
                    "description": {"type": "string"},
                    "args": {"type": "object", "additionalProperties": {"anyOf": [scalar, {"type": "null"}]},
                             "propertyNames": {"not": {"enum": [*RESERVED_VALUE_NAMES, *ENTRY_WORDS]}},
                             "description": "Argument defaults; null marks a required argument."},
                    "layers": {"$ref": "#/$defs/layers"},
                },
            },
            "expect": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    **{key: {"type": "integer"} for key in EXPECT_KEYS
                       if key not in ("input", "output_shape", "layers", "gmacs")},
                    "gmacs": {"type": "number"},
                    "input": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                    "output_shape": {"type": "array", "items": {"type": "integer"}},
                    "layers": {"type": "object", "additionalProperties": {
                        "type": "object", "additionalProperties": False,
                        "properties": {key: {"anyOf": [{"type": "integer"}, {"type": "array",
                                                                               "items": {"type": "integer"}}]}
                                       for key in EXPECT_LAYER_KEYS},
                    }},
                },
            },
        },
    }


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
