"""A cache of parsed spec text, in the spirit of Python's ``__pycache__``.

Importing PyYAML costs more than everything else ``archviz summary`` does (its reader compiles
a large regular expression at import), so a spec read before is taken from here without
importing yaml at all. An entry holds the complete source text next to the located data read
from it, and is used only when that text is identical, character for character, to the text
being read, and was written by this archviz version in this format: it can never give what the
YAML would not. Only documents that parsed without error are kept; errors always come from
the parser.

Where: ``$ARCHVIZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/archviz/parsed``, else
``~/.cache/archviz/parsed``. ``ARCHVIZ_NO_CACHE=1`` turns it off. Entries are JSON (never
code), written atomically; at most ``MAX_ENTRIES`` are kept. Any problem with the folder
(read-only, missing, full, a damaged entry) only means the YAML is parsed as usual.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

from archviz.errors import Location
from archviz.spec.yamlio import LocatedDict, LocatedList

FORMAT = 1
MAX_ENTRIES = 512
MAX_TEXT = 256_000  # larger specs are parsed each time


def cache_dir() -> Path | None:
    if os.environ.get("ARCHVIZ_NO_CACHE"):
        return None
    explicit = os.environ.get("ARCHVIZ_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "archviz" / "parsed"


def _entry(folder: Path, text: str) -> Path:
    data = text.encode("utf-8", "surrogatepass")
    return folder / f"{len(data)}-{zlib.crc32(data):08x}.json"


def load(text: str, display: str) -> LocatedDict | None:
    """The located data read from ``text`` before, or None."""
    folder = cache_dir()
    if folder is None or len(text) > MAX_TEXT:
        return None
    try:
        raw = _entry(folder, text).read_text(encoding="utf-8")
        entry = json.loads(raw)
        if entry.get("format") != FORMAT or entry.get("archviz") != _version() or entry.get("text") != text:
            return None
        value = _decode(entry["data"], display)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    return value if isinstance(value, LocatedDict) else None


def store(text: str, value: LocatedDict) -> None:
    """Keep ``value`` (what ``text`` parsed to) for next time; silently does nothing on any error."""
    folder = cache_dir()
    if folder is None or len(text) > MAX_TEXT:
        return
    try:
        payload = json.dumps({"format": FORMAT, "archviz": _version(), "text": text, "data": _encode(value)},
                             ensure_ascii=True)
        folder.mkdir(parents=True, exist_ok=True)
        target = _entry(folder, text)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_text(payload, encoding="utf-8")
        os.replace(temporary, target)
        _prune(folder)
    except (OSError, ValueError, TypeError):
        return


def _prune(folder: Path) -> None:
    entries = list(folder.glob("*.json"))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda path: path.stat().st_mtime)
    for path in entries[: len(entries) - MAX_ENTRIES // 2]:
        path.unlink(missing_ok=True)


def _version() -> str:
    from archviz import __version__

    return __version__


# Mappings and sequences are tagged lists (a scalar is never a list): ["m", line, column,
# [[key, line, column, value], ...]] and ["s", line, column, [[line, column, item], ...]].
def _encode(value: Any) -> Any:
    if isinstance(value, LocatedDict):
        return ["m", value.location.line, value.location.column,
                [[key, value.key_locations[key].line, value.key_locations[key].column, _encode(item)]
                 for key, item in value.items()]]
    if isinstance(value, LocatedList):
        return ["s", value.location.line, value.location.column,
                [[where.line, where.column, _encode(item)] for where, item in zip(value.item_locations, value)]]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decode(value: Any, display: str) -> Any:
    if not isinstance(value, list):
        return value
    tag, line, column, items = value
    if tag == "m":
        mapping = LocatedDict()
        mapping.location = Location(display, line, column)
        mapping.key_locations = {}
        for key, key_line, key_column, item in items:
            mapping.key_locations[key] = Location(display, key_line, key_column)
            mapping[key] = _decode(item, display)
        return mapping
    if tag == "s":
        sequence = LocatedList()
        sequence.location = Location(display, line, column)
        sequence.item_locations = []
        for item_line, item_column, item in items:
            sequence.item_locations.append(Location(display, item_line, item_column))
            sequence.append(_decode(item, display))
        return sequence
    raise ValueError(f"unknown cache tag {tag!r}")
