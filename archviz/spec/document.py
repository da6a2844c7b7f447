"""Reading a spec file: keys, ``extends``, variables, blocks, expectations.

The result is a :class:`Document`, the merged raw description. Expanding it into layers
(which depends on variable values) is :mod:`archviz.spec.expand`'s job, so a document can be
expanded many times without reading YAML again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archviz.errors import ArchvizError, Frame, Location, SpecError
from archviz.spec import preparsed
from archviz.spec.values import check_flow_split
from archviz.spec.yamlio import LocatedDict, has_surrogate, key_location, location_of, parse_yaml, read_text
from archviz.suggest import did_you_mean

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "specs"
TOP_LEVEL_KEYS = (
    "archviz", "name", "description", "reference", "extends", "abstract", "input", "variables",
    "blocks", "layers", "outputs", "expect",
)
NOT_INHERITED = ("name", "description", "expect", "abstract")
EXPECT_KEYS = ("input", "params", "params_millions", "trainable_params", "buffers", "macs", "gmacs", "flops",
               "output_shape", "layers")
EXPECT_LAYER_KEYS = ("output_shape", "params", "buffers", "macs", "flops", "receptive_field",
                     "effective_stride", "effective_padding")
MAX_EXTENDS_DEPTH = 8
# Names the language gives a meaning of its own (docs/spec.md, "Reserved words"): a definition
# that takes one is refused where it is written, not where it would later misbehave.
_BOOLEANS = ("true", "false", "True", "False")  # the evaluator reads these as true/false
RESERVED_VALUE_NAMES = {
    **dict.fromkeys(_BOOLEANS, "it means true or false in expressions"),
    "i": "it is the repetition number of the innermost 'repeat'",
    "stage": "it is the current stage's name", "stage_index": "it is the current stage's position",
}
# the keys of a layer entry: a block argument of these names would be read as the entry's own key
ENTRY_WORDS = ("name", "inputs", "if", "repeat")
RESERVED_BLOCK_NAMES = {
    "stage": "an entry with 'stage' is a stage", "layers": "an entry with 'layers' is a group",
    **dict.fromkeys(ENTRY_WORDS, "it is a key of layer entries"),
    "in": "it names a block's input in 'inputs'", "input": "it names the network's input in 'inputs'",
}
LANGUAGE_VERSION = 1


@dataclass(frozen=True)
class Block:
    """A reusable, parametrised list of layer entries."""

    name: str
    args: dict[str, Any]  # default per argument; REQUIRED_ARG where it must be given
    layers: list[Any]
    location: Location
    arg_locations: dict[str, Location] = field(default_factory=dict)  # where each default is written


REQUIRED_ARG = object()


@dataclass
class Document:
    """A spec file after ``extends`` is merged, before expansion."""

    path: str  # what the user gave (file path or built-in name)
    file: str  # display name for messages
    name: str
    description: str
    reference: str
    abstract: bool
    input: Any
    variables: dict[str, Any]
    variable_locations: dict[str, Location]
    blocks: dict[str, Block]
    layers: list[Any]
    expect: LocatedDict | None
    location: Location
    key_locations: dict[str, Location] = field(default_factory=dict)
    # the layers written in 'outputs:' (a list, as read), or None: the last layer is the output
    outputs: Any = None
    # each file this one extends, nearest first, with the 'extends:' line that asked for it
    parents: tuple[tuple[str, Location], ...] = ()
    # the one-line description of each variable that has one ('{default: ..., description: ...}');
    # a spec that only changes a variable's default keeps its parent's description
    variable_descriptions: dict[str, str] = field(default_factory=dict)


def builtin_names() -> list[str]:
    """Names of the built-in specs that describe networks (abstract bases left out)."""
    import yaml

    names = []
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(raw, dict) and not raw.get("abstract"):
            names.append(path.stem)
    return names


def _exists(path: Path, file: bool = False) -> bool:
    """Path.exists() or is_file(), False where the system cannot look the name up (too long)."""
    try:
        return path.is_file() if file else path.exists()
    except OSError:
        return False


def resolve_path(spec: str | Path) -> tuple[Path, str]:
    """A file path, or a built-in name such as ``vgg16``; returns (path, display name)."""
    path = Path(spec)
    text = str(spec)
    shown = displayable(text)
    if _exists(path) or path.suffix in (".yaml", ".yml") or "/" in text or "\\" in text:
        return path, shown
    builtin = BUILTIN_DIR / f"{text}.yaml"
    if _exists(builtin, file=True):
        return builtin, shown
    hint = did_you_mean(text, builtin_names()) or "give a path to a .yaml file or see 'archviz list'"
    raise SpecError("no such file or built-in spec", location=Location(shown), hint=hint)


def displayable(text: str) -> str:
    """A file name as outputs show it: a byte of the name that is not UTF-8 (a lone surrogate in
    Python's str, which no output could encode) written as a \\xNN escape. Files are still
    opened by their real name."""
    if not has_surrogate(text):
        return text
    return "".join(f"\\x{ord(char) - 0xDC00:02x}" if "\udc80" <= char <= "\udcff"
                   else f"\\u{ord(char):04x}" if "\ud800" <= char <= "\udfff" else char for char in text)


def read_document(spec: str | Path) -> Document:
    from archviz.backends.formats import is_model_file

    if is_model_file(spec):
        from archviz.backends.formats import model_document

        return model_document(spec)
    path, display = resolve_path(spec)
    return _read(path, display, depth=0, seen=())


def read_document_text(text: str, display: str = "<string>", folder: Path | None = None) -> Document:
    """A spec given as text; ``extends`` is resolved in ``folder`` (default: the working folder)."""
    path = (folder or Path.cwd()) / "<string>.yaml"
    return _read(path, display, depth=0, seen=(), text=text)


def _read(path: Path, display: str, depth: int, seen: tuple[Path, ...], text: str | None = None) -> Document:
    if text is None:
        text = read_text(path, display)
        raw = preparsed.load(path, text, display) or parse_yaml(text, display)
    else:
        raw = parse_yaml(text, display)
    here = raw.location
    if raw and not any(key in TOP_LEVEL_KEYS for key in raw):
        # Not a spec at all (/etc/shadow parses as a mapping of one-line keys): its content is
        # never echoed, so a mistyped path cannot print a password hash or a token.
        raise SpecError("this is not an archviz spec: none of its top-level keys is one archviz knows",
                        location=Location(display),
                        hint="give a spec file (it starts with 'name: ...' and 'layers:'; see docs/spec.md)")
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise SpecError(f"unknown top-level key {key!r}", location=key_location(raw, key, here),
                            hint=did_you_mean(key, TOP_LEVEL_KEYS) or f"allowed: {', '.join(TOP_LEVEL_KEYS)}")
    version = raw.get("archviz", LANGUAGE_VERSION)
    if version != LANGUAGE_VERSION:
        raise SpecError(f"unsupported spec language version. Received: archviz={version!r}",
                        location=key_location(raw, "archviz", here), hint=f"write 'archviz: {LANGUAGE_VERSION}'")

    parent: Document | None = None
    if "extends" in raw:
        parent = _read_parent(raw, path, display, depth, seen)

    def text_value(key: str, inherit: bool = False) -> str:
        value = raw.get(key)
        if value is None:
            return getattr(parent, key) if inherit and parent is not None else ""
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "\n".join(value)
        if not isinstance(value, (str, int, float)):
            raise SpecError(f"{key} must be text. Received: {type(value).__name__}",
                            location=key_location(raw, key, here))
        value = str(value)
        # Every renderer shows these as they are; a control character (an escape sequence, NUL)
        # would reach the terminal or break the exported source. The name is one line.
        if not (value if key == "name" else value.replace("\n", "").replace("\t", "")).isprintable():
            raise SpecError(f"{key} must be printable text{'' if key == 'name' else ' (line breaks allowed)'}, "
                            f"without control characters. Received: {key}={value!r}",
                            location=key_location(raw, key, here), hint="remove the control characters")
        return value

    variables: dict[str, Any] = dict(parent.variables) if parent else {}
    variable_locations = dict(parent.variable_locations) if parent else {}
    variable_descriptions = dict(parent.variable_descriptions) if parent else {}
    if "variables" in raw:
        declared = _mapping(raw, "variables", here)
        for name, value in declared.items():
            where = key_location(declared, name, here)
            if not name.isidentifier():
                check_flow_split(declared, here)
            _check_identifier(name, "variable", where, RESERVED_VALUE_NAMES)
            if isinstance(value, dict):
                value, description = _described_variable(name, value, where)
                if description:
                    variable_descriptions[name] = description
            if not isinstance(value, (int, float, bool, str)):
                raise SpecError(f"variable {name!r} must be a number, true/false or text, or "
                                f"{{default: VALUE, description: TEXT}}. Received: {value!r}",
                                location=where, hint="e.g. width: {default: 1, description: \"multiplies every "
                                "convolution's filters\"}")
            variables[name] = value
            variable_locations[name] = where

    blocks: dict[str, Block] = dict(parent.blocks) if parent else {}
    if "blocks" in raw:
        for name, body in _mapping(raw, "blocks", here).items():
            blocks[name] = _block(name, body, key_location(raw["blocks"], name, here))

    layers = raw.get("layers", parent.layers if parent else None)
    abstract = bool(raw.get("abstract", False))
    if layers is None and not abstract:
        raise SpecError("the spec has no 'layers'", location=here,
                        hint="add a 'layers:' list, or 'extends:' a spec that has one")
    if layers is not None and not isinstance(layers, list):
        raise SpecError(f"'layers' must be a list. Received: {type(layers).__name__}",
                        location=key_location(raw, "layers", here))
    name = text_value("name")
    if not name and not abstract:
        raise SpecError("the spec has no 'name'", location=here, hint="add 'name: my-network'")

    outputs = _outputs(raw, here) if "outputs" in raw else \
        (parent.outputs if parent is not None and "layers" not in raw else None)

    expect = raw.get("expect")
    if expect is not None:
        _check_expect(expect, key_location(raw, "expect", here))

    return Document(
        path=str(path), file=display, name=name, description=text_value("description"),
        reference=text_value("reference", inherit=True), abstract=abstract,
        input=raw.get("input", parent.input if parent else None),
        variables=variables, variable_locations=variable_locations, blocks=blocks,
        layers=layers or [], expect=expect, location=here, key_locations=dict(raw.key_locations),
        outputs=outputs, variable_descriptions=variable_descriptions,
        parents=((parent.file, key_location(raw, "extends", here)), *parent.parents) if parent is not None else (),
    )


def _read_parent(raw: LocatedDict, path: Path, display: str, depth: int, seen: tuple[Path, ...]) -> Document:
    """The document ``extends:`` names: a file in the spec's folder (or below), else a built-in
    (``extends: vgg16`` or ``extends: base/vgg.yaml`` from any folder)."""
    here = key_location(raw, "extends", raw.location)
    target = raw["extends"]
    if not isinstance(target, str) or not target or "\0" in target:
        raise SpecError(f"extends must be a file name. Received: {target!r}", location=here)
    if depth >= MAX_EXTENDS_DEPTH:
        raise SpecError(f"extends is nested deeper than {MAX_EXTENDS_DEPTH} files", location=here)
    try:
        folder = path.resolve().parent
        candidate = (folder / target).resolve()
    except (RuntimeError, OSError, UnicodeEncodeError) as exc:  # RuntimeError: a symlink loop
        raise SpecError(f"extends names {target!r}, which cannot be followed: "
                        f"{'a symlink loop' if isinstance(exc, RuntimeError) else exc}", location=here,
                        hint="name a regular file in this spec's folder") from None
    if Path(target).is_absolute() or not candidate.is_relative_to(folder):
        raise SpecError(f"extends may only name a file in the spec's own folder or below. Received: {target!r}",
                        location=here, hint="copy the base spec next to this one")
    if candidate in seen or candidate == path.resolve():
        raise SpecError(f"extends forms a cycle through {target!r}", location=here)
    parent_display = str(Path(display).parent / target) if "/" in display or display.endswith((".yaml", ".yml")) \
        else target
    if not _exists(candidate):
        builtin = _builtin_parent(target)
        if builtin is None:
            beside = sorted(p.name for p in folder.glob("*.y*ml")) if _exists(folder) else []
            looked = f" ({parent_display})" if parent_display != target else ""
            raise SpecError(f"extends names {target!r}, which is neither a file beside this spec{looked} "
                            "nor a built-in spec", location=here,
                            hint=did_you_mean(target, [*beside, *builtin_names()])
                            or "name a .yaml file in this spec's folder, or a built-in (see 'archviz list')")
        candidate, parent_display = builtin, target
        if candidate in seen:
            raise SpecError(f"extends forms a cycle through {target!r}", location=here)
    try:
        return _read(candidate, parent_display, depth + 1, (*seen, path.resolve()))
    except ArchvizError as exc:
        raise exc.add_frame(Frame(f"{display} extends {parent_display}", here)) from None


def _builtin_parent(target: str) -> Path | None:
    """The built-in spec ``extends: target`` means where no file of that name is beside the spec."""
    names = (target,) if target.endswith((".yaml", ".yml")) else (f"{target}.yaml",)
    for name in names:
        candidate = (BUILTIN_DIR / name).resolve()
        if candidate.is_relative_to(BUILTIN_DIR) and _exists(candidate, file=True):
            return candidate
    return None


def _outputs(raw: LocatedDict, here: Location) -> Any:
    """'outputs: [name, ...]': the layers a network with several outputs returns."""
    value = raw["outputs"]
    where = key_location(raw, "outputs", here)
    if not isinstance(value, list) or not value or not all(isinstance(name, str) and name for name in value):
        raise SpecError(f"outputs must be a list of layer names. Received: outputs={value!r}", location=where,
                        hint="write e.g. 'outputs: [head1, head2]'")
    locations = getattr(value, "item_locations", None)
    for index, name in enumerate(value):
        if name in value[:index]:
            raise SpecError(f"output {name!r} is listed twice", location=locations[index] if locations else where,
                            hint="list each output once")
    return value


VARIABLE_KEYS = ("default", "description")


def _described_variable(name: str, declared: dict[str, Any], where: Location) -> tuple[Any, str]:
    """``{default: VALUE, description: TEXT}``: the value and its one-line description."""
    unknown = [key for key in declared if key not in VARIABLE_KEYS]
    if unknown or "default" not in declared:
        raise SpecError(f"variable {name!r} written as a mapping takes 'default' (required) and 'description'. "
                        f"Received: {', '.join(map(str, declared)) or 'an empty mapping'}", location=where,
                        hint=f"e.g. {name}: {{default: 1, description: \"what it changes\"}}, or just {name}: 1")
    description = declared.get("description", "")
    if not isinstance(description, str) or "\n" in description.strip() or not description.isprintable():
        raise SpecError(f"variable {name!r}'s description must be one line of text. Received: {description!r}",
                        location=where, hint="write one short sentence in quotes")
    return declared["default"], description.strip()


def _mapping(raw: LocatedDict, key: str, here: Location) -> LocatedDict:
    value = raw[key]
    if not isinstance(value, dict):
        raise SpecError(f"{key!r} must be a mapping. Received: {type(value).__name__}",
                        location=key_location(raw, key, here))
    return value  # type: ignore[return-value]


def _check_identifier(name: str, what: str, where: Location, reserved: dict[str, str] | None = None) -> None:
    if not name.isidentifier():
        raise SpecError(f"{what} name {name!r} is not a valid identifier", location=where,
                        hint="use letters, digits and underscores, starting with a letter")
    if reserved and name in reserved:
        raise SpecError(f"{what} name {name!r} is reserved: {reserved[name]}", location=where,
                        hint=f"rename the {what} (reserved words: docs/spec.md)")


def _block(name: str, body: Any, where: Location) -> Block:
    _check_identifier(name, "block", where, RESERVED_BLOCK_NAMES)
    from archviz.ops import ALIASES, OP_REGISTRY

    if name in OP_REGISTRY or name in ALIASES:
        raise SpecError(f"block {name!r} has the name of an op", location=where, hint="rename the block")
    if not isinstance(body, dict) or "layers" not in body:
        raise SpecError(f"block {name!r} must be a mapping with 'layers' (and optional 'args')", location=where)
    for key in body:
        if key not in ("args", "layers", "description"):
            raise SpecError(f"unknown key {key!r} in block {name!r}", location=key_location(body, key, where),
                            hint=did_you_mean(key, ("args", "layers", "description")))
    args_raw = body.get("args") or {}
    if not isinstance(args_raw, dict):
        raise SpecError(f"args of block {name!r} must be a mapping of name: default (null = required)",
                        location=location_of(args_raw, where))
    args: dict[str, Any] = {}
    arg_locations: dict[str, Location] = {}
    for arg, default in args_raw.items():
        arg_locations[arg] = key_location(args_raw, arg, where)
        if not arg.isidentifier():
            check_flow_split(args_raw, where)
        _check_identifier(arg, "argument", arg_locations[arg],
                          {**RESERVED_VALUE_NAMES, **dict.fromkeys(ENTRY_WORDS, "it is a key of the block's calls")})
        args[arg] = REQUIRED_ARG if default is None else default
    if not isinstance(body["layers"], list):
        raise SpecError(f"layers of block {name!r} must be a list", location=key_location(body, "layers", where))
    return Block(name=name, args=args, layers=body["layers"], location=where, arg_locations=arg_locations)


_EXPECTED_FRACTIONS = ("params_millions", "gmacs")  # rounded figures; every other expectation is exact


def _check_expected_value(label: str, key: str, value: Any, where: Location) -> None:
    """An expected figure must be one a network can have: a NaN or a negative count, true or a
    fraction where counts are whole, would make the gate fail (exit 1) for a spec that is only
    mistyped (exit 2)."""
    if key in _EXPECTED_FRACTIONS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise SpecError(f"{label} must be a finite number >= 0. Received: {value!r}", location=where)
        return
    items = value if isinstance(value, list) else [value]
    flat = [inner for item in items for inner in (item if isinstance(item, list) else [item])]
    if not flat and isinstance(value, list) and key != "output_shape":
        raise SpecError(f"{label} must not be empty. Received: []", location=where)
    lowest = None if key == "effective_padding" else 0  # a network's effective padding can be negative
    for item in flat:
        if isinstance(item, bool) or not isinstance(item, int) or (lowest is not None and item < lowest):
            raise SpecError(f"{label} must hold whole numbers{' >= 0' if lowest is not None else ''} (exact counts and "
                            f"sizes). Received: {value!r}",
                            location=where, hint="write the exact integer, e.g. 'params: 138357544'")


def _check_expect(expect: Any, where: Location) -> None:
    if not isinstance(expect, dict):
        raise SpecError("'expect' must be a mapping", location=where)
    for key, value in expect.items():
        key_where = key_location(expect, key, where)
        if key not in EXPECT_KEYS:
            raise SpecError(f"unknown expectation {key!r}", location=key_where,
                            hint=did_you_mean(key, EXPECT_KEYS) or f"allowed: {', '.join(EXPECT_KEYS)}")
        if key == "gmacs" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise SpecError(f"expect.gmacs must be a number (GMACs at 3 decimals, torchvision's 'GFLOPS'). "
                            f"Received: {value!r}", location=key_where, hint="e.g. 'gmacs: 4.089'")
        if key != "layers":
            _check_expected_value(f"expect.{key}", key, value, key_where)
        if key == "layers":
            if not isinstance(value, dict):
                raise SpecError("'expect.layers' must map layer names to expectations", location=key_where)
            for layer, checks in value.items():
                if not isinstance(checks, dict):
                    raise SpecError(f"expectations for layer {layer!r} must be a mapping", location=key_where)
                for check in checks:
                    if check not in EXPECT_LAYER_KEYS:
                        raise SpecError(f"unknown layer expectation {check!r}",
                                        location=key_location(checks, check, key_where),
                                        hint=did_you_mean(check, EXPECT_LAYER_KEYS))
                    _check_expected_value(f"expect.layers.{layer}.{check}", check, checks[check],
                                          key_location(checks, check, key_where))
