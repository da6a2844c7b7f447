"""Safe YAML reading that keeps source locations.

Only plain data is accepted: mappings, sequences and scalars. Tags that would build objects,
duplicate keys, alias bombs, binary or oversized files and deep nesting are errors that name
the file, line and column.
"""

from __future__ import annotations

import os
import re
import stat
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archviz.errors import ArchvizError, Location, SpecError

if TYPE_CHECKING:
    import yaml

# PyYAML is imported by the functions that parse: a built-in spec comes from
# archviz.spec.preparsed without it (importing yaml costs more than the rest of a summary).

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64
# The longest number a spec may write, in characters. No count archviz reads has more digits, and
# beyond 4,300 decimal digits Python's int() refuses (ValueError); YAML 1.1's base-60 integers
# (1:0:0:...) cost time quadratic in their length (a 1 MB line: about 40 s).
MAX_NUMBER_TEXT = 100
NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")

_SURROGATE = re.compile("[\ud800-\udfff]")  # only "\ud800"-style escapes can put one in a string
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
}


class LocatedDict(dict[str, Any]):
    """A mapping read from YAML, with the location of itself and of each key."""

    location: Location
    key_locations: dict[str, Location]


class LocatedList(list[Any]):
    """A sequence read from YAML, with the location of itself and of each item."""

    location: Location
    item_locations: list[Location]


def location_of(value: Any, default: Location) -> Location:
    return getattr(value, "location", default)


def key_location(mapping: Any, key: str, default: Location) -> Location:
    locations = getattr(mapping, "key_locations", None)
    if locations and key in locations:
        return locations[key]  # type: ignore[no-any-return]
    return location_of(mapping, default)


def read_text(path: Path, display: str) -> str:
    """A spec file's text: regular files only, at most MAX_FILE_BYTES, UTF-8 without NUL.

    A FIFO would block until something writes to it, a device can be endless, a socket cannot be
    opened: the path is checked with stat before it is opened, and the descriptor again after it
    is opened (non-blocking, so a FIFO swapped in between cannot block the open), so a file
    replaced between the two looks cannot get in either.
    """
    where = Location(display)
    try:
        descriptor = open_regular(path, where)
        try:
            status = os.fstat(descriptor)
            chunks: list[bytes] = []
            left = MAX_FILE_BYTES + 1  # never more: a file that grows while it is read stays bounded
            while left > 0:
                chunk = os.read(descriptor, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            data = b"".join(chunks)
        finally:
            os.close(descriptor)
    except FileNotFoundError:
        raise SpecError("no such file", location=where,
                        hint="check the path, or use a built-in name (see 'archviz list')") from None
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror}", location=where) from None
    except UnicodeEncodeError:  # from the API only: "\ud800.yaml" has no bytes on the file system
        raise SpecError("cannot read the file: its name holds a lone surrogate, which no file name can",
                        location=where) from None
    except ValueError:  # from the API only: a command line cannot hold one
        raise SpecError("cannot read the file: its name holds a NUL character", location=where) from None
    if len(data) > MAX_FILE_BYTES:
        size = max(status.st_size, len(data))  # it may have grown since fstat
        raise SpecError(f"file is too large for a spec ({size:,} bytes or more; the limit is {MAX_FILE_BYTES:,})",
                        location=where, hint="use blocks and repeat instead of writing layers out")
    if b"\x00" in data:
        raise SpecError("is a binary file, not YAML text", location=Location(display),
                        hint="pass a spec written in YAML (see docs/spec.md)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"is not UTF-8 text (byte {exc.start})", location=Location(display),
                        hint="save the spec as UTF-8") from None


def open_regular(path: Path | str, where: Location, what: str = "spec") -> int:
    """A descriptor of ``path`` opened for reading, only where it is a regular file (see
    read_text): SpecError for a FIFO, device, socket or folder; OSError as os.open raises it."""
    _check_regular(os.stat(path), where, what)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        _check_regular(os.fstat(descriptor), where, what)
    except SpecError:
        os.close(descriptor)
        raise
    return descriptor


