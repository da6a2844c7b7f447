"""Commands that live in their own modules and are added as they are written."""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES = ("diagram", "chart", "verify", "export", "report", "sweep", "importing")


def modules() -> list[ModuleType]:
    found = []
    for name in NAMES:
        try:
            found.append(importlib.import_module(f"archviz.cli.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"archviz.cli.{name}":
                raise
    return found
