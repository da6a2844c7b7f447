"""One exception family for everything a user can get wrong.

Every message follows one house style: where (file:line:column, layer), what was wrong,
what was expected, ``Received: ...``, and how to fix it.

An error met inside a block names first the place the user wrote (the call), then the
definitions it went through, like a traceback of spec locations, then where the values it read
were set::

    error: vgg16.yaml:7:33: layer 'conv2_1': filters must be a whole number. Received: ...
      in block 'conv3', base/vgg.yaml:21:49
      filters=2.5 is given to block 'conv3' at vgg16.yaml:7:40
      hint: give filters a whole number where block 'conv3' is called (vgg16.yaml:7:40)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

# An echoed value (a name, a path, a --set value) is cut to this many characters, and a whole
# message to MESSAGE_LIMIT: a 900,000-character name must not become a 900,000-character message.
ECHO_LIMIT = 100
MESSAGE_LIMIT = 500
_INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def visible(text: str) -> str:
    r"""``text`` with every control, format and unassigned character written as an escape.

    Terminal escape sequences (ESC, BEL), NUL, line breaks, bidirectional overrides and lone
    surrogates in a value from a spec or the command line would act on the terminal (retitle
    it, clear the screen), forge a line of output or fail to encode; written as ``\x1b``,
    ``\n``, ``\u202e``... they are shown, never obeyed.

    >>> visible("a\x1b]0;title\x07b\n")
    'a\\x1b]0;title\\x07b\\n'
    """
    if text.isprintable():
        return text
    import unicodedata  # only for a message that needs it: every command imports this module

    return "".join(ch if ch == " " or unicodedata.category(ch) not in _INVISIBLE else repr(ch)[1:-1]
                   for ch in text)


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to about ``limit`` characters, keeping its start and end and saying how much
    is left out (the one truncation every message uses).

    >>> shorten("x" * 1000, 40)
    'xxxxxxxxxxxxxxxxxxx…[973 more]…xxxxxxxx'
    """
    if len(text) <= limit:
        return text
    tail = max(limit // 5, 1)
    marker = f"…[{len(text)} more]…"  # at least as long as the one written
    head = max(limit - tail - len(marker), 1)
    return f"{text[:head]}…[{len(text) - head - tail} more]…{text[-tail:]}"


def shown(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Text as a message may show it: escaped (:func:`visible`), every long word cut to
    ECHO_LIMIT (an echoed value is one long word) and the whole cut to ``limit``."""
    text = visible(text)
    if len(text) > ECHO_LIMIT:
        text = " ".join(shorten(word) for word in text.split(" "))
    return shorten(text, limit)


@dataclass(frozen=True)
class Location:
    """Where in a spec file something was written (1-based line and column)."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        file = shown(self.file, 2 * ECHO_LIMIT)  # a path from a spec or the command line
        if self.line is None:
            return file
        if self.column is None:
            return f"{file}:{self.line}"
        return f"{file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Frame:
    """One definition an error went through on its way from the line the user wrote."""

    what: str  # e.g. "in block 'conv3'"
    location: Location | None = None

    def __str__(self) -> str:
        return f"{self.what}, {self.location}" if self.location is not None else self.what


# A block call on a layer's way: where it was called, and the block's name (outermost first).
Call = tuple[Location, str]


class ArchvizError(Exception):
    """Base of every error archviz raises on purpose; the CLI turns these into exit code 2.

    ``location`` is the place the user wrote; ``frames`` the definitions gone through from there
    (outermost first); ``notes`` where the values the failing expression read were set.
    """

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        layer: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.location = location
        self.layer = layer
        self.hint = hint
        self.frames: list[Frame] = []
        self.notes: list[str] = []
        super().__init__(self.render())

    def render(self) -> str:
        """The message as it is printed: every part escaped and cut to length here, once, so no
        raiser can forget it (a value echoed from a spec may hold escape sequences or be huge)."""
        where = []
        if self.location is not None:
            where.append(str(self.location))
        if self.layer is not None:
            where.append(f"layer {shorten(self.layer)!r}")
        message = shown(self.message)
        text = f"{': '.join(where)}: {message}" if where else message
        for frame, group in groupby(self.frames):  # a block that calls itself: its frame once, then how often
            text += f"\n  {shown(str(frame))}"
            repeated = len(list(group)) - 1
            if repeated:
                text += f"\n  [the frame above {repeated} more time{'s' if repeated > 1 else ''}]"
        for note in self.notes:
            text += f"\n  {shown(str(note))}"
        if self.hint:
            text += f"\n  hint: {shown(self.hint, 4 * ECHO_LIMIT)}"
        return text

    def _changed(self) -> ArchvizError:
        self.args = (self.render(),)
        return self

    def with_context(self, location: Location | None = None, layer: str | None = None,
                     calls: Iterable[Call] = ()) -> ArchvizError:
        """Fill in location/layer where the raiser did not know them; returns self.

        ``calls``: the block calls on the way to ``location`` (outermost first), applied only
        where ``location`` is the one filled in.
        """
        if self.location is None and location is not None:
            self.location = location
            for call, block in reversed(tuple(calls)):
                self.entered(call, block)
        if self.layer is None and layer is not None:
            self.layer = layer
        return self._changed()

    def entered(self, call: Location, block: str) -> ArchvizError:
        """The error happened inside ``block``, called at ``call``: the call becomes the error's
        location, and where it happened the first of its frames. Returns self."""
        self.frames.insert(0, Frame(f"in block {block!r}", self.location))
        self.location = call
        return self._changed()

    def add_frame(self, frame: Frame) -> ArchvizError:
        """A frame before all others (e.g. the ``extends`` that led to the file); returns self."""
        self.frames.insert(0, frame)
        return self._changed()

    def add_notes(self, notes: Iterable[str], hint: str | None = None) -> ArchvizError:
        """Where the values it read came from (each note once), and a hint that fits them."""
        for note in notes:
            if note not in self.notes:
                self.notes.append(note)
        if hint is not None:
            self.hint = hint
        return self._changed()


class SpecError(ArchvizError):
    """The spec text or its structure is invalid (YAML, keys, types, references)."""


class ExpressionError(SpecError):
    """An arithmetic expression in a spec could not be evaluated safely."""


class GraphError(SpecError):
    """The layers do not form a valid graph (cycles, dangling inputs, duplicate names)."""


class ArgumentError(ArchvizError, TypeError):
    """A call of the library was given a value of the wrong type (``load(None)``, ``batch=1.5``,
    ``input_shape="abc"``): one of the family, and a TypeError as Python's own checks would raise."""


class ShapeError(ArchvizError):
    """A layer cannot be applied to the shape it receives (e.g. a kernel larger than its input)."""


class OutputError(ArchvizError):
    """An output cannot be written (a folder, a full disk, a file-size limit, no permission);
    nothing was written to it."""