def _check_regular(status: os.stat_result, where: Location, what: str = "spec") -> None:
    if stat.S_ISREG(status.st_mode):
        return
    if stat.S_ISDIR(status.st_mode):
        raise SpecError(f"is a folder, not a {what} file", location=where,
                        hint="pass a .yaml file or a built-in name (see 'archviz list')" if what == "spec" else None)
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(status.st_mode) else "a socket" if stat.S_ISSOCK(status.st_mode)
            else "a device" if stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode) else "a special file")
    raise SpecError(f"is {kind}, not a regular file; only regular files are read as {what}s", location=where,
                    hint=f"save the {what} to a file and pass that file")


def parse_yaml(text: str, display: str) -> LocatedDict:
    """Parse one YAML document into located plain data; the top level must be a mapping."""
    surrogate = _SURROGATE.search(text)  # from the library (loads): a file's text was decoded as UTF-8
    if surrogate is not None:
        line = text.count("\n", 0, surrogate.start()) + 1
        column = surrogate.start() - (text.rfind("\n", 0, surrogate.start()) + 1) + 1
        raise SpecError(f"text must be Unicode characters; a lone surrogate is not one. "
                        f"Received: {surrogate.group()!r}", location=Location(display, line, column),
                        hint="pass the characters themselves (a str decoded from UTF-8)")
    if not text.strip():
        raise SpecError("file is empty", location=Location(display),
                        hint="a spec needs at least 'name' and 'layers' (see docs/spec.md)")
    return _parse(text, display)


_QUOTED = re.compile(r"'([^']*)'")
_SYNTAX = re.compile(r"<[a-z ]+>|[:,\[\]{}?-]")  # what PyYAML expected or met, not the file's words


def _parse(text: str, display: str) -> LocatedDict:
    import yaml

    fast = _compose_fast(text, display)
    if fast is not None:
        return fast
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        tab = "\\t" in problem or "tab" in problem
        hint = "indent with spaces; YAML does not allow tabs" if tab else "fix the YAML syntax at that position"
        if not display.endswith((".yaml", ".yml")) and not display.startswith("<"):
            # A file not named like a spec may be anything (a key file, /etc/shadow): say where
            # the YAML breaks, never what the file holds there (PyYAML quotes the token it met).
            problem = _QUOTED.sub(lambda m: m[0] if _SYNTAX.fullmatch(m[1]) else "'…'", problem)
        raise SpecError(f"invalid YAML: {problem}",
                        location=Location(display, mark.line + 1, mark.column + 1) if mark else Location(display),
                        hint=hint) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", location=Location(display)) from None
    except RecursionError:
        raise SpecError("YAML is nested too deeply", location=Location(display)) from None
    if node is None:
        raise SpecError("file holds no YAML document", location=Location(display))
    budget = [MAX_NODES]
    value = _convert(node, display, budget, 0)
    if not isinstance(value, LocatedDict):
        kind = "a list" if isinstance(value, list) else "a single value"
        raise SpecError(f"the top level must be a mapping of keys (name, layers, ...). Received: {kind}",
                        location=Location(display, node.start_mark.line + 1, node.start_mark.column + 1),
                        hint="start the file with 'name: ...' and 'layers:' (see docs/spec.md)")
    return value


# libyaml's composer is about ten times faster than PyYAML's pure-Python one and gives the
# same nodes, tags and marks, but it recurses in C: very deep nesting crashes the process
# instead of raising. It is only used where the nesting is provably shallow, and only for
# documents it reads without complaint; any error is reproduced by the pure-Python path,
# so messages are the same whichever parser is installed.
USE_LIBYAML = True
C_NESTING_BOUND = 2_000


@cache
def c_loader() -> Any:
    """PyYAML's libyaml-backed SafeLoader, or None where PyYAML was built without libyaml."""
    import yaml

    return getattr(yaml, "CSafeLoader", None)


def nesting_bound(text: str) -> int:
    """An upper bound on a YAML text's nesting depth, without parsing it.

    Every flow level opens with '[' or '{'; every block level needs one more column of
    indentation or an indicator ('- ', '? ', ': ') on its line, so it is bounded by twice
    the longest line.
    """
    longest = max(map(len, text.splitlines()), default=0)
    return text.count("[") + text.count("{") + 2 * longest + 2


