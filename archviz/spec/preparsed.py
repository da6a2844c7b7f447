"""The built-in specs, parsed ahead of time and shipped with the package.

Importing PyYAML costs more than everything else ``archviz summary vgg16`` does (its reader
compiles a large regular expression at import), so each built-in spec's located data is kept
beside it in ``archviz/specs/parsed/`` (``vgg16.yaml`` -> ``parsed/vgg16.json``), together with
the complete text it was read from. It is used only when that text is identical, character for
character, to the text just read from the spec file; otherwise the YAML is parsed as usual.
tests/test_hostile_cache.py checks that every shipped copy is what the parser gives for its
text; ``python scripts/preparse_specs.py`` rewrites them after a built-in spec changes.

Nothing here is written at run time: an earlier version kept a cache of every spec read in
``~/.cache``, and anyone able to write that folder (a shared cache, a CI cache restored from
another branch) could plant an entry that changed what ``archviz check`` decides, hang it on a
FIFO or exhaust its memory. These copies are part of the installed package, as trusted as its
code, and ``archviz check`` does not use them even so (:func:`bypassed`): the gate reads YAML.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from archviz.errors import Location
from archviz.spec.yamlio import LocatedDict, LocatedList

FORMAT = 1
SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"
PARSED_DIR = SPECS_DIR / "parsed"
MAX_ENTRY_BYTES = 2_000_000  # the shipped copies are a few kB; anything larger is not one of them
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_enabled: ContextVar[bool] = ContextVar("archviz_preparsed", default=True)


def entry_path(spec_path: Path) -> Path | None:
    """Where the pre-parsed copy of a built-in spec file lives, or None for any other file."""
    try:
        relative = spec_path.relative_to(SPECS_DIR)  # no file system access: paths as given
    except ValueError:
        return None
    parts = relative.parts
    if not parts or parts[0] == "parsed" or not all(_PART.fullmatch(part) for part in parts) \
            or relative.suffix != ".yaml":
        return None  # never a name that could leave the folder ('..') or a file of this folder
    return PARSED_DIR / relative.with_suffix(".json")


def load(spec_path: Path, text: str, display: str) -> LocatedDict | None:
    """The located data of a built-in spec whose file holds exactly ``text``, or None."""
    if not _enabled.get():
        return None
    target = entry_path(spec_path)
    if target is None:
        return None
    try:
        raw = _read_regular(target)
        if raw is None:
            return None
        entry = json.loads(raw)
        if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("text") != text:
            return None
        value = decode(entry["data"], display)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None  # missing or damaged: the YAML is parsed instead
    return value if isinstance(value, LocatedDict) else None


def _read_regular(target: Path) -> bytes | None:
    """The bytes of a regular file of at most MAX_ENTRY_BYTES, or None: never a symlink, FIFO or device
    (the package folder is trusted, but a damaged install must not hang or flood a run)."""
    descriptor = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_ENTRY_BYTES:
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            raw = stream.read(MAX_ENTRY_BYTES + 1)
    finally:
        os.close(descriptor)
    return raw if len(raw) <= MAX_ENTRY_BYTES else None


@contextmanager
def bypassed() -> Iterator[None]:
    """Within this block every spec is parsed from its YAML (``archviz check`` runs in one)."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


def entry_text(text: str, value: LocatedDict) -> str:
    """The content of the pre-parsed copy of a spec whose file holds ``text``."""
    return json.dumps({"format": FORMAT, "text": text, "data": encode(value)}, ensure_ascii=False,
                      separators=(",", ":")) + "\n"


def write_all() -> list[Path]:
    """Rewrite the copy of every built-in spec that parses (and remove stale ones); the files written."""
    from archviz.errors import ArchvizError
    from archviz.spec.yamlio import parse_yaml, read_text

    written: list[Path] = []
    wanted: set[Path] = set()
    for spec_path in sorted(SPECS_DIR.rglob("*.yaml")):
        target = entry_path(spec_path)
        if target is None:
            continue
        text = read_text(spec_path, str(spec_path))
        try:
            value = parse_yaml(text, str(spec_path))
        except ArchvizError:
            continue  # errors always come from the parser
        wanted.add(target)
        content = entry_text(text, value)
        if not target.is_file() or target.read_text(encoding="utf-8") != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            written.append(target)
    for stale in PARSED_DIR.rglob("*.json"):
        if stale not in wanted:
            stale.unlink()
            written.append(stale)
    return written


# Mappings and sequences are tagged lists (a scalar is never a list): ["m", line, column,
# [[key, line, column, value], ...]] and ["s", line, column, [[line, column, item], ...]].
def encode(value: Any) -> Any:
    if isinstance(value, LocatedDict):
        return ["m", value.location.line, value.location.column,
                [[key, value.key_locations[key].line, value.key_locations[key].column, encode(item)]
                 for key, item in value.items()]]
    if isinstance(value, LocatedList):
        return ["s", value.location.line, value.location.column,
                [[where.line, where.column, encode(item)] for where, item in zip(value.item_locations, value)]]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot keep a {type(value).__name__}")


def decode(value: Any, display: str) -> Any:
    if not isinstance(value, list):
        return value
    tag, line, column, items = value
    if tag == "m":
        mapping = LocatedDict()
        mapping.location = Location(display, line, column)
        mapping.key_locations = {}
        for key, key_line, key_column, item in items:
            mapping.key_locations[key] = Location(display, key_line, key_column)
            mapping[key] = decode(item, display)
        return mapping
    if tag == "s":
        sequence = LocatedList()
        sequence.location = Location(display, line, column)
        sequence.item_locations = []
        for item_line, item_column, item in items:
            sequence.item_locations.append(Location(display, item_line, item_column))
            sequence.append(decode(item, display))
        return sequence
    raise ValueError(f"unknown tag {tag!r}")
