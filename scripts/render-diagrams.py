"""Regenerate the example pictures under reports/diagrams/ (needs Graphviz's dot and matplotlib).

    python scripts/render-diagrams.py [FOLDER]
"""

from __future__ import annotations

import sys
from pathlib import Path

from archviz.render.gallery import write_family_diagrams


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "reports" / "diagrams"
    for path in write_family_diagrams(folder):
        print(path)


if __name__ == "__main__":
    main()