def _compose_fast(text: str, display: str) -> LocatedDict | None:
    import yaml

    loader = c_loader() if USE_LIBYAML else None
    if loader is None or nesting_bound(text) > C_NESTING_BOUND:
        return None
    try:
        node = yaml.compose(text, Loader=loader)
        if node is None:
            return None
        value = _convert(node, display, [MAX_NODES], 0)
    except (yaml.YAMLError, ArchvizError, RecursionError, UnicodeEncodeError):  # libyaml reads UTF-8
        return None  # the pure-Python path gives the canonical message
    return value if isinstance(value, LocatedDict) else None


def _where(node: yaml.Node, display: str) -> Location:
    return Location(display, node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(node: yaml.Node, display: str, budget: list[int], depth: int) -> Any:
    import yaml

    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(f"YAML expands to more than {MAX_NODES:,} values (an alias bomb?)",
                        location=_where(node, display), hint="remove the repeated aliases; use blocks and repeat")
    if depth > MAX_DEPTH:
        raise SpecError(f"YAML is nested deeper than {MAX_DEPTH} levels", location=_where(node, display))
    if node.tag not in _PLAIN_TAGS:
        raise SpecError(f"YAML tag {node.tag!r} is not allowed; specs hold plain data only",
                        location=_where(node, display), hint="remove the '!' tag")
    if isinstance(node, yaml.MappingNode):
        result = LocatedDict()
        result.location = _where(node, display)
        result.key_locations = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise SpecError("YAML merge keys ('<<') are not supported", location=_where(key_node, display),
                                hint="use 'extends:' or blocks to share definitions")
            key = _convert(key_node, display, budget, depth + 1)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            if key in result:
                raise SpecError(f"duplicate key {key!r} (first at line {result.key_locations[key].line})",
                                location=_where(key_node, display), hint="remove one of the two entries")
            result.key_locations[key] = _where(key_node, display)
            result[key] = _convert(value_node, display, budget, depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = LocatedList()
        items.location = _where(node, display)
        items.item_locations = []
        for item in node.value:
            items.item_locations.append(_where(item, display))
            items.append(_convert(item, display, budget, depth + 1))
        return items
    if node.style == '"' and _SURROGATE.search(node.value):
        joined = join_surrogate_pairs(node.value)
        if joined is not None:
            node.value = joined
        else:
            raise SpecError(f"text must be Unicode characters; an escaped lone surrogate is not one. "
                            f"Received: {node.value!r}", location=_where(node, display),
                            hint="write the character itself (a '\\U0001xxxx' escape for one beyond U+FFFF)")
    if node.tag == "tag:yaml.org,2002:timestamp":
        return node.value
    if node.tag in NUMBER_TAGS and len(node.value) > MAX_NUMBER_TEXT:
        raise SpecError(number_too_long(node.value), location=_where(node, display),
                        hint="write a smaller number (or quote it to make it text)")
    constructor = yaml.SafeLoader.yaml_constructors[node.tag]
    return constructor(_scalar_loader(), node)


def number_too_long(text: str) -> str:
    return (f"a number may have at most {MAX_NUMBER_TEXT} characters. "
            f"Received: a number of {len(text):,} characters ({text[:20]}...)")


def join_surrogate_pairs(text: str) -> str | None:
    """``text`` with each JSON-style pair ("\\ud83d\\ude00") made the one character it stands for,
    as in JSON and YAML 1.2; None where a lone surrogate is left."""
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        return None


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate: no output can encode one (an escape such as
    "\\ud800", or a byte of a command-line argument that was not UTF-8)."""
    return _SURROGATE.search(text) is not None


def scalar_tag(text: str) -> str:
    """The tag YAML gives ``text`` written as a plain scalar (int, float, bool, str, ...)."""
    import yaml

    return yaml.SafeLoader.resolve(yaml.SafeLoader, yaml.ScalarNode, text, (True, False))  # type: ignore[arg-type]


@cache
def _scalar_loader() -> Any:
    """A SafeLoader used only for its scalar constructors (it never reads a stream)."""
    import yaml

    return yaml.SafeLoader("")
