"""The standard streams as every command finds them, whatever state the caller left them in.

:func:`prepare` runs before any command (both the typer-free summary and the typer app, from
:func:`archviz.cli.main.run`) and :func:`finish` after it:

- a closed descriptor 0, 1 or 2 (``>&-``) is filled with ``/dev/null`` first, so no file the
  command opens can become its standard output; a closed stdout is then an output that cannot be
  written (exit 2 with a message when the command writes to it), a closed stderr drops messages;
- standard output never raises UnicodeEncodeError: a character its encoding cannot represent
  (``PYTHONIOENCODING=ascii``, a Latin-1 terminal) or a lone surrogate (a command-line byte that
  is not UTF-8) is written as a ``\\uXXXX`` escape, which keeps JSON valid and the same text;
- a write error on standard output (``> /dev/full``: ENOSPC, EIO, EBADF) is an
  :class:`OutputError`: exit 2 and one ``error:`` line, also when it only shows at the last flush.
  A closed pipe (``| head``) is left to the command's own closed-pipe convention.
"""

from __future__ import annotations

import codecs
import errno
import os
import sys
from typing import Any, TextIO

from archviz.errors import ArchvizError

ESCAPE_ERRORS = "archviz-escape"


class OutputError(ArchvizError):
    """Standard output cannot be written (a full device, a closed descriptor, an I/O error)."""


def _escape(error: UnicodeError) -> tuple[str, int]:
    """Unencodable characters as JSON-style escapes: \\u00e9, a surrogate pair beyond U+FFFF."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    pieces = []
    for char in error.object[error.start:error.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            pieces.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            pieces.append(f"\\u{code:04x}")
    return "".join(pieces), error.end


class _ClosedOutput:
    """Standard output when descriptor 1 was closed: reads as not a terminal, refuses writes."""

    encoding = "utf-8"
    errors = ESCAPE_ERRORS

    def write(self, text: str) -> int:
        if not text:
            return 0
        raise OSError(errno.EBADF, "standard output is closed")

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


class GuardedOutput:
    """Standard output whose write errors are OutputErrors (a closed pipe stays BrokenPipeError)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)  # type: ignore[no-any-return]
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _output_error(exc) from None

    def writelines(self, lines: Any) -> None:
        try:
            self.stream.writelines(lines)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _output_error(exc) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _output_error(exc) from None

    def isatty(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (OSError, ValueError):
            return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _output_error(exc: OSError) -> OutputError:
    """The error to report, once: what is still buffered then goes to /dev/null, so neither a
    later flush nor the interpreter's last one fails again."""
    _silence_stdout()
    reason = exc.strerror or str(exc)
    hint = ("run it with standard output open (not '>&-'), or write to a file with --out"
            if exc.errno == errno.EBADF else
            "check the disk or the file standard output goes to, or write to a file with --out")
    return OutputError(f"cannot write to standard output: {reason}", hint=hint)


def _fill_closed_descriptors() -> set[int]:
    closed = set()
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            closed.add(descriptor)
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != descriptor:
                os.dup2(opened, descriptor)
                os.close(opened)
    return closed


def prepare() -> None:
    """Make the standard streams safe for a command (see the module doc)."""
    closed = _fill_closed_descriptors()
    codecs.register_error(ESCAPE_ERRORS, _escape)
    if sys.stderr is None or 2 in closed:
        sys.stderr = open(os.devnull, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
    stdout: Any = sys.stdout
    if stdout is None or 1 in closed:
        stdout = _ClosedOutput()
    elif hasattr(stdout, "reconfigure"):
        try:
            stdout.reconfigure(errors=ESCAPE_ERRORS)
        except (OSError, ValueError):
            pass
    sys.stdout = GuardedOutput(stdout)  # type: ignore[assignment]


def finish(code: Any) -> Any:
    """Flush standard output after the command; a write error then is exit 2 with its message.

    Returns the exit code (or SystemExit argument) to exit with.
    """
    stdout: TextIO = sys.stdout
    try:
        stdout.flush()
    except OutputError as exc:
        _silence_stdout()
        from archviz.cli.shared import report_error

        return report_error(exc)
    except BrokenPipeError:
        _silence_stdout()
    return code


def _silence_stdout() -> None:
    """Point descriptor 1 at /dev/null, so the interpreter's own last flush of what is still
    buffered cannot fail again (it would print 'Exception ignored' and exit 120)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
