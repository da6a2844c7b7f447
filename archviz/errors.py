"""One exception family for everything a user can get wrong.

Every message follows one house style: where (file:line:column, layer), what was wrong,
what was expected, ``Received: ...``, and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in a spec file something was written (1-based line and column)."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


class ArchvizError(Exception):
    """Base of every error archviz raises on purpose; the CLI turns these into exit code 2."""

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
        super().__init__(self.render())

    def render(self) -> str:
        where = []
        if self.location is not None:
            where.append(str(self.location))
        if self.layer is not None:
            where.append(f"layer {self.layer!r}")
        text = f"{': '.join(where)}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def with_context(self, location: Location | None = None, layer: str | None = None) -> ArchvizError:
        """Fill in location/layer where the raiser did not know them; returns self."""
        if self.location is None and location is not None:
            self.location = location
        if self.layer is None and layer is not None:
            self.layer = layer
        self.args = (self.render(),)
        return self


class SpecError(ArchvizError):
    """The spec text or its structure is invalid (YAML, keys, types, references)."""


class ExpressionError(SpecError):
    """An arithmetic expression in a spec could not be evaluated safely."""


class GraphError(SpecError):
    """The layers do not form a valid graph (cycles, dangling inputs, duplicate names)."""


class ShapeError(ArchvizError):
    """A layer cannot be applied to the shape it receives (e.g. a kernel larger than its input)."""
