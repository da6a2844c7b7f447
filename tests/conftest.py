from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Keras 3 runs on its torch backend in the tests (no TensorFlow), and its first import writes
# keras.json under KERAS_HOME: a folder of the test run's own, not the user's ~/.keras.
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="archviz-keras-home-"))

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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-snapshots", action="store_true", help="Rewrite tests/snapshots/ from current output.")


@pytest.fixture
def snapshot(request: pytest.FixtureRequest):
    """Compare text with tests/snapshots/NAME; --update-snapshots rewrites it."""
    update = request.config.getoption("--update-snapshots")

    def check(name: str, text: str) -> None:
        path = ROOT / "tests" / "snapshots" / name
        if update or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            if not update:
                pytest.fail(f"snapshot {name} was missing and has been written; review it and re-run")
        assert text == path.read_text(encoding="utf-8"), f"snapshot {name} differs (--update-snapshots to accept)"

    return check
