"""Run the archviz CLI in a subprocess in which some modules cannot be imported.

``python tests/hide_modules.py MODULES BROKEN -- ARGS...`` hides every module in the comma-separated
MODULES (``import matplotlib`` raises ModuleNotFoundError, as when it is not installed; ``find_spec``
finds nothing) and makes every module in BROKEN raise OSError on import (as cairocffi does when the
Cairo library is missing), then runs ``archviz ARGS...``. A subprocess, because a module the test
session has already imported cannot be un-imported.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType


class Hider(importlib.abc.MetaPathFinder):
    def __init__(self, hidden: set[str], broken: set[str]) -> None:
        self.hidden, self.broken = hidden, broken

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        top = fullname.split(".")[0]
        if top in self.hidden:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        if top in self.broken:
            raise OSError(f"cannot load library for {fullname!r}: hidden by tests/hide_modules.py")
        return None


def main() -> None:
    hidden, broken, separator, *args = sys.argv[1:]
    assert separator == "--", "usage: hide_modules.py MODULES BROKEN -- ARGS..."
    sys.meta_path.insert(0, Hider(set(filter(None, hidden.split(","))), set(filter(None, broken.split(",")))))
    sys.argv = ["archviz", *args]
    from archviz.cli.main import run

    run()


if __name__ == "__main__":
    main()
