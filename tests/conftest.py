from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
SPEC_FILES = sorted(SPECS.glob("*.yaml"))


@pytest.fixture
def write_spec(tmp_path: Path):
    """Write a spec text into a temporary file and return its path."""

    def write(text: str, name: str = "net.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "spec_name" in metafunc.fixturenames:
        metafunc.parametrize("spec_name", [p.stem for p in SPEC_FILES])
