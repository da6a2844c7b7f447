"""Rewrite archviz/specs/parsed/ after a built-in spec changed (see archviz/spec/preparsed.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archviz.spec.preparsed import write_all

if __name__ == "__main__":
    for path in write_all():
        print(path)
