"""The report's Markdown as GitHub shows it: a number stays on the line of its unit.

A wide table's cells wrap at spaces, and "527.79 MiB" or "15.47 G" split into a number on one
line and its unit on the next; between a number and its unit the report writes U+00A0 (no-break
space) instead. Code spans and fenced blocks are left as they are: they are to be copied.
"""

from __future__ import annotations

import re

NO_BREAK_SPACE = "\u00a0"
# The units archviz prints after a number (render/units.py: K, M, G, T, P and the binary byte
# units; "MB", "px" in the report's prose).
UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "KB", "MB", "GB", "TB", "B", "K", "M", "G", "T", "P", "px")
NUMBER_THEN_UNIT = re.compile(r"(?<![\w.,])([-+−]?\d[\d,]*(?:\.\d+)?) (?=(?:" + "|".join(UNITS) + r")\b)")
CODE = re.compile(r"^```.*?^```[^\n]*$|(?<!\\)(`+)[^\n]*?\1", re.DOTALL | re.MULTILINE)


def keep_units_together(text: str) -> str:
    """``text`` with a no-break space between each number and its unit, outside code."""
    out: list[str] = []
    position = 0
    for code in CODE.finditer(text):
        out.append(NUMBER_THEN_UNIT.sub(r"\1" + NO_BREAK_SPACE, text[position:code.start()]))
        out.append(code.group(0))
        position = code.end()
    out.append(NUMBER_THEN_UNIT.sub(r"\1" + NO_BREAK_SPACE, text[position:]))
    return "".join(out)
