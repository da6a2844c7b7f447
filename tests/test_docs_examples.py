"""Every code block in README.md and docs/*.md that shows output is run, and must print what it shows.

The markers (docs/robustness.md, "Executed examples"):

- A ```text block whose first line starts with ``$ `` is a terminal session: each ``$ archviz ...``
  line is run as in a terminal 100 columns wide (a pseudo-terminal, ``NO_COLOR=1``; the styling
  escapes are removed), and the lines up to the next ``$`` are what it prints.
- ``<!-- output of: archviz ... -->`` on the line before a ```text or ```json block says the block is
  that command's output, run with its output piped; ``(hiding torch)`` at the end runs it with
  those modules hidden (tests/hide_modules.py), as where they are not installed.
- A ```python block with ``>>>`` prompts is a doctest (``...`` allowed in the output); a ```python
  block without prompts shows no output and is only compiled.

Text is compared line by line, trailing spaces removed; a line ``...`` stands for any number of
lines. In JSON, ``"...": "..."`` in an object stands for the keys left out, and ``"..."`` as a
list's last item for the items left out; anything else must be equal. Commands run in the
repository root.
"""

from __future__ import annotations

import doctest
import fcntl
import json
import os
import pty
import re
import shlex
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TERMINAL_COLUMNS = 100
_BLOCK = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
_OUTPUT_OF = re.compile(r"<!-- output of: (?P<command>archviz .+?)(?: \(hiding (?P<hidden>[\w,]+)\))? -->\s*$")
_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class Example:
    where: str  # file:line of the block
    kind: str  # session, output, doctest, compile
    body: str
    language: str
    command: str = ""
    hidden: str = ""


def examples() -> list[Example]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            line = text[: match.start()].count("\n") + 1
            where = f"{path.relative_to(ROOT)}:{line}"
            language, body = match["lang"], match["body"]
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = _OUTPUT_OF.search(before)
            if marker and language in ("text", "json"):
                found.append(Example(where, "output", body, language, marker["command"], marker["hidden"] or ""))
            elif language == "text" and body.startswith("$ "):
                found.append(Example(where, "session", body, language))
            elif language == "python":
                found.append(Example(where, "doctest" if ">>> " in body else "compile", body, language))
    return found


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES", "ARCHVIZ_DEBUG")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               ARCHVIZ_NO_CACHE="1", NO_COLOR="1", TERM="xterm")
    return env


def _archviz(command: str, hidden: str = "") -> list[str]:
    words = shlex.split(command)
    assert words[0] == "archviz", command
    if hidden:
        return [sys.executable, str(ROOT / "tests" / "hide_modules.py"), hidden, "", "--", *words[1:]]
    return [sys.executable, "-m", "archviz.cli.main", *words[1:]]


def run_in_terminal(command: str, columns: int = TERMINAL_COLUMNS) -> str:
    """What the command shows in a terminal ``columns`` wide (stdout and stderr), styling removed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(_archviz(command), stdin=follower, stdout=follower, stderr=follower,
                               env=_environment(), cwd=ROOT, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert process.wait(timeout=120) == 0, f"{command} failed"
    return _ESCAPE.sub("", b"".join(chunks).decode("utf-8")).replace("\r\n", "\n")


def run_piped(command: str, hidden: str = "") -> str:
    result = subprocess.run(_archviz(command, hidden), capture_output=True, text=True, env=_environment(),
                            cwd=ROOT, timeout=120, check=False)
    return result.stdout + result.stderr


def matches(expected: str, got: str) -> bool:
    """Line by line, trailing spaces ignored; a line '...' stands for any number of lines."""
    pattern = "".join(r"(?:.*\n)*?" if line.strip() == "..." else re.escape(line.rstrip()) + r"\n"
                      for line in expected.splitlines())
    text = "".join(line.rstrip() + "\n" for line in got.splitlines())
    return re.fullmatch(pattern, text) is not None


def json_differences(shown: Any, got: Any, path: str = "$") -> list[str]:
    if isinstance(shown, dict):
        if not isinstance(got, dict):
            return [f"{path}: expected an object, got {got!r}"]
        elided = shown.get("...") == "..."
        keys = [key for key in shown if key != "..."]
        problems = [f"{path}: keys {sorted(set(got) - set(keys))} are not shown"
                    ] if not elided and set(got) != set(keys) else []
        for key in keys:
            if key not in got:
                problems.append(f"{path}.{key}: not in the output")
            else:
                problems += json_differences(shown[key], got[key], f"{path}.{key}")
        return problems
    if isinstance(shown, list):
        if not isinstance(got, list):
            return [f"{path}: expected a list, got {got!r}"]
        elided = bool(shown) and shown[-1] == "..."
        items = shown[:-1] if elided else shown
        if len(got) < len(items) or (not elided and len(got) != len(items)):
            return [f"{path}: {len(got)} items, the block shows {len(items)}{' and more' if elided else ''}"]
        return [problem for i, item in enumerate(items) for problem in json_differences(item, got[i], f"{path}[{i}]")]
    return [] if shown == got and type(shown) is type(got) else [f"{path}: shows {shown!r}, the command gives {got!r}"]


EXAMPLES = examples()


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.where}-{e.kind}" for e in EXAMPLES])
def test_example(example: Example) -> None:
    if example.kind == "compile":
        compile(example.body, example.where, "exec")
    elif example.kind == "doctest":
        test = doctest.DocTestParser().get_doctest(example.body, {}, example.where, example.where, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        cwd = Path.cwd()
        os.chdir(ROOT)
        try:
            runner.run(test)
        finally:
            os.chdir(cwd)
        assert runner.failures == 0, f"{example.where}: {runner.failures} of {runner.tries} examples failed (see above)"
    elif example.kind == "session":
        sessions = re.split(r"^\$ ", example.body, flags=re.MULTILINE)[1:]
        for session in sessions:
            command, _, expected = session.partition("\n")
            got = run_in_terminal(command)
            assert matches(expected, got), f"{example.where}: `{command}` prints:\n{got}"
    else:
        got = run_piped(example.command, example.hidden)
        if example.language == "json":
            assert json_differences(json.loads(example.body), json.loads(got)) == []
        else:
            assert matches(example.body, got), f"{example.where}: `{example.command}` prints:\n{got}"


def test_the_examples_are_found() -> None:
    kinds = {(e.where.split(":")[0], e.kind) for e in EXAMPLES}
    assert {("README.md", "session"), ("README.md", "doctest"), ("docs/json.md", "output"),
            ("docs/robustness.md", "output")} <= kinds


def test_the_matchers_refuse_what_differs() -> None:
    assert matches("a\n...\nz\n", "a\nb\nc\nz\n") and matches("a\n...\nz\n", "a\nz\n")
    assert not matches("a\n...\nz\n", "a\nb\ny\n") and not matches("a  \nb\n", "a\nc\n")
    assert json_differences({"a": 1, "...": "..."}, {"a": 1, "b": 2}) == []
    assert json_differences({"a": 1}, {"a": 1, "b": 2}) == ["$: keys ['b'] are not shown"]
    assert json_differences({"l": [1, "..."]}, {"l": [1, 2]}) == []
    assert json_differences({"l": [1]}, {"l": [1, 2]}) == ["$.l: 2 items, the block shows 1"]
    assert json_differences({"n": 33638218}, {"n": 134301514}) == ["$.n: shows 33638218, the command gives 134301514"]
