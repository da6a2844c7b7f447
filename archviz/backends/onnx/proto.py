"""Just enough of ONNX's protobuf to read a model's graph, without importing ``onnx``.

``import onnx`` costs most of a second (its ml_dtypes extension); reading the few fields
archviz needs from the wire format costs milliseconds. Field numbers are those of onnx.proto
(ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto); weight bytes
are skipped, never copied, so a model's size does not matter. Both encodings of repeated
numbers (packed and one tag per element) are accepted, as protobuf requires.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from archviz.errors import SpecError

MAX_DEPTH = 64  # graphs nested in attributes (If/Loop bodies)
MAX_INLINE_BYTES = 1 << 16  # raw tensor bytes copied: shapes and constants, never weights


class ProtoError(SpecError):
    """The bytes are not a well-formed ONNX model."""


@dataclass
class Tensor:
    name: str = ""
    dims: list[int] = field(default_factory=list)
    data_type: int = 0
    raw: bytes | None = None  # kept only for small tensors (constants); weights are skipped
    float_data: list[float] = field(default_factory=list)
    int_data: list[int] = field(default_factory=list)  # int32_data and int64_data
    external: dict[str, str] = field(default_factory=dict)

    def size(self) -> int:
        total = 1
        for dim in self.dims:
            total *= dim
        return total


@dataclass
class Attribute:
    name: str = ""
    type: int = 0
    f: float = 0.0
    i: int = 0
    s: bytes = b""
    t: Tensor | None = None
    g: Graph | None = None
    floats: list[float] = field(default_factory=list)
    ints: list[int] = field(default_factory=list)
    strings: list[bytes] = field(default_factory=list)

    def value(self) -> Any:
        # AttributeProto.AttributeType: FLOAT=1 INT=2 STRING=3 TENSOR=4 GRAPH=5 FLOATS=6 INTS=7 STRINGS=8
        return {1: self.f, 2: self.i, 3: self.s, 4: self.t, 5: self.g, 6: self.floats, 7: self.ints,
                8: self.strings}.get(self.type)


@dataclass
class Node:
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    name: str = ""
    op_type: str = ""
    domain: str = ""
    attributes: dict[str, Attribute] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)  # the dynamo exporter's module scopes


@dataclass
class ValueInfo:
    name: str = ""
    elem_type: int = 0
    shape: list[int | str | None] | None = None  # None: no shape; a str: a symbolic dimension


@dataclass
class Graph:
    name: str = ""
    nodes: list[Node] = field(default_factory=list)
    initializers: list[Tensor] = field(default_factory=list)
    inputs: list[ValueInfo] = field(default_factory=list)
    outputs: list[ValueInfo] = field(default_factory=list)
    value_info: list[ValueInfo] = field(default_factory=list)


@dataclass
class Model:
    ir_version: int = 0
    producer: str = ""
    producer_version: str = ""
    opsets: dict[str, int] = field(default_factory=dict)
    graph: Graph = field(default_factory=Graph)


class _Reader:
    """Iterates (field number, wire type, value) over one message's bytes."""

    def __init__(self, data: memoryview) -> None:
        self.data = data

    def fields(self, start: int, end: int) -> Any:
        data = self.data
        position = start
        while position < end:
            key, position = self.varint(position)
            number, wire = key >> 3, key & 7
            value: Any
            if wire == 0:
                value, position = self.varint(position)
            elif wire == 1:
                value = data[position:position + 8]
                position += 8
            elif wire == 2:
                length, position = self.varint(position)
                value = (position, position + length)
                position += length
            elif wire == 5:
                value = data[position:position + 4]
                position += 4
            else:
                raise ProtoError(f"unsupported protobuf wire type {wire} at byte {position}")
            if position > end:
                raise ProtoError("the file ends inside a message (truncated?)")
            yield number, wire, value

    def varint(self, position: int) -> tuple[int, int]:
        data = self.data
        result = shift = 0
        while True:
            if position >= len(data) or shift > 63:
                raise ProtoError("a malformed number in the file (truncated or not ONNX?)")
            byte = data[position]
            position += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result, position
            shift += 7

    def text(self, span: tuple[int, int]) -> str:
        return bytes(self.data[span[0]:span[1]]).decode("utf-8", errors="replace")

    def ints(self, wire: int, value: Any, signed: bool = True) -> list[int]:
        if wire == 0:
            return [_signed(value) if signed else value]
        numbers = []
        position, end = value
        while position < end:
            number, position = self.varint(position)
            numbers.append(_signed(number) if signed else number)
        return numbers

    def floats(self, wire: int, value: Any) -> list[float]:
        if wire == 5:
            return [struct.unpack("<f", value)[0]]
        start, end = value
        return list(struct.unpack(f"<{(end - start) // 4}f", self.data[start:end]))

    # -- messages ------------------------------------------------------------------------
    def model(self) -> Model:
        model = Model()
        for number, wire, value in self.fields(0, len(self.data)):
            if number == 1 and wire == 0:
                model.ir_version = value
            elif number == 2 and wire == 2:
                model.producer = self.text(value)
            elif number == 3 and wire == 2:
                model.producer_version = self.text(value)
            elif number == 7 and wire == 2:
                model.graph = self.graph(value, 0)
            elif number == 8 and wire == 2:
                domain, version = "", 0
                for inner, inner_wire, inner_value in self.fields(*value):
                    if inner == 1 and inner_wire == 2:
                        domain = self.text(inner_value)
                    elif inner == 2 and inner_wire == 0:
                        version = inner_value
                model.opsets[domain] = version
        return model

    def graph(self, span: tuple[int, int], depth: int) -> Graph:
        if depth > MAX_DEPTH:
            raise ProtoError("graphs nested too deeply in attributes")
        graph = Graph()
        for number, wire, value in self.fields(*span):
            if wire != 2:
                continue
            if number == 1:
                graph.nodes.append(self.node(value, depth))
            elif number == 2:
                graph.name = self.text(value)
            elif number == 5:
                graph.initializers.append(self.tensor(value))
            elif number == 11:
                graph.inputs.append(self.value_info(value))
            elif number == 12:
                graph.outputs.append(self.value_info(value))
            elif number == 13:
                graph.value_info.append(self.value_info(value))
        return graph

    def node(self, span: tuple[int, int], depth: int) -> Node:
        node = Node()
        for number, wire, value in self.fields(*span):
            if wire != 2:
                continue
            if number == 1:
                node.inputs.append(self.text(value))
            elif number == 2:
                node.outputs.append(self.text(value))
            elif number == 3:
                node.name = self.text(value)
            elif number == 4:
                node.op_type = self.text(value)
            elif number == 7:
                node.domain = self.text(value)
            elif number == 5:
                attribute = self.attribute(value, depth)
                node.attributes[attribute.name] = attribute
            elif number == 9:
                key, text = self.entry(value)
                node.metadata[key] = text
        return node

    def entry(self, span: tuple[int, int]) -> tuple[str, str]:
        """A StringStringEntryProto: (key, value)."""
        key = text = ""
        for number, wire, value in self.fields(*span):
            if number == 1 and wire == 2:
                key = self.text(value)
            elif number == 2 and wire == 2:
                text = self.text(value)
        return key, text

    def attribute(self, span: tuple[int, int], depth: int) -> Attribute:
        attribute = Attribute()
        for number, wire, value in self.fields(*span):
            if number == 1 and wire == 2:
                attribute.name = self.text(value)
            elif number == 20 and wire == 0:
                attribute.type = value
            elif number == 2 and wire == 5:
                attribute.f = struct.unpack("<f", value)[0]
            elif number == 3 and wire == 0:
                attribute.i = _signed(value)
            elif number == 4 and wire == 2:
                attribute.s = bytes(self.data[value[0]:value[1]])
            elif number == 5 and wire == 2:
                attribute.t = self.tensor(value)
            elif number == 6 and wire == 2:
                attribute.g = self.graph(value, depth + 1)
            elif number == 7:
                attribute.floats.extend(self.floats(wire, value))
            elif number == 8:
                attribute.ints.extend(self.ints(wire, value))
            elif number == 9 and wire == 2:
                attribute.strings.append(bytes(self.data[value[0]:value[1]]))
        return attribute

    def tensor(self, span: tuple[int, int]) -> Tensor:
        tensor = Tensor()
        for number, wire, value in self.fields(*span):
            if number == 1:
                tensor.dims.extend(self.ints(wire, value))
            elif number == 2 and wire == 0:
                tensor.data_type = value
            elif number == 8 and wire == 2:
                tensor.name = self.text(value)
            elif number == 9 and wire == 2 and value[1] - value[0] <= MAX_INLINE_BYTES:
                tensor.raw = bytes(self.data[value[0]:value[1]])
            elif number == 4:
                tensor.float_data.extend(self.floats(wire, value))
            elif number in (5, 7):
                tensor.int_data.extend(self.ints(wire, value))
            elif number == 13 and wire == 2:
                key, text = self.entry(value)
                tensor.external[key] = text
        return tensor

    def value_info(self, span: tuple[int, int]) -> ValueInfo:
        info = ValueInfo()
        for number, wire, value in self.fields(*span):
            if number == 1 and wire == 2:
                info.name = self.text(value)
            elif number == 2 and wire == 2:
                for kind, kind_wire, kind_value in self.fields(*value):
                    if kind == 1 and kind_wire == 2:  # tensor_type
                        self._tensor_type(kind_value, info)
        return info

    def _tensor_type(self, span: tuple[int, int], info: ValueInfo) -> None:
        for number, wire, value in self.fields(*span):
            if number == 1 and wire == 0:
                info.elem_type = value
            elif number == 2 and wire == 2:
                info.shape = []
                for dim_number, dim_wire, dim_value in self.fields(*value):
                    if dim_number != 1 or dim_wire != 2:
                        continue
                    size: int | str | None = None
                    for part, part_wire, part_value in self.fields(*dim_value):
                        if part == 1 and part_wire == 0:
                            size = _signed(part_value)
                        elif part == 2 and part_wire == 2:
                            size = self.text(part_value)
                    info.shape.append(size)


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def read_model(data: bytes | memoryview) -> Model:
    """The parts of an ONNX ModelProto archviz reads; raises ProtoError on malformed bytes."""
    try:
        return _Reader(memoryview(data)).model()
    except (IndexError, struct.error, ValueError) as exc:
        raise ProtoError(f"the file is not a well-formed ONNX model ({exc})") from None


# TensorProto.DataType -> struct format, for the small constant tensors archviz reads
_FORMATS = {1: "f", 2: "B", 3: "b", 5: "h", 6: "i", 7: "q", 9: "?", 10: "e", 11: "d", 12: "I", 13: "Q"}


def tensor_values(tensor: Tensor, limit: int = 4096) -> list[Any] | None:
    """The values of a small tensor (a shape, pads, a clip bound); None where not stored inline."""
    if tensor.size() > limit:
        return None
    if tensor.raw is not None:
        code = _FORMATS.get(tensor.data_type)
        if code is None:
            return None
        count = tensor.size()
        width = struct.calcsize(code)
        if len(tensor.raw) != count * width:
            return None
        return list(struct.unpack(f"<{count}{code}", tensor.raw))
    if tensor.float_data:
        return list(tensor.float_data)
    if tensor.int_data:
        return list(tensor.int_data)
    return [] if tensor.size() == 0 else None
