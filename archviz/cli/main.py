"""The ``archviz`` command: a small typer app; each command lives in its own module.

``run()`` first offers the arguments to :mod:`archviz.cli.fast`, which answers
``archviz summary ...`` (every format; rich only for the table) without importing typer or
click (start-up is most of that command's time); everything else, and whatever the fast path
is not sure about, goes to the typer app in :mod:`archviz.cli.commands`.
``from archviz.cli.main import app`` still gives the typer app.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer


def _app() -> typer.Typer:
    from archviz.cli.commands import app

    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run() -> None:
    from archviz.cli import streams
    from archviz.cli.fast import try_fast

    streams.prepare()  # closed descriptors, encodings, write errors: archviz/cli/streams.py
    code: Any = try_fast(sys.argv[1:])
    if code is None:
        try:
            _app()()
        except SystemExit as exit_:
            code = exit_.code
        except streams.OutputError as exc:  # written outside a command's own error handling
            from archviz.cli.shared import report_error

            code = report_error(exc)
    sys.exit(streams.finish(code))


if __name__ == "__main__":
    run()
